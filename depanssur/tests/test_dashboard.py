from datetime import date, datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time
from odoo.exceptions import AccessError
from odoo.fields import Command
from odoo.tests import HttpCase, tagged

from .common import DepanssurSubscriptionCase
from .test_kpi import KpiCase
from .test_security import HOSTILE_CONTEXT, RpcGuardsCase


@tagged("post_install", "-at_install")
class TestDashboardData(KpiCase):
    """The dashboard's figures on the hand-built March 2026 of ``KpiCase``, each one computed by
    hand below, with the records each figure opens."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.income = cls.env["account.account"].search(
            [("account_type", "=", "income"), ("company_ids", "in", cls.company_b.id)], limit=1
        )

    def _invoice(self, subscription, day, amount):
        invoice = (
            self.env["account.move"]
            .with_company(self.company_b)
            .create(
                {
                    "move_type": "out_invoice",
                    "partner_id": subscription.partner_id.id,
                    "invoice_date": day,
                    "invoice_date_due": day,
                    "depanssur_subscription_id": subscription.id,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "name": "Prime",
                                "quantity": 1,
                                "price_unit": amount,
                                "account_id": self.income.id,
                                "tax_ids": [],
                            }
                        )
                    ],
                }
            )
        )
        invoice.action_post()
        return invoice

    def _dossier(self, subscription, score, covered, done, answered):
        return self.env["depanssur.dossier"].create(
            {
                "subscription_id": subscription.id,
                "category_id": self.plumbing.id,
                "incident_date": done,
                "declaration_date": f"{done} 09:00:00",
                "state": "done",
                "done_date": done,
                "covered_amount": covered,
                "nps_score": score,
                "nps_date": answered,
            }
        )

    def _data(self, user=None):
        user = user or self.user_manager
        # the user works in the fixture's company (so a refusal is about the group, not it)
        user.company_ids |= self.company_b
        env = self.env(user=user)
        env = env(context=dict(env.context, allowed_company_ids=[self.company_b.id]))
        with freeze_time("2026-03-31"):
            return env["depanssur.kpi"].get_dashboard_data()

    def _records(self, action):
        return self.env[action["res_model"]].search(action["domain"])

    def test_mrr_movements_and_churn(self):
        data = self._data()
        months = data["months"]
        self.assertEqual(len(months), 12)
        self.assertEqual((months[0]["start"], months[-1]["end"]), ("2025-04-01", "2026-03-31"))
        # January: A, B, E, F start (9.90 + 14.90 + 14.90 + 9.90); February: D starts (9.90)
        january, february, march = months[-3:]
        self.assertAlmostEqual(january["new_mrr"], 49.60)
        self.assertAlmostEqual(february["opening_mrr"], 49.60)
        self.assertAlmostEqual(february["new_mrr"], 9.90)
        self.assertAlmostEqual(february["mrr"], 59.50)
        # March: C new (9.90), D Essentiel → Confort (+5.00), E Confort → Essentiel (-5.00),
        # B (14.90) and F (9.90) terminated
        self.assertAlmostEqual(march["new_mrr"], 9.90)
        self.assertAlmostEqual(march["expansion_mrr"], 5.00)
        self.assertAlmostEqual(march["contraction_mrr"], -5.00)
        self.assertAlmostEqual(march["churn_mrr"], -24.80)
        self.assertAlmostEqual(march["mrr"], 44.60)
        subs = self.subs
        actions = march["actions"]
        self.assertEqual(self._records(actions["new"]), subs["C"])
        self.assertEqual(self._records(actions["expansion"]), subs["D"])
        self.assertEqual(self._records(actions["contraction"]), subs["E"])
        self.assertEqual(self._records(actions["churn"]), subs["B"] | subs["F"])
        self.assertFalse(self._records(actions["reactivation"]))
        self.assertEqual(
            self._records(actions["running"]), subs["A"] | subs["C"] | subs["D"] | subs["E"]
        )
        # churn: 2 of the 5 running on March 1st; (24.80 + 5.00) / 59.50 = 50.08 %
        self.assertAlmostEqual(march["logo_churn"], 40.00)
        self.assertAlmostEqual(march["revenue_churn"], 50.08)
        self.assertEqual(self._records(actions["terminated"]), subs["B"] | subs["F"])
        # a month without subscriptions: empty ratios, never 0
        self.assertIsNone(months[0]["logo_churn"])
        self.assertIsNone(months[0]["nps"])
        self.assertIsNone(months[0]["loss_ratio"])
        self.assertEqual(data["currency_id"], self.company_b.currency_id.id)

    def test_loss_ratio_nps_ageing_dunning(self):
        subs = self.subs
        # premiums: A (Essentiel) 300 + 100, D (Confort since March 10) 200
        self._invoice(subs["A"], "2026-03-01", 300)
        self._invoice(subs["A"], "2026-01-15", 100)
        self._invoice(subs["D"], "2025-11-20", 200)
        # covered: 120 on A in March, 50 on D in February; NPS 10, 3 and 6
        self._dossier(subs["A"], 10, 120, "2026-03-20", "2026-03-25 10:00:00")
        late = self._dossier(subs["A"], 3, 0, "2026-03-21", "2026-03-28 08:00:00")
        early = self._dossier(subs["D"], 6, 50, "2026-02-10", "2026-02-12 08:00:00")
        levels = self.env["depanssur.dunning.level"].search(
            [("company_id", "in", (self.company_b.id, False))]
        )
        self.assertGreaterEqual(len(levels), 3)
        Case = self.env["depanssur.dunning.case"]
        for sub, level in (
            ("A", 0),
            ("C", 0),
            ("D", 0),
            ("E", 1),
            ("F", 1),
            ("B", 2),
        ):
            Case.create(
                {
                    "subscription_id": subs[sub].id,
                    "start_date": "2026-03-02",
                    "level_id": levels[level].id,
                }
            )
        data = self._data()
        # loss ratio per plan over the 12 months: Essentiel 120 / 400 = 30 %, Confort 50 / 200
        plans = {row["id"]: row for row in data["plans"]}
        essentiel, confort = plans[self.essentiel.id], plans[self.confort.id]
        self.assertAlmostEqual(essentiel["loss_ratio"], 30.00)
        self.assertAlmostEqual(confort["loss_ratio"], 25.00)
        self.assertAlmostEqual(essentiel["earned_premiums"], 400.0)
        self.assertEqual(self._records(confort["action"]), early)
        # per month: March 120 / 300 = 40 %; February: 50 covered, no premium: empty
        march, february = data["months"][-1], data["months"][-2]
        self.assertAlmostEqual(march["loss_ratio"], 40.00)
        self.assertIsNone(february["loss_ratio"])
        # NPS: March 1 promoter, 1 detractor of 2 answers = 0; February 1 detractor = -100
        self.assertAlmostEqual(march["nps"], 0.0)
        self.assertAlmostEqual(february["nps"], -100.0)
        detractors = data["detractors"]
        self.assertEqual(detractors["count"], 2)
        self.assertEqual([row["id"] for row in detractors["rows"]], [late.id, early.id])
        self.assertEqual(self._records(detractors["action"]), late | early)
        # ageing on March 31: 300 due March 1 (30 days), 100 due January 15 (75 days),
        # 200 due November 20 (131 days)
        ageing = {bucket["key"]: bucket for bucket in data["ageing"]["buckets"]}
        self.assertEqual(
            {key: bucket["amount"] for key, bucket in ageing.items()},
            {"0-30": 300.0, "31-60": 0.0, "61-90": 100.0, "90+": 200.0},
        )
        for key, bucket in ageing.items():
            total = sum(self._records(bucket["action"]).mapped("amount_residual"))
            self.assertAlmostEqual(total, bucket["amount"], msg=key)
        # DSO: 600 open / 300 sold in March × 31 days
        self.assertAlmostEqual(data["ageing"]["dso"], 62.0)
        # dunning funnel: 3, 2, 1 cases now at the first three levels; 6, 3, 1 reached them
        funnel = data["dunning"][:3]
        self.assertEqual([row["count"] for row in funnel], [3, 2, 1])
        self.assertEqual([row["reached"] for row in funnel], [6, 3, 1])
        self.assertEqual([row["percent"] for row in funnel], [100.0, 50.0, 16.67])
        self.assertEqual(len(self._records(funnel[1]["action"])), 3)

    def test_access(self):
        Snapshot = self.env["depanssur.kpi.snapshot"]
        for user in (self.user_agent, self.user_accounting):
            with self.assertRaises(AccessError):
                self._data(user)
            with self.assertRaises(AccessError):
                Snapshot.with_user(user).with_context(**HOSTILE_CONTEXT).action_rebuild_history()
        self.assertFalse(Snapshot.search([("company_id", "=", self.company_b.id)]))
        self.user_manager.company_ids |= self.company_b
        with freeze_time("2026-03-31"):
            Snapshot.with_user(self.user_manager).action_rebuild_history(months=2)
        snapshots = Snapshot.search([("company_id", "=", self.company_b.id)])
        self.assertEqual(
            snapshots.mapped("date"), [date(2026, 3, 31), date(2026, 2, 28), date(2026, 1, 31)]
        )

    def test_snapshots_sum_companies_and_skip_empty_ratios(self):
        """The graph and pivot: MRR summed over the companies (not averaged with the other
        company's 0), empty ratios NULL (skipped by the averages), the month's latest only."""
        Snapshot = self.env["depanssur.kpi.snapshot"].with_user(self.user_manager)
        self.user_manager.company_ids |= self.company_b
        companies = self.company | self.company_b
        Snapshot = Snapshot.with_context(allowed_company_ids=companies.ids)
        main_mrr = self.env["depanssur.kpi"]._mrr_total(date(2026, 3, 31), self.company)[0]
        Snapshot._cron_snapshot(date(2026, 3, 15), companies)
        Snapshot._cron_snapshot(date(2026, 3, 31), companies)
        domain = [("company_id", "in", companies.ids), ("date", ">=", "2026-03-01")]
        latest = Snapshot.search([*domain, ("is_month_latest", "=", True)])
        self.assertEqual(latest.mapped("date"), [date(2026, 3, 31)] * 2)
        [(mrr,)] = Snapshot._read_group([*domain, ("is_month_latest", "=", True)], [], ["mrr:sum"])
        self.assertAlmostEqual(mrr, 44.60 + float(main_mrr))
        snapshots = Snapshot.search(domain)
        self.env.cr.execute(
            "SELECT bool_and(nps IS NULL) FROM depanssur_kpi_snapshot WHERE id IN %s",
            [tuple(snapshots.ids)],
        )
        self.assertTrue(self.env.cr.fetchone()[0], "no NPS answer: stored empty, not 0")
        # logo churn on March 31: 40 % in the fixture's company; the other company's month
        # has no running subscription at its start, or its own rate: never a 0 in the average
        main = self.env["depanssur.kpi"]._period_kpis(
            date(2026, 3, 1), date(2026, 3, 31), self.company
        )["logo_churn"]
        expected = 40.0 if main is None else (40.0 + float(main)) / 2
        [(logo_churn,)] = Snapshot._read_group(
            [*domain, ("is_month_latest", "=", True)], [], ["logo_churn:avg"]
        )
        self.assertAlmostEqual(logo_churn, expected)


@tagged("post_install", "-at_install")
class TestDashboardRpc(RpcGuardsCase):
    def test_rebuild_refused_to_agent(self):
        before = self.env["depanssur.kpi.snapshot"].search_count([])
        for user in (self.user_agent, self.user_accounting):
            self.assertRefused(
                self.rpc(user, "depanssur.kpi.snapshot", "action_rebuild_history"),
                ("odoo.exceptions.AccessError",),
            )
            self.assertRefused(
                self.rpc(user, "depanssur.kpi", "get_dashboard_data"),
                ("odoo.exceptions.AccessError",),
            )
        self.assertEqual(self.env["depanssur.kpi.snapshot"].search_count([]), before)
        data = self.assertDone(self.rpc(self.user_manager, "depanssur.kpi", "get_dashboard_data"))
        self.assertEqual(len(data["months"]), 12)
        self.assertDone(
            self.rpc(self.user_manager, "depanssur.kpi.snapshot", "action_rebuild_history")
        )
        self.assertGreater(self.env["depanssur.kpi.snapshot"].search_count([]), before)

    def test_bad_window_lengths_are_refused_not_500(self):
        """A manager's call with a window that is not 1 to 36 whole months: a UserError with its
        message (422), never a 500, nothing rebuilt."""
        before = self.env["depanssur.kpi.snapshot"].search_count([])
        for months in ("x", "12", 12.5, None, True, [12], 0, -3, 37, 10**12):
            with self.subTest(months=months):
                for model, method in (
                    ("depanssur.kpi", "get_dashboard_data"),
                    ("depanssur.kpi.snapshot", "action_rebuild_history"),
                ):
                    response = self.rpc(self.user_manager, model, method, months=months)
                    self.assertRefused(response, ("odoo.exceptions.UserError",))
                    self.assertIn("whole number from 1 to 36", response.json()["message"])
        self.assertEqual(self.env["depanssur.kpi.snapshot"].search_count([]), before)
        data = self.assertDone(
            self.rpc(self.user_manager, "depanssur.kpi", "get_dashboard_data", months=3)
        )
        self.assertEqual(len(data["months"]), 3)

    def test_dashboard_served_on_a_read_only_cursor(self):
        """The dashboard's call (the client action's ``call_kw``, or JSON-2) runs on a read-only
        cursor, what a replica (``db_replica_host``) serves: the method is ``@api.readonly`` and
        writes nothing. A write would fail on the read-only transaction and Odoo would replay the
        call on a read/write cursor: the cursors seen would then be ``[True, False]``."""
        Kpi = self.registry["depanssur.kpi"]
        check_manager = Kpi._check_manager
        seen = []

        def recording(kpi):
            seen.append(kpi.env.cr.readonly)
            return check_manager(kpi)

        with patch.object(Kpi, "_check_manager", recording):
            data = self.assertDone(
                self.rpc(self.user_manager, "depanssur.kpi", "get_dashboard_data")
            )
            self.assertEqual(len(data["months"]), 12)
            self.assertEqual(seen, [True], "JSON-2: one call, on a read-only cursor")
            seen.clear()
            self.authenticate("dp_manager", "dp_manager")
            with self.assertNoLogs("odoo.http", "WARNING"):
                data = self.make_jsonrpc_request(
                    "/web/dataset/call_kw/depanssur.kpi/get_dashboard_data",
                    {
                        "model": "depanssur.kpi",
                        "method": "get_dashboard_data",
                        "args": [],
                        "kwargs": {"months": 3},
                    },
                )
            self.assertEqual(len(data["months"]), 3)
            self.assertEqual(seen, [True], "call_kw: one call, on a read-only cursor")


DASHBOARD_JS = """
(async () => {
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    async function waitFor(selector) {
        for (let i = 0; i < 300; i++) {
            const error = document.querySelector(".o_error_dialog");
            if (error) {
                throw new Error(`error dialog: ${error.innerText}`);
            }
            const element = document.querySelector(selector);
            if (element) {
                return element;
            }
            await sleep(100);
        }
        throw new Error(`${selector} did not render`);
    }
    try {
        await waitFor(".o_depanssur_dashboard .o_depanssur_detractors tr[role=button]");
        const canvases = document.querySelectorAll(".o_depanssur_dashboard canvas");
        const drawn = [...canvases].filter((canvas) => Chart.getChart(canvas));
        if (canvases.length !== 6 || drawn.length !== 6) {
            throw new Error(`${drawn.length} charts drawn of ${canvases.length}`);
        }
        console.log(`charts: ${drawn.length}`);
        document.querySelector(".o_depanssur_detractors tr[role=button]").click();
        await waitFor(".o_form_view .o_form_sheet");
        console.log("test successful");
    } catch (error) {
        console.error(error.message);
    }
})();
"""


@tagged("post_install", "-at_install")
class TestDashboardBrowser(HttpCase, DepanssurSubscriptionCase):
    def test_dashboard_as_manager(self):
        if "tour_enabled" in self.user_manager._fields:
            self.user_manager.tour_enabled = False
        subscription = self._subscribe(date_start=date.today() - timedelta(days=90))
        self.env["depanssur.dossier"].create(
            {
                "subscription_id": subscription.id,
                "category_id": self.cat_plumbing.id,
                "incident_date": date.today() - timedelta(days=3),
                "declaration_date": datetime.now() - timedelta(days=3),
                "state": "done",
                "done_date": date.today() - timedelta(days=2),
                "covered_amount": 80,
                "nps_score": 2,
                "nps_date": datetime.now() - timedelta(days=1),
            }
        )
        self.browser_js(
            "/odoo/action-depanssur.depanssur_dashboard_action",
            DASHBOARD_JS,
            "odoo.isReady === true",
            login=self.user_manager.login,
            timeout=120,
        )
