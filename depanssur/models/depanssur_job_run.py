import logging
import time
import traceback
from datetime import timedelta

from odoo import api, fields, models

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
        [("done", "Done"), ("failed", "Failed"), ("interrupted", "Interrupted")],
        readonly=True,
        default="done",
    )
    message = fields.Text(readonly=True)

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
        """
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
