from odoo import models


class DepanssurOption(models.Model):
    _name = "depanssur.option"
    _inherit = ["depanssur.coverage.mixin"]
    _description = "Subscription option"
    _order = "sequence, id"
