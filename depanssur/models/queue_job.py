from odoo import fields, models


class QueueJob(models.Model):
    """A job of the daily/weekly runs knows the step trace it works for: the trace's summary
    (done / failed / pending) is computed from its jobs, its failed jobs are requeued from it."""

    _inherit = "queue.job"

    depanssur_run_id = fields.Many2one(
        "depanssur.job.run",
        string="Depanssur step",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
