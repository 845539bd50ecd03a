from odoo import models


class AccountPaymentLine(models.Model):
    _inherit = "account.payment.line"

    # a batch of the daily debit step run twice cannot add the same debit to an order again
    _depanssur_one_line_per_item = models.UniqueIndex(
        "(order_id, move_line_id) WHERE move_line_id IS NOT NULL",
        "This journal item is already in the payment order.",
    )
