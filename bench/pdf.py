#!/usr/bin/env python3
"""Credit-note PDF speed: ours (reportlab) vs Odoo's standard invoice PDF (wkhtmltopdf).

    python3 bench/pdf.py [--db depanssur_bench] [--batch 1000]

Prints ms per one-page credit note, the same for Odoo's invoice report rendered through
wkhtmltopdf on the same machine, their ratio, and the peak memory of a batch of 1 000 PDFs.
"""

import argparse
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import conftest  # noqa: F401 - imports depanssur.rules without Odoo
from common import DEFAULT_DB, Timer, environment, out, peak_rss_mb

from depanssur.rules import credit_note_pdf as pdf


def document(index=1):
    seller = pdf.Party(
        "Depanssur SAS",
        ["10 quai Perrache", "69002 Lyon"],
        "91234567500017",
        "FR65912345675",
        legal_form="SAS",
        capital="50 000,00 €",
        rcs="RCS Lyon 912 345 675",
    )
    client = pdf.Party(f"Mme Hélène Lefèvre {index}", ["3 place Bellecour", "69002 Lyon"])
    lines = [
        pdf.CreditNoteLine(
            "Abonnement Confort — prorata de résiliation",
            Decimal(1),
            Decimal("7.45"),
            Decimal(20),
            Decimal("7.45"),
            Decimal("1.49"),
        ),
        pdf.CreditNoteLine(
            "Option Électroménager — prorata",
            Decimal(1),
            Decimal("2.45"),
            Decimal(20),
            Decimal("2.45"),
            Decimal("0.49"),
        ),
    ]
    return pdf.CreditNoteDocument(
        f"AV/2026/{index:05d}",
        date(2026, 4, 16),
        seller,
        client,
        "FAC/2026/00042",
        date(2026, 4, 1),
        "Résiliation",
        lines,
        Decimal("9.90"),
        Decimal("1.98"),
        Decimal("11.88"),
        legal_footer=pdf.html_to_text(
            "<p>Depanssur SAS &amp; Cie — contact@depanssur.example.fr</p><p>IBAN FR76 3000</p>"
        ),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    pdf.render(document())  # fonts loaded once per process
    with Timer() as timer:
        for index in range(args.samples):
            pdf.render(document(index))
    ours = timer.seconds / args.samples
    out(f"credit-note PDF (reportlab): {ours * 1000:.1f} ms per one-page document (target < 20 ms)")
    rss = peak_rss_mb()
    with Timer() as batch:
        for index in range(args.batch):
            pdf.render(document(index))
    out(
        f"batch of {args.batch}: {batch.seconds:.1f} s, peak RSS {peak_rss_mb():.0f} MB "
        f"(before the batch {rss:.0f} MB)"
    )
    with environment(args.db) as env:
        Report = env["ir.actions.report"]
        if Report.get_wkhtmltopdf_state() != "ok":
            out("wkhtmltopdf not available: no Odoo baseline")
            return 0
        partner = env["res.partner"].search([("email", "like", "@bench.example")], limit=1) or env[
            "res.partner"
        ].create({"name": "Bench client"})  # rolled back
        invoice = env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_line_ids": [
                    (0, 0, {"name": "Abonnement Confort", "quantity": 1, "price_unit": 14.9}),
                    (0, 0, {"name": "Option Électroménager", "quantity": 1, "price_unit": 4.9}),
                ],
            }
        )
        invoice.action_post()  # rolled back at the end
        Report._render_qweb_pdf("account.account_invoices", invoice.ids)
        samples = 5
        with Timer() as timer:
            for _ in range(samples):
                Report._render_qweb_pdf("account.account_invoices", invoice.ids)
        theirs = timer.seconds / samples
        out(f"Odoo invoice PDF (QWeb + wkhtmltopdf): {theirs * 1000:.0f} ms per document")
        out(f"ratio: ours is {theirs / ours:.0f}x faster (target >= 20x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
