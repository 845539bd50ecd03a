"""The daily run's batches and webhook processing as OCA queue_job jobs.

Jobs are trapped with queue_job's ``trap_jobs`` (then performed in the order a test chooses) or
stored and run through queue_job's runner path (``queue_common.run_queued_jobs``)."""

import random
from datetime import date
from unittest.mock import patch

from freezegun import freeze_time
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.exceptions import LockError
from odoo.tests import tagged

from ..models.batching import BatchedStep
from .common import DepanssurSubscriptionCase
from .queue_common import run_queued_jobs

DAY = date(2026, 2, 1)


@tagged("post_install", "-at_install")
class TestJobQueue(DepanssurSubscriptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Batch = cls.env["depanssur.job.batch"]
        cls.Event = cls.env["depanssur.webhook.event"]
        cls.Run = cls.env["depanssur.job.run"]
        with freeze_time("2026-01-10"):
            cls.due = cls.env["depanssur.subscription"]
            for index in range(3):
                partner = cls.env["res.partner"].create(
                    {
                        "name": f"Client Lot {index}",
                        "email": f"client.lot{index}@example.fr",
                        "street": "1 rue de la République",
                        "zip": "69001",
                        "city": "Lyon",
                    }
                )
                cls.due |= cls.env["depanssur.subscription"].create(
                    {
                        "partner_id": partner.id,
                        "plan_id": cls.plan_essentiel.id,
                        "date_start": "2026-01-01",
                        "next_billing_date": "2026-02-01",
                    }
                )
            cls.due.action_confirm()

    # ------------------------------------------------------------
    # Invoicing batches
    # ------------------------------------------------------------

    def _invoicing_step(self):
        steps = self.env["depanssur.jobs"]._steps("daily", DAY)
        return next(function for code, _label, function in steps if code == "invoicing")

    def _february(self):
        return self.due.invoice_ids.filtered(lambda m: m.depanssur_period_start == DAY)

    def test_invoicing_batch_run_twice_changes_nothing_more(self):
        with trap_jobs() as trap, freeze_time("2026-02-01 10:00:00"):
            trace = self.Batch._enqueue_step(
                "daily", "invoicing", "Invoicing", DAY, self._invoicing_step()
            )
            trap.assert_jobs_count(1)
            job = trap.enqueued_jobs[0]
            # the due subscriptions (with demo data, the demo's due ones too) in one batch
            trace_arg, batch = job.args
            self.assertEqual(trace_arg, trace)
            self.assertLessEqual(self.due, batch)
            self.assertEqual(job.channel, "root.depanssur.invoicing")
            self.assertEqual(job.identity_key, f"depanssur.job.run:{trace.id}:0")
            self.assertEqual((trace.record_count, trace.job_count), (len(batch), 1))
            job.perform()
            invoices = self._february()
            self.assertEqual(len(invoices), 3)
            job.perform()  # again, as a second node given the same batch would
        self.assertEqual(self._february(), invoices, "nothing invoiced twice")
        self.assertEqual(set(invoices.mapped("state")), {"posted"})

    def test_same_batch_on_two_workers_waits_then_changes_nothing_more(self):
        """Two jobs of the same batch (two coordinators, two nodes). While the rows are locked
        by the other worker (``lock_for_update`` fails) the job raises ``RetryableJobError``:
        queue_job postpones it instead of failing it. Both jobs then run through the runner's
        path: the second finds the batch invoiced and changes nothing more."""
        with freeze_time("2026-02-01 10:00:00"):
            first = self.Batch._enqueue_step(
                "daily", "invoicing", "Invoicing", DAY, self._invoicing_step()
            )
            second = self.Batch._enqueue_step(
                "daily", "invoicing", "Invoicing", DAY, self._invoicing_step()
            )
        self.assertEqual(first.queue_job_ids.args[1], second.queue_job_ids.args[1], "same batch")
        Subscription = self.env.registry["depanssur.subscription"]

        def locked_elsewhere(records, **kwargs):
            raise LockError("Cannot grab a lock on records")

        with (
            freeze_time("2026-02-01 10:00:00"),
            patch.object(Subscription, "lock_for_update", locked_elsewhere),
            self.assertRaises(RetryableJobError),
        ):
            self.Batch._job_run_batch(second, self.due)
        self.assertFalse(self._february())
        with freeze_time("2026-02-01 10:00:00"):
            states = run_queued_jobs(self, order=lambda uuids: list(reversed(uuids)))
        self.assertEqual(list(states.values()), ["done", "done"])
        self.assertEqual(len(self._february()), 3, "each subscription invoiced once")
        self.assertEqual((first.job_done_count, second.job_done_count), (1, 1))

    def test_batches_counted_per_batch_and_retried_until_done(self):
        """A step of batches of 2: one job per batch, the run summary counted per batch. One
        batch fails once (the run's step is failed until a manager retries it through
        queue_job's requeue, then completes); each subscription is invoiced once. (A batch
        postponed by queue_job, on a lock or a serialization failure, is tested on real
        connections in test_job_concurrency: here the runner's cursors share the test's
        transaction, where a postponement is rolled back with the job's savepoint.)"""
        step = self._invoicing_step()
        small = BatchedStep(step.run, step.records, step.process, size=2, channel=step.channel)
        with freeze_time("2026-02-01 10:00:00"):
            trace = self.Batch._enqueue_step("daily", "invoicing", "Invoicing", DAY, small)
        batches = trace.queue_job_ids.sorted("id")
        self.assertEqual(len(batches), -(-trace.record_count // 2))
        self.assertEqual(trace.job_count, len(batches))
        self.assertGreaterEqual(len(batches), 2)
        self.assertEqual(
            batches.mapped("identity_key"),
            [f"depanssur.job.run:{trace.id}:{index}" for index in range(len(batches))],
        )
        self.assertEqual(trace.job_pending_count, len(batches))
        failing = batches[1].args[1]
        billing_dates = failing.mapped("next_billing_date")
        invoices_before = failing.invoice_ids
        flaky = {failing: RuntimeError("invoicing exploded")}
        Subscription = self.env.registry["depanssur.subscription"]
        invoice_due_periods = Subscription._invoice_due_periods

        def raise_once(records, day):
            error = flaky.pop(records, None)
            if error:
                raise error
            return invoice_due_periods(records, day)

        with (
            patch.object(Subscription, "_invoice_due_periods", raise_once),
            freeze_time("2026-02-01 10:00:00"),
        ):
            with self.assertLogs("odoo.addons.queue_job.controllers.main", "ERROR"):
                states = run_queued_jobs(self)
            self.assertEqual(states[batches[1].uuid], "failed")
            self.assertEqual(list(states.values()).count("done"), len(batches) - 1)
            trace.invalidate_recordset()
            self.assertEqual(
                (trace.job_done_count, trace.job_failed_count, trace.job_pending_count),
                (len(batches) - 1, 1, 0),
            )
            self.assertEqual(
                failing.mapped("next_billing_date"), billing_dates, "the failed batch: rolled back"
            )
            self.assertFalse(failing.invoice_ids - invoices_before)
            trace._sync_from_jobs()
            self.assertEqual(trace.state, "failed")
            self.assertIn("invoicing exploded", trace.message)
            trace.with_user(self.user_manager).action_retry_failed_jobs()
            self.assertEqual(trace.state, "running")
            self.assertEqual(set(run_queued_jobs(self).values()), {"done"})
            trace.invalidate_recordset()
            self.assertEqual(
                (trace.job_done_count, trace.job_failed_count, trace.job_pending_count),
                (len(batches), 0, 0),
            )
            trace._sync_from_jobs()
        self.assertEqual(trace.state, "done")
        for subscription in self.due:
            invoices = subscription.invoice_ids.filtered(lambda m: m.depanssur_period_start == DAY)
            self.assertEqual(len(invoices), 1, subscription.name)

    # ------------------------------------------------------------
    # Webhook events: one job per claim file, ordering per file
    # ------------------------------------------------------------

    def _file_events(self, external_id, prefix):
        """The events of one claim file, created newest first: created (09:00), qualified
        (10:00), scheduled (12:00), description updated (13:00)."""
        data = {"external_id": external_id}
        events = [
            (
                "dossier.created",
                "2026-03-01 09:00:00",
                {
                    **data,
                    "subscription": self.due[0].name,
                    "category": "plumbing",
                    "incident_date": "2026-03-01",
                    "description": "Fuite",
                },
            ),
            ("dossier.status_changed", "2026-03-01 10:00:00", {**data, "status": "qualified"}),
            ("dossier.status_changed", "2026-03-01 12:00:00", {**data, "status": "scheduled"}),
            ("dossier.updated", "2026-03-01 13:00:00", {**data, "description": "Final"}),
        ]
        return self.Event.create(
            [
                {
                    "webhook_id": f"{prefix}_{external_id}_{index}",
                    "event_type": event_type,
                    "occurred_at": occurred_at,
                    "payload": {"data": payload},
                }
                for index, (event_type, occurred_at, payload) in reversed(list(enumerate(events)))
            ]
        )

    def _assert_files_in_order(self, events, files):
        self.assertEqual(
            set(events.mapped("state")), {"processed"}, events.mapped(lambda e: e.error)
        )
        for external_id in files:
            dossier = self.env["depanssur.dossier"].search([("external_id", "=", external_id)])
            self.assertEqual(len(dossier), 1)
            self.assertEqual(dossier.state, "scheduled", external_id)
            self.assertEqual(dossier.description, "Final", external_id)

    def test_events_fan_out_one_job_per_file_in_any_order(self):
        files = ["DEP-Q1", "DEP-Q2", "DEP-Q3"]
        events = self.Event
        for external_id in files:
            events |= self._file_events(external_id, "msg_trap")
        with trap_jobs() as trap:
            self.assertEqual(self.Event._enqueue_files(), 12)
            self.Event._enqueue_files()  # again while they wait: no second job per file
            trap.assert_jobs_count(3, only=self.Event._job_process_file)
            for external_id in files:
                trap.assert_enqueued_job(
                    self.Event._job_process_file,
                    args=(f"file:{external_id}",),
                    properties={
                        "channel": "root.depanssur.webhook",
                        "identity_key": f"depanssur.webhook:file:{external_id}",
                    },
                )
            # the files' jobs in a shuffled order, as parallel workers may run them
            jobs = list(trap.enqueued_jobs)
            random.Random(18).shuffle(jobs)
            for job in jobs:
                job.perform()
        self._assert_files_in_order(events, files)

    def test_events_of_files_through_the_runner_shuffled(self):
        """Stored jobs, run through queue_job's runner path in a shuffled order; a file whose
        newer events arrive while its job waits keeps one job, which takes them all."""
        files = ["DEP-R1", "DEP-R2"]
        events = self._file_events(files[0], "msg_runner")
        self.Event._enqueue_files()
        events |= self._file_events(files[1], "msg_runner")
        self.Event._enqueue_files()
        jobs = self.env["queue.job"].search([("method_name", "=", "_job_process_file")])
        self.assertEqual(len(jobs), 2)
        states = run_queued_jobs(self, order=lambda uuids: random.Random(7).sample(uuids, 2))
        self.assertEqual(set(states.values()), {"done"})
        self._assert_files_in_order(events, files)
        # an older event of a file arriving after the newer ones were applied is never applied
        late = self.Event.create(
            {
                "webhook_id": "msg_runner_late",
                "event_type": "dossier.status_changed",
                "occurred_at": "2026-03-01 11:00:00",
                "payload": {"data": {"external_id": files[0], "status": "cancelled"}},
            }
        )
        self.Event._enqueue_files()
        run_queued_jobs(self)
        self.assertEqual(late.state, "ignored")
        dossier = self.env["depanssur.dossier"].search([("external_id", "=", files[0])])
        self.assertEqual(dossier.state, "scheduled")
