from datetime import date
from unittest.mock import patch

from freezegun import freeze_time
from odoo.addons.sms.tests.common import SMSCase
from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tests import new_test_user, tagged

from .common import DepanssurSubscriptionCase


@tagged("post_install", "-at_install")
class TestDunning(SMSCase, DepanssurSubscriptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Case = cls.env["depanssur.dunning.case"]
        with freeze_time("2026-03-01"):
            cls.subscription = cls.env["depanssur.subscription"].create(
                {
                    "partner_id": cls.client.id,
                    "plan_id": cls.plan_essentiel.id,
                    "date_start": "2026-03-01",
                }
            )
            cls.subscription.action_confirm()
            cls.env["depanssur.subscription"]._cron_invoice_due(date(2026, 3, 1))
        cls.invoice = cls.subscription.invoice_ids.filtered(
            lambda m: m.depanssur_period_start == date(2026, 3, 1)
        )

    def _advance(self, day):
        with freeze_time(day), self.mockSMSGateway():
            self.Case._cron_advance(day)
            self.env.flush_all()
        return self.Case.search([("invoice_id", "=", self.invoice.id)])

    def _pay(self, invoice, user=None):
        """Register the payment the way an accountant does (the payment wizard), on 20 March."""
        with freeze_time("2026-03-20"), self.mockSMSGateway():
            self.env["account.payment.register"].with_user(user or self.env.user).with_context(
                active_model="account.move", active_ids=invoice.ids
            ).create({"payment_date": "2026-03-20"})._create_payments()

    def test_ladder_end_to_end_with_payment_lifting_suspension(self):
        case = self._advance(date(2026, 3, 2))
        self.assertEqual(len(case), 1)
        self.assertEqual((case.start_date, case.level_id.days_after), (date(2026, 3, 1), 0))
        subjects = [subject or "" for subject in case.message_ids.mapped("subject")]
        self.assertTrue(any(s.startswith("Votre paiement n'a pas abouti") for s in subjects))
        # the same day again: nothing more
        self._advance(date(2026, 3, 2))
        self.assertEqual(len(case.action_ids), 1)
        case = self._advance(date(2026, 3, 4))
        self.assertEqual(case.level_id.days_after, 3)
        self.assertTrue(self._queued_sms("+33611223344", "n'a pas abouti"))
        self.assertIn("payment link sent", case.action_ids[-1].result)
        case = self._advance(date(2026, 3, 16))  # D+7 and D+15 at once, in order
        self.assertEqual(case.action_ids.level_id.mapped("days_after"), [0, 3, 7, 15])
        self.assertEqual(self.subscription.state, "suspended")
        self.assertTrue(case.suspended_by_dunning)
        self.assertEqual(self.subscription.suspension_ids.date_from, date(2026, 3, 16))
        # an accountant with no Depanssur right registers the payment: lifted at once, no need
        # to wait for the next daily run
        billing = new_test_user(
            self.env, login="dp_billing", groups="account.group_account_invoice", name="Bill Ing"
        )
        self._pay(self.invoice, user=billing)
        self.assertIn(self.invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual((case.state, case.close_reason), ("closed", "paid"))
        self.assertFalse(case.suspended_by_dunning)
        self.assertEqual(self.subscription.state, "carence")  # back where it was
        self.assertEqual(self.subscription.suspension_ids.date_to, date(2026, 3, 19))
        # the next daily run has nothing left to do on it
        self._advance(date(2026, 3, 21))
        self.assertEqual(self.subscription.state, "carence")
        self.assertEqual(len(case.action_ids), 4)
        # the suspended days stay uncovered
        decision = self.subscription._coverage_decision(
            date(2026, 3, 17), "plumbing", self.client, 100
        )
        self.assertEqual(decision.reason, "suspended")

    def test_a_run_for_a_given_day_lifts_the_suspension_on_that_day(self):
        """A run for 25 March made on 30 March reactivates from 25 March: the run's day, never
        the day the run happens to be made on."""
        self._advance(date(2026, 3, 16))
        self.assertEqual(self.subscription.state, "suspended")
        # a credit note settles the invoice: the case closes at the next daily run
        with freeze_time("2026-03-18"), self.mockSMSGateway():
            note = self.env["depanssur.credit.note"].create(
                {
                    "partner_id": self.client.id,
                    "subscription_id": self.subscription.id,
                    "invoice_id": self.invoice.id,
                    "reason": "billing_error",
                    "line_ids": [
                        Command.create(
                            {
                                "name": "Billing error",
                                "quantity": 1,
                                "price_unit": self.invoice.amount_total,
                            }
                        )
                    ],
                }
            )
            note.action_submit()
            note.with_user(self.user_accounting).action_issue()
        self.assertEqual(self.invoice.payment_state, "reversed")
        self.assertEqual(self.subscription.state, "suspended")
        with freeze_time("2026-03-30"), self.mockSMSGateway():
            self.Case._cron_advance(date(2026, 3, 25))
        case = self.Case.search([("invoice_id", "=", self.invoice.id)])
        self.assertEqual((case.state, case.close_reason), ("closed", "credit_note"))
        self.assertEqual(self.subscription.state, "carence")
        self.assertEqual(self.subscription.suspension_ids.date_from, date(2026, 3, 16))
        self.assertEqual(self.subscription.suspension_ids.date_to, date(2026, 3, 24))

    def test_termination_at_d30(self):
        case = self._advance(date(2026, 3, 31))
        self.assertEqual(self.subscription.state, "terminated")
        self.assertEqual(self.subscription.termination_reason, "non_payment")
        self.assertEqual((case.state, case.close_reason), ("closed", "terminated"))
        self.assertEqual(len(case.action_ids), 5)
        # the invoice stays unpaid, but its case was closed by the termination: not dunned again
        self.assertEqual(self._advance(date(2026, 4, 2)), case)
        self.assertEqual(len(case.action_ids), 5)

    def test_a_payment_the_hook_missed_closes_its_case_at_the_next_run(self):
        """The daily run's safety net (set-based): a case whose invoice got paid without the
        payment hook closing it (an import, a module overriding the hook) is closed as paid, and
        the suspension it caused lifted; a paid invoice never opens a case again."""
        case = self._advance(date(2026, 3, 16))
        self.assertEqual(self.subscription.state, "suspended")
        with patch.object(type(self.env["account.move"]), "_invoice_paid_hook", lambda self: None):
            self._pay(self.invoice)
        self.assertEqual(self.invoice.payment_state, "paid")
        self.assertEqual(case.state, "open")
        case = self._advance(date(2026, 3, 21))
        self.assertEqual((case.state, case.close_reason), ("closed", "paid"))
        self.assertNotEqual(self.subscription.state, "suspended")
        self.assertEqual(self._advance(date(2026, 3, 22)), case)

    def test_webhooks_open_and_close(self):
        event = self.env["depanssur.webhook.event"].create(
            {
                "webhook_id": "msg_pf",
                "event_type": "payment.failed",
                "occurred_at": "2026-03-05 06:00:00",
                "payload": {
                    "data": {
                        "subscription": self.subscription.name,
                        "amount": "9.90",
                        "currency": "EUR",
                        "invoice": self.invoice.name,
                    }
                },
            }
        )
        with self.mockSMSGateway():
            event._process_one()
        self.assertEqual(event.state, "processed")
        case = self.Case.search([("subscription_id", "=", self.subscription.id)])
        self.assertEqual((case.source, case.start_date), ("payment_failed", date(2026, 3, 5)))
        succeeded = self.env["depanssur.webhook.event"].create(
            {
                "webhook_id": "msg_ps",
                "event_type": "payment.succeeded",
                "occurred_at": "2026-03-06 06:00:00",
                "payload": {
                    "data": {
                        "subscription": self.subscription.name,
                        "amount": "9.90",
                        "currency": "EUR",
                    }
                },
            }
        )
        succeeded._process_one()
        self.assertEqual((case.state, case.close_reason), ("closed", "paid"))

    def test_cases_reaching_a_level_together_each_get_their_own_messages(self):
        other = self.env["res.partner"].create(
            {
                "name": "Paul Martin",
                "email": "paul.martin@example.fr",
                "mobile": "06 22 33 44 55",
                "street": "1 rue",
                "zip": "69001",
                "city": "Lyon",
            }
        )
        with freeze_time("2026-03-01"):
            second = self._subscribe(partner=other, date_start="2026-03-01")
            self.env["depanssur.subscription"]._cron_invoice_due(date(2026, 3, 1))
        self._advance(date(2026, 3, 4))  # D+0 and D+3 for both cases, level by level
        cases = self.Case.search([("subscription_id", "in", (self.subscription | second).ids)])
        self.assertEqual(len(cases), 2)
        for case, client in ((cases[0], cases[0].partner_id), (cases[1], cases[1].partner_id)):
            self.assertEqual(case.action_ids.level_id.mapped("days_after"), [0, 3])
            self.assertTrue(case.action_ids[0].result.startswith("1 email(s)"))
            emails = case.message_ids.filtered(lambda m: m.partner_ids)
            self.assertTrue(emails)
            self.assertEqual(emails.partner_ids, client, "each client gets only their own")
        self.assertEqual(cases.partner_id, self.client | other)

    def test_manual_actions(self):
        case = self._advance(date(2026, 3, 2))
        with self.assertRaises(UserError):
            case.with_user(self.user_agent).action_pause()
        case.with_user(self.user_accounting).action_pause()
        case = self._advance(date(2026, 3, 10))
        self.assertEqual(len(case.action_ids), 1, "a paused case does not advance")
        case.with_user(self.user_accounting).action_resume()
        with self.mockSMSGateway():
            case.with_user(self.user_accounting).action_skip_to_level(
                self.env.ref("depanssur.dunning_level_d15"), date(2026, 3, 10)
            )
        self.assertEqual(case.action_ids.mapped("skipped"), [False, True, True, False])
        self.assertEqual(self.subscription.state, "suspended")
        with freeze_time("2026-03-12"):
            case.with_user(self.user_accounting).action_write_off()
        self.assertEqual((case.state, case.close_reason), ("closed", "written_off"))
        note = self.env["depanssur.credit.note"].search([("invoice_id", "=", self.invoice.id)])
        self.assertEqual((note.reason, note.state), ("write_off", "refunded"))
        self.assertEqual(self.invoice.payment_state, "reversed")
        self.assertEqual(self.subscription.state, "carence")

    def _token_provider(self):
        """A tokenizing payment provider without ``payment_demo`` (the test database has only
        Depanssur's dependencies): Odoo's dummy provider code ``none``, as
        addons/payment/tests/common.py builds it, with a payment method line on the bank journal
        (as account's tests give it one), so that a done transaction is posted and reconciled by
        ``account_payment``."""
        method = self.env.ref("payment.payment_method_unknown")
        provider = self.env["payment.provider"].create(
            {
                "name": "Test card provider",
                "code": "none",
                "state": "test",
                "allow_tokenization": True,
                "payment_method_ids": [Command.set(method.ids)],
            }
        )
        method.write({"active": True, "support_tokenization": True})
        PaymentMethod = self.env.registry["account.payment.method"]
        information = PaymentMethod._get_payment_method_information

        def with_none(model):
            return {**information(model), "none": {"mode": "electronic", "type": ("bank",)}}

        with patch.object(PaymentMethod, "_get_payment_method_information", with_none):
            if not self.env["account.payment.method"].search([("code", "=", "none")]):
                self.env["account.payment.method"].sudo().create(
                    {"name": "Test card", "code": "none", "payment_type": "inbound"}
                )
            provider.journal_id = self.env["account.journal"].search(
                [("type", "=", "bank"), ("company_id", "=", self.company.id)], limit=1
            )
        return provider, method

    def test_retry_with_saved_token(self):
        provider, method = self._token_provider()
        token = self.env["payment.token"].create(
            {
                "provider_id": provider.id,
                "payment_method_id": method.id,
                "partner_id": self.client.id,
                "payment_details": "4242",
                "provider_ref": "test-token",
            }
        )
        self.subscription.payment_token_id = token

        def provider_accepts(transaction):  # the provider's API, mocked: the charge succeeds
            transaction._set_done()

        Transaction = self.env.registry["payment.transaction"]
        with patch.object(Transaction, "_send_payment_request", provider_accepts):
            case = self._advance(date(2026, 3, 4))
        transaction = self.env["payment.transaction"].search([("token_id", "=", token.id)])
        self.assertEqual(len(transaction), 1)
        self.assertEqual(transaction.state, "done")
        self.assertEqual(transaction.operation, "offline")
        self.assertAlmostEqual(transaction.amount, self.invoice.amount_total)
        self.assertIn(self.invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual((case.state, case.close_reason), ("closed", "paid"))
        self.assertIn("payment retried (done)", case.action_ids[-1].result)
