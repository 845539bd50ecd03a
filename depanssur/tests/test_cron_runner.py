"""The scheduled actions run the way Odoo's scheduler runs them.

Every test here triggers a Depanssur ``ir.cron`` record through Odoo's cron runner:
``cron.method_direct_trigger()`` acquires the job, then ``ir.cron._process_job`` runs it: its
``_run_job`` opens a cursor of its own, puts ``ir_cron_progress_id`` in the context, calls the
server action again while the job reports work left, and commits (``_callback``,
``_commit_progress``), then reschedules the job (later, or at once when it was cut).

Isolation: inside ``enter_registry_test_mode()`` the job's cursor is a ``TestCursor`` on the
test's transaction. Its ``commit()`` releases the savepoint it holds since its last commit and its
``rollback()`` rolls back to that savepoint: the job meets the transaction boundaries it meets in
production (a commit inside a step's ``cr.savepoint()`` breaks exactly as it broke the real daily
run: the step's savepoint is gone), while the test's transaction still undoes everything at the
end, so the rest of the suite never sees these "commits".
"""

from datetime import date
from unittest.mock import patch

from freezegun import freeze_time
from odoo.addons.base.models import ir_cron
from odoo.addons.base.tests.test_ir_cron import CronMixinCase
from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tests import tagged
from odoo.tools import SQL

from ..models.batching import BatchedStep
from ..models.depanssur_jobs import DAILY_NEEDS
from ..tools.sepa_setup import setup_sepa
from .common import DepanssurSubscriptionCase
from .queue_common import run_queued_jobs
from .test_sepa import IBAN as SEPA_IBAN

DAY = date(2026, 2, 1)
NEXT_DAY = date(2026, 2, 2)
WEEK_DAY = date(2026, 2, 9)  # a Monday

DAILY_STEPS = [
    "terminations",
    "scheduled_changes",
    "carence",
    "counters",
    "anniversary",
    "invoicing",
    "cap_alerts",
    "dunning",
    "sepa_collection",
    "credit_notes",
    "webhooks",
    "rgpd",
]
WEEKLY_STEPS = ["kpi_snapshot", "detractors", "data_quality", "digest"]
# the daily steps that stay one job each (see depanssur.jobs._steps)
SINGLE_JOB_STEPS = ("credit_notes", "webhooks")
JOB_RUN_LOGGER = "odoo.addons.depanssur.models.depanssur_job_run"
QUEUE_JOB_LOGGER = "odoo.addons.queue_job.controllers.main"


@tagged("post_install", "-at_install")
class TestCronRunner(CronMixinCase, DepanssurSubscriptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.daily = cls.env.ref("depanssur.ir_cron_depanssur_daily")
        cls.weekly = cls.env.ref("depanssur.ir_cron_depanssur_weekly")
        cls.webhook_cron = cls.env.ref("depanssur.ir_cron_depanssur_webhook_process")
        cls.Run = cls.env["depanssur.job.run"]

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def _trigger(self, cron, day):
        """Run ``cron`` through Odoo's cron runner on ``day`` (10:00 UTC)."""
        with freeze_time(f"{day} 10:00:00"), self.enter_registry_test_mode():
            result = cron.method_direct_trigger()
        self.assertIs(result, True, f"the cron runner reported an error: {result}")
        cron.invalidate_recordset()

    def _drive(self, cron, day, order=None):
        """Run ``cron`` on ``day`` through Odoo's cron runner, and the jobs it enqueues through
        queue_job's runner path, until the run has nothing more to enqueue (each step's jobs
        done, the cron run again, as the last job of a step triggers it)."""
        for _attempt in range(40):
            self._trigger(cron, day)
            with freeze_time(f"{day} 10:00:00"):
                if not run_queued_jobs(self, order=order):
                    return
        self.fail("the run never finished")

    def _in_cron(self):
        """Steps run inside the cron run itself, without the job queue."""
        self.env["ir.config_parameter"].set_param("depanssur.job_queue", "0")

    def _ready(self, cron):
        """Whether the scheduler would run ``cron`` now (its next call is due or triggered)."""
        ready = self.registry["ir.cron"]._get_all_ready_jobs(self.env.cr)
        return cron.id in [job["id"] for job in ready]

    def _traces(self, job, day):
        return self.Run.search([("job", "=", job), ("run_date", "=", day)], order="id")

    def _final(self, traces):
        """{step code: the states of its done/failed traces}."""
        final = {}
        for trace in traces.filtered(lambda t: t.state != "interrupted"):
            final.setdefault(trace.step, []).append(trace.state)
        return final

    def _partner(self, name):
        return self.env["res.partner"].create(
            {
                "name": name,
                "email": f"{name.lower().replace(' ', '.')}@example.fr",
                "street": "1 rue de la République",
                "zip": "69001",
                "city": "Lyon",
            }
        )

    def _daily_data(self):
        """Records that give every step of the daily run of ``DAY`` (1 February 2026) work."""
        data = {}
        with freeze_time("2022-01-01"):
            data["former"] = self._partner("Ancien Client")
            former = self._subscribe(partner=data["former"], date_start="2022-01-01")
        with freeze_time("2022-06-01"):
            former._terminate("client_request", date(2022, 5, 31))
        with freeze_time("2026-01-10"):
            # waiting period over on DAY, 80 % of the yearly cap used
            data["waiting"] = self._subscribe(
                partner=self._partner("Alice Attente"),
                date_start="2026-01-02",
                next_billing_date="2026-02-02",
            )
            data["waiting"]._consume_coverage(date(2026, 1, 5), "plan", 500)
            # a downgrade scheduled for DAY, and the February invoice due
            data["downgrade"] = self._subscribe(
                partner=self._partner("Bruno Baisse"),
                plan=self.plan_confort,
                date_start="2026-01-01",
                next_billing_date="2026-02-01",
            )
            data["downgrade"]._change_plan_options(
                self.plan_essentiel, self.env["depanssur.option"], date(2026, 1, 10)
            )
            self.assertEqual(data["downgrade"].pending_change_date, DAY)
            # a new coverage year on DAY (counters reset)
            data["anniversary"] = self._subscribe(
                partner=self._partner("Chloé Anniversaire"),
                date_start="2025-02-01",
                next_billing_date="2026-02-01",
            )
            # anniversary in 30 days: the renewal notice
            data["renewal"] = self._subscribe(
                partner=self._partner("Denis Renouvellement"),
                date_start="2025-03-03",
                next_billing_date="2026-03-03",
            )
            # a termination effective on DAY
            data["leaving"] = self._subscribe(
                partner=self._partner("Emma Départ"),
                date_start="2025-06-01",
                next_billing_date="2026-02-01",
            )
            data["leaving"]._terminate("client_request", date(2026, 1, 31))
            # three more February invoices (five to invoice on DAY)
            data["due"] = data["downgrade"] | data["anniversary"]
            for index in range(3):
                data["due"] |= self._subscribe(
                    partner=self._partner(f"Client Facture {index}"),
                    date_start="2026-01-01",
                    next_billing_date="2026-02-01",
                )
            # an unpaid invoice of 25 January: D+7 on DAY
            data["unpaid"] = self._subscribe(
                partner=self._partner("Fanny Impayé"), date_start="2026-01-25"
            )
        with freeze_time("2026-01-25"):
            data["unpaid"]._invoice_due_periods(date(2026, 1, 25))
        self.assertEqual(len(data["unpaid"].invoice_ids), 1)
        # a SEPA subscriber invoiced on 27 January: debited on 1 February, in DAY's debit order
        setup_sepa(self.env)
        with freeze_time("2026-01-20"):
            partner = self._partner("Gaspard Prélevé")
            mandate = self.env["account.banking.mandate"]._depanssur_create_for(
                partner, SEPA_IBAN, partner.name, "web", signed=True
            )
            data["sepa"] = self._subscribe(partner=partner, date_start="2026-01-27")
            data["sepa"]._depanssur_set_payment_method("sepa", mandate)
        with freeze_time("2026-01-27"):
            data["sepa"]._invoice_due_periods(date(2026, 1, 27))
        self.assertEqual(data["sepa"].invoice_ids.depanssur_debit_date, DAY)
        # an issued credit note whose refund was paid: "refunded" at the next run
        with freeze_time("2026-01-20"):
            note = self.env["depanssur.credit.note"].create(
                {
                    "partner_id": self.client.id,
                    "reason": "commercial_gesture",
                    "line_ids": [
                        Command.create(
                            {"name": "Geste commercial", "quantity": 1, "price_unit": 20}
                        )
                    ],
                }
            )
            note.action_submit()
            note.with_user(self.user_accounting).action_issue()
            self.env["account.payment.register"].with_context(
                active_model="account.move", active_ids=note.move_id.ids
            ).create({"payment_date": "2026-01-20"})._create_payments()
        self.assertEqual(note.state, "issued")
        data["note"] = note
        # a webhook event received and not processed yet
        data["event"] = self.env["depanssur.webhook.event"].create(
            {
                "webhook_id": "msg_cron_runner",
                "event_type": "payment.succeeded",
                "occurred_at": "2026-01-31 08:00:00",
                "payload": {
                    "data": {
                        "subscription": data["downgrade"].name,
                        "amount": "14.90",
                        "currency": "EUR",
                    }
                },
            }
        )
        return data

    def _february_invoices(self, subscription):
        return subscription.invoice_ids.filtered(
            lambda m: m.depanssur_period_start == DAY and m.depanssur_invoice_kind == "period"
        )

    def _assert_daily_effects(self, data):
        self.assertEqual(data["leaving"].state, "terminated")
        self.assertEqual(data["downgrade"].plan_id, self.plan_essentiel)
        self.assertFalse(data["downgrade"].pending_change_date)
        self.assertEqual(data["waiting"].state, "active")
        self.assertIn(DAY, data["anniversary"].usage_ids.mapped("year_start"))
        self.assertEqual(data["renewal"].anniversary_notice_year, 2026)
        for subscription in data["due"]:
            self.assertEqual(len(self._february_invoices(subscription)), 1, subscription.name)
        # the downgrade applied before invoicing: February at the new price
        self.assertAlmostEqual(self._february_invoices(data["downgrade"]).amount_total, 9.90)
        usage = data["waiting"].usage_ids.filtered(lambda u: not u.option_id)
        self.assertTrue(usage.alert_80_sent)
        case = self.env["depanssur.dunning.case"].search(
            [("subscription_id", "=", data["unpaid"].id)]
        )
        self.assertEqual(case.action_ids.level_id.mapped("days_after"), [0, 3, 7])
        self.assertEqual(set(case.action_ids.mapped("date")), {DAY}, "the run's day")
        self.assertEqual(data["note"].state, "refunded")
        self.assertEqual(data["event"].state, "processed")
        self.assertTrue(data["former"].with_context(active_test=False).depanssur_anonymized)
        order = self.env["account.payment.order"].search([("depanssur_collection", "=", True)])
        self.assertEqual(order.state, "generated")
        self.assertEqual(order.payment_line_ids.move_line_id.move_id, data["sepa"].invoice_ids)
        self.assertTrue(
            self.env["ir.attachment"].search_count(
                [("res_model", "=", order._name), ("res_id", "=", order.id)]
            ),
            "the pain.008 file is attached",
        )

    # ------------------------------------------------------------
    # Daily run
    # ------------------------------------------------------------

    def test_daily_run_through_the_cron_runner(self):
        """With the job queue (the default): the cron enqueues each step as jobs, the jobs run
        through queue_job's runner path, the last one wakes the cron up for the next step."""
        data = self._daily_data()
        self._drive(self.daily, DAY)
        traces = self._traces("daily", DAY)
        self.assertEqual(
            self._final(traces),
            {code: ["done"] for code in DAILY_STEPS},
            traces.mapped(lambda t: (t.name, t.state, t.message)),
        )
        for trace in traces:
            self.assertGreater(trace.record_count, 0, f"{trace.name} had work to do")
        self._assert_daily_effects(data)
        self.assertFalse(self._ready(self.daily), "fully done: next call tomorrow")
        self.assertEqual(self.daily.failure_count, 0)
        for trace in traces:
            self.assertEqual(trace.job_done_count, trace.job_count, trace.name)
            self.assertFalse(trace.job_failed_count or trace.job_pending_count, trace.name)
        invoicing = traces.filtered(lambda t: t.step == "invoicing")
        self.assertEqual(
            invoicing.queue_job_ids.channel, "root.depanssur.invoicing", "a job per batch"
        )
        # a wake-up arriving after the run was complete (the last jobs of two steps finishing
        # together each wake the cron up, the first one completes the run): nothing starts
        with freeze_time(f"{DAY} 10:00:00"):
            self.daily._trigger()
        self.assertTrue(self._ready(self.daily))
        self._trigger(self.daily, DAY)
        self.assertEqual(self._traces("daily", DAY), traces, "no second run from a late wake-up")
        self.assertFalse(self._ready(self.daily))
        # the same day again (a manual "Run"): a new run, which has nothing left to do
        self._drive(self.daily, DAY)
        again = self._traces("daily", DAY) - traces
        self.assertEqual(self._final(again), {code: ["done"] for code in DAILY_STEPS})
        self.assertEqual(sum(again.mapped("record_count")), 0, again.mapped("name"))
        self.assertFalse(self._ready(self.daily))

    def test_daily_steps_start_once_their_needs_are_finished(self):
        """With the job queue, each pass of the coordinator enqueues the steps whose needs are
        finished (they run alongside): terminations first, with the steps that touch no
        subscription; then the steps it could race; invoicing after them; the dunning after
        invoicing, the debit orders last. Jobs finishing in any order, the run completes with
        every effect once."""
        codes = [
            code for code, _label, _function in self.env["depanssur.jobs"]._steps("daily", DAY)
        ]
        self.assertEqual(codes, DAILY_STEPS)
        self.assertEqual(set(DAILY_NEEDS), set(codes), "every step says what it needs")
        for code, needs in DAILY_NEEDS.items():
            self.assertLessEqual(set(needs), set(codes[: codes.index(code)]), code)
        data = self._daily_data()
        passes = [
            {"terminations", "credit_notes", "webhooks", "rgpd"},
            {"scheduled_changes", "carence", "counters", "anniversary"},
            {"invoicing", "cap_alerts"},
            {"dunning"},
            {"sepa_collection"},
        ]
        started = set()
        for new in passes:
            self._trigger(self.daily, DAY)
            started |= new
            self.assertEqual(set(self._traces("daily", DAY).mapped("step")), started)
            with freeze_time(f"{DAY} 10:00:00"):
                run_queued_jobs(self, order=lambda uuids: list(reversed(uuids)))
        self._drive(self.daily, DAY)
        traces = self._traces("daily", DAY)
        self.assertEqual(self._final(traces), {code: ["done"] for code in DAILY_STEPS})
        self._assert_daily_effects(data)
        self.assertFalse(self._ready(self.daily), "fully done: next call tomorrow")

    def _footprint(self):
        """What the steps change, read from the database: rows created (invoices, messages,
        emails, SMS, activities, counters, dunning actions) and the fields they write."""
        self.env.flush_all()
        cr = self.env.cr
        footprint = {}
        for table in (
            "account_move",
            "mail_message",
            "mail_mail",
            "sms_sms",
            "mail_activity",
            "depanssur_subscription_usage",
            "depanssur_dunning_case",
            "depanssur_dunning_action",
        ):
            cr.execute(SQL("SELECT count(*) FROM %s", SQL.identifier(table)))
            footprint[table] = cr.fetchone()[0]
        cr.execute(
            "SELECT id, state, next_billing_date, plan_id, pending_change_date, risk_address_id,"
            " anniversary_notice_year FROM depanssur_subscription ORDER BY id"
        )
        footprint["subscriptions"] = cr.fetchall()
        cr.execute(
            "SELECT id, alert_80_sent, alert_cap_sent FROM depanssur_subscription_usage ORDER BY id"
        )
        footprint["usages"] = cr.fetchall()
        cr.execute("SELECT id, state, next_action_date FROM depanssur_dunning_case ORDER BY id")
        footprint["cases"] = cr.fetchall()
        cr.execute("SELECT count(*) FROM res_partner WHERE depanssur_anonymized")
        footprint["anonymized"] = cr.fetchone()[0]
        return footprint

    def test_every_batch_job_run_twice_changes_nothing_more(self):
        """Each step of the daily run that iterates over records is split into batch jobs;
        every batch job performed a second time (a second node given the same batch) changes
        nothing more, and the steps' effects are those of the whole run."""
        data = self._daily_data()
        Batch = self.env["depanssur.job.batch"]
        batched = []
        for code, label, function in self.env["depanssur.jobs"]._steps("daily", DAY):
            with freeze_time("2026-02-01 10:00:00"):
                if not isinstance(function, BatchedStep):
                    function()
                    continue
                batched.append(code)
                with trap_jobs() as trap:
                    trace = Batch._enqueue_step("daily", code, label, DAY, function)
                self.assertEqual(len(trap.enqueued_jobs), trace.job_count, code)
                expected = {"invoicing": "invoicing", "sepa_collection": "sepa"}.get(code, "steps")
                for job in trap.enqueued_jobs:
                    self.assertEqual(job.channel, f"root.depanssur.{expected}", code)
                    job.perform()
                    footprint = self._footprint()
                    job.perform()
                    self.assertEqual(self._footprint(), footprint, f"{code}: run twice")
                if function.finish:
                    # the step's last job (the direct-debit orders' files), run twice too
                    function.finish()
                    footprint = self._footprint()
                    function.finish()
                    self.assertEqual(self._footprint(), footprint, f"{code}: finish run twice")
        self.assertEqual(
            batched,
            [code for code in DAILY_STEPS if code not in SINGLE_JOB_STEPS],
            "every step over a growing set of records runs in batches",
        )
        self._assert_daily_effects(data)

    def test_daily_run_without_the_job_queue(self):
        """``depanssur.job_queue`` = 0: the steps run inside the cron run, as before."""
        self._in_cron()
        data = self._daily_data()
        self._trigger(self.daily, DAY)
        traces = self._traces("daily", DAY)
        self.assertEqual(self._final(traces), {code: ["done"] for code in DAILY_STEPS})
        self.assertFalse(traces.queue_job_ids)
        self._assert_daily_effects(data)
        self.assertFalse(self._ready(self.daily))

    def test_retention_erasure_cancels_the_sepa_mandate(self):
        """The retention step of the daily run, through the cron runner, erases a former SEPA
        subscriber: the mandate is cancelled (kept, as the debits made under it), without the IP
        it was signed from; a running SEPA subscriber's mandate stays valid."""
        self._in_cron()
        setup_sepa(self.env)
        Mandate = self.env["account.banking.mandate"]
        with freeze_time("2022-01-01"):
            former = self._partner("Ancien Prélevé")
            old_mandate = Mandate._depanssur_create_for(
                former, SEPA_IBAN, former.name, "web", signed=True, ip="203.0.113.9"
            )
            subscription = self._subscribe(partner=former, date_start="2022-01-01")
            subscription._depanssur_set_payment_method("sepa", old_mandate)
        with freeze_time("2022-06-01"):
            subscription._terminate("client_request", date(2022, 5, 31))
        with freeze_time("2026-01-10"):
            current = self._partner("Client Prélevé")
            kept = Mandate._depanssur_create_for(
                current, "DE89 3704 0044 0532 0130 00", current.name, "web", signed=True
            )
            running = self._subscribe(partner=current, date_start="2026-01-10")
            running._depanssur_set_payment_method("sepa", kept)
        self.assertEqual((old_mandate.state, kept.state), ("valid", "valid"))
        self._trigger(self.daily, DAY)
        self.assertEqual(self._final(self._traces("daily", DAY))["rgpd"], ["done"])
        self.env.invalidate_all()
        self.assertTrue(former.with_context(active_test=False).depanssur_anonymized)
        self.assertTrue(old_mandate.exists())
        self.assertEqual(old_mandate.state, "cancel")
        self.assertFalse(old_mandate.depanssur_signed_ip)
        self.assertFalse(current.depanssur_anonymized)
        self.assertEqual(kept.state, "valid")

    def test_failed_batch_is_retried_from_the_run_and_completes(self):
        data = self._daily_data()
        Subscription = self.env.registry["depanssur.subscription"]
        invoice_due_periods = Subscription._invoice_due_periods
        broken = {"on": True}

        def flaky(records, day):
            if broken["on"] and records & data["due"]:
                raise RuntimeError("invoicing exploded")
            return invoice_due_periods(records, day)

        with patch.object(Subscription, "_invoice_due_periods", flaky):
            with self.assertLogs(QUEUE_JOB_LOGGER, "ERROR") as logs:
                self._drive(self.daily, DAY)
            self.assertIn("invoicing exploded", logs.output[0])
            traces = self._traces("daily", DAY)
            expected = {code: ["done"] for code in DAILY_STEPS}
            expected["invoicing"] = ["failed"]
            self.assertEqual(self._final(traces), expected)
            invoicing = traces.filtered(lambda t: t.step == "invoicing")
            self.assertEqual(invoicing.job_failed_count, 1)
            self.assertIn("invoicing exploded", invoicing.message)
            self.assertFalse(data["due"].filtered(self._february_invoices), "rolled back")
            # the steps after it ran
            self.assertEqual(data["note"].state, "refunded")
            self.assertTrue(data["former"].with_context(active_test=False).depanssur_anonymized)
            # only a Depanssur manager retries; then the job runs again and the step completes
            with self.assertRaises(UserError):
                invoicing.with_user(self.user_agent).action_retry_failed_jobs()
            broken["on"] = False
            invoicing.with_user(self.user_manager).action_retry_failed_jobs()
            self.assertEqual(invoicing.state, "running")
            self._drive(self.daily, DAY)
        invoicing.invalidate_recordset()
        self.assertEqual(invoicing.state, "done")
        self.assertEqual((invoicing.job_done_count, invoicing.job_failed_count), (1, 0))
        self.assertEqual(
            self._final(self._traces("daily", DAY)), {code: ["done"] for code in DAILY_STEPS}
        )
        self._assert_daily_effects(data)

    def test_failing_step_is_traced_and_the_others_run(self):
        self._in_cron()
        data = self._daily_data()
        Jobs = self.env.registry["depanssur.jobs"]

        def broken_cap_alerts(model, day=None):
            model.env["res.partner"].create({"name": "Half-done work"})
            raise RuntimeError("cap alerts exploded")

        with (
            patch.object(Jobs, "_cron_cap_alerts", broken_cap_alerts),
            self.assertLogs(JOB_RUN_LOGGER, "ERROR") as logs,
        ):
            self._trigger(self.daily, DAY)
        self.assertIn("Cap alerts", logs.output[0])
        traces = self._traces("daily", DAY)
        expected = {code: ["done"] for code in DAILY_STEPS}
        expected["cap_alerts"] = ["failed"]
        self.assertEqual(self._final(traces), expected)
        failed = traces.filtered(lambda t: t.state == "failed")
        self.assertIn("cap alerts exploded", failed.message)
        # the failing step was rolled back, its trace committed, the steps after it ran
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Half-done work")]))
        usage = data["waiting"].usage_ids.filtered(lambda u: not u.option_id)
        self.assertFalse(usage.alert_80_sent)
        case = self.env["depanssur.dunning.case"].search(
            [("subscription_id", "=", data["unpaid"].id)]
        )
        self.assertEqual(len(case.action_ids), 3)
        self.assertEqual(data["note"].state, "refunded")
        self.assertEqual(data["event"].state, "processed")
        self.assertTrue(data["former"].with_context(active_test=False).depanssur_anonymized)
        self.assertFalse(self._ready(self.daily))

    def test_run_cut_by_the_time_limit_resumes_on_the_next_run(self):
        """A tiny time budget: ``MIN_TIME_PER_JOB = 0`` (every ``_commit_progress`` answers "no
        time left") and ``MIN_RUNS_PER_JOB = 1`` (the runner does not call the job again in the
        same run); invoicing goes by batches of two, so it is cut after its first batch. (Without
        the job queue: with it, the cron only enqueues.)"""
        self._in_cron()
        data = self._daily_data()
        Subscription = self.env.registry["depanssur.subscription"]
        invoice_due = Subscription._cron_invoice_due

        def in_pairs(model, day=None, batch_size=200):
            return invoice_due(model, day, batch_size=2)

        Move = self.env["account.move"]
        period_invoices = [("depanssur_invoice_kind", "=", "period")]
        invoices_before = Move.search(period_invoices)
        with (
            patch.object(Subscription, "_cron_invoice_due", in_pairs),
            patch.object(ir_cron, "MIN_TIME_PER_JOB", 0),
            patch.object(ir_cron, "MIN_RUNS_PER_JOB", 1),
        ):
            runs = 0
            while runs < len(DAILY_STEPS):
                runs += 1
                before = self._traces("daily", DAY)
                self._trigger(self.daily, DAY)
                new = self._traces("daily", DAY) - before
                self.assertEqual(len(new), 1, "one step (or one batch) per run")
                self.assertTrue(self._ready(self.daily), "cut: rescheduled at once")
                if new.step == "invoicing":
                    break
        self.assertEqual(runs, 6, "five steps done, one run each, then invoicing cut")
        self.assertEqual(new.state, "interrupted")
        # the first batch (two subscriptions, the test's or the demo data's: by id) is
        # committed, the rest waits
        invoiced = (Move.search(period_invoices) - invoices_before).depanssur_subscription_id
        self.assertEqual(len(invoiced), 2, "the first batch is committed, the rest waits")
        self.assertLess(len(data["due"].filtered(self._february_invoices)), len(data["due"]))
        self.assertFalse(
            self.env["depanssur.dunning.case"].search([("subscription_id", "=", data["unpaid"].id)])
        )
        self.assertEqual(data["note"].state, "issued", "the steps after it have not run yet")

        # the next run comes the day after: it first finishes the cut run, for its own day
        with patch.object(Subscription, "_cron_invoice_due", in_pairs):
            self._trigger(self.daily, NEXT_DAY)
        traces = self._traces("daily", DAY)
        self.assertEqual(self._final(traces), {code: ["done"] for code in DAILY_STEPS})
        self.assertEqual(
            traces.filtered(lambda t: t.step == "invoicing").mapped("state"),
            ["interrupted", "done"],
        )
        self._assert_daily_effects(data)  # each invoice once, dunning dated DAY, ...
        self.assertEqual(
            self._final(self._traces("daily", NEXT_DAY)), {code: ["done"] for code in DAILY_STEPS}
        )
        for subscription in data["due"]:
            self.assertEqual(len(subscription.invoice_ids), 1, "nothing invoiced twice")
        self.assertFalse(self._ready(self.daily))

    def test_outside_a_cron_run_nothing_is_committed(self):
        """A direct call (shell, test, another method) commits nothing: the caller's transaction
        decides; a failing step is still isolated (savepoint) and traced."""
        data = self._daily_data()
        Jobs = self.env.registry["depanssur.jobs"]

        def broken_cap_alerts(model, day=None):
            raise RuntimeError("cap alerts exploded")

        with (
            patch.object(type(self.env.cr), "commit", side_effect=AssertionError("commit")),
            patch.object(Jobs, "_cron_cap_alerts", broken_cap_alerts),
            self.assertLogs(JOB_RUN_LOGGER, "ERROR"),
            freeze_time("2026-02-01 10:00:00"),
        ):
            traces = self.env["depanssur.jobs"]._cron_daily(DAY)
        expected = {code: ["done"] for code in DAILY_STEPS}
        expected["cap_alerts"] = ["failed"]
        self.assertEqual(self._final(traces), expected)
        self.assertEqual(data["leaving"].state, "terminated")
        self.assertEqual(data["event"].state, "processed")

    # ------------------------------------------------------------
    # Weekly run and webhook processing
    # ------------------------------------------------------------

    def test_weekly_run_through_the_cron_runner(self):
        with freeze_time("2026-01-10"):
            subscription = self._subscribe(date_start="2026-01-01")
        dossier = self.env["depanssur.dossier"].create(
            {
                "subscription_id": subscription.id,
                "category_id": self.cat_plumbing.id,
                "incident_date": "2026-02-01",
                "declaration_date": "2026-02-01 10:00:00",
                "nps_score": 3,
                "nps_comment": "Technicien en retard",
                "nps_date": "2026-02-05 10:00:00",
            }
        )
        self._subscribe(partner=self._partner("Sans Consentement"), date_start="2026-01-01")
        self._drive(self.weekly, WEEK_DAY)
        traces = self._traces("weekly", WEEK_DAY)
        self.assertEqual(self._final(traces), {code: ["done"] for code in WEEKLY_STEPS})
        for trace in traces:
            self.assertGreater(trace.record_count, 0, f"{trace.name} had work to do")
        self.assertEqual(len(dossier.activity_ids), 1)
        self.assertTrue(dossier.nps_callback_planned)
        quality = traces.filtered(lambda t: t.step == "data_quality")
        self.assertIn("Clients without any consent record", quality.message)
        digest = self.env["mail.mail"].search([("subject", "like", "weekly digest")])
        self.assertEqual(len(digest), 1)
        self.assertIn("Technicien en retard", digest.body_html)
        self.assertEqual(
            self.env["depanssur.kpi.snapshot"].search_count([("date", "=", WEEK_DAY)]),
            self.env["res.company"].search_count([]),
        )
        self.assertFalse(self._ready(self.weekly))
        # a weekly run cut on Monday and finished on Tuesday stays Monday's run
        self.Run.search([("job", "=", "weekly"), ("step", "=", "digest")]).unlink()
        self._drive(self.weekly, date(2026, 2, 10))
        self.assertFalse(self._traces("weekly", date(2026, 2, 10)))
        self.assertEqual(
            self._final(self._traces("weekly", WEEK_DAY)),
            {code: ["done"] for code in WEEKLY_STEPS},
        )
        self.assertEqual(
            len(self.env["mail.mail"].search([("subject", "like", "weekly digest")])), 2
        )

    def test_webhook_cron_through_the_cron_runner(self):
        with freeze_time("2026-01-10"):
            subscription = self._subscribe(date_start="2026-01-01")
            subscription._invoice_due_periods(date(2026, 1, 1))
        invoice = subscription.invoice_ids
        events = self.env["depanssur.webhook.event"].create(
            [
                {
                    "webhook_id": f"msg_runner_{index}",
                    "event_type": "payment.failed",
                    "occurred_at": "2026-01-05 06:00:00",
                    "payload": {
                        "data": {
                            "subscription": subscription.name,
                            "amount": "9.90",
                            "currency": "EUR",
                            "invoice": invoice.name,
                        }
                    },
                }
                for index in range(3)
            ]
        )
        sequence = self.env.ref("depanssur.seq_depanssur_dossier")
        sequence.date_range_ids.filtered(lambda r: r.date_from.year == 2026).unlink()
        self._trigger(self.webhook_cron, date(2026, 1, 5))
        self.assertEqual(set(events.mapped("state")), {"received"}, "fanned out as jobs")
        self.assertEqual(
            sequence.date_range_ids.filtered(lambda r: r.date_from.year == 2026).date_to,
            date(2026, 12, 31),
            "the claim files' range of the year made once by the coordinator, not by racing jobs",
        )
        jobs = self.env["queue.job"].search([("method_name", "=", "_job_process_file")])
        self.assertEqual(len(jobs), 1, "one job for the subscription's events")
        self.assertEqual(jobs.channel, "root.depanssur.webhook")
        with freeze_time("2026-01-05 10:00:00"):
            self.assertEqual(list(run_queued_jobs(self).values()), ["done"])
        self.assertEqual(set(events.mapped("state")), {"processed"})
        case = self.env["depanssur.dunning.case"].search(
            [("subscription_id", "=", subscription.id)]
        )
        self.assertEqual(len(case), 1, "three deliveries of a failure, one case")
        self.assertEqual(case.source, "payment_failed")
        self.assertFalse(self._ready(self.webhook_cron))
