"""The French "facture d'avoir" PDF, drawn with reportlab (no browser, a few milliseconds).

Mandatory mentions (CGI art. 242 nonies A and 289, Code de commerce R123-237): number and date,
seller identity (name, address, legal form and share capital, RCS, SIREN/SIRET, VAT number),
client identity and address, the corrected invoice (number and date), each line with its untaxed
amount, VAT rate and VAT amount, a VAT summary per rate, totals (HT, TVA, TTC) and the reason.
Long descriptions wrap, the lines table paginates with its header repeated, and every page says
"Page x / y". The labels come translated from the caller (the client's language), French by
default; the company footer arrives as HTML and is printed as text (``html_to_text``).
"""

import dataclasses
import io
import os
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from html.parser import HTMLParser

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from .fr_format import format_amount_fr, format_date_fr, format_rate_fr
from .money import ZERO, to_money

__all__ = [
    "LABELS",
    "CreditNoteDocument",
    "CreditNoteLine",
    "Decimal",
    "Party",
    "format_amount_fr",
    "html_to_text",
    "render",
]

FONT_CANDIDATES = (
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
)
ACCENT = colors.HexColor("#1F4E79")
LIGHT = colors.HexColor("#EEF3F8")


# The printed words, French by default; the model passes them translated in the client's language
# (its English source strings are translated in i18n/fr.po). %(x)s placeholders are filled here.
LABELS = {
    "title": "FACTURE D'AVOIR",
    "number": "N°",
    "date": "Date :",
    "origin": "Avoir sur la facture n° %(number)s du %(date)s",
    "no_origin": "Avoir commercial, sans facture d'origine",
    "reason": "Motif :",
    "client": "CLIENT",
    "siren": "SIREN/SIRET :",
    "vat": "TVA intracommunautaire :",
    "phone": "Tél. :",
    "capital": "%(form)s au capital de %(capital)s",
    "description": "Désignation",
    "quantity": "Qté",
    "unit_price": "PU HT",
    "vat_rate": "Taux TVA",
    "untaxed": "Montant HT",
    "tax": "TVA",
    "summary_rate": "Taux de TVA",
    "summary_base": "Base HT",
    "summary_tax": "TVA",
    "total_untaxed": "Total HT",
    "total_tax": "Total TVA",
    "total": "Total TTC de l'avoir",
    "notice": "Le montant de cet avoir vient en déduction des sommes dues, "
    "ou vous est remboursé s'il a déjà été réglé.",
    "page": "Page %(page)s / %(total)s",
}


@dataclass(frozen=True)
class Party:
    name: str
    address_lines: list = field(default_factory=list)
    siren: str = ""
    vat: str = ""
    email: str = ""
    phone: str = ""
    legal_form: str = ""
    capital: str = ""  # formatted amount, e.g. "50 000,00 €"
    rcs: str = ""  # e.g. "RCS Lyon 912 345 675"


@dataclass(frozen=True)
class CreditNoteLine:
    description: str
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal
    untaxed: Decimal
    tax: Decimal


@dataclass(frozen=True)
class CreditNoteDocument:
    number: str
    date: date
    seller: Party
    client: Party
    origin_number: str
    origin_date: date | None
    reason: str
    lines: list
    total_untaxed: Decimal
    total_tax: Decimal
    total: Decimal
    currency_symbol: str = "€"
    legal_footer: str = ""  # plain text (see html_to_text), one printed line per line
    labels: dict = field(default_factory=dict)

    def label(self, key, **values):
        text = self.labels.get(key) or LABELS[key]
        return text % values if values else text


_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6"}
)


class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_to_text(html):
    """The text of an HTML fragment (a company footer): tags dropped, entities decoded, one line
    per block or <br/>, blank lines and repeated spaces removed."""
    if not html:
        return ""
    parser = _TextExtractor()
    parser.feed(str(html))
    parser.close()
    # entities are decoded by the parser (convert_charrefs): decoding again would turn "&amp;lt;"
    # into a tag-like "<"
    # HTML whitespace is ASCII: a no-break space stays
    lines = (
        re.sub(r"[ \t\r\f\v]+", " ", line).strip(" ") for line in "".join(parser.parts).split("\n")
    )
    return "\n".join(line for line in lines if line)


@cache
def _fonts():
    """(regular, bold) font names: DejaVu when installed, else reportlab's own Vera (both
    cover French accents and the œ ligature)."""
    import reportlab

    vera = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
    candidates = [
        *FONT_CANDIDATES,
        (os.path.join(vera, "Vera.ttf"), os.path.join(vera, "VeraBd.ttf")),
    ]
    for regular, bold in candidates:
        if os.path.exists(regular) and os.path.exists(bold):
            pdfmetrics.registerFont(TTFont("DPS", regular))
            pdfmetrics.registerFont(TTFont("DPS-Bold", bold))
            return "DPS", "DPS-Bold"
    return "Helvetica", "Helvetica-Bold"


@cache
def _styles():
    regular, bold = _fonts()
    return {
        "normal": ParagraphStyle("n", fontName=regular, fontSize=9, leading=11.5),
        "small": ParagraphStyle(
            "s", fontName=regular, fontSize=7.5, leading=9.5, textColor=colors.HexColor("#555555")
        ),
        "bold": ParagraphStyle("b", fontName=bold, fontSize=9, leading=11.5),
        "right": ParagraphStyle(
            "r", fontName=regular, fontSize=9, leading=11.5, alignment=TA_RIGHT
        ),
        "rightbold": ParagraphStyle(
            "rb", fontName=bold, fontSize=9, leading=11.5, alignment=TA_RIGHT
        ),
        "head": ParagraphStyle(
            "h", fontName=bold, fontSize=8.5, leading=10.5, textColor=colors.white
        ),
        "headright": ParagraphStyle(
            "hr",
            fontName=bold,
            fontSize=8.5,
            leading=10.5,
            textColor=colors.white,
            alignment=TA_RIGHT,
        ),
        "title": ParagraphStyle(
            "t", fontName=bold, fontSize=17, leading=21, textColor=ACCENT, alignment=TA_RIGHT
        ),
        "seller": ParagraphStyle("sn", fontName=bold, fontSize=12, leading=15, textColor=ACCENT),
    }


def _esc(text):
    return (str(text or "")).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _party_html(party, doc, with_ids=True):
    parts = [f"<b>{_esc(party.name)}</b>"] if party.name else []
    parts += [_esc(line) for line in party.address_lines]
    if with_ids:
        if party.legal_form and party.capital:
            parts.append(_esc(doc.label("capital", form=party.legal_form, capital=party.capital)))
        elif party.legal_form:
            parts.append(_esc(party.legal_form))
        if party.rcs:
            parts.append(_esc(party.rcs))
        if party.siren:
            parts.append(f"{_esc(doc.label('siren'))} {_esc(party.siren)}")
        if party.vat:
            parts.append(f"{_esc(doc.label('vat'))} {_esc(party.vat)}")
    if party.phone:
        parts.append(f"{_esc(doc.label('phone'))} {_esc(party.phone)}")
    if party.email:
        parts.append(_esc(party.email))
    return "<br/>".join(parts)


def _number(value):
    value = Decimal(str(value)).normalize()
    return f"{value:f}".replace(".", ",")


def _vat_summary(lines):
    summary = {}
    for line in lines:
        base, tax = summary.get(Decimal(line.vat_rate), (ZERO, ZERO))
        summary[Decimal(line.vat_rate)] = (base + to_money(line.untaxed), tax + to_money(line.tax))
    return sorted(summary.items())


class _NumberedCanvas(rl_canvas.Canvas):
    """Draws "Page x / y" and the footer once the page count is known."""

    footer_text = ""
    page_label = LABELS["page"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._saved_pages = []

    def showPage(self):
        self._saved_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._saved_pages)
        regular, _bold = _fonts()
        for state in self._saved_pages:
            self.__dict__.update(state)
            self.setFont(regular, 7.5)
            self.setFillColor(colors.HexColor("#555555"))
            width = A4[0]
            y = 12 * mm
            lines = [
                printed
                for text in self.footer_text.splitlines()
                for printed in simpleSplit(text, regular, 7.5, width - 36 * mm)
            ]
            for line in reversed(lines):
                self.drawCentredString(width / 2, y, line)
                y += 9
            self.drawRightString(
                width - 18 * mm,
                7 * mm,
                self.page_label % {"page": self._pageNumber, "total": total},
            )
            # the canvas's own page break (ours only records the page)
            rl_canvas.Canvas.showPage(self)
        return super().save()


def render(doc: CreditNoteDocument) -> bytes:
    """The PDF bytes of ``doc``."""
    styles = _styles()
    buffer = io.BytesIO()
    symbol = doc.currency_symbol
    frame = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=24 * mm,
        title=f"{doc.label('title')} {doc.number}",
        author=doc.seller.name,
    )
    width = A4[0] - 36 * mm
    story = []
    header = Table(
        [
            [
                [
                    Paragraph(_esc(doc.seller.name), styles["seller"]),
                    Paragraph(
                        _party_html(dataclasses.replace(doc.seller, name=""), doc),
                        styles["small"],
                    ),
                ],
                [
                    Paragraph(_esc(doc.label("title")), styles["title"]),
                    Paragraph(
                        f"{_esc(doc.label('number'))} <b>{_esc(doc.number)}</b><br/>"
                        f"{_esc(doc.label('date'))} {format_date_fr(doc.date)}",
                        styles["right"],
                    ),
                ],
            ]
        ],
        colWidths=[width * 0.55, width * 0.45],
    )
    header.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    story += [header, Spacer(1, 8 * mm)]
    if doc.origin_number:
        reference = _esc(
            doc.label(
                "origin",
                number="\x00",
                date=format_date_fr(doc.origin_date) if doc.origin_date else "",
            )
        ).replace("\x00", f"<b>{_esc(doc.origin_number)}</b>")
    else:
        reference = _esc(doc.label("no_origin"))
    client_box = Table(
        [
            [
                Paragraph(
                    f"{reference}<br/><br/><b>{_esc(doc.label('reason'))}</b> {_esc(doc.reason)}",
                    styles["normal"],
                ),
                Paragraph(
                    f"<font size=7.5 color='#555555'>{_esc(doc.label('client'))}</font><br/>"
                    + _party_html(doc.client, doc),
                    styles["normal"],
                ),
            ]
        ],
        colWidths=[width * 0.52, width * 0.48],
    )
    client_box.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOX", (1, 0), (1, 0), 0.6, ACCENT),
                ("BACKGROUND", (1, 0), (1, 0), LIGHT),
                ("LEFTPADDING", (0, 0), (0, 0), 0),
                ("LEFTPADDING", (1, 0), (1, 0), 8),
                ("TOPPADDING", (1, 0), (1, 0), 6),
                ("BOTTOMPADDING", (1, 0), (1, 0), 8),
            ]
        )
    )
    story += [client_box, Spacer(1, 8 * mm)]

    regular, bold = _fonts()
    rows = [
        [
            doc.label(key)
            for key in ("description", "quantity", "unit_price", "vat_rate", "untaxed", "tax")
        ]
    ]
    for line in doc.lines:
        # plain strings for the numbers (fast); a Paragraph only where text must wrap
        rows.append(
            [
                Paragraph(_esc(line.description).replace("\n", "<br/>"), styles["normal"]),
                _number(line.quantity),
                format_amount_fr(line.unit_price, symbol),
                format_rate_fr(line.vat_rate),
                format_amount_fr(line.untaxed, symbol),
                format_amount_fr(line.tax, symbol),
            ]
        )
    table = Table(
        rows, colWidths=[width * w for w in (0.39, 0.07, 0.13, 0.11, 0.15, 0.15)], repeatRows=1
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), bold),
                ("FONTNAME", (1, 1), (-1, -1), regular),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 1), (-1, -1), 0.3, colors.HexColor("#C9D3DD")),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F7F9FB")]),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    story += [table, Spacer(1, 6 * mm)]

    vat_rows = [[doc.label(key) for key in ("summary_rate", "summary_base", "summary_tax")]]
    for rate, (base, tax) in _vat_summary(doc.lines):
        vat_rows.append(
            [format_rate_fr(rate), format_amount_fr(base, symbol), format_amount_fr(tax, symbol)]
        )
    vat_table = Table(vat_rows, colWidths=[width * 0.16, width * 0.16, width * 0.14])
    vat_table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, ACCENT),
                ("FONTNAME", (0, 0), (-1, 0), bold),
                ("FONTNAME", (0, 1), (-1, -1), regular),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    totals = Table(
        [
            [
                Paragraph(_esc(doc.label("total_untaxed")), styles["normal"]),
                Paragraph(format_amount_fr(doc.total_untaxed, symbol), styles["right"]),
            ],
            [
                Paragraph(_esc(doc.label("total_tax")), styles["normal"]),
                Paragraph(format_amount_fr(doc.total_tax, symbol), styles["right"]),
            ],
            [
                Paragraph(f"<b>{_esc(doc.label('total'))}</b>", styles["normal"]),
                Paragraph(format_amount_fr(doc.total, symbol), styles["rightbold"]),
            ],
        ],
        colWidths=[width * 0.24, width * 0.16],
    )
    totals.setStyle(
        TableStyle(
            [
                ("LINEABOVE", (0, 2), (-1, 2), 0.8, ACCENT),
                ("BACKGROUND", (0, 2), (-1, 2), LIGHT),
            ]
        )
    )
    bottom = Table([[vat_table, "", totals]], colWidths=[width * 0.46, width * 0.14, width * 0.40])
    bottom.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    story.append(
        KeepTogether(
            [
                bottom,
                Spacer(1, 5 * mm),
                Paragraph(_esc(doc.label("notice")), styles["small"]),
            ]
        )
    )

    canvas_class = type(
        "_Canvas",
        (_NumberedCanvas,),
        {
            "page_label": doc.label("page"),
            "footer_text": doc.legal_footer
            or " — ".join(
                filter(
                    None,
                    [
                        doc.seller.name,
                        f"{doc.label('siren')} {doc.seller.siren}" if doc.seller.siren else "",
                        f"{doc.label('vat')} {doc.seller.vat}" if doc.seller.vat else "",
                    ],
                )
            ),
        },
    )
    frame.build(story, canvasmaker=canvas_class)
    return buffer.getvalue()
