from datetime import date

from freezegun import freeze_time
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger
from psycopg2 import IntegrityError

from .common import DepanssurSubscriptionCase


@tagged("post_install", "-at_install")
class TestDossier(DepanssurSubscriptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with freeze_time("2026-01-01"):
            cls.subscription = cls._subscribe_cls()

    @classmethod
    def _subscribe_cls(cls):
        subscription = cls.env["depanssur.subscription"].create(
            {
                "partner_id": cls.client.id,
                "plan_id": cls.plan_essentiel.id,
                "date_start": "2026-01-01",
            }
        )
        subscription.action_confirm()
        return subscription

    def _dossier(self, **vals):
        return (
            self.env["depanssur.dossier"]
            .with_user(self.user_agent)
            .create(
                {
                    "subscription_id": self.subscription.id,
                    "category_id": self.cat_plumbing.id,
                    "incident_date": "2026-03-01",
                    "declaration_date": "2026-03-01 10:00:00",
                    "estimated_cost": 180,
                    **vals,
                }
            )
        )

    def test_phone_declaration_full_story(self):
        dossier = self._dossier(description="Fuite sous l'évier")
        self.assertRegex(dossier.name, r"^DOS/\d{4}/\d{5}$")
        self.assertEqual(dossier.partner_id, self.client)
        self.assertEqual(dossier.risk_address_id, self.client)
        dossier.action_qualify()
        self.assertEqual((dossier.state, dossier.decision), ("qualified", "covered"))
        self.assertEqual(dossier.covered_amount, 180)
        dossier.action_schedule()
        dossier.write(
            {"cost_labour": 250, "cost_parts": 120, "cost_travel": 40, "has_final_cost": True}
        )
        dossier.action_done(date(2026, 3, 2))
        self.assertEqual(dossier.final_cost, 410)
        self.assertEqual(
            (dossier.decision, dossier.decision_reason), ("partial", "intervention_cap")
        )
        self.assertEqual((dossier.covered_amount, dossier.client_share), (300, 110))
        usage = self.subscription.usage_ids.filtered(lambda u: not u.option_id)
        self.assertEqual((usage.interventions_used, usage.amount_consumed), (1, 300))
        dossier.action_close()
        self.assertEqual(dossier.state, "closed")
        with self.assertRaises(UserError):
            dossier.action_cancel()

    def test_refused_when_not_covered(self):
        dossier = self._dossier(category_id=self.cat_locksmith.id)
        dossier.action_qualify()
        self.assertEqual((dossier.state, dossier.decision_reason), ("refused", "category"))
        in_carence = self._dossier(
            incident_date="2026-01-10", declaration_date="2026-01-10 08:00:00"
        )
        in_carence.action_qualify()
        self.assertEqual((in_carence.state, in_carence.decision_reason), ("refused", "carence"))
        for action in ("action_schedule", "action_done", "action_close"):
            with self.subTest(action=action), self.assertRaises(UserError):
                getattr(in_carence, action)()

    def test_cancel_gives_counters_back(self):
        dossier = self._dossier()
        dossier.action_qualify()
        dossier.action_done()
        usage = self.subscription.usage_ids.filtered(lambda u: not u.option_id)
        self.assertEqual(usage.interventions_used, 1)
        dossier.action_cancel()
        self.assertEqual((usage.interventions_used, usage.amount_consumed), (0, 0))
        self.assertFalse(dossier.counters_consumed)

    def test_no_free_state_write_and_constraints(self):
        dossier = self._dossier()
        with self.assertRaises(UserError):
            dossier.write({"state": "done"})
        with self.assertRaises(ValidationError):
            self._dossier(incident_date="2026-03-05", declaration_date="2026-03-01 10:00:00")
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                self._dossier(estimated_cost=-5)
                self.env.flush_all()
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                self._dossier(external_id="X1")
                self._dossier(external_id="X1")
                self.env.flush_all()

    def test_smart_buttons_and_search_by_phone(self):
        dossier = self._dossier(external_id="DEP-42")
        self.assertEqual(self.subscription.dossier_count, 1)
        self.assertEqual(self.client.depanssur_dossier_count, 1)
        action = self.client.action_depanssur_open_dossiers()
        self.assertEqual(self.env["depanssur.dossier"].search(action["domain"]), dossier)
        found = self.env["depanssur.dossier"].search([("partner_id.mobile", "ilike", "611223344")])
        self.assertIn(dossier, found)
        self.assertEqual(
            self.env["depanssur.dossier"].search([("external_id", "=", "DEP-42")]), dossier
        )
