#!/usr/bin/env python3
"""The daily run over a seeded book: wall time per step, invoices, peak memory, SQL floor ratio.

    python3 bench/seed.py --subscriptions 100000 && python3 bench/daily.py

Runs ``depanssur.jobs._cron_daily(today)`` in one transaction (rolled back: repeatable), then the
same state changes for the comparable steps (end of waiting periods, counters at anniversaries)
as plain set-based SQL in another rolled-back transaction, and prints the ratio.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_DB, Timer, environment, out, peak_rss_mb

FLOOR_SQL = """
UPDATE depanssur_subscription SET state = 'active'
 WHERE state = 'carence' AND carence_end_date <= %(today)s;
INSERT INTO depanssur_subscription_usage (subscription_id, company_id, year_start, year_end,
        interventions_used, amount_consumed)
SELECT s.id, s.company_id, %(today)s, (%(today)s::date + interval '1 year - 1 day')::date, 0, 0
  FROM depanssur_subscription s
 WHERE s.state IN ('carence', 'active', 'suspended')
   AND extract(month FROM s.anniversary_date) = extract(month FROM %(today)s::date)
   AND extract(day FROM s.anniversary_date) = extract(day FROM %(today)s::date)
   AND s.date_start < %(today)s
ON CONFLICT DO NOTHING;
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    args = parser.parse_args()
    with environment(args.db) as env:
        from odoo import fields

        today = fields.Date.today()
        env.cr.execute("SELECT count(*) FROM depanssur_subscription")
        total = env.cr.fetchone()[0]
        env.cr.execute("SELECT count(*) FROM account_move")
        moves_before = env.cr.fetchone()[0]
        rss_before = peak_rss_mb()
        with Timer() as timer:
            runs = env["depanssur.jobs"].with_context(tracking_disable=True)._cron_daily(today)
        env.cr.execute("SELECT count(*) FROM account_move")
        invoices = env.cr.fetchone()[0] - moves_before
        env.cr.execute("SELECT count(*) FROM mail_mail WHERE state = 'outgoing'")
        mails = env.cr.fetchone()[0]
        out(
            f"daily run over {total} subscriptions: {timer.seconds:.1f} s wall "
            f"(target <= 60 s), {invoices} invoices, {mails} emails queued, "
            f"peak RSS {peak_rss_mb():.0f} MB (before {rss_before:.0f} MB)"
        )
        comparable = 0.0
        for run in runs:
            out(f"  {run.name:<34} {run.record_count:>7} records {run.duration:8.2f} s {run.state}")
            if run.name in ("End of waiting periods", "Counters reset at anniversaries"):
                comparable += run.duration
        if invoices:
            invoicing = runs.filtered(lambda r: r.name == "Invoicing").duration
            out(f"  invoicing: {invoices / invoicing:,.0f} invoices/s (created and posted)")
    with environment(args.db) as env:
        with Timer() as floor:
            env.cr.execute(FLOOR_SQL, {"today": today})
    ratio = comparable / floor.seconds if floor.seconds else float("inf")
    out(
        f"comparable steps (carence ends + counter resets): {comparable:.2f} s vs SQL floor "
        f"{floor.seconds:.3f} s -> ratio {ratio:.1f}x (target <= 5x)"
    )
    # the same two steps without their emails (the floor sends none): the state changes alone
    with environment(args.db) as env:
        Subscription = env["depanssur.subscription"].with_context(
            tracking_disable=True, depanssur_no_notify=True
        )
        with Timer() as quiet:
            Subscription._cron_end_carence(today)
            Subscription._cron_reset_counters(today)
            env.flush_all()
    out(
        f"  the same without their emails: {quiet.seconds:.2f} s -> ratio "
        f"{quiet.seconds / floor.seconds:.1f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
