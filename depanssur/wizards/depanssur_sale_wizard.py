from odoo import api, fields, models

from ..models.depanssur_consent import CONSENT_PURPOSES
from ..models.depanssur_signup import ADDRESS_FIELDS, IDENTITY_FIELDS


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
    # SEPA: the mandate goes to the client for electronic signature (see depanssur_signup_sepa)
    payment_method = fields.Selection(
        [("card", "Card / payment link"), ("sepa", "SEPA direct debit")],
        default="card",
        required=True,
    )
    iban = fields.Char(string="IBAN")
    iban_holder = fields.Char(string="Account holder")
    matching_partner_id = fields.Many2one(
        "res.partner",
        string="Client with this email or mobile",
        compute="_compute_matching_partner_id",
        help="An existing client has this email or mobile: pick them as the existing client if "
        "it is the same person, otherwise a new client is created and flagged for review.",
    )
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

    @api.depends("partner_id", "email", "mobile")
    def _compute_matching_partner_id(self):
        for wizard in self:
            wizard.matching_partner_id = (
                not wizard.partner_id
                and self.env["depanssur.signup"]
                ._signup_matches(wizard.email, wizard.mobile)
                .filtered(lambda p: p.has_access("read"))[:1]
            )

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
        """Sign the client up through ``depanssur.signup`` (the web form's method too): the
        client the agent picked keeps their details; without one, a new client is created and a
        client with the same email or mobile is flagged for review."""
        self.ensure_one()
        values = {
            name: self[name]
            for name in (*IDENTITY_FIELDS, *ADDRESS_FIELDS, "billing_period", "date_start")
        }
        values.update(
            plan_id=self.plan_id.id,
            option_ids=self.option_ids.ids,
            terms_accepted=self.terms_accepted,
            payment_method=self.payment_method,
            iban=self.iban or "",
            iban_holder=self.iban_holder or "",
            consents={purpose: self[f"consent_{purpose}"] for purpose, _label in CONSENT_PURPOSES},
        )
        subscription = self.env["depanssur.signup"]._signup(
            values, "phone", partner=self.partner_id
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "depanssur.subscription",
            "res_id": subscription.id,
            "view_mode": "form",
            "target": "current",
        }
