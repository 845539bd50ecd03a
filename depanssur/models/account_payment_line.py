from odoo import fields, models


class AccountPaymentLine(models.Model):
    _inherit = "account.payment.line"

    depanssur_collection = fields.Boolean(
        related="order_id.depanssur_collection", store=True, precompute=True
    )

    # a batch of the daily debit step run twice cannot add the same debit to one of its orders
    # again (other payment orders keep the OCA module's rules)
    _depanssur_one_line_per_item = models.UniqueIndex(
        "(order_id, move_line_id) WHERE move_line_id IS NOT NULL AND depanssur_collection",
        "This journal item is already in the payment order.",
    )
