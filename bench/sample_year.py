#!/usr/bin/env python3
"""The sample year's duration: ``depanssur.sample.year._generate`` on a demonstration database.

    python3 bench/sample_year.py --db <db installed with demo data> [--clients 300]
        [--months 18] [--profile out.prof] [--commit] [--no-floor]

Runs the generator as the superuser in one transaction (rolled back unless ``--commit``: the
run is repeatable on the same database), then prints the wall time, the CPU time of this
process (user + system, less sensitive to the other processes of a shared machine), the
load averages before and after, what was created (clients, posted invoices, payments, claim
files, credit notes) and the figures of the KPI period the book covers.

Then, in the same process, the floor (``accounting_floor.py``; not with ``--commit``): Odoo's
own cost of the same customer invoices (created + posted) and payments (payment wizard, one
payment per invoice), made again for as many plain partners after rolling the generator back,
first in the batches the generator used (recorded during the generation), then all in one
batch; each in a savepoint rolled back. The ratios: generator / floor in the same batches (what
the product adds to Odoo's accounting), floor in its batches / in one batch (what batching
alone could give), floor in one batch / 60 s (whether a minute is reachable at all with real
posted documents on this machine).
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accounting_floor
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
    parser.add_argument("--no-floor", action="store_true", help="skip the accounting floor")
    args = parser.parse_args()
    with environment(args.db, commit=args.commit) as env:
        env = env(context=dict(env.context, lang="en_US"))
        before = counts(env)
        out(f"{args.clients} clients over {args.months} months on {args.db}; before: {load()}")
        profiler = cProfile.Profile() if args.profile else None
        cpu = time.process_time()
        wall = time.perf_counter()
        with accounting_floor.recording(env) as calls:
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
        if args.no_floor:
            pass
        elif args.commit:
            out("no floor with --commit (it runs after rolling the generator back)")
        else:
            shape = accounting_floor.shapes(env, calls)
            env.cr.rollback()  # the floor starts from the database the generator started from
            floor(env, calls, shape, wall, cpu)
        if profiler:
            pstats.Stats(args.profile).sort_stats("cumulative").print_stats(40)


def floor(env, calls, shape, wall, cpu):
    """The generator's time against Odoo's own cost of its invoices and payments."""
    invoices = accounting_floor.batch_sizes(calls, "invoices")
    payments = accounting_floor.batch_sizes(calls, "payments")
    out(
        f"the generator made {sum(invoices)} customer invoices in {len(invoices)} create calls "
        f"(per call: max {max(invoices, default=0)}, mean {sum(invoices) / max(len(invoices), 1):.1f}), "
        f"paid {sum(payments)} in {len(payments)} wizard calls "
        f"(per call: max {max(payments, default=0)}, mean {sum(payments) / max(len(payments), 1):.1f})"
    )
    figures = {}
    for label, one_batch in (("floor, the generator's batches", False), ("floor, one batch", True)):
        before = load()
        f_wall, f_cpu, done = accounting_floor.replay(env, calls, shape, one_batch=one_batch)
        figures[one_batch] = (f_wall, f_cpu)
        out(
            f"{label}: wall {f_wall:.1f} s, CPU {f_cpu:.1f} s for {done['invoices']} invoices "
            f"({done['creates']} create + post; {done['posted']} posted, {done['paid']} paid) "
            f"and {done['payments']} payments "
            f"({done['wizards']} wizard calls); {done['live environments']} live environments "
            f"at the start; before: {before}; after: {load()}"
        )
    same, one = figures[False], figures[True]
    out(
        f"generator / floor in its batches: wall {wall / same[0]:.2f}x, CPU {cpu / same[1]:.2f}x "
        f"(what the product adds to Odoo's own accounting)"
    )
    out(
        f"floor in its batches / floor in one batch: wall {same[0] / one[0]:.2f}x, "
        f"CPU {same[1] / one[1]:.2f}x (what batching alone could give)"
    )
    out(
        f"floor in one batch / 60 s: wall {one[0] / 60:.2f}, CPU {one[1] / 60:.2f} "
        f"(above 1: a minute is out of reach with real posted documents on this machine)"
    )


if __name__ == "__main__":
    main()
