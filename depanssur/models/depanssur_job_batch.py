import logging
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields, models
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.exceptions import LockError

from .batching import BatchedStep, batched, commit_progress, in_cron_run
from .ir_cron import woken_only

_logger = logging.getLogger(__name__)

RUN_CRONS = {
    "daily": "depanssur.ir_cron_depanssur_daily",
    "weekly": "depanssur.ir_cron_depanssur_weekly",
}
FINAL_STATES = ("done", "failed")
JOB_FINAL_STATES = ("done", "failed", "cancelled")
JOB_FAILED_STATES = ("failed", "cancelled")
# while jobs of a step are pending, the coordinator looks again after this delay even when no
# job woke it up (a job that failed for good does not)
WATCHDOG = timedelta(minutes=1)


class DepanssurJobBatch(models.AbstractModel):
    """The daily and weekly runs on OCA ``queue_job``: a coordinator and its jobs.

    In a cron run (Odoo's runner), ``depanssur.job.run._run_steps`` hands the steps to
    ``_run_steps_queued``: each step, once the steps it needs are finished (``DAILY_NEEDS``;
    the others run alongside), is traced (``depanssur.job.run``, state ``running``) and enqueued
    as jobs — one job per batch of records for a ``BatchedStep`` (every
    step over a growing set of records, see docs/jobs.md), one job for any other step — on the
    step's channel. The cron then returns; the
    last job of the step wakes it up (``ir.cron._trigger``), it sees every job of the step
    finished, closes the trace (done, or failed when a job failed for good) and enqueues the next
    step. Each job runs in its own transaction with a fresh cache, on whichever Odoo worker of
    whichever node queue_job's runner sends it to, so the batches of a step run in parallel.

    ``ir.config_parameter`` ``depanssur.job_queue`` = ``0`` runs the steps inside the cron as
    before (no job queue).
    """

    _name = "depanssur.job.batch"
    _description = "Depanssur run jobs"

    @api.model
    def _queue_enabled(self):
        return in_cron_run(self.env) and (
            self.env["ir.config_parameter"].sudo().get_param("depanssur.job_queue", "1") != "0"
        )

    # ------------------------------------------------------------
    # Coordinator (the cron)
    # ------------------------------------------------------------

    @api.model
    def _run_steps_queued(self, job, day, steps):
        """Advance the run of ``job`` for ``day``: close the running steps whose jobs are all
        finished, enqueue every step whose needs are finished (``depanssur.jobs._step_needs``).
        Returns ``(traces, finished)`` as ``_run_steps``."""
        Run = self.env["depanssur.job.run"]
        current = Run._open_run(job, day, [code for code, _label, _function in steps])
        # no run open, one done for the day: a wake-up that arrived after the run was complete
        # (the last jobs of two steps finishing together each woke the cron up; the first
        # wake-up completed the run). The day's run is started by its scheduled time or by hand,
        # never again by a late wake-up.
        if (
            not current
            and woken_only(self.env.ref(RUN_CRONS[job], raise_if_not_found=False))
            and Run.search_count([("job", "=", job), ("run_date", "=", day)], limit=1)
        ):
            return Run.browse(), True
        needs = self.env["depanssur.jobs"]._step_needs(job, steps)
        traces = Run.browse()
        finished = set()
        unfinished = False
        for code, label, function in steps:
            mine = current.filtered(lambda trace, code=code: trace.step == code)
            if mine.filtered(lambda trace: trace.state in FINAL_STATES):
                finished.add(code)
                continue
            trace = mine.filtered(lambda trace: trace.state == "running")[-1:]
            if not trace:
                if not finished.issuperset(needs[code]):
                    unfinished = True  # started by a later pass, once its needs are finished
                    continue
                trace = self._enqueue_step(job, code, label, day, function)
                traces |= trace
            if isinstance(function, BatchedStep) and function.finish:
                self._enqueue_finish(trace, label, day, function)
            trace._sync_from_jobs()
            # commit: the job runner sees the new jobs, the trace is visible
            commit_progress(self.env, 1, 0)
            if trace.state == "running":
                unfinished = True
            else:
                finished.add(code)
        if unfinished:
            self._wake_run(job, at=fields.Datetime.now() + WATCHDOG)
            return traces, False
        # the run is complete: no watchdog or job wake-up left to start another one. The cron
        # runner has already deleted the due triggers in its own transaction (``ir.cron.
        # _clear_schedule``, committed when this call returns): those rows stay locked until
        # then, so waiting for them here would wait forever (two connections of one worker, a
        # deadlock PostgreSQL cannot see). Only the rows nobody holds are deleted here.
        cron = self.env.ref(RUN_CRONS[job], raise_if_not_found=False)
        if cron:
            triggers = self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", cron.id)])
            triggers.try_lock_for_update().unlink()
        return traces, True

    @api.model
    def _enqueue_step(self, job, code, label, day, function):
        trace = (
            self.env["depanssur.job.run"]
            .sudo()
            .create({"job": job, "step": code, "name": label, "run_date": day, "state": "running"})
        )
        description = f"{label} ({fields.Date.to_string(day)})"
        if isinstance(function, BatchedStep):
            records = function.records()
            batches = list(batched(records, function.size))
            for index, batch in enumerate(batches):
                self.with_delay(
                    channel=function.channel,
                    identity_key=f"depanssur.job.run:{trace.id}:{index}",
                    description=f"{description} {index + 1}/{len(batches)}",
                )._job_run_batch(trace, batch)
            trace.write({"record_count": len(records), "job_count": len(batches)})
        else:
            self.with_delay(
                identity_key=f"depanssur.job.run:{trace.id}", description=description
            )._job_run_step(trace)
            trace.job_count = 1
        return trace

    @api.model
    def _enqueue_finish(self, trace, label, day, function):
        """Enqueue the ``finish`` job of a ``BatchedStep`` once every batch of the step is done
        (not when one failed: the step fails, and finishes after its jobs are retried)."""
        if trace.state != "running":
            return
        key = f"depanssur.job.run:{trace.id}:finish"
        jobs = trace.sudo().queue_job_ids
        if jobs.filtered(lambda queued: queued.identity_key == key):
            return
        if len(jobs) < trace.job_count or jobs.filtered(lambda queued: queued.state != "done"):
            return
        self.with_delay(
            channel=function.channel,
            identity_key=key,
            description=f"{label} ({fields.Date.to_string(day)}): finish",
        )._job_run_finish(trace)
        trace.sudo().job_count += 1

    @api.model
    def _wake_run(self, job, at=None):
        cron = self.env.ref(RUN_CRONS[job], raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger(at)

    # ------------------------------------------------------------
    # Jobs
    # ------------------------------------------------------------

    @api.model
    def _job_store_values(self, job):
        """queue_job hook: link the stored job to the step trace it works for."""
        trace = job.args[0] if job.args else None
        if isinstance(trace, models.BaseModel) and trace._name == "depanssur.job.run":
            return {"depanssur_run_id": trace.id}
        return {}

    @api.model
    def _step_function(self, trace):
        steps = self.env["depanssur.jobs"]._steps(trace.job, trace.run_date)
        for code, _label, function in steps:
            if code == trace.step:
                return function
        raise ValueError(f"no step {trace.step} in the {trace.job} run")

    @api.model
    def _job_run_step(self, trace):
        """Job: one whole step of a run (idempotent, as every step)."""
        self.env.invalidate_all()
        result = self._step_function(trace)()
        message = False
        if isinstance(result, tuple):  # (count, message)
            result, message = result
        count = len(result) if hasattr(result, "__len__") else int(result or 0)
        trace.sudo().write({"record_count": count, "message": message})
        self._wake_if_last(trace)
        return count

    @api.model
    def _job_run_batch(self, trace, records):
        """Job: one batch of a ``BatchedStep``. Its records are locked first: the same batch run
        at once by another worker (or node) waits for a retry, then finds nothing left to do (the
        step's ``process`` re-checks each record's state)."""
        self.env.invalidate_all()
        # what reads "today" on the way reads the run's day, as in the coordinator's steps
        records = records.with_context(date=fields.Date.to_string(trace.run_date)).exists()
        try:
            # no key changes: other work may still create rows pointing to these records (a
            # claim file, a payment) while the batch runs
            records.lock_for_update(allow_referencing=True)
        except LockError as error:
            # another job holds some of them (a step running alongside, a second run of the
            # batch): postponed without counting as a failed try, the holder commits soon
            raise RetryableJobError(str(error), seconds=5, ignore_retry=True) from error
        try:
            self._step_function(trace).process(records)
        except LockError as error:
            # a record the batches share (the day's debit order) is busy with another batch
            raise RetryableJobError(str(error), seconds=2, ignore_retry=True) from error
        self._wake_if_last(trace)
        return len(records)

    @api.model
    def _job_run_finish(self, trace):
        """Job: the ``finish`` of a ``BatchedStep``, after all its batches (idempotent)."""
        self.env.invalidate_all()
        result = self._step_function(trace).finish()
        self._wake_if_last(trace)
        return len(result) if hasattr(result, "__len__") else int(result or 0)

    @api.model
    def _wake_if_last(self, trace):
        """Wake the coordinator up when this job's transaction has committed and no job of the
        step is left unfinished.

        Checked after the commit, on a cursor of its own: inside the job's transaction (Odoo's
        repeatable-read snapshot, taken when the job started), a job that another worker started
        later and finished meanwhile still looks pending. The last two jobs of a step each saw
        the other unfinished, neither woke the coordinator, and the run waited for the watchdog
        (a minute, on every step of two jobs or more with two job workers). After its commit,
        the last job to finish sees every other one finished."""
        registry = self.env.registry
        trace_id, job = trace.id, trace.job

        @self.env.cr.postcommit.add
        def wake():
            # the job's work is committed: an error here must not have it stored as failed
            # (the watchdog wakes the coordinator up anyway)
            try:
                with registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    unfinished = env["queue.job"].search_count(
                        [
                            ("depanssur_run_id", "=", trace_id),
                            ("state", "not in", JOB_FINAL_STATES),
                        ]
                    )
                    if not unfinished:
                        env[self._name]._wake_run(job)
            except Exception:
                _logger.exception("depanssur run %s: could not wake the coordinator up", job)
