import io
from datetime import date

from freezegun import freeze_time
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tests import HttpCase, tagged
from pypdf import PdfReader

from .common import DepanssurSubscriptionCase


class CreditNoteCommon(DepanssurSubscriptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tax20 = cls.env["account.tax"].create(
            {"name": "TVA 20 % test", "amount": 20, "type_tax_use": "sale"}
        )
        cls.invoice = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": cls.client.id,
                "invoice_date": "2026-04-01",
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": "Abonnement Confort avril",
                            "quantity": 1,
                            "price_unit": 150.0,
                            "tax_ids": [Command.set(cls.tax20.ids)],
                        }
                    )
                ],
            }
        )
        cls.invoice.action_post()

    def _note(self, amount=50.0, user=None, **vals):
        return (
            self.env["depanssur.credit.note"]
            .with_user(user or self.user_agent)
            .create(
                {
                    "partner_id": self.client.id,
                    "invoice_id": self.invoice.id,
                    "reason": "billing_error",
                    "line_ids": [
                        Command.create(
                            {
                                "name": "Erreur de facturation — trop-perçu sur l'échéance d'avril",
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


@tagged("post_install", "-at_install")
class TestCreditNote(CreditNoteCommon):
    def test_small_note_issue_post_reconcile_and_pdf(self):
        note = self._note(50.0)
        self.assertEqual((note.amount_untaxed, note.amount_tax, note.amount_total), (50, 10, 60))
        note.action_submit()
        self.assertEqual(note.state, "approved")
        with self.assertRaises(UserError):
            note.with_user(self.user_agent).action_issue()
        with freeze_time("2026-04-20"):
            note.with_user(self.user_accounting).action_issue()
        self.assertRegex(note.name, r"^AV/2026/\d{5}$")
        move = note.move_id
        # one credit note, one number: the accounting move's
        self.assertEqual(move.name, note.name)
        self.assertEqual(note.issue_date, date(2026, 4, 20))
        self.assertEqual((move.move_type, move.state), ("out_refund", "posted"))
        self.assertEqual(move.reversed_entry_id, self.invoice)
        self.assertEqual(move.depanssur_credit_note_id, note)
        self.assertAlmostEqual(move.amount_total, 60.0)
        self.assertEqual(self.invoice.amount_residual, 120.0)
        # reconciled with the open invoice: the accounting credit note is paid, so "refunded"
        self.assertEqual(move.payment_state, "paid")
        self.assertEqual(note.state, "refunded")
        # immutable once issued, its accounting side included
        with self.assertRaises(UserError):
            move.with_user(self.user_accounting).button_draft()
        with self.assertRaises(UserError):
            move.with_user(self.user_accounting).button_cancel()
        self.assertEqual(move.state, "posted")
        with self.assertRaises(UserError):
            note.write({"reason_text": "changed"})
        with self.assertRaises(UserError):
            note.line_ids.write({"price_unit": 1})
        # the legal PDF, attached to the chatter
        self.assertTrue(note.pdf_attachment_id)
        text = "\n".join(
            page.extract_text() for page in PdfReader(io.BytesIO(note.pdf_attachment_id.raw)).pages
        )
        for mention in (  # an English client: English labels (French: TestCreditNoteFrench)
            "CREDIT NOTE",
            note.name,
            "20/04/2026",
            "91234567500017",
            "FR65912345675",
            "RCS Lyon 912 345 675",
            "SAS",
            "Sophie Lefèvre",
            "3 place Bellecour",
            f"Credit note on invoice {self.invoice.name} of 01/04/2026",
            "trop-perçu",
            "Reason:",
            "50,00",
            "10,00",
            "60,00",
            "20 %",
        ):
            self.assertIn(mention, text)

    def test_big_note_needs_approval_by_accounting(self):
        note = self._note(150.0)
        note.with_user(self.user_agent).action_submit()
        self.assertEqual(note.state, "to_approve")
        # the approval is asked of an Accounting user, not of the agent who cannot give it
        activity = note.activity_ids.filtered(lambda a: a.summary == "Approve credit note")
        self.assertTrue(activity.user_id.has_group("depanssur.group_depanssur_accounting"))
        with self.assertRaises(UserError):
            note.with_user(self.user_agent).action_approve()
        with self.assertRaises(UserError):
            note.with_user(self.user_accounting).action_issue()
        note.with_user(self.user_accounting).action_approve()
        self.assertEqual(note.approved_by_id, self.user_accounting)
        note.with_user(self.user_accounting).action_issue()
        self.assertEqual(self.invoice.payment_state, "reversed")

    def test_cap_at_creditable_amount(self):
        first = self._note(100.0)
        first.action_submit()
        first.with_user(self.user_accounting).action_approve()
        second = self._note(60.0)
        with self.assertRaises(UserError):
            second.action_submit()  # 120 + 72 > 180
        third = self._note(50.0)
        third.action_submit()
        self.assertEqual(third.state, "approved")

    def test_gapless_numbering_under_cancellations(self):
        issued = []
        for index in range(3):
            note = self._note(10.0)
            if index == 1:
                note.action_cancel()
                self.assertEqual(note.name, "/")
                with self.assertRaises(UserError):
                    note.with_user(self.user_accounting).action_issue()
                continue
            note.action_submit()
            note.with_user(self.user_accounting).action_issue()
            issued.append(note)
        numbers = [int(note.name.split("/")[-1]) for note in issued]
        self.assertEqual(numbers[1], numbers[0] + 1)

    def test_refusals(self):
        with self.assertRaises(ValidationError):
            self._note(invoice_id=False)  # only a commercial gesture has no origin invoice
        gesture = self._note(20.0, invoice_id=False, reason="commercial_gesture")
        gesture.action_submit()
        gesture.with_user(self.user_accounting).action_issue()
        self.assertEqual(gesture.move_id.move_type, "out_refund")
        self.assertFalse(gesture.move_id.reversed_entry_id)
        self.assertEqual(gesture.state, "issued")  # nothing paid it yet
        with self.assertRaises(ValidationError):
            self._note(reason="other")
        empty = self._note(0.0)
        with self.assertRaises(UserError):
            empty.action_submit()
        with self.assertRaises(UserError):
            gesture.action_cancel()
        with self.assertRaises(UserError):
            gesture.write({"state": "draft"})

    def test_termination_proposes_prorata_credit_note(self):
        subscription = self._subscribe(date_start="2026-01-01", plan=self.plan_confort)
        self.env["depanssur.subscription"]._cron_invoice_due(date(2026, 4, 1))
        with freeze_time("2026-04-20"):
            subscription._terminate("client_request", date(2026, 4, 15))
        note = self.env["depanssur.credit.note"].search([("subscription_id", "=", subscription.id)])
        self.assertEqual(len(note), 1)
        self.assertEqual((note.state, note.reason), ("draft", "termination_prorata"))
        # 14.90 for April, 15 unused days out of 30
        self.assertAlmostEqual(note.amount_untaxed, 7.45)
        self.assertEqual(note.invoice_id.depanssur_period_start, date(2026, 4, 1))


@tagged("post_install", "-at_install")
class TestCreditNoteLanguage(CreditNoteCommon):
    """The PDF and the accounting credit note follow the client's language, not the caller's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.env["ir.module.module"]._load_module_terms(["depanssur"], ["fr_FR"], overwrite=True)

    def _issue_as(self, caller_lang):
        note = self._note(50.0)
        note.action_submit()
        note.with_user(self.user_accounting).with_context(lang=caller_lang).action_issue()
        return note, "\n".join(
            page.extract_text() for page in PdfReader(io.BytesIO(note.pdf_attachment_id.raw)).pages
        )

    def test_french_client_english_caller(self):
        self.client.lang = "fr_FR"
        note, text = self._issue_as("en_US")
        self.assertIn("Motif : Erreur de facturation", text)
        self.assertIn("FACTURE D'AVOIR", text)
        self.assertNotIn("Billing error", text)
        self.assertNotIn("CREDIT NOTE", text)
        self.assertEqual(note.move_id.ref, "Erreur de facturation")

    def test_english_client_french_caller(self):
        self.client.lang = "en_US"
        note, text = self._issue_as("fr_FR")
        self.assertIn("Reason: Billing error", text)
        self.assertIn("CREDIT NOTE", text)
        self.assertNotIn("Reason: Erreur de facturation", text)
        self.assertNotIn("Motif", text)
        self.assertNotIn("FACTURE D'AVOIR", text)
        self.assertEqual(note.move_id.ref, "Billing error")

    def test_draft_pdf_in_the_client_language(self):
        self.client.lang = "fr_FR"
        note = self._note(50.0)
        document = note.with_context(lang="en_US")._pdf_document()
        self.assertEqual((document.number, document.reason), ("BROUILLON", "Erreur de facturation"))


@tagged("post_install", "-at_install")
class TestCreditNotePdfRoute(HttpCase, CreditNoteCommon):
    def test_pdf_route_access(self):
        note = self._note(10.0)
        self.authenticate("dp_agent", "dp_agent")
        response = self.url_open(f"/depanssur/credit_note/{note.id}/pdf")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "application/pdf")
        self.assertTrue(response.content.startswith(b"%PDF"))
        self.authenticate("dp_portal", "dp_portal")
        response = self.url_open(f"/depanssur/credit_note/{note.id}/pdf")
        self.assertEqual(response.status_code, 404)
