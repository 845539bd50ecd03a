import io
from datetime import date
from decimal import Decimal as D

from pypdf import PdfReader

from depanssur.rules import credit_note_pdf as pdf
from depanssur.rules.fr_format import format_amount_fr, format_date_fr, format_rate_fr

SELLER = pdf.Party(
    "Depanssur SAS", ["10 quai Perrache", "69002 Lyon"], "912 345 678 00021", "FR12912345678"
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
