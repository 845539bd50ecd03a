from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Command


class DepanssurCoverageMixin(models.AbstractModel):
    """What a plan or an option sells: a price (through a product), categories, carence, caps."""

    _name = "depanssur.coverage.mixin"
    _description = "Coverage terms (plan or option)"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    description = fields.Html(translate=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    product_id = fields.Many2one(
        "product.product",
        required=True,
        ondelete="restrict",
        help="Invoiced product: its taxes and income account are used on the invoices.",
    )
    monthly_price = fields.Float(
        string="Monthly price (excl. VAT)",
        related="product_id.lst_price",
        readonly=False,
        digits="Product Price",
    )
    category_ids = fields.Many2many("depanssur.category", string="Covered categories")
    carence_days = fields.Integer(
        string="Waiting period (days)", help="Délai de carence: days before coverage starts."
    )
    franchise = fields.Monetary(help="Deductible paid by the client on each intervention.")
    cap_per_intervention = fields.Monetary(string="Cap per intervention")
    yearly_cap_amount = fields.Monetary(string="Yearly cap (amount)")
    yearly_cap_count = fields.Integer(string="Interventions per year")

    @api.constrains(
        "carence_days", "franchise", "cap_per_intervention", "yearly_cap_amount", "yearly_cap_count"
    )
    def _check_non_negative_terms(self):
        for record in self:
            values = (
                record.carence_days,
                record.franchise,
                record.cap_per_intervention,
                record.yearly_cap_amount,
                record.yearly_cap_count,
            )
            if any(value < 0 for value in values):
                raise ValidationError(
                    self.env._(
                        "%(name)s: the waiting period, franchise and caps cannot be negative.",
                        name=record.name,
                    )
                )

    @api.constrains("product_id")
    def _check_price_non_negative(self):
        for record in self:
            if record.product_id.lst_price < 0:
                raise ValidationError(
                    self.env._("%(name)s: the price cannot be negative.", name=record.name)
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if not vals.get("product_id"):
                price = vals.pop("monthly_price", 0.0)
                if price < 0:
                    raise ValidationError(self.env._("The price cannot be negative."))
                company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
                product = self.env["product.product"].create(
                    {
                        "name": vals.get("name") or self.env._("Subscription"),
                        "type": "service",
                        "list_price": price,  # stored excl. VAT
                        "sale_ok": True,
                        "purchase_ok": False,
                        # the company's sale tax (TVA 20 % under the French chart)
                        "taxes_id": [Command.set(company.account_sale_tax_id.ids)],
                    }
                )
                vals["product_id"] = product.id
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("monthly_price", 0) < 0:
            raise ValidationError(self.env._("The price cannot be negative."))
        return super().write(vals)
