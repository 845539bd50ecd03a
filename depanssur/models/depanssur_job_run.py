import logging
import time
import traceback
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError

from .batching import commit_progress, in_cron_run, watch_time_up

_logger = logging.getLogger(__name__)

JOBS = [("daily", "Daily run"), ("weekly", "Weekly run")]
FINAL_STATES = ("done", "failed")


class DepanssurJobRun(models.Model):
    """The trace of a scheduled job step: which run, which step, for which day, on how many
    records, and how it ended."""

    _name = "depanssur.job.run"
    _description = "Scheduled job run"
    _order = "id desc"

    name = fields.Char(string="Job", required=True, readonly=True)
    job = fields.Selection(JOBS, string="Run", readonly=True, index=True)
    step = fields.Char(string="Step code", readonly=True)
    run_date = fields.Date(string="For day", required=True, readonly=True, index=True)
    started_at = fields.Datetime(readonly=True, default=fields.Datetime.now)
    duration = fields.Float(string="Duration (s)", readonly=True, digits=(16, 2))
    record_count = fields.Integer(string="Records", readonly=True)
    state = fields.Selection(
        [
            ("running", "Running"),
            ("done", "Done"),
            ("failed", "Failed"),
            ("interrupted", "Interrupted"),
        ],
        readonly=True,
        default="done",
    )
    message = fields.Text(readonly=True)
    # the step's jobs when the run goes through the job queue (depanssur_job_batch.py)
    job_count = fields.Integer(string="Jobs", readonly=True)
    queue_job_ids = fields.One2many("queue.job", "depanssur_run_id", string="Queued jobs")
    job_done_count = fields.Integer(string="Jobs done", compute="_compute_job_counts")
    job_failed_count = fields.Integer(string="Jobs failed", compute="_compute_job_counts")
    job_pending_count = fields.Integer(string="Jobs pending", compute="_compute_job_counts")

    def _compute_job_counts(self):
        counts = {}
        for run, state, count in (
            self.env["queue.job"]
            .sudo()
            ._read_group(
                [("depanssur_run_id", "in", self.ids)], ["depanssur_run_id", "state"], ["__count"]
            )
        ):
            counts.setdefault(run.id, {})[state] = count
        for run in self:
            states = counts.get(run.id, {})
            done = states.get("done", 0)
            failed = states.get("failed", 0) + states.get("cancelled", 0)
            run.job_done_count = done
            run.job_failed_count = failed
            run.job_pending_count = max(run.job_count - done - failed, 0)

    def _sync_from_jobs(self):
        """Close the running traces whose jobs have all finished: done, or failed (with the
        jobs' errors) when one of them failed for good."""
        self.invalidate_recordset(["queue_job_ids", "job_pending_count"])
        for run in self.filtered(lambda r: r.state == "running"):
            if run.job_pending_count:
                continue
            failed = run.queue_job_ids.sudo().filtered(lambda j: j.state in ("failed", "cancelled"))
            run.sudo().write(
                {
                    "state": "failed" if failed else "done",
                    "message": "\n".join(
                        f"{job.name}: {job.exc_message or job.state}" for job in failed
                    )[:4000]
                    or run.message,
                    "duration": (fields.Datetime.now() - run.started_at).total_seconds(),
                }
            )

    def action_open_jobs(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Jobs of %(step)s", step=self.name),
            "res_model": "queue.job",
            "view_mode": "list,form",
            "domain": [("depanssur_run_id", "=", self.id)],
        }

    def action_retry_failed_jobs(self):
        """Requeue the failed jobs of these steps (queue_job's requeue); the step is running
        again until they finish, and its run's coordinator is woken up when they do."""
        if not self.env.user.has_group("depanssur.group_depanssur_manager"):
            raise UserError(self.env._("Only a Depanssur manager can retry the jobs of a run."))
        failed = self.sudo().queue_job_ids.filtered(lambda j: j.state in ("failed", "cancelled"))
        if not failed:
            raise UserError(self.env._("No failed job to retry."))
        failed.requeue()
        failed.depanssur_run_id.write({"state": "running"})
        return True

    @api.model
    def _open_run(self, job, day, codes):
        """The traces of the unfinished run of ``job`` for ``day``: empty when there is none
        (a run is finished once each step of ``codes`` has a done or failed trace)."""
        codes = set(codes)
        current, finished = self.browse(), set()
        for trace in self.search([("job", "=", job), ("run_date", "=", day)], order="id"):
            current |= trace
            if trace.state in FINAL_STATES:
                finished.add(trace.step)
            if codes <= finished:
                current, finished = self.browse(), set()
        return current

    @api.model
    def _run_steps(self, job, day, steps):
        """Run the ``steps`` (``(code, label, function)``) of ``job`` for ``day``, each traced;
        an unfinished run of that day is resumed (its finished steps are not run again).

        In a cron run (Odoo's runner: ``ir_cron_progress_id`` in the context) every step commits
        at its own top level, never inside a savepoint: its batches commit as they go
        (``_commit_progress``), and its end commits with its trace. A failing step is rolled back
        to its last commit, traced as failed (committed) and the next step runs. When the cron's
        time is up the run stops; a step cut on the way is traced as interrupted, and the next run
        resumes it (every step is idempotent). Outside a cron run nothing is committed: each step
        runs in a savepoint of the caller's transaction.

        Returns ``(traces, finished)``: the traces written by this call, and whether the run of
        ``day`` is complete.

        With the job queue (a cron run, ``depanssur.job_queue`` not ``0``), the steps run as
        queue_job jobs instead: see ``depanssur.job.batch``.
        """
        Batch = self.env["depanssur.job.batch"]
        if Batch._queue_enabled():
            return Batch._run_steps_queued(job, day, steps)
        finished = set(
            self._open_run(job, day, [code for code, _label, _function in steps])
            .filtered(lambda trace: trace.state in FINAL_STATES)
            .mapped("step")
        )
        todo = [step for step in steps if step[0] not in finished]
        traces = self.browse()
        for index, (code, label, function) in enumerate(todo):
            trace = self._run_step(job, code, label, day, function)
            traces |= trace
            interrupted = trace.state == "interrupted"
            left = len(todo) - index - (0 if interrupted else 1)
            time_left = commit_progress(self.env, 0 if interrupted else 1, left)
            if left and (interrupted or not time_left):
                return traces, False
        return traces, True

    @api.model
    def _run_step(self, job, code, label, day, function):
        """Run ``function()`` and write its trace (not committed here)."""
        start = time.monotonic()
        in_cron = in_cron_run(self.env)
        time_up = watch_time_up()
        try:
            if in_cron:
                # the step commits its own batches: no savepoint around it
                result = function()
                self.env.flush_all()
            else:
                with self.env.cr.savepoint():
                    result = function()
        except Exception as error:
            if in_cron:
                self.env.cr.rollback()  # back to the step's last commit
            _logger.exception("depanssur job %s failed", label)
            values = {
                "state": "failed",
                "message": f"{error}\n{traceback.format_exc(limit=5)}"[:4000],
            }
        else:
            message = False
            if isinstance(result, tuple):  # (count, message)
                result, message = result
            count = len(result) if hasattr(result, "__len__") else int(result or 0)
            state = "interrupted" if time_up() else "done"
            values = {"record_count": count, "state": state, "message": message}
        return self.sudo().create(
            dict(
                values,
                job=job,
                step=code,
                name=label,
                run_date=day,
                duration=time.monotonic() - start,
            )
        )

    @api.autovacuum
    def _gc_old_runs(self):
        self.search([("started_at", "<", fields.Datetime.now() - timedelta(days=400))]).unlink()
