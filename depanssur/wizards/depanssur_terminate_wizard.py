from odoo import api, fields, models

from ..models.depanssur_subscription import TERMINATION_REASONS


class DepanssurTerminateWizard(models.TransientModel):
    _name = "depanssur.terminate.wizard"
    _description = "Terminate a subscription"

    subscription_id = fields.Many2one("depanssur.subscription", required=True, readonly=True)
    reason = fields.Selection(TERMINATION_REASONS, required=True, default="client_request")
    termination_date = fields.Date(
        string="Last covered day", required=True, default=fields.Date.context_today
    )
    comment = fields.Text()

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        values.setdefault("subscription_id", self.env.context.get("active_id"))
        return values

    def action_apply(self):
        self.ensure_one()
        self.subscription_id._terminate(self.reason, self.termination_date, self.comment)
        return {"type": "ir.actions.act_window_close"}
