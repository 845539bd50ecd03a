#!/usr/bin/env python3
"""The daily run and webhook processing on OCA queue_job, through the real runners, 1 vs 2 job
workers; invoicing vs Odoo's own account.move create + post of the same invoices.

    python3 bench/seed.py --subscriptions 5000 --db depanssur_bench_5k
    python3 bench/scale.py --db depanssur_bench_5k [--events 400] [--profile]

1. For 1 then 2 job workers: a copy of the seeded database (``CREATE DATABASE ... TEMPLATE``:
   every measurement starts from the same book), Odoo served with ``--workers=2``, one cron
   thread and queue_job's runner (``server_wide_modules`` ``base,web,queue_job``,
   ``ODOO_QUEUE_JOB_CHANNELS=root:N``). The daily cron is triggered (``ir.cron._trigger``: the
   cron thread runs it, the coordinator enqueues each step, the runner sends the jobs to the
   workers) and timed until every step of the run is traced done or failed. Then ``--events``
   webhook events (one ``dossier.created`` then one ``nps.responded`` per claim file) are accepted
   and the webhook cron triggered, timed until every event is processed; the per-file ordering
   is checked on the result (every NPS answer on its claim file, no event failed or ignored).
2. In one process, on the seeded database (rolled back): one batch of 200 subscriptions invoiced
   by the addon (``_invoice_due_periods``) vs ``account.move`` ``create`` + ``action_post`` of the
   same invoice values (same lines, taxes, partners, company, context), best of 3 each; with
   ``--profile``, the addon's batch under cProfile (the 25 costliest functions).
"""

import argparse
import copy
import cProfile
import io
import os
import pstats
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_DB, ROOT, Timer, environment, out, shell

PORT = 8075
BATCH = 200


def copy_database(db, copy):
    """``copy`` as a fresh copy of ``db`` and its filestore (scripts/lib.sh ``db_copy``)."""
    drop_database(copy)
    shell(f"db_copy {db} {copy}")


def drop_database(db):
    shell(f'psql_local -c "DROP DATABASE IF EXISTS \\"{db}\\" WITH (FORCE)" && db_drop {db}')


def quiet_crons(db):
    """On a benchmark copy: the daily and weekly runs start only when the benchmark triggers
    them (not at the server's start), and the mail and SMS queues stay in the database (no SMTP
    server or SMS provider here; the checks read the queued messages)."""
    with environment(db, commit=True) as env:
        later = datetime.now() + timedelta(days=30)
        for xmlid in ("depanssur.ir_cron_depanssur_daily", "depanssur.ir_cron_depanssur_weekly"):
            env.ref(xmlid).nextcall = later
        for xmlid in ("mail.ir_cron_mail_scheduler_action", "sms.ir_cron_sms_scheduler_action"):
            cron = env.ref(xmlid, raise_if_not_found=False)
            if cron:
                cron.active = False
    import odoo.sql_db

    odoo.sql_db.close_db(db)


def _proc_stat(pid):
    """(session id, user+system CPU seconds, peak RSS MB) of ``pid``, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/status") as status:
            hwm = next((line for line in status if line.startswith("VmHWM:")), "VmHWM: 0 kB")
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[3]), (int(fields[11]) + int(fields[12])) / ticks, int(hwm.split()[1]) / 1024


def machine_busy_seconds():
    """CPU seconds the whole machine spent busy since boot (every process, every helper)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class Node:
    """One served Odoo (prefork workers, one cron worker, queue_job's runner) on ``port``.

    ``runner_port``: where its job runner sends the jobs (``ODOO_QUEUE_JOB_PORT``; the node
    itself by default, a load balancer in front of several nodes otherwise). ``sample()``
    records the CPU time and peak RSS (VmHWM) of every process of the node, and which worker
    pids are its own (queue_job stores the ``worker_pid`` that ran each job).
    """

    def __init__(self, db, port, job_workers, runner_port=None, name=None):
        self.db = db
        self.port = port
        self.name = name or f"node:{port}"
        self.job_workers = job_workers
        self.runner_port = runner_port or port
        self.log = Path(f"/tmp/{db}_{port}.log")
        self.server = None
        self.cpu = {}
        self.rss = {}
        self.titles = {}

    def start(self):
        env = dict(
            os.environ,
            ODOO_QUEUE_JOB_CHANNELS=f"root:{self.job_workers}",
            ODOO_QUEUE_JOB_HOST="127.0.0.1",
            ODOO_QUEUE_JOB_PORT=str(self.runner_port),
        )
        # HTTP workers: the channel's capacity (each job holds a worker) plus one
        workers = self.job_workers + 1
        with open(self.log, "w") as log:
            self.server = subprocess.Popen(
                [
                    "bash",
                    "-c",
                    f"source {ROOT}/scripts/lib.sh && exec $PYTHON $(odoo_launcher) "
                    f"-d {self.db} --db-filter=^{self.db}$ "
                    f"--load=base,web,queue_job --workers={workers} --max-cron-threads=1 "
                    "--limit-time-real=1800 --limit-time-cpu=1800 --http-interface=127.0.0.1 "
                    f"--http-port={self.port} --gevent-port={self.port + 1} "
                    "--log-level=warn --log-handler=odoo.addons.queue_job.jobrunner:INFO "
                    "--log-handler=odoo.addons.rpc.controllers.xmlrpc:ERROR "
                    '--addons-path="$(odoo_addons_path)" --db_host="$PGHOST_LOCAL" '
                    '--db_port="$PGPORT_LOCAL" --db_user="$PG_SUPERUSER" '
                    '--data-dir="$ODOO_DATA_DIR"',
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/web/health", timeout=30).ok:
                    self.sample()
                    return self
            except requests.RequestException:
                time.sleep(1)
        self.stop()
        raise RuntimeError(f"the served Odoo {self.name} did not start (see {self.log})")

    def stop(self):
        if not self.server:
            return
        self.sample()
        os.killpg(self.server.pid, signal.SIGTERM)
        try:
            self.server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait(timeout=10)
        self.server = None

    def sample(self):
        if not self.server:
            return
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            stat = _proc_stat(int(entry))
            if stat and stat[0] == self.server.pid:
                self.cpu[int(entry)] = stat[1]
                self.rss[int(entry)] = max(self.rss.get(int(entry), 0), stat[2])
                if int(entry) not in self.titles:
                    self.titles[int(entry)] = _proc_title(int(entry))

    def reset(self):
        """Start counting CPU from now (keeps the pids seen)."""
        self.sample()
        self.cpu_base = dict(self.cpu)

    def cpu_seconds(self):
        base = getattr(self, "cpu_base", {})
        return sum(value - base.get(pid, 0) for pid, value in self.cpu.items())

    def peak_rss_mb(self):
        return max(self.rss.values(), default=0)

    def peak_rss_by_process(self):
        """``[(peak MB, queue_job jobs run, process title)]``, largest first: which process
        holds the peak (the cron worker coordinating, an HTTP worker running jobs, ...)."""
        jobs = {}
        with environment(self.db) as env:
            env.cr.execute(
                "SELECT worker_pid, count(*) FROM queue_job WHERE worker_pid IS NOT NULL GROUP BY 1"
            )
            jobs = dict(env.cr.fetchall())
        return sorted(
            ((rss, jobs.get(pid, 0), self.titles.get(pid, "?")) for pid, rss in self.rss.items()),
            reverse=True,
        )


def _proc_title(pid):
    """The process title Odoo gives itself (``odoo: cron worker``, ...), or its command."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()[:60]
    except OSError:
        return "?"


def uptime():
    """The load averages (1, 5, 15 min) of the machine, as ``uptime`` prints them."""
    with open("/proc/loadavg") as loadavg:
        return "load average " + ", ".join(loadavg.read().split()[:3])


def wait_until(db, query, timeout, nodes=()):
    """Poll ``query`` (one boolean) on ``db`` until true, sampling the ``nodes``' processes;
    the seconds it took."""
    import odoo.sql_db

    start = time.perf_counter()
    with odoo.sql_db.db_connect(db).cursor() as cr:
        while time.perf_counter() - start < timeout:
            cr.execute(query)
            if cr.fetchone()[0]:
                for node in nodes:
                    node.sample()
                return time.perf_counter() - start
            cr.rollback()
            for node in nodes:
                node.sample()
            time.sleep(0.5)
    raise TimeoutError(f"not done after {timeout} s: {query}")


DAILY_DONE = """
SELECT count(DISTINCT step) FILTER (WHERE state IN ('done', 'failed')) = %(steps)s
       AND count(*) FILTER (WHERE state NOT IN ('done', 'failed')) = 0
  FROM depanssur_job_run WHERE job = 'daily' AND id > %(after)s
"""
EVENTS_DONE = """
SELECT NOT EXISTS (SELECT 1 FROM depanssur_webhook_event WHERE state = 'received')
   AND NOT EXISTS (SELECT 1 FROM queue_job WHERE state NOT IN ('done', 'failed', 'cancelled'))
"""


def daily_traces(env, after):
    """The daily run's step traces written after trace id ``after``."""
    env.cr.execute(
        "SELECT step, state, record_count, job_count, duration FROM depanssur_job_run "
        "WHERE job = 'daily' AND id > %s ORDER BY id",
        (after,),
    )
    return env.cr.fetchall()


def last_trace_id(db):
    with environment(db) as env:
        env.cr.execute("SELECT coalesce(max(id), 0) FROM depanssur_job_run")
        return env.cr.fetchone()[0]


def trigger_daily(db):
    with environment(db, commit=True) as env:
        env.ref("depanssur.ir_cron_depanssur_daily")._trigger()


def daily_through_the_runner(copy, steps, nodes, trigger=trigger_daily):
    """Trigger the daily run and wait until each of its ``steps`` is traced done or failed;
    returns (seconds, traces, invoices, distinct (subscription, period) of those invoices)."""
    after = last_trace_id(copy)
    for node in nodes:
        node.reset()
    trigger(copy)
    seconds = wait_until(copy, DAILY_DONE % {"steps": steps, "after": after}, 7200, nodes)
    with environment(copy) as env:
        traces = daily_traces(env, after)
        env.cr.execute(
            "SELECT count(*), count(DISTINCT (depanssur_subscription_id, depanssur_period_start))"
            " FROM account_move WHERE depanssur_invoice_kind = 'period' AND create_date >= "
            "(SELECT min(started_at) FROM depanssur_job_run WHERE id > %s)",
            (after,),
        )
        invoices, distinct = env.cr.fetchone()
    return seconds, traces, invoices, distinct


def print_traces(traces):
    for step, state, records, jobs, duration in traces:
        out(f"    {step:<18} {state:<7} {records:>7} records {jobs:>4} jobs {duration:8.1f} s")


def webhooks_through_the_runner(copy, count, nodes=()):
    with environment(copy, commit=True) as env:
        Event = env["depanssur.webhook.event"]
        env.cr.execute("SELECT name FROM depanssur_subscription WHERE state = 'active' LIMIT 200")
        subscriptions = [row[0] for row in env.cr.fetchall()]
        base = datetime.now(tz=timezone.utc) - timedelta(hours=1)
        for index in range(count // 2):
            external = f"QBENCH-{index}"
            at = base + timedelta(seconds=index)
            # the newer event first: only the per-file ordering makes the NPS land
            Event._accept(
                f"msg_q_{index}_nps",
                "nps.responded",
                at + timedelta(milliseconds=500),
                {"data": {"external_id": external, "score": index % 11}},
            )
            Event._accept(
                f"msg_q_{index}_created",
                "dossier.created",
                at,
                {
                    "data": {
                        "external_id": external,
                        "subscription": subscriptions[index % len(subscriptions)],
                        "category": "plumbing",
                        "incident_date": (base - timedelta(days=1)).date().isoformat(),
                        "estimated_cost": "150.00",
                    }
                },
            )
        env.ref("depanssur.ir_cron_depanssur_webhook_process")._trigger()
    seconds = wait_until(copy, EVENTS_DONE, 3600, nodes)
    with environment(copy) as env:
        env.cr.execute(
            "SELECT state, count(*) FROM depanssur_webhook_event "
            "WHERE webhook_id LIKE 'msg_q_%%' GROUP BY 1"
        )
        states = dict(env.cr.fetchall())
        env.cr.execute(
            "SELECT count(*) FROM depanssur_dossier WHERE external_id LIKE 'QBENCH-%%' "
            "AND nps_date IS NOT NULL"
        )
        answered = env.cr.fetchone()[0]
        env.cr.execute(
            "SELECT webhook_id, error FROM depanssur_webhook_event "
            "WHERE webhook_id LIKE 'msg_q_%%' AND state = 'failed' LIMIT 5"
        )
        for webhook_id, error in env.cr.fetchall():
            out(f"  failed event {webhook_id}: {(error or '').strip()[:300]}")
    return seconds, states, answered


def runner_measurements(args):
    with environment(args.db) as env:
        steps = len(env["depanssur.jobs"]._steps("daily", datetime.now().date()))
        env.cr.execute("SELECT count(*) FROM depanssur_subscription")
        book = env.cr.fetchone()[0]
    import odoo.sql_db

    odoo.sql_db.close_db(args.db)
    results = {}
    for workers in args.workers:
        copy = f"{args.prefix}_q{workers}"
        copy_database(args.db, copy)
        quiet_crons(copy)
        node = Node(copy, PORT, workers).start()
        try:
            out(f"{workers} job worker(s), {book} subscriptions; before: {uptime()}")
            busy = machine_busy_seconds()
            daily = daily_through_the_runner(copy, steps, [node])
            busy = machine_busy_seconds() - busy
            cpu, rss = node.cpu_seconds(), node.peak_rss_mb()
            out(f"  after the daily run: {uptime()}")
            for peak, jobs, title in node.peak_rss_by_process():
                out(f"    peak RSS {peak:.0f} MB, {jobs} jobs run: {title}")
            webhook = webhooks_through_the_runner(copy, args.events, [node])
        finally:
            node.stop()
            odoo.sql_db.close_db(copy)
            if not args.keep:
                drop_database(copy)
        results[workers] = (daily, webhook)
        seconds, traces, invoices, distinct = daily
        out(
            f"  daily run {seconds:.1f} s wall, {invoices} invoices; Odoo's processes "
            f"{cpu:.0f} CPU s, the whole machine {busy:.0f} busy CPU s of "
            f"{2 * seconds:.0f} (2 cores); peak RSS of the largest Odoo process {rss:.0f} MB; "
            f"{seconds / book * 100_000:.1f} s per 100k subscriptions"
        )
        print_traces(traces)
        out(f"  each subscription invoiced once per period: {invoices == distinct}")
        w_seconds, states, answered = webhook
        events = sum(states.values())
        out(
            f"  webhooks: {events} events in {w_seconds:.1f} s = {events / w_seconds:,.1f}/s; "
            f"states {states}; {answered}/{args.events // 2} claim files with their NPS answer "
            "(per-file ordering)"
        )
    if len(results) == 2:
        (one, two) = (results[w] for w in sorted(results))
        out(f"ratio daily run 1 worker / 2 workers: {one[0][0] / two[0][0]:.2f}x (target >= 1.7x)")
        out(
            f"ratio webhook processing 1 worker / 2 workers: {one[1][0] / two[1][0]:.2f}x "
            "(target >= 1.8x)"
        )


def invoicing_vs_account(args):
    with environment(args.db) as env:
        from odoo import fields

        Subscription = env["depanssur.subscription"].with_context(tracking_disable=True)
        day = fields.Date.today() + timedelta(days=31)
        # due by ``day`` and whose next period is not invoiced yet (both sides create them all)
        candidates = Subscription.search(
            [("state", "in", ("carence", "active", "suspended")), ("next_billing_date", "<=", day)],
            order="id",
        )
        env.cr.execute(
            "SELECT depanssur_subscription_id, depanssur_period_start FROM account_move "
            "WHERE depanssur_invoice_kind = 'period' AND state != 'cancel'"
        )
        existing = set(env.cr.fetchall())
        batch = Subscription
        vals_by_company = {}
        for subscription in candidates:
            start, end = subscription._period_bounds(subscription.next_billing_date)
            if (subscription.id, start) in existing or start > day:
                continue
            batch |= subscription
            # the values the addon would create, computed once, outside the timing
            vals_by_company.setdefault(subscription.company_id, []).append(
                subscription._prepare_invoice_vals(start, end)
            )
            if len(batch) == BATCH:
                break
        quiet = {"tracking_disable": True, "mail_create_nolog": True, "mail_notrack": True}
        Move = env["account.move"].sudo()

        def account():
            for company, vals_list in vals_by_company.items():
                moves = (
                    Move.with_company(company)
                    .with_context(**quiet)
                    .create(copy.deepcopy(vals_list))
                )
                moves.action_post()
            env.flush_all()

        def addon():
            batch._invoice_due_periods(day)
            env.flush_all()

        timings = {"account.move create + post": [], "depanssur _invoice_due_periods": []}
        for _round in range(3):
            for name, function in (
                ("account.move create + post", account),
                ("depanssur _invoice_due_periods", addon),
            ):
                env.invalidate_all()
                env.cr.execute("SAVEPOINT bench")
                with Timer() as timer:
                    function()
                timings[name].append(timer.seconds)
                env.cr.execute("ROLLBACK TO SAVEPOINT bench")
                env.invalidate_all()
                env.transaction.clear()
        count = sum(len(v) for v in vals_by_company.values())
        rates = {name: count / min(values) for name, values in timings.items()}
        for name, rate in rates.items():
            out(f"  {name:<32} {count} invoices, best {count / rate:.2f} s = {rate:,.0f}/s")
        ratio = rates["depanssur _invoice_due_periods"] / rates["account.move create + post"]
        out(f"ratio addon / Odoo's own create + post: {ratio:.2f} (target >= 0.8)")
        if args.profile:
            env.cr.execute("SAVEPOINT bench")
            profile = cProfile.Profile()
            profile.enable()
            addon()
            profile.disable()
            env.cr.execute("ROLLBACK TO SAVEPOINT bench")
            env.transaction.clear()
            stream = io.StringIO()
            pstats.Stats(profile, stream=stream).sort_stats("cumulative").print_stats(25)
            out(stream.getvalue())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--prefix", default="h_bench", help="name prefix of the database copies")
    parser.add_argument("--keep", action="store_true", help="keep the copies (to inspect them)")
    parser.add_argument("--skip-runner", action="store_true", help="only the invoicing ratio")
    parser.add_argument("--skip-invoicing", action="store_true", help="only the runners")
    args = parser.parse_args()
    if not args.skip_runner:
        runner_measurements(args)
    if not args.skip_invoicing:
        invoicing_vs_account(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
