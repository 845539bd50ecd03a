import logging
import time
import traceback
from datetime import timedelta

from odoo import api, fields, models

_logger = logging.getLogger(__name__)


class DepanssurJobRun(models.Model):
    """The trace of a scheduled job step: what ran, for which day, on how many records."""

    _name = "depanssur.job.run"
    _description = "Scheduled job run"
    _order = "id desc"

    name = fields.Char(string="Job", required=True, readonly=True)
    run_date = fields.Date(string="For day", required=True, readonly=True, index=True)
    started_at = fields.Datetime(readonly=True, default=fields.Datetime.now)
    duration = fields.Float(string="Duration (s)", readonly=True, digits=(16, 2))
    record_count = fields.Integer(string="Records", readonly=True)
    state = fields.Selection(
        [("done", "Done"), ("failed", "Failed")], readonly=True, default="done"
    )
    message = fields.Text(readonly=True)

    @api.model
    def _run(self, name, day, function):
        """Run ``function()`` and record its trace; a failing step is logged and recorded, and
        does not stop the other steps of the daily run."""
        start = time.monotonic()
        try:
            with self.env.cr.savepoint():
                result = function()
            message = False
            if isinstance(result, tuple):  # (count, message)
                result, message = result
            count = len(result) if hasattr(result, "__len__") else int(result or 0)
            values = {"record_count": count, "state": "done", "message": message}
        except Exception as error:
            _logger.exception("depanssur job %s failed", name)
            values = {
                "state": "failed",
                "message": f"{error}\n{traceback.format_exc(limit=5)}"[:4000],
            }
        return self.sudo().create(
            dict(values, name=name, run_date=day, duration=time.monotonic() - start)
        )

    @api.autovacuum
    def _gc_old_runs(self):
        self.search([("started_at", "<", fields.Datetime.now() - timedelta(days=400))]).unlink()
