from odoo import fields, models


class DepanssurPlan(models.Model):
    _name = "depanssur.plan"
    _inherit = ["depanssur.coverage.mixin"]
    _description = "Subscription plan"
    _order = "sequence, id"

    allowed_option_ids = fields.Many2many(
        "depanssur.option",
        string="Allowed options",
        help="Options that can be added to this plan. Empty: no option can be added.",
    )
    subscription_count = fields.Integer(compute="_compute_subscription_count")

    def _compute_subscription_count(self):
        counts = dict(
            self.env["depanssur.subscription"]._read_group(
                [("plan_id", "in", self.ids), ("state", "in", ("carence", "active", "suspended"))],
                ["plan_id"],
                ["__count"],
            )
        )
        for plan in self:
            plan.subscription_count = counts.get(plan, 0)
