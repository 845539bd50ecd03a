from datetime import date
from decimal import Decimal

from freezegun import freeze_time
from odoo.fields import Command
from odoo.tests import tagged

from .common import DepanssurCase


class KpiCase(DepanssurCase):
    """A hand-built March 2026 in a company of its own (shared with the dashboard tests)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create(
            {"name": "Depanssur KPI", "currency_id": cls.env.ref("base.EUR").id}
        )
        cls.env["account.chart.template"].try_loading(
            "generic_coa", company=cls.company_b, install_demo=False
        )
        cls.env = cls.env(context=dict(cls.env.context, allowed_company_ids=[cls.company_b.id]))
        Plan = cls.env["depanssur.plan"].with_company(cls.company_b)
        cls.essentiel = Plan.create({"name": "E", "monthly_price": 9.90, "carence_days": 0})
        cls.confort = Plan.create({"name": "C", "monthly_price": 14.90, "carence_days": 0})
        cls.plumbing = cls.env.ref("depanssur.category_plumbing")
        (cls.essentiel | cls.confort).write({"category_ids": [Command.link(cls.plumbing.id)]})
        cls.subs = {}
        with freeze_time("2026-01-01"):
            for key, plan, start in (
                ("A", cls.essentiel, "2026-01-01"),
                ("B", cls.confort, "2026-01-10"),
                ("D", cls.essentiel, "2026-02-01"),
                ("E", cls.confort, "2026-01-01"),
                ("F", cls.essentiel, "2026-01-01"),
            ):
                cls.subs[key] = cls._sub(plan, start)
        with freeze_time("2026-02-10"):
            cls.subs["E"]._change_plan_options(cls.essentiel, cls.env["depanssur.option"])
        cls.subs["E"]._apply_scheduled_changes(date(2026, 3, 1))
        with freeze_time("2026-03-05"):
            cls.subs["C"] = cls._sub(cls.essentiel, "2026-03-05")
        with freeze_time("2026-03-10"):
            cls.subs["D"]._change_plan_options(cls.confort, cls.env["depanssur.option"])
        with freeze_time("2026-04-01"):
            cls.subs["B"]._terminate("client_request", date(2026, 3, 15))
            cls.subs["F"]._terminate("non_payment", date(2026, 3, 20))

    @classmethod
    def _sub(cls, plan, start):
        partner = cls.env["res.partner"].create(
            {
                "name": f"Client {start} {plan.name}",
                "street": "1 rue",
                "zip": "69001",
                "city": "Lyon",
            }
        )
        subscription = (
            cls.env["depanssur.subscription"]
            .with_company(cls.company_b)
            .create({"partner_id": partner.id, "plan_id": plan.id, "date_start": start})
        )
        subscription.action_confirm()
        return subscription


@tagged("post_install", "-at_install")
class TestKpi(KpiCase):
    """Every KPI of the hand-built March 2026 computed by hand."""

    def _march(self):
        return self.env["depanssur.kpi"]._period_kpis(
            date(2026, 3, 1), date(2026, 3, 31), self.company_b
        )

    def test_mrr_movements_and_churn(self):
        kpis = self._march()
        self.assertEqual(kpis["opening_mrr"], Decimal("59.50"))
        self.assertEqual(kpis["new_mrr"], Decimal("9.90"))
        self.assertEqual(kpis["expansion_mrr"], Decimal("5.00"))
        self.assertEqual(kpis["contraction_mrr"], Decimal("-5.00"))
        self.assertEqual(kpis["churn_mrr"], Decimal("-24.80"))
        self.assertEqual(kpis["reactivation_mrr"], Decimal("0"))
        self.assertEqual(kpis["mrr"], Decimal("44.60"))
        self.assertEqual(
            kpis["opening_mrr"]
            + kpis["new_mrr"]
            + kpis["expansion_mrr"]
            + kpis["contraction_mrr"]
            + kpis["churn_mrr"]
            + kpis["reactivation_mrr"],
            kpis["mrr"],
        )
        self.assertEqual((kpis["running_at_start"], kpis["running_count"]), (5, 4))
        # the headline total agrees with the per-subscription detail and the period's closing
        Kpi = self.env["depanssur.kpi"]
        for day, expected in (
            (date(2026, 2, 28), (Decimal("59.50"), 5)),
            (date(2026, 3, 31), (Decimal("44.60"), 4)),
        ):
            self.assertEqual(Kpi._mrr_total(day, self.company_b), expected)
            self.assertEqual(
                sum(Kpi._mrr_by_subscription(day, self.company_b).values()), expected[0]
            )
        self.assertEqual((kpis["terminated_voluntary"], kpis["terminated_non_payment"]), (1, 1))
        self.assertEqual(kpis["logo_churn"], Decimal("40.00"))
        self.assertEqual(kpis["revenue_churn"], Decimal("50.08"))

    def test_loss_ratio_nps_dso(self):
        sub_a = self.subs["A"]
        income = self.env["account.account"].search(
            [("account_type", "=", "income"), ("company_ids", "in", self.company_b.id)], limit=1
        )
        invoice = (
            self.env["account.move"]
            .with_company(self.company_b)
            .create(
                {
                    "move_type": "out_invoice",
                    "partner_id": sub_a.partner_id.id,
                    "invoice_date": "2026-03-01",
                    "depanssur_subscription_id": sub_a.id,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "name": "Prime",
                                "quantity": 1,
                                "price_unit": 300,
                                "account_id": income.id,
                                "tax_ids": [],
                            }
                        )
                    ],
                }
            )
        )
        invoice.action_post()
        refund = invoice._reverse_moves([{"invoice_date": "2026-03-10"}])
        refund.invoice_line_ids.price_unit = 50
        refund.action_post()
        (invoice | refund).line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        ).reconcile()
        Dossier = self.env["depanssur.dossier"]
        for score, covered in ((10, 120), (9, 0), (6, 0), (8, 0)):
            Dossier.create(
                {
                    "subscription_id": sub_a.id,
                    "category_id": self.plumbing.id,
                    "incident_date": "2026-03-02",
                    "declaration_date": "2026-03-02 09:00:00",
                    "state": "done" if covered else "closed",
                    "done_date": "2026-03-20" if covered else "2026-02-20",
                    "covered_amount": covered,
                    "nps_score": score,
                    "nps_date": "2026-03-25 10:00:00",
                }
            )
        kpis = self._march()
        self.assertEqual(kpis["covered_amount"], Decimal("120.0"))
        self.assertEqual(kpis["earned_premiums"], Decimal("250.0"))
        self.assertEqual(kpis["loss_ratio"], Decimal("48.00"))
        self.assertEqual((kpis["nps"], kpis["nps_count"]), (Decimal("25.0"), 4))
        self.assertEqual((kpis["promoters"], kpis["detractors"]), (2, 1))
        self.assertEqual(kpis["receivables"], Decimal("250.0"))
        self.assertEqual(kpis["credit_sales"], Decimal("300.0"))
        self.assertEqual(kpis["dso"], Decimal("25.8"))
        self.assertEqual(kpis["ageing_0_30"], Decimal("250.0"))
        self.assertEqual(kpis["ageing_90"], Decimal("0.0"))
        # the analysis views agree with the KPI
        premiums = self.env["depanssur.report.premium"].search(
            [("company_id", "=", self.company_b.id)]
        )
        self.assertAlmostEqual(sum(premiums.mapped("premium")), 250.0)
        self.assertEqual(premiums.move_id, invoice | refund)

    def test_empty_period_and_snapshot(self):
        kpis = self.env["depanssur.kpi"]._period_kpis(
            date(2025, 1, 1), date(2025, 1, 31), self.company_b
        )
        for key in ("logo_churn", "revenue_churn", "loss_ratio", "nps", "dso"):
            self.assertIsNone(kpis[key], key)
        Snapshot = self.env["depanssur.kpi.snapshot"]
        snapshot = Snapshot._cron_snapshot(date(2026, 3, 31), self.company_b)
        self.assertAlmostEqual(snapshot.mrr, 44.60)
        self.assertFalse(snapshot.has_loss_ratio)
        again = Snapshot._cron_snapshot(date(2026, 3, 31), self.company_b)
        self.assertEqual(again, snapshot, "re-running the same day updates, never duplicates")
