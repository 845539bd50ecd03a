from odoo import api, fields, models


class DepanssurAddressChangeWizard(models.TransientModel):
    """Move the coverage to another home: shows the date the new address will be covered."""

    _name = "depanssur.address.change.wizard"
    _description = "Change insured home"

    subscription_id = fields.Many2one("depanssur.subscription", required=True, readonly=True)
    partner_id = fields.Many2one(related="subscription_id.partner_id")
    current_address_id = fields.Many2one(
        related="subscription_id.risk_address_id", string="Current home"
    )
    address_id = fields.Many2one(
        "res.partner",
        string="New insured home",
        required=True,
        domain="['|', ('id', '=', partner_id), ('parent_id', '=', partner_id)]",
    )
    request_date = fields.Date(default=fields.Date.context_today, required=True)
    effective_date = fields.Date(compute="_compute_effective_date")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        values.setdefault("subscription_id", self.env.context.get("active_id"))
        return values

    @api.depends("request_date", "subscription_id")
    def _compute_effective_date(self):
        for wizard in self:
            wizard.effective_date = (
                wizard.subscription_id
                and wizard.subscription_id._address_change_effective_date(wizard.request_date)
            )

    def action_apply(self):
        self.ensure_one()
        self.subscription_id._request_address_change(self.address_id, self.request_date)
        return {"type": "ir.actions.act_window_close"}
