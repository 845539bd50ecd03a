from odoo import fields, models


class DepanssurCategory(models.Model):
    """A kind of emergency covered by plans and options (plumbing, electricity, locksmith...)."""

    _name = "depanssur.category"
    _description = "Coverage category"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(
        required=True,
        help="Technical code used by Depanssur's tool in webhooks (e.g. plumbing).",
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)

    _code_unique = models.UniqueIndex("(code)", "A category with this code already exists.")
