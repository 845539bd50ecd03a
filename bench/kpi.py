#!/usr/bin/env python3
"""KPI speed over the seeded book: each KPI warm, against a plain SQL GROUP BY over the same rows.

    python3 bench/kpi.py [--db depanssur_bench]

Prints per-KPI times (warm: the second of two runs), the ratio to the plain GROUP BY measured in
the same run, the query count of a KPI period (constant whatever the volume), and the EXPLAIN of
the slowest query (the earned premiums of the loss ratio).
"""

import argparse
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_DB, Timer, environment, out

RUNNING = """
    FROM depanssur_subscription s
    JOIN depanssur_plan p ON p.id = s.plan_id
    JOIN product_product pp ON pp.id = p.product_id
    JOIN product_template pt ON pt.id = pp.product_tmpl_id
   WHERE s.company_id = %(company)s AND s.state NOT IN ('draft', 'cancelled')
     AND s.date_start <= {day} AND (s.termination_date IS NULL OR s.termination_date >= {day})
"""
# a plain GROUP BY over the rows each KPI reads (the current plan's price, no history)
BASELINES = {
    "MRR at a date": "SELECT s.plan_id, SUM(pt.list_price)"
    + RUNNING.format(day="%(end)s")
    + " GROUP BY 1",
    "MRR movements": "SELECT s.plan_id, SUM(pt.list_price)"
    + RUNNING.format(day="%(before)s")
    + " GROUP BY 1; SELECT s.plan_id, SUM(pt.list_price)"
    + RUNNING.format(day="%(end)s")
    + " GROUP BY 1",
    "Loss ratio": """
        SELECT m.invoice_date, SUM(-aml.balance)
          FROM account_move_line aml JOIN account_move m ON m.id = aml.move_id
         WHERE m.company_id = %(company)s AND m.invoice_date BETWEEN %(start)s AND %(end)s
           AND aml.display_type = 'product'
      GROUP BY 1;
        SELECT category_id, SUM(covered_amount) FROM depanssur_dossier
         WHERE company_id = %(company)s AND done_date BETWEEN %(start)s AND %(end)s GROUP BY 1
    """,
    "NPS": """
        SELECT nps_score, COUNT(*) FROM depanssur_dossier
         WHERE company_id = %(company)s AND nps_date::date BETWEEN %(start)s AND %(end)s
      GROUP BY 1
    """,
    "DSO": """
        SELECT payment_state, SUM(amount_residual_signed), SUM(amount_total_signed)
          FROM account_move
         WHERE company_id = %(company)s AND move_type = 'out_invoice' AND state = 'posted'
      GROUP BY 1
    """,
}


def warm(function):
    function()
    with Timer() as timer:
        function()
    return timer.seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    args = parser.parse_args()
    with environment(args.db) as env:
        from odoo import fields, sql_db
        from odoo.sql_db import sql_counter  # noqa: F401

        kpi = env["depanssur.kpi"]
        company = env.company
        end = fields.Date.today()
        start = end.replace(day=1) - timedelta(days=1)
        start = start.replace(day=1)
        cr = env.cr
        measures = {
            "MRR at a date": lambda: kpi._mrr_total(end, company),
            "MRR movements": lambda: (
                kpi._mrr_movement_values(start, end, company),
                kpi._termination_counts(start, end, company),
            ),
            "Loss ratio": lambda: kpi._loss_values(start, end, company),
            "NPS": lambda: kpi._nps_values(start, end, company),
            "DSO": lambda: kpi._receivables(start, end, company),
        }
        parameters = {
            "company": company.id,
            "start": start,
            "end": end,
            "before": start - timedelta(days=1),
        }
        cr.execute("SELECT count(*) FROM depanssur_subscription")
        subscriptions = cr.fetchone()[0]
        out(f"KPIs over {subscriptions} subscriptions (period {start} .. {end})")
        for name, function in measures.items():
            ours = warm(function)
            baseline = warm(
                lambda sql=BASELINES[name]: (cr.execute(sql, parameters), cr.fetchall())
            )
            out(
                f"  {name:<16} {ours * 1000:8.1f} ms   plain GROUP BY {baseline * 1000:7.1f} ms   "
                f"ratio {ours / baseline:5.1f}x   (targets <= 1500 ms, <= 3x)"
            )
        whole = warm(lambda: kpi._period_kpis(start, end, company))
        before = sql_db.sql_counter
        kpi._period_kpis(start, end, company)
        out(
            f"  a whole KPI period (all of the above, as the snapshot and dashboard use it): "
            f"{whole * 1000:.0f} ms in {sql_db.sql_counter - before} queries "
            "(set-based: independent of the number of records)"
        )
        from odoo.addons.depanssur.models.depanssur_kpi import PREMIUM_SQL

        # the slowest KPI is the loss ratio: its earned premiums read the period's invoice lines
        cr.execute("EXPLAIN ANALYZE " + PREMIUM_SQL, parameters)
        out("EXPLAIN ANALYZE of the slowest query (earned premiums of the loss ratio):")
        for (line,) in cr.fetchall():
            out("    " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
