#!/usr/bin/env python3
"""KPI speed over the seeded book: each KPI warm, against a plain SQL GROUP BY over the same rows.

    python3 bench/kpi.py [--db depanssur_bench]

Prints per-KPI times (warm: the second of two runs), the ratio to the plain GROUP BY measured in
the same run, the query count of a KPI period (constant whatever the volume), and the EXPLAIN of
the slowest query (MRR at a date).
"""

import argparse
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_DB, Timer, environment, out

BASELINES = {
    "MRR at a date": "SELECT plan_id, count(*) FROM depanssur_subscription GROUP BY plan_id",
    "Loss ratio": "SELECT category_id, sum(covered_amount) FROM depanssur_dossier GROUP BY 1",
    "NPS": "SELECT nps_score, count(*) FROM depanssur_dossier GROUP BY 1",
    "DSO": "SELECT state, sum(amount_residual_signed) FROM account_move GROUP BY 1",
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
            "MRR at a date": lambda: kpi._mrr_by_subscription(end, company),
            "Loss ratio": lambda: kpi._period_kpis(start, end, company),
            "NPS": lambda: kpi._period_kpis(start, end, company),
            "DSO": lambda: kpi._receivables(start, end, company),
        }
        cr.execute("SELECT count(*) FROM depanssur_subscription")
        subscriptions = cr.fetchone()[0]
        out(f"KPIs over {subscriptions} subscriptions (period {start} .. {end})")
        for name, function in measures.items():
            ours = warm(function)
            baseline = warm(lambda sql=BASELINES[name]: (cr.execute(sql), cr.fetchall()))
            out(
                f"  {name:<16} {ours * 1000:8.1f} ms   plain GROUP BY {baseline * 1000:7.1f} ms   "
                f"ratio {ours / baseline:5.1f}x   (targets <= 1500 ms, <= 3x)"
            )
        before = sql_db.sql_counter
        kpi._period_kpis(start, end, company)
        out(
            f"  queries for a whole KPI period: {sql_db.sql_counter - before} "
            "(set-based: independent of the number of records)"
        )
        from odoo.addons.depanssur.models.depanssur_kpi import MRR_SQL

        cr.execute("EXPLAIN ANALYZE " + MRR_SQL, {"day": end, "company": company.id})
        out("EXPLAIN ANALYZE of the MRR query:")
        for (line,) in cr.fetchall():
            out("    " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
