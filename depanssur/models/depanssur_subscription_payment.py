from odoo import api, fields, models
from odoo.exceptions import UserError

from ..rules import sepa

PAYMENT_METHODS = [("card", "Card / payment link"), ("sepa", "SEPA direct debit")]


class DepanssurSubscription(models.Model):
    """How a subscription is paid: a card (saved token or the portal payment link) or a SEPA
    direct debit mandate (OCA ``account_banking_sepa_direct_debit``)."""

    _inherit = "depanssur.subscription"
    # the payment method changes only through its action (a traced change), never by a write
    _depanssur_workflow_fields = frozenset(
        {"state", "state_before_suspension", "payment_method", "mandate_id"}
    )

    payment_method = fields.Selection(
        PAYMENT_METHODS,
        required=True,
        default="card",
        readonly=True,
        tracking=True,
        help="Changed with the “Change payment method” action.",
    )
    mandate_id = fields.Many2one(
        "account.banking.mandate",
        string="SEPA mandate",
        readonly=True,
        tracking=True,
        check_company=True,
        index="btree_not_null",
        domain="[('partner_id', '=', partner_id)]",
    )
    mandate_state = fields.Selection(related="mandate_id.state", string="Mandate status")

    def _depanssur_collect_by_debit(self):
        """Whether this subscription's invoices go to the direct debit orders: SEPA chosen and
        the mandate signed (a mandate waiting for its e-signature collects nothing)."""
        self.ensure_one()
        return self.payment_method == "sepa" and self.mandate_id.state == "valid"

    def _depanssur_set_payment_method(self, method, mandate=None, note=None):
        """Switch the payment method (the agent's wizard, a sign-up, a bank return); the trace
        is a chatter message. Agents and above only (or the superuser of a public flow)."""
        self._depanssur_check_group(
            "depanssur.group_depanssur_agent",
            self.env._("Only Depanssur staff can change a subscription's payment method."),
        )
        if method not in dict(PAYMENT_METHODS):
            raise UserError(self.env._("Unknown payment method %(method)s.", method=method))
        if method == "sepa" and not mandate:
            raise UserError(self.env._("A SEPA payment needs a mandate."))
        if mandate and mandate.state not in ("draft", "valid"):
            # nothing would ever be collected on a cancelled or expired mandate
            raise UserError(self.env._("This mandate can no longer be used: ask for a new one."))
        labels = dict(self._fields["payment_method"]._description_selection(self.env))
        for subscription in self:
            if mandate and mandate.partner_id.commercial_partner_id != (
                subscription.partner_id.commercial_partner_id
            ):
                raise UserError(self.env._("The mandate belongs to another client."))
            previous = labels[subscription.payment_method]
            subscription._depanssur_write(
                {"payment_method": method, "mandate_id": mandate.id if mandate else False}
            )
            body = self.env._(
                "Payment method changed from %(old)s to %(new)s%(mandate)s.",
                old=previous,
                new=labels[method],
                mandate=f" ({mandate.unique_mandate_reference})" if mandate else "",
            )
            if note:
                body = f"{body} {note}"
            subscription.message_post(body=body)
        return True

    def action_open_payment_method_wizard(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Change payment method"),
            "res_model": "depanssur.payment.method.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_subscription_id": self.id},
        }

    # ------------------------------------------------------------
    # Invoicing: SEPA invoices carry the payment mode, the mandate and the debit date
    # ------------------------------------------------------------

    def _prepare_invoice_vals(self, period_start, period_end, kind="period", line_vals=None):
        vals = super()._prepare_invoice_vals(period_start, period_end, kind, line_vals)
        if self._depanssur_collect_by_debit():
            mode = self.company_id._depanssur_sepa_payment_mode()
            if mode:
                debit_day = sepa.debit_date(
                    vals["invoice_date"], self._today(), self._depanssur_prenotification_days()
                )
                vals.update(
                    {
                        "payment_mode_id": mode.id,
                        "mandate_id": self.mandate_id.id,
                        "invoice_date_due": debit_day,
                        "depanssur_debit_date": debit_day,
                    }
                )
        return vals

    @api.model
    def _depanssur_prenotification_days(self):
        return int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("depanssur.sepa_prenotification_days", sepa.DEFAULT_PRENOTIFICATION_DAYS)
        )

    def _invoice_due_periods(self, day):
        moves = super()._invoice_due_periods(day)
        moves.filtered("depanssur_debit_date")._depanssur_send_prenotification()
        return moves

    def _depanssur_send_mandate_for_signature(self):
        """Email the client the signed link of the draft mandate (phone sale, agent change);
        the subscription is collected by debit once the client has signed."""
        self.ensure_one()
        mandate = self.mandate_id
        if not mandate or mandate.state != "draft":
            raise UserError(self.env._("There is no mandate waiting for a signature."))
        template = self.env.ref("depanssur.mail_template_sepa_mandate_sign")
        self._depanssur_notify("subscription.sepa_mandate_sign", email_template=template)
        mandate.sudo().is_sent = True
        return True
