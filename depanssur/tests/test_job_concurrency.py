"""Batch jobs of the daily run and webhook file jobs on two real database connections.

The test's own transaction is never committed, so the scenarios run on connections of their own
(committed data, removed at the end), through queue_job's runner path (``RunJobController``:
acquire the job, perform it, store it done, or postpone it on a ``RetryableJobError`` or a
serialization failure). Two coordinators (or nodes) enqueue the same batch: both jobs run at
once, and the step's effect happens exactly once.
"""

import sys
import threading
import time
import traceback
from contextlib import closing
from datetime import date
from unittest.mock import patch

from freezegun import freeze_time
from odoo import SUPERUSER_ID, api
from odoo.addons.queue_job.controllers.main import RunJobController
from odoo.fields import Command
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase, tagged
from odoo.tests.common import release_test_lock
from odoo.tools import mute_logger

from ..models.batching import BatchedStep
from ..models.depanssur_abstract_notify import MUTED, notifications

DAY = date(2026, 2, 1)


@tagged("post_install", "-at_install")
class TestConcurrentJobs(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dbname = cls.env.cr.dbname
        cls.ids = {}
        cls.cleanup = {"runs": [], "jobs": [], "events": []}
        with cls._cursor() as cr:
            # the triggers the jobs add to wake the coordinator up are removed at the end
            cr.execute("SELECT coalesce(max(id), 0) FROM ir_cron_trigger")
            cls.last_trigger = cr.fetchone()[0]
        with cls._cursor() as cr, notifications(MUTED):
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            plumbing = env.ref("depanssur.category_plumbing")
            plan = env["depanssur.plan"].create(
                {
                    "name": "Concurrency jobs plan",
                    "monthly_price": 10.0,
                    "category_ids": [Command.link(plumbing.id)],
                    "carence_days": 15,
                    "cap_per_intervention": 500,
                    "yearly_cap_amount": 5000,
                    "yearly_cap_count": 3,
                }
            )
            partners = env["res.partner"].create(
                [
                    {
                        "name": f"Client job {name}",
                        "street": "1 rue",
                        "zip": "69001",
                        "city": "Lyon",
                    }
                    for name in ("A", "B")
                ]
            )
            Subscription = env["depanssur.subscription"]
            with freeze_time("2025-01-10"):
                # B: started a year before DAY, its termination effective on 20 January 2026
                second = Subscription.create(
                    {
                        "partner_id": partners[1].id,
                        "plan_id": plan.id,
                        "date_start": "2025-01-15",
                        "next_billing_date": "2026-02-15",
                    }
                )
                second.action_confirm()
            with freeze_time("2025-02-01"):
                second.action_end_carence()
            with freeze_time("2026-01-10"):
                # A: in its waiting period until 16 January, its February invoice due on DAY
                first = Subscription.create(
                    {
                        "partner_id": partners[0].id,
                        "plan_id": plan.id,
                        "date_start": "2026-01-01",
                        "next_billing_date": "2026-02-01",
                    }
                )
                first.action_confirm()
                second._terminate("client_request", date(2026, 1, 20))
            cr.commit()  # pylint: disable=invalid-commit  # two connections must see it
            cls.ids = {
                "plan": plan.id,
                "partners": partners.ids,
                "first": first.id,
                "second": second.id,
                "product": plan.product_id.id,
                "template": plan.product_id.product_tmpl_id.id,
            }

    @classmethod
    def tearDownClass(cls):
        if cls.ids:
            with cls._cursor() as cr:
                ids = cls.ids
                subscriptions = (ids["first"], ids["second"])
                cr.execute(
                    "SELECT id FROM account_move WHERE depanssur_subscription_id IN %s",
                    (subscriptions,),
                )
                moves = tuple(row[0] for row in cr.fetchall()) or (0,)
                cr.execute(
                    "SELECT id FROM depanssur_dossier WHERE subscription_id IN %s", (subscriptions,)
                )
                dossiers = tuple(row[0] for row in cr.fetchall()) or (0,)
                for model, res_ids in (
                    ("account.move", moves),
                    ("depanssur.subscription", subscriptions),
                    ("depanssur.dossier", dossiers),
                ):
                    cr.execute(
                        "DELETE FROM mail_message WHERE model = %s AND res_id IN %s",
                        (model, res_ids),
                    )
                    cr.execute(
                        "DELETE FROM mail_followers WHERE res_model = %s AND res_id IN %s",
                        (model, res_ids),
                    )
                cr.execute("DELETE FROM account_move WHERE id IN %s", (moves,))
                cr.execute(
                    "DELETE FROM queue_job WHERE uuid IN %s", (tuple(cls.cleanup["jobs"]) or ("",),)
                )
                cr.execute(
                    "DELETE FROM depanssur_job_run WHERE id IN %s",
                    (tuple(cls.cleanup["runs"]) or (0,),),
                )
                cr.execute(
                    "DELETE FROM depanssur_webhook_event WHERE id IN %s",
                    (tuple(cls.cleanup["events"]) or (0,),),
                )
                cr.execute(
                    "DELETE FROM mail_activity WHERE res_model = %s AND res_id IN %s",
                    ("depanssur.dossier", dossiers),
                )
                cr.execute("DELETE FROM depanssur_dossier WHERE id IN %s", (dossiers,))
                cr.execute("DELETE FROM depanssur_subscription WHERE id IN %s", (subscriptions,))
                cr.execute("DELETE FROM depanssur_plan WHERE id = %s", (ids["plan"],))
                cr.execute("DELETE FROM product_product WHERE id = %s", (ids["product"],))
                cr.execute("DELETE FROM product_template WHERE id = %s", (ids["template"],))
                cr.execute("DELETE FROM res_partner WHERE id IN %s", (tuple(ids["partners"]),))
                cr.execute("DELETE FROM ir_cron_trigger WHERE id > %s", (cls.last_trigger,))
                cr.commit()  # pylint: disable=invalid-commit  # undo setUpClass
        super().tearDownClass()

    @classmethod
    def _cursor(cls):
        """A real connection of its own (not the test cursor), failing rather than hanging."""
        cr = db_connect(cls.dbname).cursor()
        cr.execute("SET lock_timeout = '20s'")
        return closing(cr)

    @staticmethod
    def _env(cr):
        return api.Environment(cr, SUPERUSER_ID, {})

    def _sql(self, query, params):
        with self._cursor() as cr:
            cr.execute(query, params)
            return cr.fetchall()

    # ------------------------------------------------------------
    # queue_job's runner, one step at a time
    # ------------------------------------------------------------

    def _enqueue_twice(self, code):
        """Two coordinators enqueue step ``code`` of DAY, limited to this test's subscriptions:
        two traces, each with one job of the same batch. Returns the jobs' uuids."""
        mine = (self.ids["first"], self.ids["second"])
        uuids = []
        with self._cursor() as cr, freeze_time("2026-02-01 10:00:00"):
            env = self._env(cr)
            steps = env["depanssur.jobs"]._steps("daily", DAY)
            label, step = next((label, step) for c, label, step in steps if c == code)
            self.assertIsInstance(step, BatchedStep, f"{code} is split into batch jobs")
            limited = BatchedStep(
                step.run,
                lambda: step.records().filtered(lambda r: r.id in mine),
                step.process,
                size=step.size,
                channel=step.channel,
            )
            for _coordinator in range(2):
                trace = env["depanssur.job.batch"]._enqueue_step("daily", code, label, DAY, limited)
                self.cleanup["runs"].append(trace.id)
                self.assertEqual(trace.job_count, 1)
                uuids.append(trace.queue_job_ids.uuid)
            cr.commit()  # pylint: disable=invalid-commit  # the workers' connections see them
        self.cleanup["jobs"].extend(uuids)
        return uuids

    @staticmethod
    def _requeue(cr, uuid):
        """What queue_job's runner does with a pending job whose time has come."""
        cr.execute("UPDATE queue_job SET state = 'enqueued', eta = NULL WHERE uuid = %s", (uuid,))
        cr.commit()  # pylint: disable=invalid-commit  # the runner's own transaction

    def _acquire(self, cr, uuid):
        self._requeue(cr, uuid)
        job = RunJobController._acquire_job(self._env(cr), uuid)
        self.assertTrue(job, "the job was acquired")
        return job

    @staticmethod
    def _perform(cr, job, day=True):
        """``/queue_job/runjob`` once the job is acquired; its transaction is left open when it
        succeeded (the controller commits only outside tests). The serialization failures it
        postpones are logged by the cursor: muted here."""
        with notifications(MUTED), mute_logger("odoo.sql_db"):
            if day:
                with freeze_time("2026-02-01 10:00:00"):
                    RunJobController._runjob(job.env, job)
            else:
                RunJobController._runjob(job.env, job)

    def _job(self, uuid):
        return self._sql("SELECT state, result FROM queue_job WHERE uuid = %s", (uuid,))[0]

    def _race(self, code):
        """The two jobs of the same batch of step ``code``, on two connections:

        1. worker 1 performs its job and holds its transaction open;
        2. worker 2 performs its job: the batch's rows are locked (``FOR UPDATE SKIP LOCKED``
           finds them taken), the job raises ``RetryableJobError`` and queue_job postpones it;
        3. worker 2 picks it up again (its snapshot taken), then worker 1 commits: the batch's
           rows changed after worker 2's snapshot, PostgreSQL raises a serialization failure,
           which queue_job postpones too;
        4. worker 2 picks it up a third time, on fresh data: its batch re-checks each record and
           finds nothing left to do; the job is done.
        """
        first_uuid, second_uuid = self._enqueue_twice(code)
        with self._cursor() as cr1, self._cursor() as cr2:
            first = self._acquire(cr1, first_uuid)
            self._perform(cr1, first)
            second = self._acquire(cr2, second_uuid)
            self._perform(cr2, second)
            state, result = self._job(second_uuid)
            self.assertEqual(state, "pending", "postponed while the rows are locked")
            self.assertIn("Cannot grab a lock", result)
            second = self._acquire(cr2, second_uuid)
            cr1.commit()  # pylint: disable=invalid-commit  # worker 1's job is done
            self.assertEqual(self._job(first_uuid)[0], "done")
            self._perform(cr2, second)
            state, result = self._job(second_uuid)
            self.assertEqual(state, "pending", "postponed on the serialization failure")
            self.assertIn("serialize", result)
            second = self._acquire(cr2, second_uuid)
            self._perform(cr2, second)
            cr2.commit()  # pylint: disable=invalid-commit  # worker 2's job is done
        self.assertEqual(self._job(second_uuid)[0], "done")
        with self._cursor() as cr:
            runs = self._env(cr)["depanssur.job.run"].browse(self.cleanup["runs"][-2:])
            self.assertEqual(runs.mapped("job_done_count"), [1, 1], "the run summary counts both")
            self.assertEqual(runs.mapped("job_pending_count"), [0, 0])

    # ------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------

    def test_last_job_of_a_step_wakes_the_coordinator_after_its_commit(self):
        """Two batch jobs of a step on two workers; the one that started first finishes last.
        Its transaction keeps the snapshot of its start, in which the other job, started and
        finished meanwhile, is still pending: checked there, neither job would see itself as
        the last one and the run would wait for the watchdog. The coordinator is woken once,
        by the job that commits last, after its commit."""
        with self._cursor() as cr:
            env = self._env(cr)
            trace = env["depanssur.job.run"].create(
                {"job": "daily", "step": "carence", "name": "Wake-up", "run_date": DAY}
            )
            self.cleanup["runs"].append(trace.id)
            partners = env["res.partner"].browse(self.ids["partners"])
            Batch = env["depanssur.job.batch"]
            uuids = [
                Batch.with_delay(identity_key=None)._job_run_batch(trace, partner).uuid
                for partner in partners
            ]
            self.cleanup["jobs"].extend(uuids)
            cron = env.ref("depanssur.ir_cron_depanssur_daily")
            cr.execute("UPDATE queue_job SET state = 'started' WHERE uuid = %s", (uuids[0],))
            cr.execute("SELECT coalesce(max(id), 0) FROM ir_cron_trigger")
            before = cr.fetchone()[0]
            cr.commit()  # pylint: disable=invalid-commit  # the workers' connections see them

        def wakes():
            return self._sql(
                "SELECT count(*) FROM ir_cron_trigger WHERE id > %s AND cron_id = %s",
                (before, cron.id),
            )[0][0]

        def finish(cr, uuid):
            """The end of a job on its worker: its wake-up check, then stored done with its
            work, in one commit (queue_job's ``_try_perform_job``)."""
            env = self._env(cr)
            env["depanssur.job.batch"]._wake_if_last(env["depanssur.job.run"].browse(trace.id))
            cr.execute("UPDATE queue_job SET state = 'done' WHERE uuid = %s", (uuid,))
            cr.commit()  # pylint: disable=invalid-commit  # the job's transaction

        with self._cursor() as cr1, self._cursor() as cr2:
            # worker 1's job started first: its snapshot shows the second job pending
            cr1.execute("SELECT state FROM queue_job WHERE uuid = %s", (uuids[1],))
            self.assertEqual(cr1.fetchone()[0], "pending")
            # worker 2 starts the second job and finishes it while the first one still runs
            cr2.execute("UPDATE queue_job SET state = 'started' WHERE uuid = %s", (uuids[1],))
            cr2.commit()  # pylint: disable=invalid-commit  # the runner's own transaction
            finish(cr2, uuids[1])
            self.assertEqual(wakes(), 0, "not the last job of the step: no wake-up yet")
            finish(cr1, uuids[0])
        self.assertEqual(wakes(), 1, "the last job to commit woke the coordinator up")

    def test_a_batch_job_lets_other_work_point_to_its_records(self):
        """While a batch job runs (its transaction open, its records locked), other work that
        creates rows pointing to them (a claim file or a payment of the client, a webhook) is
        not held back: the lock keeps a second run of the batch out, not the references (the
        key-share lock a foreign key takes)."""
        uuid = self._enqueue_twice("carence")[0]
        with self._cursor() as cr1, self._cursor() as cr2:
            job = self._acquire(cr1, uuid)
            self._perform(cr1, job)  # its transaction left open, the batch's rows locked
            cr2.execute(
                "SELECT id FROM depanssur_subscription WHERE id = %s FOR NO KEY UPDATE SKIP LOCKED",
                (self.ids["first"],),
            )
            self.assertFalse(cr2.fetchall(), "a second run of the batch finds the row taken")
            cr2.execute(
                "SELECT id FROM depanssur_subscription WHERE id = %s FOR KEY SHARE NOWAIT",
                (self.ids["first"],),
            )
            self.assertEqual(cr2.fetchall(), [(self.ids["first"],)])
            cr1.rollback()  # the effect of the step is another test's

    def test_batch_jobs_of_each_step_race_on_two_connections(self):
        first, second = self.ids["first"], self.ids["second"]
        # new coverage year of B (15 January 2026): its counters opened once
        self._race("counters")
        self.assertEqual(
            self._sql(
                "SELECT count(*) FROM depanssur_subscription_usage WHERE subscription_id = %s "
                "AND option_id IS NULL AND year_start = '2026-01-15'",
                (second,),
            ),
            [(1,)],
        )
        # A's waiting period over: covered once
        self._race("carence")
        self.assertEqual(
            self._sql("SELECT state FROM depanssur_subscription WHERE id = %s", (first,)),
            [("active",)],
        )
        # A's February invoice: created and posted once, its billing date moved on once
        self._race("invoicing")
        self.assertEqual(
            self._sql(
                "SELECT state, count(*) FROM account_move WHERE depanssur_subscription_id = %s "
                "AND depanssur_period_start = %s GROUP BY state",
                (first, DAY),
            ),
            [("posted", 1)],
        )
        self.assertEqual(
            self._sql(
                "SELECT next_billing_date FROM depanssur_subscription WHERE id = %s", (first,)
            ),
            [(date(2026, 3, 1),)],
        )
        # B's termination effective once
        self._race("terminations")
        self.assertEqual(
            self._sql(
                "SELECT state, next_billing_date FROM depanssur_subscription WHERE id = %s",
                (second,),
            ),
            [("terminated", None)],
        )

    def test_two_jobs_of_one_claim_file_keep_its_order(self):
        """Two jobs process the events of the same claim file at once (two nodes): the second
        waits for the first's lock on the file, then is retried on fresh data; every event is
        applied once, in order."""
        with self._cursor() as cr:
            env = self._env(cr)
            subscription = env["depanssur.subscription"].browse(self.ids["first"])
            data = {"external_id": "DEP-CONC-1"}
            rows = [
                (
                    "dossier.created",
                    "2026-03-01 09:00:00",
                    {
                        **data,
                        "subscription": subscription.name,
                        "category": "plumbing",
                        "incident_date": "2026-03-01",
                        "description": "Fuite",
                    },
                ),
                ("dossier.status_changed", "2026-03-01 10:00:00", {**data, "status": "qualified"}),
                ("dossier.status_changed", "2026-03-01 12:00:00", {**data, "status": "scheduled"}),
                ("dossier.updated", "2026-03-01 13:00:00", {**data, "description": "Final"}),
            ]
            # created newest first: the ids do not give the order
            events = env["depanssur.webhook.event"].create(
                [
                    {
                        "webhook_id": f"msg_concurrent_{index}",
                        "event_type": event_type,
                        "occurred_at": occurred_at,
                        "payload": {"data": payload},
                    }
                    for index, (event_type, occurred_at, payload) in reversed(list(enumerate(rows)))
                ]
            )
            self.cleanup["events"].extend(events.ids)
            Event = env["depanssur.webhook.event"]
            uuids = []
            for _node in range(2):
                job = Event.with_delay(
                    channel="root.depanssur.webhook", identity_key=None
                )._job_process_file("file:DEP-CONC-1")
                uuids.append(job.uuid)
            self.cleanup["jobs"].extend(uuids)
            cr.commit()  # pylint: disable=invalid-commit  # the workers' connections see them
        errors = []
        with self._cursor() as cr1, self._cursor() as cr2:
            first = self._acquire(cr1, uuids[0])
            second = self._acquire(cr2, uuids[1])  # its snapshot is taken here
            self._perform(cr1, first, day=False)

            def run_second():
                try:
                    self._perform(cr2, second, day=False)
                except Exception as error:  # reported below, in the test's thread
                    errors.append(error)

            worker = threading.Thread(target=run_second)
            with (
                release_test_lock(),
                patch("odoo.orm.environments.Registry", lambda dbname: self.registry),
            ):
                worker.start()
                time.sleep(1.0)
                self.assertTrue(worker.is_alive(), "the second job waits for the file's lock")
                cr1.commit()  # pylint: disable=invalid-commit  # the first job is done
                worker.join(60)
            if worker.is_alive():
                frame = sys._current_frames()[worker.ident]
                self.fail("the second job hung:\n" + "".join(traceback.format_stack(frame)))
            self.assertFalse(errors, errors)
            state, result = self._job(uuids[1])
            self.assertEqual(state, "pending", "postponed: the file changed after its snapshot")
            self.assertIn("serialize", result)
            second = self._acquire(cr2, uuids[1])
            self._perform(cr2, second, day=False)
            cr2.commit()  # pylint: disable=invalid-commit  # the second job is done
        self.assertEqual([self._job(uuid)[0] for uuid in uuids], ["done", "done"])
        rows = self._sql(
            "SELECT state, attempts FROM depanssur_webhook_event WHERE id IN %s",
            (tuple(self.cleanup["events"]),),
        )
        self.assertEqual(set(rows), {("processed", 1)}, "each event applied once")
        dossiers = self._sql(
            "SELECT state, description FROM depanssur_dossier WHERE external_id = %s",
            ("DEP-CONC-1",),
        )
        self.assertEqual(dossiers, [("scheduled", "Final")])
