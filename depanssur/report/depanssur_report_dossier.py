from odoo import fields, models, tools


class DepanssurReportDossier(models.Model):
    """Claim files for analysis: covered amounts (the loss ratio's numerator) and NPS answers,
    by month, plan, category. One row per claim file; drill down to it."""

    _name = "depanssur.report.dossier"
    _description = "Claim file analysis"
    _auto = False
    _order = "done_date desc"

    dossier_id = fields.Many2one("depanssur.dossier", readonly=True)
    subscription_id = fields.Many2one("depanssur.subscription", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Client", readonly=True)
    plan_id = fields.Many2one("depanssur.plan", readonly=True)
    category_id = fields.Many2one("depanssur.category", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    state = fields.Char(readonly=True)
    decision = fields.Char(readonly=True)
    incident_date = fields.Date(readonly=True)
    done_date = fields.Date(readonly=True)
    nps_date = fields.Date(string="NPS date", readonly=True)
    final_cost = fields.Monetary(readonly=True)
    covered_amount = fields.Monetary(readonly=True)
    client_share = fields.Monetary(readonly=True)
    dossier_count = fields.Integer(string="Claim files", readonly=True)
    nps_answers = fields.Integer(string="NPS answers", readonly=True)
    promoters = fields.Integer(readonly=True)
    detractors = fields.Integer(readonly=True)
    nps_score = fields.Float(string="NPS score", readonly=True, aggregator="avg")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            f"""
            CREATE OR REPLACE VIEW {self._table} AS (
                SELECT d.id AS id,
                       d.id AS dossier_id,
                       d.subscription_id,
                       d.partner_id,
                       s.plan_id,
                       d.category_id,
                       d.company_id,
                       c.currency_id,
                       d.state,
                       d.decision,
                       d.incident_date,
                       d.done_date,
                       d.nps_date::date AS nps_date,
                       d.final_cost,
                       CASE WHEN d.state IN ('done', 'closed') THEN d.covered_amount ELSE 0 END
                           AS covered_amount,
                       d.client_share,
                       1 AS dossier_count,
                       (d.nps_date IS NOT NULL)::int AS nps_answers,
                       (d.nps_date IS NOT NULL AND d.nps_score >= 9)::int AS promoters,
                       (d.nps_date IS NOT NULL AND d.nps_score <= 6)::int AS detractors,
                       CASE WHEN d.nps_date IS NOT NULL THEN d.nps_score END AS nps_score
                  FROM depanssur_dossier d
                  JOIN depanssur_subscription s ON s.id = d.subscription_id
                  JOIN res_company c ON c.id = d.company_id
            )
            """
        )
