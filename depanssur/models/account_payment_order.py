import logging
from datetime import timedelta

from odoo import api, fields, models

from ..rules import sepa

_logger = logging.getLogger(__name__)


class AccountPaymentOrder(models.Model):
    """The monthly debit orders of the subscriptions, built by the daily run."""

    _inherit = "account.payment.order"

    depanssur_collection = fields.Boolean(
        string="Depanssur collection", readonly=True, copy=False, index=True
    )
    depanssur_sepa_return_ids = fields.One2many(
        "depanssur.sepa.return", "order_id", string="Bank returns"
    )

    @api.model
    def _depanssur_invoices_to_collect(self, day):
        """Posted subscription invoices still to pay whose debit date is close enough for the
        order built on ``day``, on a signed mandate."""
        latest = fields.Date.to_date(day) + timedelta(days=sepa.SUBMISSION_LEAD_DAYS)
        invoices = (
            self.env["account.move"]
            .sudo()
            .search(
                [
                    ("move_type", "=", "out_invoice"),
                    ("state", "=", "posted"),
                    ("depanssur_subscription_id", "!=", False),
                    ("payment_state", "in", ("not_paid", "partial")),
                    ("depanssur_debit_date", "<=", latest),
                ],
                order="depanssur_debit_date, id",
            )
        )
        return invoices.filtered(
            lambda move: move.depanssur_subscription_id._depanssur_collect_by_debit()
        )

    @api.model
    def _cron_depanssur_collect(self, day=None):
        """Daily: one debit order per company and collection date, with its pain.008 file
        attached (checked against the XSD by the OCA module), ready to send to the bank.

        Re-running is harmless: an invoice leaves the queue (its debit date emptied) as soon as
        it is in an order."""
        day = fields.Date.to_date(day) if day else fields.Date.context_today(self)
        invoices = self._depanssur_invoices_to_collect(day)
        groups = {}
        for invoice in invoices:
            key = (invoice.company_id, sepa.collection_date(invoice.depanssur_debit_date, day))
            groups.setdefault(key, self.env["account.move"].sudo())
            groups[key] |= invoice
        orders = self.browse()
        for (company, collection_day), moves in sorted(
            groups.items(), key=lambda item: (item[0][0].id, item[0][1])
        ):
            mode = company._depanssur_sepa_payment_mode()
            if not mode:
                _logger.info("%s has no SEPA direct debit mode: nothing collected", company.name)
                continue
            orders |= self._depanssur_build_order(mode, collection_day, moves, day)
        return orders

    @api.model
    def _depanssur_build_order(self, mode, collection_day, invoices, day):
        Order = self.sudo().with_company(mode.company_id).with_context(date=str(day))
        order = Order.create(
            {
                "payment_mode_id": mode.id,
                "date_prefered": "fixed",
                "date_scheduled": collection_day,
                "depanssur_collection": True,
                "description": self.env._(
                    "Subscriptions debited on %(date)s", date=collection_day.strftime("%d/%m/%Y")
                ),
            }
        )
        for invoice in invoices:
            mandate = invoice.depanssur_subscription_id.mandate_id
            if invoice.mandate_id != mandate or invoice.payment_mode_id != mode:
                # re-presented after a change of method or of mandate
                invoice.write({"payment_mode_id": mode.id, "mandate_id": mandate.id})
        lines = invoices.line_ids.filtered(
            lambda line: not line.reconciled and line.account_id.account_type == "asset_receivable"
        )
        lines.create_payment_line_from_move_line(order)
        invoices.write({"depanssur_debit_date": False})
        order.draft2open()
        order.open2generated()
        return order
