from odoo import api, fields, models


class DepanssurDunningCase(models.Model):
    """Dunning of a returned direct debit: its retries re-present the debit in the next debit
    order instead of charging a card."""

    _inherit = "depanssur.dunning.case"

    source = fields.Selection(
        selection_add=[("debit_returned", "Direct debit returned")],
        ondelete={"debit_returned": "set default"},
    )
    sepa_return_ids = fields.One2many(
        "depanssur.sepa.return", "dunning_case_id", string="Bank returns"
    )
    sepa_return_count = fields.Integer(compute="_compute_sepa_return_count")

    @api.depends("sepa_return_ids")
    def _compute_sepa_return_count(self):
        for case in self:
            case.sepa_return_count = len(case.sepa_return_ids)

    @api.model
    def _open_for(self, subscription, invoice, start_date, source="overdue"):
        # an invoice waiting in a debit order not yet sent to the bank is being collected
        if source == "overdue" and invoice and invoice.sudo()._depanssur_in_debit():
            return self.browse()
        return super()._open_for(subscription, invoice, start_date, source=source)

    def _retry_payment(self):
        """A SEPA subscriber with a usable mandate: the debit is presented again in the next
        debit order (the next daily run); otherwise the card / payment link as before."""
        self.ensure_one()
        subscription = self.subscription_id.sudo()
        invoice = self.invoice_id.sudo()
        if (
            invoice
            and invoice.payment_state in ("not_paid", "partial")
            and subscription._depanssur_collect_by_debit()
        ):
            writer = self._depanssur_writer_env()
            if invoice._depanssur_in_debit() or invoice.depanssur_debit_date:
                return writer._("debit already waiting for the next order")
            day = self.env.context.get("date")
            invoice.depanssur_debit_date = (
                fields.Date.to_date(day) if day else fields.Date.context_today(self)
            )
            self.message_post(
                body=writer._(
                    "The direct debit of %(invoice)s will be presented again in the next debit "
                    "order.",
                    invoice=invoice.name,
                )
            )
            return writer._("debit re-presented in the next order")
        return super()._retry_payment()
