from odoo import api, fields, models
from odoo.exceptions import UserError

from ..models.depanssur_sepa_return import RETURN_REASON_SELECTION
from ..models.depanssur_subscription_payment import PAYMENT_METHODS


class DepanssurPaymentMethodWizard(models.TransientModel):
    """Agent action: change how a subscription is paid (card / payment link or SEPA mandate)."""

    _name = "depanssur.payment.method.wizard"
    _description = "Change a subscription's payment method"

    subscription_id = fields.Many2one("depanssur.subscription", required=True, readonly=True)
    partner_id = fields.Many2one(related="subscription_id.partner_id")
    method = fields.Selection(PAYMENT_METHODS, required=True, default="sepa")
    mandate_mode = fields.Selection(
        [("new", "New mandate"), ("existing", "Existing mandate")], default="new", required=True
    )
    mandate_id = fields.Many2one(
        "account.banking.mandate",
        domain="[('partner_id', '=', partner_id), ('state', 'in', ('draft', 'valid'))]",
    )
    iban = fields.Char(string="IBAN")
    holder = fields.Char(string="Account holder")
    signature = fields.Selection(
        [("esign", "Send for electronic signature"), ("paper", "Signed paper form received")],
        default="esign",
    )
    note = fields.Char(string="Why")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        values.setdefault("subscription_id", self.env.context.get("active_id"))
        return values

    def action_apply(self):
        self.ensure_one()
        subscription = self.subscription_id
        mandate = None
        if self.method == "sepa":
            if self.mandate_mode == "existing":
                if not self.mandate_id:
                    raise UserError(self.env._("Choose the mandate."))
                mandate = self.mandate_id
            else:
                mandate = self.env["account.banking.mandate"]._depanssur_create_for(
                    subscription.partner_id,
                    self.iban,
                    self.holder or subscription.partner_id.name,
                    self.signature,
                    signed=self.signature == "paper",
                )
        subscription._depanssur_set_payment_method(self.method, mandate, note=self.note)
        if mandate and mandate.state == "draft":
            subscription._depanssur_send_mandate_for_signature()
        return {"type": "ir.actions.act_window_close"}


class DepanssurSepaReturnWizard(models.TransientModel):
    """Accounting action: a debit of an order sent to the bank came back ("rejet")."""

    _name = "depanssur.sepa.return.wizard"
    _description = "Register a direct debit return"

    order_id = fields.Many2one("account.payment.order", required=True, readonly=True)
    payment_id = fields.Many2one(
        "account.payment",
        string="Returned debit",
        required=True,
        domain="[('payment_order_id', '=', order_id), ('state', '!=', 'rejected')]",
    )
    reason = fields.Selection(RETURN_REASON_SELECTION, required=True)
    date = fields.Date(string="Return date", required=True, default=fields.Date.context_today)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        values.setdefault("order_id", self.env.context.get("active_id"))
        return values

    def action_apply(self):
        self.ensure_one()
        self.env["depanssur.sepa.return"]._depanssur_register(
            self.payment_id, self.reason, self.date
        )
        return {"type": "ir.actions.act_window_close"}
