from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Command


class DepanssurSubscriptionChangeWizard(models.TransientModel):
    """Change the plan and options: shows the price effect and the date it applies."""

    _name = "depanssur.subscription.change.wizard"
    _description = "Change plan or options"

    subscription_id = fields.Many2one("depanssur.subscription", required=True, readonly=True)
    currency_id = fields.Many2one(related="subscription_id.currency_id")
    current_plan_id = fields.Many2one(related="subscription_id.plan_id", string="Current plan")
    plan_id = fields.Many2one("depanssur.plan", string="New plan", required=True)
    option_ids = fields.Many2many("depanssur.option", string="Options")
    allowed_option_ids = fields.Many2many(related="plan_id.allowed_option_ids")
    change_date = fields.Date(default=fields.Date.context_today, required=True)
    kind = fields.Selection(
        [("upgrade", "Upgrade"), ("downgrade", "Downgrade"), ("mixed", "Mixed"), ("none", "None")],
        compute="_compute_effect",
    )
    new_monthly_amount = fields.Monetary(compute="_compute_effect")
    monthly_difference = fields.Monetary(compute="_compute_effect")
    prorata_amount = fields.Monetary(string="Charged now (excl. VAT)", compute="_compute_effect")
    effective_date = fields.Date(compute="_compute_effect")
    summary = fields.Text(compute="_compute_effect")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        subscription = self.env["depanssur.subscription"].browse(
            values.get("subscription_id") or self.env.context.get("active_id")
        )
        if subscription:
            today = subscription._today()
            values.update(
                subscription_id=subscription.id,
                plan_id=subscription.plan_id.id,
                option_ids=[
                    Command.set(
                        subscription.option_line_ids.filtered(
                            lambda line: line._is_active_on(today) and not line.date_end
                        ).option_id.ids
                    )
                ],
            )
        return values

    @api.depends("plan_id", "option_ids", "change_date")
    def _compute_effect(self):
        for wizard in self:
            # in the form (onchange), the options are new records: compare the real ones
            effect = wizard.subscription_id._origin._change_effect(
                wizard.plan_id._origin, wizard.option_ids._origin, wizard.change_date
            )
            wizard.update(
                {
                    "kind": effect["kind"],
                    "new_monthly_amount": effect["new_monthly_amount"],
                    "monthly_difference": effect["monthly_difference"],
                    "prorata_amount": effect["prorata_amount"],
                    "effective_date": effect["effective_date"],
                    "summary": effect["summary"],
                }
            )

    def action_apply(self):
        self.ensure_one()
        if self.kind == "none":
            raise UserError(self.env._("Nothing to change."))
        self.subscription_id._change_plan_options(self.plan_id, self.option_ids, self.change_date)
        return {"type": "ir.actions.act_window_close"}
