import io

from freezegun import freeze_time
from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tests import HttpCase, tagged
from pypdf import PdfReader

from .common import DepanssurCase, activate_french, french_company


def pdf_text(content):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@tagged("post_install", "-at_install")
class TestCreditNoteFrench(HttpCase, DepanssurCase):
    """A French company (French chart, EUR, TVA 20 %): the posted refund is the credit note, with
    one number (AV/<year>/<n>) and one PDF, in French, everywhere."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_french(cls.env)
        cls.fr_company = french_company(cls.env)
        cls.env = cls.env(context=dict(cls.env.context, allowed_company_ids=[cls.fr_company.id]))
        for user in (cls.user_agent, cls.user_accounting):
            user.write(
                {
                    "company_ids": [Command.link(cls.fr_company.id)],
                    "company_id": cls.fr_company.id,
                }
            )
        cls.client.lang = "fr_FR"
        cls.plan = cls.env["depanssur.plan"].create(
            {
                "name": "Confort FR",
                "monthly_price": 14.90,
                "category_ids": [Command.link(cls.env.ref("depanssur.category_plumbing").id)],
                "carence_days": 30,
                "franchise": 0,
                "cap_per_intervention": 500,
                "yearly_cap_amount": 1200,
                "yearly_cap_count": 3,
            }
        )
        cls.tax20 = cls.fr_company.account_sale_tax_id
        cls.invoice = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": cls.client.id,
                "invoice_date": "2026-04-01",
                "invoice_line_ids": [
                    Command.create({"product_id": cls.plan.product_id.id, "quantity": 10})
                ],
            }
        )
        cls.invoice.action_post()

    def _issue(self, amount, **vals):
        note = self._approved(amount, **vals)
        note.with_user(self.user_accounting).action_issue()
        return note

    def _approved(self, amount, **vals):
        note = (
            self.env["depanssur.credit.note"]
            .with_user(self.user_agent)
            .create(
                {
                    "partner_id": self.client.id,
                    "invoice_id": self.invoice.id,
                    "reason": "billing_error",
                    "line_ids": [
                        Command.create(
                            {
                                "name": "Trop-perçu sur l'échéance d'avril",
                                "quantity": 1,
                                "price_unit": amount,
                                "tax_ids": [Command.set(self.tax20.ids)],
                            }
                        )
                    ],
                    **vals,
                }
            )
        )
        note.action_submit()
        return note

    def test_plan_products_carry_the_company_vat(self):
        self.assertEqual(self.fr_company.currency_id, self.env.ref("base.EUR"))
        # the product is shared: its tax in this company is the company's 20 %
        taxes = self.plan.product_id.taxes_id
        self.assertEqual(taxes.filtered(lambda t: t.company_id == self.fr_company), self.tax20)
        self.assertEqual((self.tax20.amount, self.tax20.price_include), (20, False))
        # prices stored excl. VAT: HT, TVA, TTC on the invoice
        self.assertEqual(
            (self.invoice.amount_untaxed, self.invoice.amount_tax, self.invoice.amount_total),
            (149.0, 29.8, 178.8),
        )

    def test_one_number_gapless_and_other_journals_untouched(self):
        with freeze_time("2026-04-20"):
            first = self._issue(10.0)
            second = self._issue(5.0)
            journal = first.move_id.journal_id
            # an accountant's own credit note in the same journal continues the series
            manual = self.env["account.move"].create(
                {
                    "move_type": "out_refund",
                    "journal_id": journal.id,
                    "partner_id": self.client.id,
                    "invoice_date": "2026-04-20",
                    "invoice_line_ids": [
                        Command.create({"name": "Geste", "quantity": 1, "price_unit": 1.0})
                    ],
                }
            )
            manual.action_post()
            third = self._issue(2.0)
            # another sales journal keeps Odoo's numbering
            other_journal = self.env["account.journal"].create(
                {"name": "Other sales", "code": "OTH", "type": "sale"}
            )
            other = manual.copy({"journal_id": other_journal.id, "invoice_date": "2026-04-20"})
            other.action_post()
        self.assertEqual(
            [first.name, second.name, manual.name, third.name],
            ["AV/2026/00001", "AV/2026/00002", "AV/2026/00003", "AV/2026/00004"],
        )
        for note in (first, second, third):
            self.assertEqual(note.move_id.name, note.name)
            self.assertEqual(note.move_id.journal_id, journal)
        self.assertEqual(journal, self.invoice.journal_id)
        self.assertFalse(self.invoice.name.startswith("AV/"))
        self.assertEqual(other.name, "ROTH/2026/00001")

    def test_pdf_in_french_with_every_mention(self):
        self.fr_company.report_footer = (
            "<p>Depanssur SAS &amp; Cie — <b>contact@depanssur.example.fr</b></p>"
            "<p>IBAN FR76 3000 6000 0112 3456 7890 189</p>"
        )
        with freeze_time("2026-04-20"):
            note = self._issue(50.0)
        move = note.move_id
        text = pdf_text(note.pdf_attachment_id.raw)
        for mention in (
            "FACTURE D'AVOIR",
            f"N° {note.name}",
            "Date : 20/04/2026",
            f"Avoir sur la facture n° {self.invoice.name} du 01/04/2026",
            # seller: name, address, legal form and capital, RCS, SIRET, VAT number
            "Depanssur Test SAS",
            "10 quai Perrache",
            "69002 Lyon",
            "SAS au capital de 50",
            "RCS Lyon 912 345 675",
            "SIREN/SIRET : 91234567500017",
            "TVA intracommunautaire : FR65912345675",
            # client
            "Sophie Lefèvre",
            "3 place Bellecour",
            # HT per VAT rate, TVA, TTC, reason
            "Taux de TVA",
            "Base HT",
            "Total HT",
            "Total TVA",
            "Total TTC de l'avoir",
            "50,00",
            "10,00",
            "60,00",
            "€",
            "Motif : Erreur de facturation",
            "Page 1 / 1",
            # the footer as text
            "Depanssur SAS & Cie — contact@depanssur.example.fr",
            "IBAN FR76",
        ):
            self.assertIn(mention, text)
        for raw_html in ("<p>", "<b>", "&amp;"):
            self.assertNotIn(raw_html, text)
        # the accounting move's document is that PDF: stored, printed, named after the number
        self.assertEqual(move.invoice_pdf_report_id.raw, note.pdf_attachment_id.raw)
        self.assertEqual(move._get_invoice_report_filename(), "Avoir-AV-2026-00001.pdf")
        # every invoice report of the print menu gives it (even where tests render HTML)
        for report in ("account.account_invoices", "account.account_invoices_without_payment"):
            content, report_type = self.env["ir.actions.report"]._render_qweb_pdf(report, move.ids)
            self.assertEqual(report_type, "pdf")
            self.assertEqual(content, note.pdf_attachment_id.raw)
        # the chatter and the email carry it too
        self.assertIn(note.pdf_attachment_id, note.message_ids.attachment_ids)

    def test_refused_without_a_legal_mention(self):
        note = self._approved(10.0)
        for field_name, label in (
            ("vat", "VAT number"),
            ("company_registry", "SIREN/SIRET"),
            ("depanssur_share_capital", "share capital"),
            ("depanssur_legal_form", "legal form"),
            ("depanssur_rcs", "RCS"),
            ("street", "address"),
        ):
            with self.subTest(field=field_name):
                saved = self.fr_company[field_name]
                self.fr_company[field_name] = False
                with self.assertRaisesRegex(UserError, label):
                    note.with_user(self.user_accounting).action_issue()
                self.fr_company[field_name] = saved
                # nothing half-done: not numbered, nothing posted
                self.assertEqual((note.state, note.name), ("approved", "/"))
                self.assertFalse(note.move_id)
        self.assertFalse(
            self.env["account.move"].search(
                [("move_type", "=", "out_refund"), ("company_id", "=", self.fr_company.id)]
            )
        )
        # complete again: issued
        note.with_user(self.user_accounting).action_issue()
        self.assertEqual(note.move_id.name, note.name)

    def test_portal_download_is_the_credit_note_pdf(self):
        note = self._issue(10.0)
        move = note.move_id
        move._portal_ensure_token()
        url = f"/my/invoices/{move.id}?access_token={move.access_token}&report_type=pdf"
        for suffix in ("&download=true", ""):
            response = self.url_open(url + suffix)
            self.assertEqual(response.status_code, 200)
            self.assertEqual(response.headers["Content-Type"], "application/pdf")
            self.assertEqual(response.content, note.pdf_attachment_id.raw)
        self.assertRegex(
            self.url_open(url + "&download=true").headers["Content-Disposition"],
            r"Avoir.AV.2026.00001\.pdf",
        )
        # without the token: no document, no error page
        response = self.url_open(f"/my/invoices/{move.id}?report_type=pdf&download=true")
        self.assertNotEqual(response.status_code, 500)
        self.assertNotIn(b"%PDF", response.content[:10])
