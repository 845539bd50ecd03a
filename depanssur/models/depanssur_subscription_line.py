from odoo import api, fields, models


class DepanssurSubscriptionOption(models.Model):
    """An option on a subscription, with its own start (and carence) and an optional end."""

    _name = "depanssur.subscription.option"
    _description = "Subscription option line"
    _order = "date_start, id"

    subscription_id = fields.Many2one(
        "depanssur.subscription", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="subscription_id.company_id", store=True)
    option_id = fields.Many2one("depanssur.option", required=True, ondelete="restrict")
    date_start = fields.Date(string="Start", required=True, default=fields.Date.context_today)
    date_end = fields.Date(
        string="End", help="Last covered day; set when the option is removed (at a period end)."
    )
    monthly_price = fields.Float(related="option_id.monthly_price")
    currency_id = fields.Many2one(related="subscription_id.currency_id")
    carence_end_date = fields.Date(compute="_compute_carence_end_date")

    @api.depends("date_start", "option_id.carence_days")
    def _compute_carence_end_date(self):
        for line in self:
            line.carence_end_date = line.date_start and fields.Date.add(
                line.date_start, days=line.option_id.carence_days
            )

    def _is_active_on(self, day):
        self.ensure_one()
        return self.date_start <= day and (not self.date_end or day <= self.date_end)


class DepanssurSubscriptionAddress(models.Model):
    """Which home is insured when: the risk-address history of a subscription."""

    _name = "depanssur.subscription.address"
    _description = "Risk address period"
    _order = "date_from, id"

    subscription_id = fields.Many2one(
        "depanssur.subscription", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="subscription_id.company_id", store=True)
    address_id = fields.Many2one("res.partner", string="Insured home", required=True)
    date_from = fields.Date(required=True)
    date_to = fields.Date(help="Last covered day at this address.")
    requested_on = fields.Date()


class DepanssurSubscriptionSuspension(models.Model):
    """A period during which coverage was suspended (days stay uncovered for dossiers)."""

    _name = "depanssur.subscription.suspension"
    _description = "Suspension period"
    _order = "date_from, id"

    subscription_id = fields.Many2one(
        "depanssur.subscription", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="subscription_id.company_id", store=True)
    date_from = fields.Date(required=True)
    date_to = fields.Date(help="Last suspended day; empty while the suspension lasts.")
    reason = fields.Char()


class DepanssurSubscriptionUsage(models.Model):
    """Counters of one coverage year: interventions used and amount consumed."""

    _name = "depanssur.subscription.usage"
    _description = "Coverage-year usage counters"
    _order = "year_start desc"

    subscription_id = fields.Many2one(
        "depanssur.subscription", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="subscription_id.company_id", store=True)
    currency_id = fields.Many2one(related="subscription_id.currency_id")
    option_id = fields.Many2one(
        "depanssur.option", ondelete="restrict", help="Empty: the plan's counters."
    )
    year_start = fields.Date(required=True)
    year_end = fields.Date(required=True)
    interventions_used = fields.Integer(default=0)
    amount_consumed = fields.Monetary(default=0.0)
    alert_80_sent = fields.Boolean(copy=False)
    alert_cap_sent = fields.Boolean(copy=False)

    _year_unique = models.UniqueIndex(
        "(subscription_id, year_start, COALESCE(option_id, 0))",
        "Counters already exist for this coverage year.",
    )
    _non_negative = models.Constraint(
        "CHECK (interventions_used >= 0 AND amount_consumed >= 0)",
        "Usage counters cannot be negative.",
    )


class DepanssurSubscriptionPlanPeriod(models.Model):
    """Which plan applied when: coverage that already existed keeps its start across upgrades."""

    _name = "depanssur.subscription.plan.period"
    _description = "Plan period"
    _order = "date_from, id"

    subscription_id = fields.Many2one(
        "depanssur.subscription", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="subscription_id.company_id", store=True)
    plan_id = fields.Many2one("depanssur.plan", required=True, ondelete="restrict")
    date_from = fields.Date(required=True)
    date_to = fields.Date()
