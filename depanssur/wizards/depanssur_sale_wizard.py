from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Command

from ..models.depanssur_consent import CONSENT_PURPOSES


class DepanssurSaleWizard(models.TransientModel):
    """ "Nouvel abonnement": the sign-up steps for an agent on the phone."""

    _name = "depanssur.sale.wizard"
    _description = "New subscription (phone sale)"

    partner_id = fields.Many2one(
        "res.partner", string="Existing client", domain="[('is_company', '=', False)]"
    )
    civility = fields.Selection([("mr", "Mr."), ("mrs", "Mrs.")])
    first_name = fields.Char()
    last_name = fields.Char()
    email = fields.Char()
    mobile = fields.Char()
    street = fields.Char(string="Insured home: street")
    zip = fields.Char()
    city = fields.Char()
    plan_id = fields.Many2one("depanssur.plan", required=True)
    option_ids = fields.Many2many("depanssur.option", string="Options")
    allowed_option_ids = fields.Many2many(related="plan_id.allowed_option_ids")
    billing_period = fields.Selection(
        [("monthly", "Monthly"), ("yearly", "Yearly")], default="monthly", required=True
    )
    date_start = fields.Date(default=fields.Date.context_today, required=True)
    consent_marketing_email = fields.Boolean(string="Accepts marketing emails")
    consent_marketing_sms = fields.Boolean(string="Accepts marketing SMS")
    consent_phone_canvassing = fields.Boolean(string="Accepts phone canvassing")
    consent_partner_offers = fields.Boolean(string="Accepts partner offers")
    terms_accepted = fields.Boolean(string="Terms read and accepted by the client")
    monthly_amount = fields.Float(compute="_compute_summary", digits="Product Price")
    carence_end_date = fields.Date(compute="_compute_summary")

    @api.onchange("partner_id")
    def _onchange_partner_id(self):
        partner = self.partner_id
        if partner:
            self.update(
                {
                    "civility": partner.civility,
                    "first_name": partner.first_name,
                    "last_name": partner.last_name or (not partner.first_name and partner.name),
                    "email": partner.email,
                    "mobile": partner.mobile or partner.phone,
                    "street": partner.street,
                    "zip": partner.zip,
                    "city": partner.city,
                }
            )
            for purpose, _label in CONSENT_PURPOSES:
                self[f"consent_{purpose}"] = partner[f"consent_{purpose}"] == "given"

    @api.depends("plan_id", "option_ids", "date_start")
    def _compute_summary(self):
        for wizard in self:
            wizard.monthly_amount = wizard.plan_id.monthly_price + sum(
                wizard.option_ids.mapped("monthly_price")
            )
            wizard.carence_end_date = wizard.date_start and fields.Date.add(
                wizard.date_start, days=wizard.plan_id.carence_days
            )

    def action_confirm(self):
        self.ensure_one()
        if not self.terms_accepted:
            raise UserError(self.env._("The client must accept the terms and conditions."))
        if not (self.last_name and self.street and self.zip and self.city):
            raise UserError(
                self.env._("Last name and the insured home (street, zip code, city) are required.")
            )
        values = {
            # Depanssur's rules (a valid mobile in E.164) apply to the client from now on
            "depanssur_client": True,
            "civility": self.civility,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "mobile": self.mobile,
            "street": self.street,
            "zip": self.zip,
            "city": self.city,
        }
        partner = self.partner_id
        if partner:
            partner.write({key: value for key, value in values.items() if value})
        else:
            partner = self.env["res.partner"]._depanssur_find_client(self.email, self.mobile)
            if partner:
                partner.write({key: value for key, value in values.items() if value})
            else:
                partner = self.env["res.partner"].create(
                    dict(values, country_id=self.env.ref("base.fr").id)
                )
        agent = self.env.user
        consents = []
        for purpose, label in CONSENT_PURPOSES:
            wanted = self[f"consent_{purpose}"]
            current = partner[f"consent_{purpose}"]
            if wanted or current == "given":
                state = "given" if wanted else "withdrawn"
                if (current == "given") == wanted:
                    continue
                consents.append(
                    {
                        "partner_id": partner.id,
                        "purpose": purpose,
                        "state": state,
                        "source": "phone",
                        "user_id": agent.id,
                        "proof_text": self.env._(
                            "%(label)s: answer “%(answer)s” given on the phone to %(agent)s.",
                            label=label,
                            answer=self.env._("yes") if wanted else self.env._("no"),
                            agent=agent.name,
                        ),
                    }
                )
        if consents:
            self.env["depanssur.consent"].create(consents)
        subscription = self.env["depanssur.subscription"].create(
            {
                "partner_id": partner.id,
                "plan_id": self.plan_id.id,
                "billing_period": self.billing_period,
                "date_start": self.date_start,
                "option_line_ids": [
                    Command.create({"option_id": option.id, "date_start": self.date_start})
                    for option in self.option_ids
                ],
            }
        )
        subscription.action_confirm()
        subscription.message_post(
            body=self.env._("Sold on the phone by %(agent)s.", agent=agent.name)
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "depanssur.subscription",
            "res_id": subscription.id,
            "view_mode": "form",
            "target": "current",
        }
