"""The end of a queued run while Odoo's cron runner holds the cron's due triggers, on real cursors.

In production the coordinator runs inside ``ir.cron._process_job``: the cron runner first deletes
the cron's due triggers in its own transaction (``_clear_schedule``), which stays open, holding
those rows, until the coordinator's cursor returns. When the coordinator closes the run's last
step it deletes the cron's remaining triggers: waiting for the rows the runner holds would wait
forever (two connections of one worker: a deadlock PostgreSQL cannot detect). The test's own
transaction is a single connection, so the scenario runs on separate connections (committed
data, removed at the end), with a lock timeout turning a hang into a failure.
"""

from contextlib import closing
from datetime import date, datetime, timedelta
from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase, tagged

DAY = date(2099, 1, 5)  # no other run traced on that day
STEP = "h_run_end_only_step"


@tagged("post_install", "-at_install")
class TestRunEndWithRunnerLocks(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dbname = cls.env.cr.dbname
        cls.cron_id = cls.env.ref("depanssur.ir_cron_depanssur_daily").id
        with cls._cursor() as cr:
            cr.execute(
                """INSERT INTO depanssur_job_run (name, job, step, run_date, started_at, state,
                                                  job_count, record_count)
                   VALUES ('Only step', 'daily', %s, %s, now() at time zone 'utc', 'running', 0, 0)
                   RETURNING id""",
                (STEP, DAY),
            )
            cls.trace_id = cr.fetchone()[0]
            now = datetime.utcnow()
            cr.execute(
                """INSERT INTO ir_cron_trigger (cron_id, call_at) VALUES (%s, %s), (%s, %s)
                   RETURNING id""",
                (cls.cron_id, now - timedelta(minutes=1), cls.cron_id, now + timedelta(hours=1)),
            )
            cls.held_id, cls.free_id = (row[0] for row in cr.fetchall())
            cr.commit()  # pylint: disable=invalid-commit  # a scenario on real connections

    @classmethod
    def tearDownClass(cls):
        with cls._cursor() as cr:
            cr.execute("DELETE FROM ir_cron_trigger WHERE id IN %s", ((cls.held_id, cls.free_id),))
            cr.execute("DELETE FROM depanssur_job_run WHERE id = %s", (cls.trace_id,))
            cr.commit()  # pylint: disable=invalid-commit  # undo setUpClass
        super().tearDownClass()

    @classmethod
    def _cursor(cls):
        """A real connection of its own (not the test cursor), failing rather than hanging."""
        cr = db_connect(cls.dbname).cursor()
        cr.execute("SET lock_timeout = '5s'")
        return closing(cr)

    def test_run_end_skips_the_triggers_the_cron_runner_holds(self):
        with self._cursor() as runner_cr, self._cursor() as job_cr:
            # the cron runner's transaction: the due trigger deleted, not committed yet
            runner_cr.execute("DELETE FROM ir_cron_trigger WHERE id = %s", (self.held_id,))
            # the coordinator, on the cursor the runner opened for it, closes the last step
            with patch("odoo.orm.environments.Registry", lambda dbname: self.registry):
                env = api.Environment(job_cr, SUPERUSER_ID, {})
                traces, finished = env["depanssur.job.batch"]._run_steps_queued(
                    "daily", DAY, [(STEP, "Only step", lambda: 0)]
                )
                env.flush_all()
            self.assertTrue(finished)
            self.assertFalse(traces, "the run's only step was closed, not enqueued again")
            job_cr.execute("SELECT state FROM depanssur_job_run WHERE id = %s", (self.trace_id,))
            self.assertEqual(job_cr.fetchone()[0], "done")
            job_cr.execute(
                "SELECT id FROM ir_cron_trigger WHERE id IN %s", ((self.held_id, self.free_id),)
            )
            # the free wake-up is gone; the held one is the runner's to delete
            self.assertEqual([row[0] for row in job_cr.fetchall()], [self.held_id])
            job_cr.rollback()
            runner_cr.rollback()
