#!/usr/bin/env python3
"""The sample year's duration: ``depanssur.sample.year._generate`` on a demonstration database.

    python3 bench/sample_year.py --db <db installed with demo data> [--clients 300]
        [--months 18] [--profile out.prof] [--commit]

Runs the generator as the superuser in one transaction (rolled back unless ``--commit``: the
run is repeatable on the same database), then prints the wall time, the CPU time of this
process (user + system, less sensitive to the other processes of a shared machine), the
load averages before and after, what was created (clients, posted invoices, payments, claim
files, credit notes) and the figures of the KPI period the book covers.
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import environment, out, peak_rss_mb


def load():
    return "load average %.2f, %.2f, %.2f" % os.getloadavg()


def counts(env):
    return {
        "subscriptions": env["depanssur.subscription"].search_count([]),
        "posted invoices": env["account.move"].search_count(
            [("move_type", "=", "out_invoice"), ("state", "=", "posted")]
        ),
        "payments": env["account.payment"].search_count([]),
        "claim files": env["depanssur.dossier"].search_count([]),
        "credit notes": env["depanssur.credit.note"].search_count([]),
        "dunning actions": env["depanssur.dunning.action"].search_count([]),
    }


def book(env, subscriptions):
    """What the book holds, as the issue lists it."""
    invoices = subscriptions.invoice_ids.filtered(
        lambda m: m.move_type == "out_invoice" and m.state == "posted"
    )
    today = max(subscriptions.mapped("create_date")).date()

    def paid_on(move):
        dates = move.reconciled_payment_ids.mapped("date")
        return max(dates) if dates else None

    paid = invoices.filtered(lambda m: m.payment_state in ("paid", "in_payment"))
    late = paid.filtered(lambda m: paid_on(m) and paid_on(m) > m.invoice_date_due)
    unpaid = invoices.filtered(
        lambda m: m.payment_state == "not_paid" and m.invoice_date_due < today
    )
    cases = env["depanssur.dunning.case"].search([("subscription_id", "in", subscriptions.ids)])
    levels = {}
    for action in cases.action_ids:
        levels[action.level_id.name] = levels.get(action.level_id.name, 0) + 1
    reasons = {}
    for sub in subscriptions.filtered("termination_reason"):
        reasons[sub.termination_reason] = reasons.get(sub.termination_reason, 0) + 1
    notes = env["depanssur.credit.note"].search([("subscription_id", "in", subscriptions.ids)])
    return {
        "web / phone sign-ups": "%d / %d"
        % (
            len(subscriptions.filtered("signup_key")),
            len(subscriptions) - len(subscriptions.filtered("signup_key")),
        ),
        "invoices paid on time / late / unpaid past due": "%d / %d / %d"
        % (len(paid) - len(late), len(late), len(unpaid)),
        "dunning levels applied": levels,
        "suspensions": len(subscriptions.suspension_ids),
        "terminations by reason": reasons,
        "claim files by state": dict(
            sorted(
                (state, len(subscriptions.dossier_ids.filtered(lambda d, s=state: d.state == s)))
                for state in set(subscriptions.dossier_ids.mapped("state"))
            )
        ),
        "NPS answers": len(subscriptions.dossier_ids.filtered("nps_date")),
        "credit notes by reason and state": sorted({(n.reason, n.state) for n in notes}),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", help="write a cProfile of the generation to this file")
    parser.add_argument("--commit", action="store_true", help="keep the book")
    args = parser.parse_args()
    with environment(args.db, commit=args.commit) as env:
        env = env(context=dict(env.context, lang="en_US"))
        before = counts(env)
        out(f"{args.clients} clients over {args.months} months on {args.db}; before: {load()}")
        profiler = cProfile.Profile() if args.profile else None
        cpu = time.process_time()
        wall = time.perf_counter()
        if profiler:
            profiler.enable()
        result = env["depanssur.sample.year"]._generate(
            seed=args.seed, clients=args.clients, months=args.months
        )
        env.flush_all()
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        out(f"after: {load()}")
        if not result["created"]:
            out("a sample year already exists in this database: nothing generated")
            return
        out(f"wall {wall:.1f} s, CPU of this process {cpu:.1f} s (user + system)")
        out(f"peak RSS {peak_rss_mb():.0f} MB")
        after = counts(env)
        for name, value in after.items():
            out(f"  {name}: +{value - before[name]}")
        Kpi = env["depanssur.kpi"]
        subscriptions = env["depanssur.subscription"].browse(result["subscription_ids"])
        for name, value in book(env, subscriptions).items():
            out(f"  {name}: {value}")
        first = min(subscriptions.mapped("date_start"))
        today = max(subscriptions.mapped("create_date")).date()
        kpis = Kpi._period_kpis(first, today)
        for key in (
            "mrr",
            "new_mrr",
            "churn_mrr",
            "logo_churn",
            "loss_ratio",
            "nps",
            "nps_count",
            "dso",
        ):
            if key in kpis:
                out(f"  {key}: {kpis[key]}")
        if profiler:
            pstats.Stats(args.profile).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
