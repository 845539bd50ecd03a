import contextvars

from odoo import models

# The id of the cron the runner is starting only because of its triggers (``ir.cron.trigger``:
# a wake-up), not because its scheduled time came or somebody ran it: set by ``_clear_schedule``,
# which the runner calls just before running a cron (``_process_job``), in the same thread.
_woken_only = contextvars.ContextVar("depanssur_cron_woken_only", default=None)


def woken_only(cron):
    """Whether the cron run in progress is ``cron`` started by its triggers only."""
    return bool(cron) and _woken_only.get() == cron.id


class IrCron(models.Model):
    _inherit = "ir.cron"

    def _clear_schedule(self, job):
        """Note whether ``job`` starts only because of its due triggers (before they are
        deleted): the daily run's coordinator, woken up by a job that finished after the run was
        already complete, does not start the day's run again (``depanssur.job.batch``)."""
        now = self.env.cr.now().replace(microsecond=0)
        self.env.cr.execute(
            "SELECT 1 FROM ir_cron_trigger WHERE cron_id = %s AND call_at <= %s LIMIT 1",
            [job["id"], now],
        )
        triggered = bool(self.env.cr.fetchone())
        _woken_only.set(job["id"] if triggered and job["nextcall"] > now else None)
        return super()._clear_schedule(job)
