import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..rules import sepa

_logger = logging.getLogger(__name__)

RETURN_REASON_SELECTION = [(reason.code, reason.label) for reason in sepa.RETURN_REASONS]


class DepanssurSepaReturn(models.Model):
    """A debit returned by the bank ("rejet", R-transaction): its payment is reversed, the
    invoice is open again and dunned from the return date (D+0)."""

    _name = "depanssur.sepa.return"
    _inherit = ["mail.thread"]
    _description = "SEPA direct debit return"
    _order = "date desc, id desc"
    _check_company_auto = True

    payment_id = fields.Many2one(
        "account.payment", string="Debit", required=True, readonly=True, ondelete="restrict"
    )
    order_id = fields.Many2one(
        "account.payment.order", string="Debit order", readonly=True, index=True
    )
    invoice_id = fields.Many2one("account.move", readonly=True, index=True)
    subscription_id = fields.Many2one("depanssur.subscription", readonly=True, index=True)
    partner_id = fields.Many2one("res.partner", readonly=True, index=True)
    mandate_id = fields.Many2one("account.banking.mandate", readonly=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    amount = fields.Monetary(readonly=True)
    date = fields.Date(string="Return date", required=True, readonly=True, index=True)
    reason = fields.Selection(RETURN_REASON_SELECTION, required=True, readonly=True, index=True)
    reversal_move_id = fields.Many2one("account.move", string="Reversal", readonly=True)
    dunning_case_id = fields.Many2one("depanssur.dunning.case", readonly=True, index=True)

    # a grouped debit (one payment for several invoices of a client) is returned as a whole:
    # one return per invoice it paid, each reopened and dunned (the name kept from when it was
    # per payment: Odoo recreates an index whose definition changed under the same name)
    _one_return_per_payment = models.UniqueIndex(
        "(payment_id, invoice_id)", "This debit was already marked as returned."
    )

    @api.depends("invoice_id.name", "reason")
    def _compute_display_name(self):
        for record in self:
            record.display_name = f"{record.invoice_id.name or '-'} / {record.reason}"

    @api.model
    def _depanssur_register(self, payment, reason_code, day=None):
        """Mark the debit ``payment`` (a transaction of an uploaded debit order) returned for
        ``reason_code``. Depanssur accounting only."""
        self.env["depanssur.dunning.case"]._check_accounting()
        reason = sepa.reason(reason_code)
        day = fields.Date.to_date(day) if day else fields.Date.context_today(self)
        payment.ensure_one()
        # the caller's own rights on the debit (its company, its record rules) before sudo
        payment.check_access("write")
        payment = payment.sudo()
        order = payment.payment_order_id
        if not order.depanssur_collection or order.state != "uploaded":
            raise UserError(
                self.env._("Only a debit of a subscription order sent to the bank can be returned.")
            )
        if payment.state == "rejected" or self.sudo().search_count(
            [("payment_id", "=", payment.id)]
        ):
            raise UserError(self.env._("This debit was already marked as returned."))
        invoices = payment.payment_line_ids.move_line_id.move_id
        counterpart = payment.move_id.line_ids.filtered(
            lambda line: line.account_id == payment.destination_account_id
        )
        counterpart.remove_move_reconcile()
        reversal = payment.move_id._reverse_moves(
            [
                {
                    "date": day,
                    "ref": self.env._(
                        "Return %(code)s of %(name)s", code=reason.code, name=payment.name
                    ),
                }
            ],
            cancel=True,
        )
        payment.action_reject()
        mandate = payment.payment_line_ids.mandate_id[:1]
        records = self.browse()
        Case = self.env["depanssur.dunning.case"].sudo()
        labels = self._fields["reason"]._description_selection
        for invoice in invoices:
            subscription = invoice.depanssur_subscription_id
            case = Case.browse()
            if subscription:
                case = Case._open_for(subscription, invoice, day, source="debit_returned")
            records |= self.sudo().create(
                {
                    "payment_id": payment.id,
                    "order_id": order.id,
                    "invoice_id": invoice.id,
                    "subscription_id": subscription.id,
                    "partner_id": invoice.partner_id.commercial_partner_id.id,
                    "mandate_id": mandate.id,
                    "company_id": payment.company_id.id,
                    "amount": invoice.amount_residual,
                    "date": day,
                    "reason": reason.code,
                    "reversal_move_id": reversal[:1].id,
                    "dunning_case_id": case.id,
                }
            )
            # the client's language when the system writes (an import), the agent's otherwise
            writer = invoice.partner_id._depanssur_writer_env()
            body = writer._(
                "Direct debit returned by the bank: %(reason)s.",
                reason=dict(labels(writer))[reason.code],
            )
            invoice.message_post(body=body)
            if case:
                case.message_post(body=body)
        if reason.mandate_unusable and mandate:
            # shown to the client (the email asking for a new method): in their language
            client_env = self.with_context(lang=mandate.partner_id._depanssur_lang()).env
            mandate._depanssur_mark_unusable(dict(labels(client_env))[reason.code])
            for subscription in records.subscription_id.filtered(
                lambda s, m=mandate: s.mandate_id == m
            ):
                subscription._depanssur_notify(
                    "subscription.sepa_new_method",
                    email_template=self.env.ref("depanssur.mail_template_sepa_new_method"),
                )
        return records
