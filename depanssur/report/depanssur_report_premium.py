from odoo import fields, models, tools


class DepanssurReportPremium(models.Model):
    """Earned premiums: untaxed subscription invoice lines, net of credit notes, by month, plan
    or option (the loss ratio's denominator). One row per invoice line; drill down to the move."""

    _name = "depanssur.report.premium"
    _description = "Earned premium analysis"
    _auto = False
    _order = "date desc"

    move_id = fields.Many2one("account.move", string="Invoice / credit note", readonly=True)
    subscription_id = fields.Many2one("depanssur.subscription", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Client", readonly=True)
    product_id = fields.Many2one("product.product", string="Plan or option", readonly=True)
    plan_id = fields.Many2one("depanssur.plan", string="Subscription plan", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    date = fields.Date(readonly=True)
    move_type = fields.Char(readonly=True)
    premium = fields.Monetary(string="Earned premium (excl. VAT)", readonly=True)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            f"""
            CREATE OR REPLACE VIEW {self._table} AS (
                SELECT aml.id AS id,
                       m.id AS move_id,
                       COALESCE(m.depanssur_subscription_id, origin.depanssur_subscription_id,
                                cn.subscription_id) AS subscription_id,
                       m.partner_id,
                       aml.product_id,
                       s.plan_id,
                       m.company_id,
                       c.currency_id,
                       m.invoice_date AS date,
                       m.move_type,
                       -aml.balance AS premium
                  FROM account_move_line aml
                  JOIN account_move m ON m.id = aml.move_id
                  JOIN res_company c ON c.id = m.company_id
             LEFT JOIN account_move origin ON origin.id = m.reversed_entry_id
             LEFT JOIN depanssur_credit_note cn ON cn.id = m.depanssur_credit_note_id
             LEFT JOIN depanssur_subscription s
                    ON s.id = COALESCE(m.depanssur_subscription_id,
                                       origin.depanssur_subscription_id, cn.subscription_id)
                 WHERE m.state = 'posted'
                   AND m.move_type IN ('out_invoice', 'out_refund')
                   AND aml.display_type = 'product'
                   AND COALESCE(m.depanssur_subscription_id, origin.depanssur_subscription_id,
                                cn.subscription_id) IS NOT NULL
            )
            """
        )
