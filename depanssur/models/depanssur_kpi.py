import dataclasses
import logging
from datetime import timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..rules import kpi as kpi_rules
from ..rules import sepa as sepa_rules

_logger = logging.getLogger(__name__)

# a subscription counts on a day when it has started, is not cancelled, and is not terminated yet
RUNNING_WHERE = """
       s.company_id = %(company)s
   AND s.state NOT IN ('draft', 'cancelled')
   AND s.date_start <= %(day)s
   AND (s.termination_date IS NULL OR s.termination_date >= %(day)s)
"""
# the monthly price of the plan in force on the day, of the options active on the day; {sub} is
# the alias of the subscription's table
PLAN_PRICE_JOINS = """
  JOIN depanssur_subscription_plan_period spp
    ON spp.subscription_id = {sub}.id AND spp.date_from <= %(day)s
   AND (spp.date_to IS NULL OR spp.date_to >= %(day)s)
  JOIN depanssur_plan p ON p.id = spp.plan_id
  JOIN product_product pp ON pp.id = p.product_id
  JOIN product_template pt ON pt.id = pp.product_tmpl_id
"""
OPTION_PRICE_JOINS = """
  JOIN depanssur_subscription_option so
    ON so.subscription_id = {sub}.id AND so.date_start <= %(day)s
   AND (so.date_end IS NULL OR so.date_end >= %(day)s)
  JOIN depanssur_option o ON o.id = so.option_id
  JOIN product_product pp ON pp.id = o.product_id
  JOIN product_template pt ON pt.id = pp.product_tmpl_id
"""


def _mrr_sql(only=""):
    """The MRR of each subscription running on the day (``only``: an extra condition on ``s``)."""
    return f"""
    WITH running AS (SELECT s.id FROM depanssur_subscription s WHERE {RUNNING_WHERE} {only}),
    plan_price AS (
        SELECT r.id AS sub_id, pt.list_price AS amount
          FROM running r {PLAN_PRICE_JOINS.format(sub="r")}
    ),
    option_price AS (
        SELECT r.id AS sub_id, SUM(pt.list_price) AS amount
          FROM running r {OPTION_PRICE_JOINS.format(sub="r")}
      GROUP BY r.id
    )
    SELECT r.id, COALESCE(pl.amount, 0) + COALESCE(op.amount, 0) AS amount
      FROM running r
 LEFT JOIN plan_price pl ON pl.sub_id = r.id
 LEFT JOIN option_price op ON op.sub_id = r.id
"""


MRR_SQL = _mrr_sql()
# the same over the subscriptions of the ``cand`` CTE only (see _mrr_changes)
CANDIDATE_MRR_SQL = _mrr_sql("AND s.id IN (SELECT id FROM cand)")

# the MRR total on the day: the same rows as MRR_SQL, summed without one row per subscription
# (plain joins, no shared CTE: the planner hashes the small catalogue and scans the rest once)
MRR_TOTAL_SQL = f"""
    SELECT (SELECT COALESCE(SUM(pt.list_price), 0)
              FROM depanssur_subscription s {PLAN_PRICE_JOINS.format(sub="s")}
             WHERE {RUNNING_WHERE})
         + (SELECT COALESCE(SUM(pt.list_price), 0)
              FROM depanssur_subscription s {OPTION_PRICE_JOINS.format(sub="s")}
             WHERE {RUNNING_WHERE}),
           (SELECT COUNT(*) FROM depanssur_subscription s WHERE {RUNNING_WHERE})
"""

# earned premiums: untaxed subscription invoices net of their credit notes
PREMIUM_SQL = """
    SELECT COALESCE(SUM(-aml.balance), 0)
      FROM account_move_line aml
      JOIN account_move m ON m.id = aml.move_id
 LEFT JOIN account_move origin ON origin.id = m.reversed_entry_id
 LEFT JOIN depanssur_credit_note cn ON cn.id = m.depanssur_credit_note_id
     WHERE m.state = 'posted'
       AND m.company_id = %(company)s
       AND m.move_type IN ('out_invoice', 'out_refund')
       AND aml.display_type = 'product'
       AND m.invoice_date BETWEEN %(start)s AND %(end)s
       AND COALESCE(m.depanssur_subscription_id, origin.depanssur_subscription_id,
                    cn.subscription_id) IS NOT NULL
"""


class DepanssurKpi(models.AbstractModel):
    """Set-based KPI computations; the formulas themselves live in ``rules.kpi``."""

    _name = "depanssur.kpi"
    _description = "Depanssur KPIs"

    @api.model
    def _mrr_by_subscription(self, day, company=None):
        company = company or self.env.company
        self._analytic_queries()
        self.env.cr.execute(MRR_SQL, {"day": day, "company": company.id})
        return {sub_id: Decimal(str(amount)) for sub_id, amount in self.env.cr.fetchall()}

    @api.model
    def _mrr_total(self, day, company=None):
        """(MRR, running subscriptions) at ``day``: the headline number, in one aggregate."""
        self._analytic_queries()
        return self._fetch_mrr_total(day, company or self.env.company)

    def _fetch_mrr_total(self, day, company):
        self.env.cr.execute(MRR_TOTAL_SQL, {"day": day, "company": company.id})
        total, running = self.env.cr.fetchone()
        return Decimal(str(total)), running

    @api.model
    def _mrr_changes(self, before, after, company):
        """(opening total, closing total, running counts, {sub: (opening, closing)} of the
        subscriptions whose MRR changed between ``before`` and ``after``).

        The opening total and count come from one aggregate; the per-subscription MRR is only
        computed for the subscriptions that have a date in between (start, termination, plan
        period, option): the others count the same at both dates (same running state, same
        plan and options, same prices), so the closing total and count are the opening ones
        plus what those candidates change — one scan of the book instead of two.
        """
        self._analytic_queries()
        opening, count_before = self._fetch_mrr_total(before, company)
        self.env.cr.execute(
            f"""
            WITH cand AS (
                SELECT id FROM depanssur_subscription
                 WHERE company_id = %(company)s
                   AND ((date_start > %(before)s AND date_start <= %(after)s)
                        OR (termination_date >= %(before)s AND termination_date < %(after)s))
                 UNION
                SELECT subscription_id FROM depanssur_subscription_plan_period
                 WHERE (date_from > %(before)s AND date_from <= %(after)s)
                    OR (date_to >= %(before)s AND date_to < %(after)s)
                 UNION
                SELECT subscription_id FROM depanssur_subscription_option
                 WHERE (date_start > %(before)s AND date_start <= %(after)s)
                    OR (date_end >= %(before)s AND date_end < %(after)s)
            ),
            o AS ({CANDIDATE_MRR_SQL.replace("%(day)s", "%(before)s")}),
            c AS ({CANDIDATE_MRR_SQL.replace("%(day)s", "%(after)s")})
            SELECT COALESCE(o.id, c.id), o.id IS NOT NULL, c.id IS NOT NULL,
                   COALESCE(o.amount, 0), COALESCE(c.amount, 0)
              FROM o FULL JOIN c ON o.id = c.id
            """,
            {"before": before, "after": after, "company": company.id},
        )
        closing, count_after, changes = opening, count_before, {}
        for sub_id, ran_before, runs_after, amount_before, amount_after in self.env.cr.fetchall():
            count_after += int(runs_after) - int(ran_before)
            if amount_before != amount_after:
                values = (Decimal(str(amount_before)), Decimal(str(amount_after)))
                changes[sub_id] = values
                closing += values[1] - values[0]
        return opening, closing, count_before, count_after, changes

    def _analytic_queries(self):
        """Short analytical queries: PostgreSQL's JIT compiler would spend more time compiling
        them (~0.4 s each, triggered by their cost estimate) than running them."""
        self.env.flush_all()
        self.env.cr.execute("SET LOCAL jit = off")

    @api.model
    def _mrr_movement_values(self, start, end, company, by_kind=None):
        """MRR movements of the period: opening + new + expansion - contraction - churn +
        reactivation = closing, and the running counts at both ends. ``by_kind``: a dict filled
        with the ids of the subscriptions behind each movement."""
        opening_total, closing_total, running_before, running_after, changes = self._mrr_changes(
            start - timedelta(days=1), end, company
        )
        self.env.cr.execute(
            "SELECT id FROM depanssur_subscription WHERE company_id = %s "
            "AND date_start BETWEEN %s AND %s",
            (company.id, start, end),
        )
        started = frozenset(row[0] for row in self.env.cr.fetchall())
        # the rule classifies the changed subscriptions; the unchanged ones count the same in
        # the opening and the closing MRR, so the totals reconcile exactly
        changed = kpi_rules.mrr_movements(
            {sub: values[0] for sub, values in changes.items() if values[0]},
            {sub: values[1] for sub, values in changes.items() if values[1]},
            started,
        )
        moves = dataclasses.replace(changed, opening=opening_total, closing=closing_total)
        if by_kind is not None:
            for sub_id, (before, after) in changes.items():
                kind = kpi_rules.movement_kind(before, after, sub_id in started)
                by_kind.setdefault(kind, []).append(sub_id)
        return moves, running_before, running_after

    @api.model
    def _termination_counts(self, start, end, company):
        """(voluntary, non-payment) terminations effective in the period."""
        self.env.cr.execute(
            """
            SELECT termination_reason = 'non_payment', COUNT(*)
              FROM depanssur_subscription
             WHERE company_id = %s AND state = 'terminated'
               AND termination_date BETWEEN %s AND %s
          GROUP BY 1
            """,
            (company.id, start, end),
        )
        terminated = dict(self.env.cr.fetchall())
        return terminated.get(False, 0), terminated.get(True, 0)

    @api.model
    def _loss_values(self, start, end, company):
        """(covered amount of the interventions done, their count, earned premiums)."""
        cr = self.env.cr
        cr.execute(
            """
            SELECT COALESCE(SUM(covered_amount), 0), COUNT(*)
              FROM depanssur_dossier
             WHERE company_id = %s AND state IN ('done', 'closed')
               AND done_date BETWEEN %s AND %s
            """,
            (company.id, start, end),
        )
        covered, done_count = cr.fetchone()
        cr.execute(PREMIUM_SQL, {"company": company.id, "start": start, "end": end})
        premiums = cr.fetchone()[0]
        return covered, done_count, premiums

    @api.model
    def _nps_values(self, start, end, company):
        """The rules' NPS over the answers received in the period."""
        self.env.cr.execute(
            """
            SELECT nps_score FROM depanssur_dossier
             WHERE company_id = %s AND nps_date IS NOT NULL
               AND nps_date::date BETWEEN %s AND %s
            """,
            (company.id, start, end),
        )
        return kpi_rules.nps([row[0] for row in self.env.cr.fetchall()])

    @api.model
    def _period_kpis(self, start, end, company=None, by_kind=None):
        """Every KPI of the period [start, end] (inclusive) as plain values (``by_kind``: see
        ``_mrr_movement_values``)."""
        company = company or self.env.company
        self._analytic_queries()
        moves, running_before, running_after = self._mrr_movement_values(
            start, end, company, by_kind
        )
        voluntary, non_payment = self._termination_counts(start, end, company)
        covered, done_count, premiums = self._loss_values(start, end, company)
        nps = self._nps_values(start, end, company)
        receivables, sales, ageing = self._receivables(start, end, company)
        days = (end - start).days + 1
        return {
            "opening_mrr": moves.opening,
            "mrr": moves.closing,
            "new_mrr": moves.new,
            "expansion_mrr": moves.expansion,
            "contraction_mrr": moves.contraction,
            "churn_mrr": moves.churn,
            "reactivation_mrr": moves.reactivation,
            "running_count": running_after,
            "running_at_start": running_before,
            "terminated_voluntary": voluntary,
            "terminated_non_payment": non_payment,
            "logo_churn": kpi_rules.logo_churn_rate(voluntary + non_payment, running_before),
            "revenue_churn": kpi_rules.revenue_churn_rate(
                moves.churn, moves.contraction, moves.opening
            ),
            "covered_amount": Decimal(str(covered)),
            "done_count": done_count,
            "earned_premiums": Decimal(str(premiums)),
            "loss_ratio": kpi_rules.loss_ratio(covered, premiums),
            "nps": nps.score,
            "nps_count": nps.count,
            "promoters": nps.promoters,
            "detractors": nps.detractors,
            "receivables": receivables,
            "credit_sales": sales,
            "dso": kpi_rules.dso(receivables, sales, days),
            **ageing,
        }

    @api.model
    def _receivables(self, start, end, company):
        """Open subscription receivables at ``end`` (current residuals of invoices issued by
        then), credit sales of the period, and the ageing of what is open."""
        cr = self.env.cr
        cr.execute(
            """
            SELECT COALESCE(SUM(amount_residual_signed) FILTER (WHERE invoice_date <= %(end)s), 0),
                   COALESCE(SUM(amount_total_signed)
                            FILTER (WHERE invoice_date BETWEEN %(start)s AND %(end)s), 0),
                   COALESCE(SUM(amount_residual_signed) FILTER (
                       WHERE invoice_date <= %(end)s AND %(end)s - invoice_date_due <= 30), 0),
                   COALESCE(SUM(amount_residual_signed) FILTER (
                       WHERE invoice_date <= %(end)s
                         AND %(end)s - invoice_date_due BETWEEN 31 AND 60), 0),
                   COALESCE(SUM(amount_residual_signed) FILTER (
                       WHERE invoice_date <= %(end)s
                         AND %(end)s - invoice_date_due BETWEEN 61 AND 90), 0),
                   COALESCE(SUM(amount_residual_signed) FILTER (
                       WHERE invoice_date <= %(end)s AND %(end)s - invoice_date_due > 90), 0)
              FROM account_move
             WHERE company_id = %(company)s AND state = 'posted'
               AND move_type = 'out_invoice' AND depanssur_subscription_id IS NOT NULL
            """,
            {"company": company.id, "start": start, "end": end},
        )
        receivables, sales, b30, b60, b90, bmore = (Decimal(str(v)) for v in cr.fetchone())
        ageing = {"ageing_0_30": b30, "ageing_31_60": b60, "ageing_61_90": b90, "ageing_90": bmore}
        return receivables, sales, ageing

    # --- the manager's dashboard (client action ``depanssur.dashboard``) ---

    def _check_manager(self):
        """The dashboard and the KPI history are for Depanssur managers; no context key can
        stand for the group (only the superuser bypasses it)."""
        if not (self.env.su or self.env.user.has_group("depanssur.group_depanssur_manager")):
            raise AccessError(self.env._("Only a Depanssur manager can see or rebuild the KPIs."))

    @api.model
    def _window_months(self, months):
        """``months`` checked as a window length (a caller's argument: never a 500)."""
        try:
            return kpi_rules.window_months(months)
        except ValueError:
            raise UserError(
                self.env._(
                    "The number of months must be a whole number from 1 to %(max)s.",
                    max=kpi_rules.MAX_WINDOW_MONTHS,
                )
            ) from None

    @api.model
    @api.readonly
    def get_dashboard_data(self, months=12):
        """Everything the dashboard shows, for the current company, over the ``months`` months
        ending today (month to date). Read-only: a replica can answer it. Each figure comes with
        the action (model, domain) that lists the records behind it."""
        self._check_manager()
        months = self._window_months(months)
        company = self.env.company
        today = fields.Date.context_today(self)
        periods = kpi_rules.month_periods(today, months)
        window = (periods[0][0], today)
        month_rows = []
        for start, end in periods:
            by_kind = {}
            kpis = self._period_kpis(start, end, company, by_kind)
            row = {key: _json_number(value) for key, value in kpis.items()}
            row.update(
                start=fields.Date.to_string(start),
                end=fields.Date.to_string(end),
                actions=self._month_actions(start, end, company, by_kind),
            )
            month_rows.append(row)
        return {
            "company": company.name,
            "currency_id": company.currency_id.id,
            "today": fields.Date.to_string(today),
            "window": [fields.Date.to_string(day) for day in window],
            "months": month_rows,
            "plans": self._dashboard_plans(window, company),
            "detractors": self._dashboard_detractors(window, company),
            "ageing": self._dashboard_ageing(today, company, month_rows[-1]),
            "dunning": self._dashboard_dunning(window, company),
        }

    def _list_action(self, model, name, domain):
        return {"res_model": model, "name": name, "domain": domain}

    def _month_actions(self, start, end, company, by_kind):
        """The records behind the figures of one month."""
        period = [
            ("company_id", "=", company.id),
        ]
        actions = {
            kind: self._list_action(
                "depanssur.subscription",
                self.env._("MRR movements"),
                [("id", "in", by_kind.get(kind, []))],
            )
            for kind in kpi_rules.MOVEMENTS
        }
        actions["running"] = self._list_action(
            "depanssur.subscription",
            self.env._("Running subscriptions"),
            [
                *period,
                ("state", "not in", ("draft", "cancelled")),
                ("date_start", "<=", end),
                "|",
                ("termination_date", "=", False),
                ("termination_date", ">=", end),
            ],
        )
        actions["terminated"] = self._list_action(
            "depanssur.subscription",
            self.env._("Terminated subscriptions"),
            [
                *period,
                ("state", "=", "terminated"),
                ("termination_date", ">=", start),
                ("termination_date", "<=", end),
            ],
        )
        actions["loss"] = self._list_action(
            "depanssur.dossier",
            self.env._("Interventions done"),
            [
                *period,
                ("state", "in", ("done", "closed")),
                ("done_date", ">=", start),
                ("done_date", "<=", end),
            ],
        )
        nps_period = [
            *period,
            ("nps_date", ">=", fields.Datetime.to_string(start)),
            ("nps_date", "<", fields.Datetime.to_string(end + timedelta(days=1))),
        ]
        actions["nps"] = self._list_action(
            "depanssur.dossier", self.env._("NPS answers"), nps_period
        )
        return actions

    def _dashboard_plans(self, window, company):
        """Loss ratio per plan over the window: covered amounts of the interventions done /
        earned premiums, both by the subscription's plan."""
        start, end = window
        covered = dict(
            self.env["depanssur.report.dossier"]._read_group(
                [
                    ("company_id", "=", company.id),
                    ("state", "in", ("done", "closed")),
                    ("done_date", ">=", start),
                    ("done_date", "<=", end),
                ],
                ["plan_id"],
                ["covered_amount:sum"],
            )
        )
        premiums = dict(
            self.env["depanssur.report.premium"]._read_group(
                [("company_id", "=", company.id), ("date", ">=", start), ("date", "<=", end)],
                ["plan_id"],
                ["premium:sum"],
            )
        )
        ratios = kpi_rules.ratios_by_key(covered, premiums)
        plans = sorted(filter(None, ratios), key=lambda plan: plan.display_name)
        return [
            {
                "id": plan.id,
                "name": plan.display_name,
                "covered_amount": covered.get(plan, 0.0),
                "earned_premiums": premiums.get(plan, 0.0),
                "loss_ratio": _json_number(ratios[plan]),
                "action": self._list_action(
                    "depanssur.dossier",
                    self.env._("Interventions done: %(plan)s", plan=plan.display_name),
                    [
                        ("company_id", "=", company.id),
                        ("subscription_id.plan_id", "=", plan.id),
                        ("state", "in", ("done", "closed")),
                        ("done_date", ">=", start),
                        ("done_date", "<=", end),
                    ],
                ),
            }
            for plan in plans
        ]

    def _dashboard_detractors(self, window, company, limit=20):
        """The latest detractors (NPS 0-6) of the window: the clients to call back."""
        domain = [
            ("company_id", "=", company.id),
            ("nps_score", "<=", 6),
            ("nps_date", ">=", fields.Datetime.to_string(window[0])),
        ]
        dossiers = self.env["depanssur.dossier"].search(domain, order="nps_date desc", limit=limit)
        return {
            "count": self.env["depanssur.dossier"].search_count(domain),
            "action": self._list_action("depanssur.dossier", self.env._("Detractors"), domain),
            "rows": [
                {
                    "id": dossier.id,
                    "name": dossier.display_name,
                    "partner": dossier.partner_id.display_name,
                    "score": dossier.nps_score,
                    "comment": dossier.nps_comment or "",
                    "date": fields.Datetime.to_string(dossier.nps_date),
                    "callback_planned": dossier.nps_callback_planned,
                }
                for dossier in dossiers
            ],
        }

    def _dashboard_ageing(self, today, company, month):
        """DSO of the month to date and the ageing of the open subscription invoices today."""
        base = [
            ("company_id", "=", company.id),
            ("state", "=", "posted"),
            ("move_type", "=", "out_invoice"),
            ("depanssur_subscription_id", "!=", False),
            ("invoice_date", "<=", today),
            ("amount_residual", "!=", 0),
        ]
        keys = dict(zip(kpi_rules.AGEING_BUCKETS, ("0_30", "31_60", "61_90", "90"), strict=True))
        buckets = []
        for bucket, (first, last) in kpi_rules.ageing_due_dates(today).items():
            domain = list(base)
            if first:
                domain.append(("invoice_date_due", ">=", first))
            if last:
                domain.append(("invoice_date_due", "<=", last))
            buckets.append(
                {
                    "key": bucket,
                    "amount": month[f"ageing_{keys[bucket]}"],
                    "action": self._list_action(
                        "account.move",
                        self.env._("Open invoices, %(bucket)s days", bucket=bucket),
                        domain,
                    ),
                }
            )
        return {
            "dso": month["dso"],
            "receivables": month["receivables"],
            "credit_sales": month["credit_sales"],
            # the invoices are listed only to who may read them
            "can_open": self.env["account.move"].has_access("read"),
            "buckets": buckets,
        }

    def _dashboard_dunning(self, window, company):
        """The dunning funnel of the cases opened in the window, by level of the ladder."""
        Case = self.env["depanssur.dunning.case"]
        base = [("company_id", "=", company.id), ("start_date", ">=", window[0])]
        counts = dict(Case._read_group(base, ["level_id"], ["__count"]))
        levels = self.env["depanssur.dunning.level"].search(
            [("company_id", "in", (company.id, False))]
        )
        rows = kpi_rules.funnel((level, counts.get(level, 0)) for level in levels)
        return [
            {
                "id": level.id,
                "name": level.name,
                "count": count,
                "reached": reached,
                "percent": _json_number(share),
                "action": self._list_action(
                    "depanssur.dunning.case",
                    self.env._("Dunning cases: %(level)s", level=level.name),
                    [*base, ("level_id", "in", levels[index:].ids)],
                ),
            }
            for index, (level, count, reached, share) in enumerate(rows)
        ]

    @api.model
    def _sepa_reject_rates(self, start, end, company=None):
        """Direct debits presented (orders sent to the bank) and returned, per collection month
        and per return reason: ``{"2026-03": {"presented", "rejected", "rate", "reasons"}}``."""
        company = company or self.env.company
        cr = self.env.cr
        self.env.flush_all()
        cr.execute(
            """
            SELECT to_char(o.date_scheduled, 'YYYY-MM'), COUNT(DISTINCT p.id),
                   COUNT(DISTINCT r.payment_id)
              FROM account_payment p
              JOIN account_payment_order o ON o.id = p.payment_order_id
              LEFT JOIN depanssur_sepa_return r ON r.payment_id = p.id
             WHERE o.depanssur_collection AND o.state = 'uploaded' AND o.company_id = %(company)s
               AND o.date_scheduled BETWEEN %(start)s AND %(end)s
             GROUP BY 1
            """,
            {"company": company.id, "start": start, "end": end},
        )
        months = {
            month: {
                "presented": presented,
                "rejected": rejected,
                "rate": sepa_rules.reject_rate(rejected, presented),
                "reasons": {},
            }
            for month, presented, rejected in cr.fetchall()
        }
        cr.execute(
            """
            SELECT to_char(o.date_scheduled, 'YYYY-MM'), r.reason, COUNT(DISTINCT r.payment_id)
              FROM depanssur_sepa_return r
              JOIN account_payment_order o ON o.id = r.order_id
             WHERE o.company_id = %(company)s AND o.date_scheduled BETWEEN %(start)s AND %(end)s
             GROUP BY 1, 2
            """,
            {"company": company.id, "start": start, "end": end},
        )
        for month, reason, count in cr.fetchall():
            if month in months:
                months[month]["reasons"][reason] = count
        return months


# ratios that are empty (None) when their denominator is 0
EMPTY_AS_NULL = ("logo_churn", "revenue_churn", "loss_ratio", "nps", "dso")


def _json_number(value):
    """Decimals as floats for the browser; None (an empty ratio) stays None."""
    return float(value) if isinstance(value, Decimal) else value


class DepanssurKpiSnapshot(models.Model):
    """KPIs frozen at a date (month to date), kept even if data is later corrected."""

    _name = "depanssur.kpi.snapshot"
    _description = "KPI snapshot"
    _order = "date desc, id desc"
    _rec_name = "date"

    date = fields.Date(required=True, readonly=True, index=True)
    period_start = fields.Date(readonly=True)
    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    mrr = fields.Monetary(string="MRR", readonly=True, aggregator="sum")
    opening_mrr = fields.Monetary(string="Opening MRR", readonly=True, aggregator="sum")
    new_mrr = fields.Monetary(string="New MRR", readonly=True)
    expansion_mrr = fields.Monetary(string="Expansion MRR", readonly=True)
    contraction_mrr = fields.Monetary(string="Contraction MRR", readonly=True)
    churn_mrr = fields.Monetary(string="Churned MRR", readonly=True)
    reactivation_mrr = fields.Monetary(string="Reactivation MRR", readonly=True)
    running_count = fields.Integer(string="Running subscriptions", readonly=True, aggregator="sum")
    running_at_start = fields.Integer(readonly=True, aggregator="sum")
    terminated_voluntary = fields.Integer(string="Voluntary terminations", readonly=True)
    terminated_non_payment = fields.Integer(string="Non-payment terminations", readonly=True)
    logo_churn = fields.Float(string="Logo churn (%)", readonly=True, aggregator="avg")
    revenue_churn = fields.Float(string="Revenue churn (%)", readonly=True, aggregator="avg")
    covered_amount = fields.Monetary(string="Covered interventions", readonly=True)
    done_count = fields.Integer(string="Interventions done", readonly=True)
    earned_premiums = fields.Monetary(readonly=True)
    loss_ratio = fields.Float(string="Loss ratio (%)", readonly=True, aggregator="avg")
    nps = fields.Float(string="NPS", readonly=True, aggregator="avg")
    nps_count = fields.Integer(string="NPS answers", readonly=True)
    promoters = fields.Integer(readonly=True)
    detractors = fields.Integer(readonly=True)
    receivables = fields.Monetary(readonly=True, aggregator="sum")
    credit_sales = fields.Monetary(readonly=True)
    dso = fields.Float(string="DSO (days)", readonly=True, aggregator="avg")
    ageing_0_30 = fields.Monetary(string="Due 0-30 days", readonly=True, aggregator="sum")
    ageing_31_60 = fields.Monetary(string="Due 31-60 days", readonly=True, aggregator="sum")
    ageing_61_90 = fields.Monetary(string="Due 61-90 days", readonly=True, aggregator="sum")
    ageing_90 = fields.Monetary(string="Due 90+ days", readonly=True, aggregator="sum")
    has_loss_ratio = fields.Boolean(readonly=True)
    has_nps = fields.Boolean(readonly=True)
    is_month_latest = fields.Boolean(
        string="Latest of its month",
        compute="_compute_is_month_latest",
        store=True,
        help="The company's latest snapshot of the month: the one the monthly trends show.",
    )

    _date_company_unique = models.UniqueIndex(
        "(company_id, date)", "A snapshot already exists for this date."
    )

    @api.depends("date", "company_id")
    def _compute_is_month_latest(self):
        for snapshot in self:
            latest = self.search(
                [
                    ("company_id", "=", snapshot.company_id.id),
                    ("date", ">=", snapshot.date.replace(day=1)),
                    ("date", "<=", snapshot.date + relativedelta(day=31)),
                ],
                order="date desc",
                limit=1,
            )
            snapshot.is_month_latest = not latest or latest.date <= snapshot.date

    @api.model
    def _values_for(self, day, company, period_start=None):
        start = period_start or day.replace(day=1)
        values = self.env["depanssur.kpi"]._period_kpis(start, day, company)
        stored = {"date": day, "period_start": start, "company_id": company.id}
        for key, value in values.items():
            if key in self._fields:
                stored[key] = float(value) if value is not None else 0.0
        stored["has_loss_ratio"] = values["loss_ratio"] is not None
        stored["has_nps"] = values["nps"] is not None
        stored["_empty"] = [name for name in EMPTY_AS_NULL if values[name] is None]
        return stored

    @api.model
    def _cron_snapshot(self, day=None, companies=None):
        """Weekly: freeze the month-to-date KPIs of ``day`` (re-running updates that snapshot)."""
        day = fields.Date.to_date(day) if day else fields.Date.context_today(self)
        # one snapshot per company: they are few
        companies = companies or self.env["res.company"].search([])  # pylint: disable=no-search-all
        snapshots = self.browse()
        for company in companies:
            values = self._values_for(day, company)
            existing = self.search([("company_id", "=", company.id), ("date", "=", day)])
            empty = values.pop("_empty")
            if existing:
                existing.write(values)
            else:
                existing = self.create(values)
            existing._store_empty_ratios(empty)
            snapshots |= existing
        # the other snapshots of the month are no longer the latest one
        month = self.search(
            [
                ("company_id", "in", companies.ids),
                ("date", ">=", day.replace(day=1)),
                ("date", "<=", day + relativedelta(day=31)),
            ]
        )
        month._compute_is_month_latest()
        return snapshots

    def _store_empty_ratios(self, empty):
        """An empty ratio (no denominator) is NULL in the table, not 0: the graph and pivot
        averages skip it instead of counting a 0 (a Float field writes 0.0 for None)."""
        if not empty:
            return
        self.flush_recordset()
        self.env.cr.execute(
            SQL(
                "UPDATE depanssur_kpi_snapshot SET %s WHERE id IN %s",
                SQL(", ").join(SQL("%s = NULL", SQL.identifier(name)) for name in empty),
                tuple(self.ids),
            )
        )
        self.invalidate_recordset(empty)

    @api.model
    def action_rebuild_history(self, months=12):
        """Snapshots at the end of each of the last ``months`` months (from today's data);
        a Depanssur manager's action (checked here: the server action is not the only caller)."""
        Kpi = self.env["depanssur.kpi"]
        Kpi._check_manager()
        months = Kpi._window_months(months)
        today = fields.Date.context_today(self)
        for offset in range(months, 0, -1):
            month_end = today.replace(day=1) - relativedelta(months=offset - 1) - timedelta(days=1)
            self._cron_snapshot(month_end, self.env.companies)
        self._cron_snapshot(today, self.env.companies)
        return self.env["ir.actions.actions"]._for_xml_id("depanssur.depanssur_dashboard_action")
