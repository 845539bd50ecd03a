from datetime import date

from freezegun import freeze_time
from odoo.addons.sms.tests.common import SMSCase
from odoo.exceptions import UserError
from odoo.tests import tagged

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

    def _pay(self, invoice):
        self.env["account.payment.register"].with_context(
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
        self._pay(self.invoice)
        self._advance(date(2026, 3, 20))
        self.assertEqual((case.state, case.close_reason), ("closed", "paid"))
        self.assertEqual(self.subscription.state, "carence")  # back where it was
        self.assertEqual(self.subscription.suspension_ids.date_to, date(2026, 3, 19))
        # the suspended days stay uncovered
        decision = self.subscription._coverage_decision(
            date(2026, 3, 17), "plumbing", self.client, 100
        )
        self.assertEqual(decision.reason, "suspended")

    def test_termination_at_d30(self):
        case = self._advance(date(2026, 3, 31))
        self.assertEqual(self.subscription.state, "terminated")
        self.assertEqual(self.subscription.termination_reason, "non_payment")
        self.assertEqual((case.state, case.close_reason), ("closed", "terminated"))
        self.assertEqual(len(case.action_ids), 5)
        # the invoice stays unpaid, but its case was closed by the termination: not dunned again
        self.assertEqual(self._advance(date(2026, 4, 2)), case)
        self.assertEqual(len(case.action_ids), 5)

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

    def test_retry_with_saved_token(self):
        provider = self.env.ref("payment.payment_provider_demo", raise_if_not_found=False)
        if not provider or "demo_simulated_state" not in self.env["payment.token"]._fields:
            self.skipTest("payment_demo is not installed")
        provider.state = "test"
        token = self.env["payment.token"].create(
            {
                "provider_id": provider.id,
                "payment_method_id": self.env.ref("payment_demo.payment_method_demo").id,
                "partner_id": self.client.id,
                "payment_details": "4242",
                "provider_ref": "demo-token",
                "demo_simulated_state": "done",
            }
        )
        self.subscription.payment_token_id = token
        case = self._advance(date(2026, 3, 4))
        transaction = self.env["payment.transaction"].search([("token_id", "=", token.id)])
        self.assertEqual(len(transaction), 1)
        self.assertEqual(transaction.state, "done")
        self.assertAlmostEqual(transaction.amount, self.invoice.amount_total)
        self.assertIn(self.invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual((case.state, case.close_reason), ("closed", "paid"))
