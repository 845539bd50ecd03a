#!/usr/bin/env python3
"""Two Odoo nodes against one PostgreSQL running the same daily run, checked by SQL.

    python3 bench/twonode.py --db depanssur_bench_100k [--prefix h_bench] [--job-workers 2]

On a copy of the seeded database: two served Odoo processes (``--workers``, one cron worker and
queue_job's runner each, ports 8075 and 8077, the same configuration), and in front of them a
round-robin dispatcher standing for the load balancer that queue_job's runner sends the jobs to
(``ODOO_QUEUE_JOB_PORT``): only one runner is active per database (queue_job's advisory lock),
the jobs run on the HTTP workers of both nodes.

The daily run is started on both nodes at once (Odoo's ``method_direct_trigger`` over XML-RPC on
each, plus an ``ir.cron`` trigger their cron workers compete for), then run a second time for
the same day the same way. After each run, SQL checks: each subscription due invoiced exactly
once per period, the waiting periods ended, one counter per coverage year, renewal notices once
a year, each dunning level once per case, no email or SMS queued twice; after the second run,
nothing more than after the first (a run repeated, with its jobs, changes nothing more).
"""

import argparse
import itertools
import sys
import threading
import time
import xmlrpc.client
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_DB, environment, out
from scale import (
    DAILY_DONE,
    Node,
    copy_database,
    daily_traces,
    drop_database,
    last_trace_id,
    machine_busy_seconds,
    print_traces,
    quiet_crons,
    uptime,
    wait_until,
)

PORTS = (8075, 8077)
DISPATCHER_PORT = 8079
PASSWORD = "h-bench-2n"  # set on the copy only, for the XML-RPC triggers

RUNNING = "('carence', 'active', 'suspended')"
# effects that must exist at most once: (label, query counting the duplicates)
DUPLICATES = [
    (
        "subscription periods invoiced more than once",
        """SELECT count(*) FROM (SELECT 1 FROM account_move
            WHERE depanssur_invoice_kind = 'period' AND move_type = 'out_invoice'
              AND state != 'cancel'
            GROUP BY depanssur_subscription_id, depanssur_period_start HAVING count(*) > 1) d""",
    ),
    (
        "coverage-year counters twice",
        """SELECT count(*) FROM (SELECT 1 FROM depanssur_subscription_usage
            GROUP BY subscription_id, year_start, COALESCE(option_id, 0) HAVING count(*) > 1) d""",
    ),
    (
        "dunning levels applied twice to a case",
        """SELECT count(*) FROM (SELECT 1 FROM depanssur_dunning_action
            GROUP BY case_id, level_id HAVING count(*) > 1) d""",
    ),
    (
        "open dunning cases twice for an invoice",
        """SELECT count(*) FROM (SELECT 1 FROM depanssur_dunning_case
            WHERE state != 'closed' AND invoice_id IS NOT NULL
            GROUP BY invoice_id HAVING count(*) > 1) d""",
    ),
    (
        "emails posted twice on a record (same subject) by the run",
        """SELECT count(*) FROM (SELECT 1 FROM mail_message
            WHERE id > %(message)s AND subject IS NOT NULL AND subject != ''
              AND model NOT IN ('queue.job', 'depanssur.job.run')
            GROUP BY model, res_id, subject HAVING count(*) > 1) d""",
    ),
    (
        "chatter notes written twice on a record by the run",
        """SELECT count(*) FROM (SELECT 1 FROM mail_message
            WHERE id > %(message)s AND (subject IS NULL OR subject = '')
              AND body IS NOT NULL AND body::text NOT IN ('', '<p></p>')
              AND model NOT IN ('queue.job', 'depanssur.job.run')
            GROUP BY model, res_id, body::text HAVING count(*) > 1) d""",
    ),
    (
        "SMS queued twice to a number by the run",
        """SELECT count(*) FROM (SELECT 1 FROM sms_sms WHERE id > %(sms)s
            GROUP BY number, body HAVING count(*) > 1) d""",
    ),
]
# what the run changes: the second run of the day must leave every figure as the first left it
FOOTPRINT = {
    "invoices": "SELECT count(*) FROM account_move",
    "journal items": "SELECT count(*) FROM account_move_line",
    "payments": "SELECT count(*) FROM account_payment",
    "direct-debit lines": "SELECT count(*) FROM account_payment_line",
    "subscriptions by state": """SELECT string_agg(state || ':' || n, ' ' ORDER BY state)
        FROM (SELECT state, count(*) n FROM depanssur_subscription GROUP BY 1) s""",
    "sum of next billing dates": """SELECT sum(next_billing_date - DATE '2000-01-01')
        FROM depanssur_subscription""",
    "renewal notices (year set)": """SELECT count(*) FROM depanssur_subscription
        WHERE anniversary_notice_year IS NOT NULL""",
    "coverage-year counters": "SELECT count(*) FROM depanssur_subscription_usage",
    "cap alerts sent": """SELECT count(*) FILTER (WHERE alert_80_sent) || '/'
        || count(*) FILTER (WHERE alert_cap_sent) FROM depanssur_subscription_usage""",
    "dunning actions": "SELECT count(*) FROM depanssur_dunning_action",
    "dunning cases by state": """SELECT string_agg(state || ':' || n, ' ' ORDER BY state)
        FROM (SELECT state, count(*) n FROM depanssur_dunning_case GROUP BY 1) s""",
    "chatter messages": """SELECT count(*) FROM mail_message
        WHERE model NOT IN ('queue.job', 'depanssur.job.run')""",
    "emails queued": "SELECT count(*) FROM mail_mail",
    "SMS queued": "SELECT count(*) FROM sms_sms",
    "partners anonymised": "SELECT count(*) FROM res_partner WHERE depanssur_anonymized",
}


class Dispatch(BaseHTTPRequestHandler):
    """The load balancer of the job runner's calls: ``/queue_job/runjob`` to each node in
    turn. Answers at once (the runner does not wait for a job either) and forwards."""

    def do_GET(self):
        node = next(self.server.nodes)
        headers = {"X-Odoo-Database": self.headers.get("X-Odoo-Database", "")}
        url = f"http://127.0.0.1:{node.port}{self.path}"
        self.server.sent[node.name] = self.server.sent.get(node.name, 0) + 1
        threading.Thread(target=self.forward, args=(url, headers), daemon=True).start()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    @staticmethod
    def forward(url, headers):
        try:
            requests.get(url, headers=headers, timeout=7200)
        except requests.RequestException as error:
            out(f"  dispatcher: {url}: {error}")

    def log_message(self, *args):
        pass


def dispatcher(nodes):
    server = ThreadingHTTPServer(("127.0.0.1", DISPATCHER_PORT), Dispatch)
    server.daemon_threads = True
    server.nodes = itertools.cycle(nodes)
    server.sent = {}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def prepare(db):
    """Before serving the copy: the admin's password for the XML-RPC triggers, and what the run
    is expected to do (read before it)."""
    with environment(db, commit=True) as env:
        env.ref("base.user_admin").password = PASSWORD
        env.cr.execute(
            f"SELECT id, next_billing_date FROM depanssur_subscription WHERE state IN {RUNNING} "
            "AND next_billing_date <= CURRENT_DATE"
        )
        # the period each is due for (the one containing its next billing date, anchored on its
        # start date)
        due = {
            subscription.id: subscription._period_bounds(subscription.next_billing_date)[0]
            for subscription in env["depanssur.subscription"].browse(
                row[0] for row in env.cr.fetchall()
            )
        }
        env.cr.execute(
            "SELECT count(*) FROM depanssur_subscription "
            "WHERE state = 'carence' AND carence_end_date <= CURRENT_DATE"
        )
        carence = env.cr.fetchone()[0]
    quiet_crons(db)
    return due, carence


def trigger_on_both(nodes):
    """Start the daily run on every node at once: ``method_direct_trigger`` (Odoo's "Run
    manually", the cron runner's path) over XML-RPC on each node in parallel, after an
    ``ir.cron`` trigger their cron workers compete for. The cron row lock lets one of them run
    the coordinator at a time; a second call finds the run started and only looks at it."""

    def call(node, answers):
        url = f"http://127.0.0.1:{node.port}/xmlrpc/2/"
        try:
            uid = xmlrpc.client.ServerProxy(url + "common").authenticate(
                node.db, "admin", PASSWORD, {}
            )
            models = xmlrpc.client.ServerProxy(url + "object", allow_none=True)
            [cron_id] = models.execute_kw(
                node.db,
                uid,
                PASSWORD,
                "ir.model.data",
                "search_read",
                [[("module", "=", "depanssur"), ("name", "=", "ir_cron_depanssur_daily")]],
                {"fields": ["res_id"]},
            )[0:1] or [{}]
            models.execute_kw(
                node.db, uid, PASSWORD, "ir.cron", "method_direct_trigger", [[cron_id["res_id"]]]
            )
            answers[node.name] = "ran the coordinator"
        except xmlrpc.client.Fault as fault:
            answers[node.name] = "refused: " + fault.faultString.strip().splitlines()[-1][:120]
        except Exception as error:
            answers[node.name] = f"failed: {error}"[:160]

    def trigger(db):
        with environment(db, commit=True) as env:
            env.ref("depanssur.ir_cron_depanssur_daily")._trigger()
        answers = {}
        threads = [threading.Thread(target=call, args=(node, answers)) for node in nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for name, answer in sorted(answers.items()):
            out(f"  direct trigger on {name}: {answer}")

    return trigger


def markers(db):
    with environment(db) as env:
        env.cr.execute(
            "SELECT (SELECT coalesce(max(id), 0) FROM mail_message), "
            "(SELECT coalesce(max(id), 0) FROM sms_sms), "
            "(SELECT coalesce(max(id), 0) FROM queue_job)"
        )
        message, sms, job = env.cr.fetchone()
    return {"message": message, "sms": sms, "job": job}


def footprint(db):
    with environment(db) as env:
        values = {}
        for name, query in FOOTPRINT.items():
            env.cr.execute(query)
            values[name] = env.cr.fetchone()[0]
    return values


def check(db, marks, due, carence, nodes, first):
    """Print the SQL checks after a run; returns whether they all pass."""
    ok = True
    with environment(db) as env:
        cr = env.cr
        for label, query in DUPLICATES:
            cr.execute(query, marks)
            count = cr.fetchone()[0]
            ok &= count == 0
            out(f"  {'ok  ' if count == 0 else 'FAIL'} {label}: {count}")
        # each subscription due before the first run: one invoice of the period it was due for
        # (created by the run, or already there)
        cr.execute(
            """SELECT d.id, s.state, (SELECT count(*) FROM account_move m
                     WHERE m.depanssur_subscription_id = d.id AND m.depanssur_period_start = d.day
                       AND m.depanssur_invoice_kind = 'period' AND m.move_type = 'out_invoice'
                       AND m.state != 'cancel')
                 FROM unnest(%s::int[], %s::date[]) AS d(id, day)
                 JOIN depanssur_subscription s ON s.id = d.id""",
            (list(due), list(due.values())),
        )
        counts = cr.fetchall()
        once = sum(1 for _id, _state, n in counts if n == 1)
        more = sum(1 for _id, _state, n in counts if n > 1)
        missing = [(sub, state) for sub, state, n in counts if n == 0]
        good = once == len(due) and not more
        ok &= good
        out(
            f"  {'ok  ' if good else 'FAIL'} each of the {len(due)} subscriptions due invoiced "
            f"exactly once for its period: {once} once, {more} more than once, "
            f"{len(missing)} not invoiced {missing[:5]}"
        )
        cr.execute(
            f"SELECT count(*) FROM depanssur_subscription WHERE state IN {RUNNING} "
            "AND next_billing_date <= CURRENT_DATE"
        )
        left = cr.fetchone()[0]
        cr.execute(
            "SELECT count(*) FROM depanssur_subscription "
            "WHERE state = 'carence' AND carence_end_date <= CURRENT_DATE"
        )
        waiting = cr.fetchone()[0]
        good = not left and not waiting
        ok &= good
        out(
            f"  {'ok  ' if good else 'FAIL'} nothing left due: {left} subscriptions to invoice, "
            f"{waiting} waiting periods to end (of {carence} before the first run)"
        )
        cr.execute(
            "SELECT state, count(*), sum(retry) - count(*) FROM queue_job WHERE id > %s GROUP BY 1",
            (marks["job"],),
        )
        states = {state: (count, retries) for state, count, retries in cr.fetchall()}
        bad = sum(count for state, (count, _r) in states.items() if state != "done")
        ok &= bad == 0
        out(
            f"  {'ok  ' if bad == 0 else 'FAIL'} the run's jobs: "
            + ", ".join(
                f"{state} {count} (retried {r} times)" for state, (count, r) in states.items()
            )
        )
        cr.execute(
            "SELECT worker_pid, count(*) FROM queue_job WHERE id > %s AND state = 'done' "
            "GROUP BY 1",
            (marks["job"],),
        )
        per_node = {}
        for pid, count in cr.fetchall():
            name = next((node.name for node in nodes if pid in node.cpu), f"pid {pid}")
            per_node[name] = per_node.get(name, 0) + count
        out(f"  jobs run per node: {per_node}")
        cr.execute(
            "SELECT exc_message FROM queue_job WHERE id > %s AND state != 'done' LIMIT 3",
            (marks["job"],),
        )
        for (message,) in cr.fetchall():
            out(f"    {message}")
    return ok


def run_once(copy, steps, nodes, due, carence, first):
    marks = markers(copy)
    after = last_trace_id(copy)
    for node in nodes:
        node.reset()
    busy = machine_busy_seconds()
    trigger_on_both(nodes)(copy)
    seconds = wait_until(copy, DAILY_DONE % {"steps": steps, "after": after}, 7200, nodes)
    busy = machine_busy_seconds() - busy
    time.sleep(5)  # nothing may start again once the run is complete
    with environment(copy) as env:
        traces = daily_traces(env, after)
    cpu = " + ".join(f"{node.cpu_seconds():.0f}" for node in nodes)
    out(
        f"  {seconds:.1f} s wall ({uptime()}); Odoo's CPU per node {cpu} s, the whole machine "
        f"{busy:.0f} busy CPU s of {2 * seconds:.0f}"
    )
    print_traces(traces)
    extra = len(traces) - steps
    ok = extra == 0
    out(f"  {'ok  ' if ok else 'FAIL'} one trace per step: {len(traces)} for {steps} steps")
    return check(copy, marks, due, carence, nodes, first) and ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--prefix", default="h_bench")
    parser.add_argument("--job-workers", type=int, default=2, help="the job channel's capacity")
    parser.add_argument("--keep", action="store_true", help="keep the copy (to inspect it)")
    args = parser.parse_args()
    with environment(args.db) as env:
        steps = len(env["depanssur.jobs"]._steps("daily", datetime.now().date()))
        env.cr.execute("SELECT count(*) FROM depanssur_subscription")
        book = env.cr.fetchone()[0]
    import odoo.sql_db

    odoo.sql_db.close_db(args.db)
    copy = f"{args.prefix}_2n"
    copy_database(args.db, copy)
    due, carence = prepare(copy)
    nodes = [
        Node(copy, port, args.job_workers, runner_port=DISPATCHER_PORT, name=f"node {index}")
        for index, port in enumerate(PORTS, 1)
    ]
    balancer = dispatcher(nodes)
    ok = True
    try:
        for node in nodes:
            node.start()
        time.sleep(10)  # the runners elect their master
        masters = [node.name for node in nodes if "ready for db" in node.log.read_text()]
        out(
            f"two nodes on {copy} ({book} subscriptions), channel root:{args.job_workers}; "
            f"active job runner: {', '.join(masters) or 'none yet'} (the other waits on "
            f"queue_job's advisory lock); {uptime()}"
        )
        for first, title in ((True, "first run"), (False, "second run of the same day")):
            before = footprint(copy)
            out(f"daily run on both nodes, {title}:")
            ok &= run_once(copy, steps, nodes, due, carence, first)
            after = footprint(copy)
            if first:
                for name, value in after.items():
                    out(f"    {name:<28} {before[name]} -> {value}")
            else:
                changed = {
                    name: (before[name], v) for name, v in after.items() if v != before[name]
                }
                ok &= not changed
                out(
                    f"  {'ok  ' if not changed else 'FAIL'} the second run changed nothing more"
                    + (f": {changed}" if changed else "")
                )
        out(f"  job calls dispatched per node: {balancer.sent}")
        out(
            "  peak RSS per node: " + ", ".join(f"{n.name} {n.peak_rss_mb():.0f} MB" for n in nodes)
        )
    finally:
        balancer.shutdown()
        for node in nodes:
            node.stop()
        odoo.sql_db.close_db(copy)
        if not args.keep:
            drop_database(copy)
    out(f"all checks passed: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
