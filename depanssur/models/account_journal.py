from odoo import fields, models

AVOIR_PREFIX = "AV"


class AccountJournal(models.Model):
    _inherit = "account.journal"

    depanssur_avoir_numbering = fields.Boolean(
        string="Credit notes numbered AV/<year>/<n>",
        copy=False,
        help="The customer credit notes of this sales journal get their own gapless numbering "
        "AV/<year>/<n> (set the first time a Depanssur credit note is issued in it).",
    )

    def _depanssur_enable_avoir_numbering(self):
        """Credit notes of this sales journal numbered AV/<year>/<n>, apart from its invoices."""
        to_enable = self.filtered(
            lambda journal: not (journal.depanssur_avoir_numbering and journal.refund_sequence)
        )
        if to_enable:
            to_enable.sudo().write({"depanssur_avoir_numbering": True, "refund_sequence": True})
