from datetime import date

from freezegun import freeze_time
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.tests import tagged

from .common import DepanssurSubscriptionCase


@tagged("post_install", "-at_install")
class TestSubscriptionWorkflow(DepanssurSubscriptionCase):
    @freeze_time("2026-01-15")
    def test_sequence_and_confirm_into_carence(self):
        subscription = self._subscribe(confirm=False)
        self.assertRegex(subscription.name, r"^ABO/2026/\d{5}$")
        self.assertEqual(subscription.state, "draft")
        self.assertEqual(subscription.risk_address_id, self.client)
        subscription.action_confirm()
        self.assertEqual(subscription.state, "carence")
        self.assertEqual(subscription.carence_end_date, date(2026, 2, 14))
        self.assertEqual(subscription.next_billing_date, date(2026, 1, 15))
        self.assertEqual(len(subscription.address_history_ids), 1)
        self.assertEqual(subscription.usage_ids.year_start, date(2026, 1, 15))

    @freeze_time("2026-03-01")
    def test_confirm_after_carence_is_covered_at_once(self):
        subscription = self._subscribe(date_start="2026-01-01")
        self.assertEqual(subscription.state, "active")

    @freeze_time("2026-01-15")
    def test_every_transition(self):
        subscription = self._subscribe()
        manager_sub = subscription.with_user(self.user_manager)
        agent_sub = subscription.with_user(self.user_agent)
        # refused: confirm twice, reactivate while not suspended
        with self.assertRaises(UserError):
            subscription.action_confirm()
        with self.assertRaises(UserError):
            manager_sub.action_reactivate()
        # only a manager suspends/reactivates
        with self.assertRaises(UserError):
            agent_sub.action_suspend(reason="test")
        manager_sub.action_suspend(reason="Impayé")
        self.assertEqual(subscription.state, "suspended")
        self.assertEqual(subscription.state_before_suspension, "carence")
        with self.assertRaises(UserError):
            manager_sub.action_suspend()
        with self.assertRaises(UserError):
            subscription.action_end_carence()
        manager_sub.action_reactivate(day=date(2026, 1, 20))
        self.assertEqual(subscription.state, "carence")
        self.assertEqual(subscription.suspension_ids.date_to, date(2026, 1, 19))
        subscription.action_end_carence()
        self.assertEqual(subscription.state, "active")
        with self.assertRaises(UserError):
            subscription.action_cancel()
        with self.assertRaises(UserError):
            subscription._terminate("client_request", date(2026, 1, 10))  # before the start
        with freeze_time("2026-03-01"):
            subscription._terminate("client_request", date(2026, 2, 28))
        self.assertEqual(subscription.state, "terminated")
        for action in ("action_confirm", "action_end_carence", "action_cancel"):
            with self.subTest(action=action), self.assertRaises(UserError):
                getattr(subscription, action)()

    def test_draft_cancel_and_no_free_state_write(self):
        subscription = self._subscribe(confirm=False)
        with self.assertRaises(UserError):
            subscription.with_user(self.user_agent).write({"state": "active"})
        subscription.action_cancel()
        self.assertEqual(subscription.state, "cancelled")
        self.assertFalse(subscription.is_confirm_allowed)

    @freeze_time("2026-05-01")
    def test_termination_scheduled_then_applied(self):
        subscription = self._subscribe(date_start="2026-01-01")
        subscription._terminate("moving_abroad", date(2026, 5, 31), "Départ au Canada")
        self.assertEqual(subscription.state, "active")
        self.assertEqual(subscription.termination_date, date(2026, 5, 31))
        with freeze_time("2026-06-01"):
            self.env["depanssur.subscription"]._cron_apply_terminations(date(2026, 6, 1))
        self.assertEqual(subscription.state, "terminated")
        self.assertEqual(subscription.termination_reason, "moving_abroad")

    def test_running_subscription_fields_locked(self):
        subscription = self._subscribe()
        with self.assertRaises(UserError):
            subscription.write({"plan_id": self.plan_confort.id})

    def test_constraints(self):
        with self.assertRaises(ValidationError):
            self.env["depanssur.plan"].create({"name": "Négatif", "monthly_price": -1})
        with self.assertRaises(ValidationError):
            self.env["depanssur.plan"].create({"name": "Plafond", "cap_per_intervention": -5})
        premium_only = self.env["depanssur.option"].create({"name": "Option Premium"})
        with self.assertRaises(ValidationError):
            self._subscribe(
                option_line_ids=[Command.create({"option_id": premium_only.id})], confirm=False
            )
        self._subscribe()
        with self.assertRaises(ValidationError):
            self._subscribe()  # same insured home already covered
        incomplete = self.env["res.partner"].create({"name": "Sans adresse"})
        with self.assertRaises(ValidationError):
            self._subscribe(partner=incomplete, confirm=False)

    def test_access_rights(self):
        subscription = self._subscribe()
        # an agent sells and changes
        sold = (
            self.env["depanssur.subscription"]
            .with_user(self.user_agent)
            .create(
                {
                    "partner_id": self.env["res.partner"]
                    .create(
                        {
                            "name": "Paul Roux",
                            "street": "1 rue Neuve",
                            "zip": "69003",
                            "city": "Lyon",
                        }
                    )
                    .id,
                    "plan_id": self.plan_essentiel.id,
                }
            )
        )
        sold.action_confirm()
        self.assertEqual(sold.state, "carence")
        with self.assertRaises(AccessError):
            subscription.with_user(self.user_portal).read(["name"])
        with self.assertRaises(AccessError):
            self.env["depanssur.plan"].with_user(self.user_agent).create({"name": "X"})
        with self.assertRaises(AccessError):
            subscription.with_user(self.user_internal).read(["name"])

    def test_anonymise_refused_with_open_subscription(self):
        self._subscribe()
        with self.assertRaises(UserError):
            self.client.with_user(self.user_manager).action_depanssur_anonymize()


@tagged("post_install", "-at_install")
class TestSubscriptionBilling(DepanssurSubscriptionCase):
    def test_invoicing_no_double_invoice(self):
        subscription = self._subscribe(date_start="2026-01-15")
        Subscription = self.env["depanssur.subscription"]
        Subscription._cron_invoice_due(date(2026, 3, 20))
        invoices = subscription.invoice_ids.sorted("depanssur_period_start")
        self.assertEqual(
            invoices.mapped("depanssur_period_start"),
            [date(2026, 1, 15), date(2026, 2, 15), date(2026, 3, 15)],
        )
        self.assertEqual(invoices[0].depanssur_period_end, date(2026, 2, 14))
        self.assertTrue(all(move.state == "posted" for move in invoices))
        self.assertAlmostEqual(invoices[0].amount_untaxed, 9.90)
        self.assertEqual(subscription.next_billing_date, date(2026, 4, 15))
        # re-running the same day, or an earlier day, is harmless
        Subscription._cron_invoice_due(date(2026, 3, 20))
        Subscription._cron_invoice_due(date(2026, 3, 1))
        self.assertEqual(len(subscription.invoice_ids), 3)

    def test_invoice_due_date_is_the_run_day_unless_the_client_has_payment_terms(self):
        """Without payment terms an invoice is due the day the run issues it (the run's day,
        not the server's clock); a payment term set on the client decides its due date."""
        subscription = self._subscribe(date_start="2026-01-15")
        Subscription = self.env["depanssur.subscription"]
        Subscription.with_context(date="2026-01-20")._cron_invoice_due(date(2026, 1, 20))
        self.assertEqual(subscription.invoice_ids.invoice_date_due, date(2026, 1, 20))
        term = self.env["account.payment.term"].create(
            {
                "name": "30 days",
                "line_ids": [
                    Command.create({"value": "percent", "value_amount": 100, "nb_days": 30})
                ],
            }
        )
        subscription.partner_id.with_company(
            subscription.company_id
        ).property_payment_term_id = term
        Subscription.with_context(date="2026-02-15")._cron_invoice_due(date(2026, 2, 15))
        february = subscription.invoice_ids.filtered(
            lambda m: m.depanssur_period_start == date(2026, 2, 15)
        )
        self.assertEqual(february.invoice_payment_term_id, term)
        self.assertEqual(february.invoice_date_due, date(2026, 3, 17), "the client's terms")

    def test_yearly_billing(self):
        subscription = self._subscribe(date_start="2026-01-15", billing_period="yearly")
        self.env["depanssur.subscription"]._cron_invoice_due(date(2026, 6, 1))
        self.assertEqual(len(subscription.invoice_ids), 1)
        self.assertAlmostEqual(subscription.invoice_ids.amount_untaxed, 118.80)
        self.assertEqual(subscription.next_billing_date, date(2027, 1, 15))

    def test_upgrade_prorata(self):
        subscription = self._subscribe(date_start="2026-01-01")
        with freeze_time("2026-04-16"):
            self.env["depanssur.subscription"]._cron_invoice_due(date(2026, 4, 16))
            # April invoiced; upgrade on the 16th: 15 days of 30 left → half the difference
            subscription._change_plan_options(
                self.plan_confort, self.option_appliances, date(2026, 4, 16)
            )
        self.assertEqual(subscription.plan_id, self.plan_confort)
        prorata = subscription.invoice_ids.filtered(lambda m: m.depanssur_invoice_kind == "prorata")
        self.assertEqual(len(prorata), 1)
        # (14.90 - 9.90) * 15/30 = 2.50 and 4.90 * 15/30 = 2.45
        self.assertEqual(sorted(prorata.invoice_line_ids.mapped("price_subtotal")), [2.45, 2.50])
        option_line = subscription.option_line_ids
        self.assertEqual(option_line.date_start, date(2026, 4, 16))
        self.assertEqual(option_line.carence_end_date, date(2026, 6, 15))
        self.env["depanssur.subscription"]._cron_invoice_due(date(2026, 5, 1))
        may = subscription.invoice_ids.filtered(
            lambda m: m.depanssur_period_start == date(2026, 5, 1)
        )
        self.assertAlmostEqual(may.amount_untaxed, 19.80)

    def test_downgrade_scheduled_and_cancellable(self):
        subscription = self._subscribe(plan=self.plan_confort, date_start="2026-01-01")
        self.env["depanssur.subscription"]._cron_invoice_due(date(2026, 4, 10))
        effect = subscription._change_plan_options(
            self.plan_essentiel, self.env["depanssur.option"], date(2026, 4, 10)
        )
        self.assertEqual(effect["kind"], "downgrade")
        self.assertEqual(subscription.plan_id, self.plan_confort)
        self.assertEqual(subscription.pending_change_date, date(2026, 5, 1))
        with self.assertRaises(UserError):
            subscription._change_plan_options(
                self.plan_essentiel, self.env["depanssur.option"], date(2026, 4, 11)
            )
        subscription.action_cancel_pending_change()
        self.assertFalse(subscription.pending_change_date)
        subscription._change_plan_options(
            self.plan_essentiel, self.env["depanssur.option"], date(2026, 4, 12)
        )
        self.env["depanssur.subscription"]._cron_invoice_due(date(2026, 5, 1))
        self.assertEqual(subscription.plan_id, self.plan_essentiel)
        self.assertFalse(subscription.pending_plan_id)
        may = subscription.invoice_ids.filtered(
            lambda m: m.depanssur_period_start == date(2026, 5, 1)
        )
        self.assertAlmostEqual(may.amount_untaxed, 9.90)

    def test_change_wizard_shows_effect(self):
        subscription = self._subscribe(date_start="2026-01-01")
        self.env["depanssur.subscription"]._cron_invoice_due(date(2026, 4, 16))
        wizard = (
            self.env["depanssur.subscription.change.wizard"]
            .with_user(self.user_agent)
            .with_context(active_id=subscription.id)
            .create({"plan_id": self.plan_confort.id, "change_date": "2026-04-16"})
        )
        self.assertEqual(wizard.kind, "upgrade")
        self.assertAlmostEqual(wizard.monthly_difference, 5.0)
        self.assertAlmostEqual(wizard.prorata_amount, 2.5)
        self.assertEqual(wizard.effective_date, date(2026, 4, 16))
        wizard.action_apply()
        self.assertEqual(subscription.plan_id, self.plan_confort)


@tagged("post_install", "-at_install")
class TestSubscriptionAddress(DepanssurSubscriptionCase):
    def setUp(self):
        super().setUp()
        self.new_home = self.env["res.partner"].create(
            {
                "parent_id": self.client.id,
                "type": "other",
                "name": "Maison de Villeurbanne",
                "street": "8 rue Racine",
                "zip": "69100",
                "city": "Villeurbanne",
            }
        )

    def test_address_change_before_cutoff(self):
        subscription = self._subscribe(date_start="2026-01-01")
        with freeze_time("2026-03-05"):
            effective = subscription._request_address_change(self.new_home, date(2026, 3, 5))
        self.assertEqual(effective, date(2026, 4, 1))
        self.assertEqual(subscription.risk_address_id, self.client)
        self.assertEqual(subscription._address_on(date(2026, 3, 31)), self.client)
        self.assertEqual(subscription._address_on(date(2026, 4, 1)), self.new_home)
        with freeze_time("2026-04-01"):
            self.env["depanssur.subscription"]._cron_invoice_due(date(2026, 4, 1))
        self.assertEqual(subscription.risk_address_id, self.new_home)

    def test_address_change_after_cutoff_waits_one_more_period(self):
        subscription = self._subscribe(date_start="2026-01-01")
        wizard = (
            self.env["depanssur.address.change.wizard"]
            .with_context(active_id=subscription.id)
            .create({"address_id": self.new_home.id, "request_date": "2026-03-25"})
        )
        self.assertEqual(wizard.effective_date, date(2026, 5, 1))
        with freeze_time("2026-03-25"):
            wizard.action_apply()
        self.assertEqual(subscription._address_on(date(2026, 4, 30)), self.client)
        self.assertEqual(subscription._address_on(date(2026, 5, 1)), self.new_home)


@tagged("post_install", "-at_install")
class TestCoverageDecision(DepanssurSubscriptionCase):
    def setUp(self):
        super().setUp()
        with freeze_time("2026-01-01"):
            self.subscription = self._subscribe(
                date_start="2026-01-01",
                option_line_ids=[
                    Command.create(
                        {"option_id": self.option_appliances.id, "date_start": "2026-01-01"}
                    )
                ],
            )

    def _decide(self, day, category="plumbing", cost=200.0, address=None):
        return self.subscription._coverage_decision(day, category, address or self.client, cost)

    def test_carence_then_covered(self):
        decision = self._decide(date(2026, 1, 20))
        self.assertEqual((decision.status, decision.reason), ("not_covered", "carence"))
        decision = self._decide(date(2026, 2, 1))
        self.assertEqual(decision.status, "covered")
        self.assertEqual(float(decision.covered_amount), 200.0)
        self.assertEqual(float(decision.client_share), 0.0)

    def test_option_has_its_own_carence_and_franchise(self):
        self.assertEqual(self._decide(date(2026, 2, 15), "appliances").reason, "carence")
        decision = self._decide(date(2026, 3, 5), "appliances", cost=400)
        # 400 - 30 franchise = 370, capped at 250 per intervention
        self.assertEqual(decision.status, "partial")
        self.assertEqual(decision.reason, "intervention_cap")
        self.assertEqual(float(decision.covered_amount), 250.0)
        self.assertEqual(float(decision.client_share), 150.0)
        self.assertEqual(decision.source, f"option:{self.option_appliances.id}")

    def test_category_address_and_caps(self):
        self.assertEqual(self._decide(date(2026, 3, 1), "locksmith").reason, "category")
        elsewhere = self.env["res.partner"].create(
            {"name": "Autre logement", "parent_id": self.client.id, "type": "other"}
        )
        self.assertEqual(self._decide(date(2026, 3, 1), address=elsewhere).reason, "address")
        decision = self._decide(date(2026, 3, 1), cost=450)
        self.assertEqual((decision.status, decision.reason), ("partial", "intervention_cap"))
        self.assertEqual(float(decision.covered_amount), 300.0)
        # consume the yearly counters: 2 interventions, 600 € a year
        self.subscription._consume_coverage(date(2026, 3, 1), "plan", 300)
        decision = self._decide(date(2026, 4, 1), cost=450)
        self.assertEqual(float(decision.covered_amount), 300.0)
        self.subscription._consume_coverage(date(2026, 4, 1), "plan", 250)
        self.assertEqual(self.subscription.with_context(date="2026-04-02").usage_count, 2)
        self.assertEqual(self._decide(date(2026, 5, 1)).reason, "count_cap")
        # giving one back frees a call but the yearly amount left is 600 - 300 = 300
        self.subscription._consume_coverage(date(2026, 4, 1), "plan", 250, sign=-1)
        decision = self._decide(date(2026, 5, 1), cost=450)
        self.assertEqual(float(decision.covered_amount), 300.0)
        # next coverage year: counters start again
        self.subscription._consume_coverage(date(2026, 5, 1), "plan", 300)
        self.assertEqual(self._decide(date(2026, 6, 1), cost=100).reason, "count_cap")
        self.subscription._consume_coverage(date(2026, 5, 1), "plan", 0, sign=-1)
        self.assertEqual(self._decide(date(2026, 6, 1), cost=100).reason, "amount_cap")
        self.assertEqual(self._decide(date(2027, 1, 2), cost=100).status, "covered")

    def test_counters_never_negative(self):
        self.subscription._consume_coverage(date(2026, 3, 1), "plan", 100, sign=-1)
        usage = self.subscription.usage_ids.filtered(lambda u: not u.option_id)
        self.assertEqual((usage.interventions_used, usage.amount_consumed), (0, 0.0))

    def test_suspension_and_termination(self):
        self.subscription.with_user(self.user_manager).action_suspend(day=date(2026, 3, 1))
        self.assertEqual(self._decide(date(2026, 3, 2)).reason, "suspended")
        self.subscription.with_user(self.user_manager).action_reactivate(day=date(2026, 3, 10))
        self.assertEqual(self._decide(date(2026, 3, 5)).reason, "suspended")
        self.assertEqual(self._decide(date(2026, 3, 10)).status, "covered")
        with freeze_time("2026-04-01"):
            self.subscription._terminate("client_request", date(2026, 3, 31))
        self.assertEqual(self._decide(date(2026, 4, 2)).reason, "terminated")
        self.assertEqual(self._decide(date(2026, 3, 20)).status, "covered")

    def test_upgrade_keeps_existing_coverage_new_categories_wait(self):
        self.env["depanssur.subscription"]._cron_invoice_due(date(2026, 3, 10))
        self.subscription._change_plan_options(
            self.plan_confort, self.option_appliances, date(2026, 3, 10)
        )
        # plumbing was already covered: still covered at once, with Confort's caps
        decision = self._decide(date(2026, 3, 11), cost=450)
        self.assertEqual(decision.status, "covered")
        # locksmith is new: its own waiting period from the upgrade
        self.assertEqual(self._decide(date(2026, 3, 11), "locksmith").reason, "carence")
        self.assertEqual(self._decide(date(2026, 4, 9), "locksmith").status, "covered")

    def test_anniversary_reset_job_idempotent(self):
        Subscription = self.env["depanssur.subscription"]
        Subscription._cron_reset_counters(date(2027, 1, 1))
        plan_usage = self.subscription.usage_ids.filtered(lambda u: not u.option_id)
        self.assertEqual(
            sorted(plan_usage.mapped("year_start")), [date(2026, 1, 1), date(2027, 1, 1)]
        )
        Subscription._cron_reset_counters(date(2027, 1, 1))
        self.assertEqual(len(self.subscription.usage_ids.filtered(lambda u: not u.option_id)), 2)
