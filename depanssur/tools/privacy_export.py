"""The right-of-access archive: one zip with the client's data as JSON and a readable PDF summary.

Pure code (no Odoo import): the model gathers the data into plain dicts and lists (``sections``:
a title, then records as ``{label: value}``), this module writes the JSON and draws the PDF with
reportlab (the fonts of the credit-note PDF).
"""

import io
import json
import zipfile
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..rules.credit_note_pdf import _fonts

ACCENT = colors.HexColor("#1F4E79")
LIGHT = colors.HexColor("#EEF3F8")
MAX_TEXT = 1500  # a long message body is cut in the PDF (the JSON keeps it whole)


def render_json(data):
    return json.dumps(data, indent=2, ensure_ascii=False, default=str).encode()


def _text(value):
    if value is None or value is False:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    text = str(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + " […]"


def render_pdf(title, intro, sections):
    """``sections``: [(heading, [record dict, ...], empty text)] → PDF bytes."""
    regular, bold = _fonts()
    styles = {
        "title": ParagraphStyle("t", fontName=bold, fontSize=16, leading=20, textColor=ACCENT),
        "h": ParagraphStyle("h", fontName=bold, fontSize=12, leading=15, textColor=ACCENT),
        "p": ParagraphStyle("p", fontName=regular, fontSize=8.5, leading=11),
        "k": ParagraphStyle("k", fontName=bold, fontSize=8.5, leading=11),
    }
    story = [Paragraph(escape(title), styles["title"]), Spacer(1, 3 * mm)]
    story.append(Paragraph(escape(intro), styles["p"]))
    for heading, records, empty in sections:
        story += [Spacer(1, 5 * mm), Paragraph(escape(heading), styles["h"]), Spacer(1, 2 * mm)]
        if not records:
            story.append(Paragraph(escape(empty), styles["p"]))
            continue
        for record in records:
            rows = [
                [
                    Paragraph(escape(str(label)), styles["k"]),
                    Paragraph(escape(_text(value)).replace("\n", "<br/>"), styles["p"]),
                ]
                for label, value in record.items()
            ]
            table = Table(rows, colWidths=[45 * mm, 125 * mm])
            table.setStyle(
                TableStyle(
                    [
                        ("BACKGROUND", (0, 0), (0, -1), LIGHT),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("BOX", (0, 0), (-1, -1), 0.4, ACCENT),
                        ("LINEBELOW", (0, 0), (-1, -2), 0.2, colors.lightgrey),
                    ]
                )
            )
            story += [table, Spacer(1, 2 * mm)]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer, pagesize=A4, title=title, leftMargin=18 * mm, rightMargin=18 * mm
    ).build(story)
    return buffer.getvalue()


def build_archive(json_name, data, pdf_name, pdf):
    """A zip holding the JSON and the PDF."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(json_name, render_json(data))
        archive.writestr(pdf_name, pdf)
    return buffer.getvalue()
