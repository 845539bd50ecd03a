import html
import io
from dataclasses import replace
from datetime import date
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from depanssur.rules import credit_note_pdf as pdf
from depanssur.rules.fr_format import format_amount_fr, format_date_fr, format_rate_fr

SELLER = pdf.Party(
    "Depanssur SAS",
    ["10 quai Perrache", "69002 Lyon"],
    "912 345 678 00021",
    "FR12912345678",
    legal_form="SAS",
    capital="50 000,00 €",
    rcs="RCS Lyon 912 345 678",
)
CLIENT = pdf.Party("Mme Françoise Lefèvre-Cœur", ["3 place Bellecour", "69002 Lyon"])


def line(description="Prorata de résiliation", untaxed="7.45", rate="20", tax="1.49"):
    return pdf.CreditNoteLine(description, D("1"), D(untaxed), D(rate), D(untaxed), D(tax))


def document(lines, origin="FAC/2026/00042"):
    untaxed = sum((item.untaxed for item in lines), D(0))
    tax = sum((item.tax for item in lines), D(0))
    return pdf.CreditNoteDocument(
        number="AV/2026/00007",
        date=date(2026, 4, 16),
        seller=SELLER,
        client=CLIENT,
        origin_number=origin,
        origin_date=date(2026, 4, 1) if origin else None,
        reason="Résiliation à la demande du client",
        lines=lines,
        total_untaxed=untaxed,
        total_tax=tax,
        total=untaxed + tax,
    )


def text_of(data):
    reader = PdfReader(io.BytesIO(data))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def test_french_formats():
    assert format_amount_fr(D("1234.5")) == "1\u202f234,50\u00a0€"
    assert format_amount_fr(D("-0.5"), "") == "-0,50"
    assert format_rate_fr(D("5.50")) == "5,5\u00a0%"
    assert format_date_fr(date(2026, 11, 25)) == "25/11/2026"


def test_mandatory_mentions_and_accents():
    lines = [line(), line("Option Électroménager — prorata", "2.45", "5.5", "0.13")]
    reader, text = text_of(pdf.render(document(lines)))
    assert len(reader.pages) == 1
    for mention in (
        "FACTURE D'AVOIR",
        "AV/2026/00007",
        "16/04/2026",
        "912 345 678 00021",
        "FR12912345678",
        "Françoise Lefèvre-Cœur",
        "Avoir sur la facture n° FAC/2026/00042 du 01/04/2026",
        "Motif",
        "Électroménager",
        "Résiliation à la demande du client",
        "Total TTC",
        "Page 1 / 1",
    ):
        assert mention in text, mention
    # VAT summary per rate and totals, French formatted
    for amount in ("7,45", "2,45", "1,49", "0,13", "9,90", "1,62", "11,52", "5,5", "20"):
        assert amount in text, amount


def test_long_lines_wrap_and_many_lines_paginate():
    long_text = "Intervention d'urgence : " + "remplacement du groupe de sécurité, " * 12
    lines = [line(long_text)] + [line(f"Ligne n° {index}") for index in range(1, 150)]
    reader, text = text_of(pdf.render(document(lines, origin="")))
    pages = len(reader.pages)
    assert pages >= 4
    assert f"Page {pages} / {pages}" in text
    assert "Ligne n° 149" in text
    assert "Avoir commercial" in text
    # the long description is wrapped (never cut): its last words are there
    assert "sécurité," in text.split("Ligne n° 1\n")[0] or "sécurité" in text
    # the header row is repeated on every page
    assert all("Désignation" in page.extract_text() for page in reader.pages[:-1])


def test_seller_identity_and_totals_as_the_law_wants():
    _reader, text = text_of(pdf.render(document([line()])))
    for mention in (
        "Depanssur SAS",
        "10 quai Perrache",
        "SAS au capital de 50 000,00 €",
        "RCS Lyon 912 345 678",
        "SIREN/SIRET : 912 345 678 00021",
        "TVA intracommunautaire : FR12912345678",
        "Taux de TVA",
        "Base HT",
        "Total HT",
        "Total TVA",
        "Total TTC de l'avoir",
    ):
        assert mention in text, mention


def test_labels_in_the_client_language():
    english = {
        "title": "CREDIT NOTE",
        "origin": "Credit note on invoice %(number)s of %(date)s",
        "reason": "Reason:",
        "capital": "%(form)s with a share capital of %(capital)s",
        "total": "Credit note total incl. VAT",
        "page": "Page %(page)s of %(total)s",
    }
    _reader, text = text_of(pdf.render(replace(document([line()]), labels=english)))
    for mention in (
        "CREDIT NOTE",
        "Credit note on invoice FAC/2026/00042 of 01/04/2026",
        "Reason: Résiliation",
        "SAS with a share capital of 50 000,00 €",
        "Credit note total",
        "Page 1 of 1",
    ):
        assert mention in text, mention
    assert "FACTURE D'AVOIR" not in text
    assert "Motif" not in text


def test_footer_html_printed_as_text():
    footer = pdf.html_to_text(
        "<p>Depanssur SAS &amp; Cie — <b>capital 50&nbsp;000 €</b></p>"
        "<p><br/>IBAN FR76 3000<br>BIC AGRIFRPP</p><script>alert(1)</script>"
    )
    assert footer == "Depanssur SAS & Cie — capital 50\u00a0000 €\nIBAN FR76 3000\nBIC AGRIFRPP"
    _reader, text = text_of(pdf.render(replace(document([line()]), legal_footer=footer)))
    assert "Depanssur SAS & Cie" in text
    assert "BIC AGRIFRPP" in text
    for raw in ("<p>", "<b>", "&amp;", "<br", "alert"):
        assert raw not in text, raw
    assert pdf.html_to_text(None) == pdf.html_to_text("") == ""
    # escaped markup stays text, decoded once
    assert pdf.html_to_text("<p>&amp;lt;b&amp;gt;</p>") == "&lt;b&gt;"


@given(st.text(alphabet=st.sampled_from("abcé Œ€<>&;\"'#/=\n\t0123456789"), max_size=60))
def test_footer_text_round_trips_escaped_text(text):
    expected = "\n".join(
        part for part in (" ".join(chunk.split()) for chunk in text.split("\n")) if part
    )
    assert pdf.html_to_text(f"<p>{html.escape(text)}</p>") == expected
