#!/usr/bin/env python3
"""Webhook ingestion under load, against a do-nothing Odoo route measured in the same run.

    python3 bench/seed.py && python3 bench/webhook.py [--events 2000] [--concurrency 8]

Starts Odoo with --workers=2 on the bench database, posts signed events from a bounded load
generator on loopback (10 % of deliveries repeated, 10 % sent out of order), then the same number
of requests to /web/health (auth='none') as the baseline. Prints accepted events/s, the ratio,
p50/p99 accept latency, then drains the inbox with the processing job and checks that no effect
was lost or duplicated.
"""

import argparse
import json
import random
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import conftest  # noqa: F401
from common import DEFAULT_DB, ROOT, Timer, environment, out

from depanssur.rules.webhook_signature import sign

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PORT = 8071


def build_deliveries(count, subscriptions, seed):
    rng = random.Random(seed)
    base = datetime.now(tz=timezone.utc) - timedelta(hours=1)
    events = []
    created = count // 2
    for index in range(created):
        external = f"BENCH-{seed}-{index}"
        events.append(
            (
                "dossier.created",
                {
                    "external_id": external,
                    "subscription": rng.choice(subscriptions),
                    "category": "plumbing",
                    "incident_date": (base - timedelta(days=1)).date().isoformat(),
                    "estimated_cost": "150.00",
                },
                base + timedelta(seconds=index),
            )
        )
        events.append(
            (
                "nps.responded",
                {"external_id": external, "score": rng.randint(0, 10)},
                base + timedelta(seconds=index, milliseconds=500),
            )
        )
    deliveries = [
        (
            f"msg_{seed}_{i}",
            {"type": t, "occurred_at": at.isoformat().replace("+00:00", "Z"), "data": d},
        )
        for i, (t, d, at) in enumerate(events[:count])
    ]
    # 10 % sent out of order: swap neighbours
    for _ in range(len(deliveries) // 10):
        i = rng.randrange(len(deliveries) - 1)
        deliveries[i], deliveries[i + 1] = deliveries[i + 1], deliveries[i]
    # 10 % repeated (same webhook-id: the sender retries)
    deliveries += rng.sample(deliveries, len(deliveries) // 10)
    return deliveries


def post(session, url, msg_id, envelope):
    body = json.dumps(envelope).encode()
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(SECRET, msg_id, stamp, body),
    }
    start = time.perf_counter()
    response = session.post(url, data=body, headers=headers, timeout=30)
    return response.status_code, time.perf_counter() - start


def load(function, jobs, concurrency):
    sessions = [requests.Session() for _ in range(concurrency)]
    with Timer() as timer, ThreadPoolExecutor(concurrency) as pool:
        results = list(
            pool.map(lambda ij: function(sessions[ij[0] % concurrency], *ij[1]), enumerate(jobs))
        )
    return results, timer.seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    with environment(args.db, commit=True) as env:
        Secret = env["depanssur.webhook.secret"]
        if not Secret.search([("secret", "=", SECRET)]):
            Secret.create({"name": "bench", "secret": SECRET})
        env.cr.execute("SELECT name FROM depanssur_subscription WHERE state = 'active' LIMIT 500")
        subscriptions = [row[0] for row in env.cr.fetchall()]
    server = subprocess.Popen(
        [
            "bash",
            "-c",
            f"source {ROOT}/scripts/lib.sh && odoo_cmd -d {args.db} "
            f"--db-filter=^{args.db}$ --workers=2 --max-cron-threads=0 --http-interface=127.0.0.1 "
            f"--http-port={PORT} --log-level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(120):
            try:
                if requests.get(f"http://127.0.0.1:{PORT}/web/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        deliveries = build_deliveries(args.events, subscriptions, args.seed)
        url = f"http://127.0.0.1:{PORT}/depanssur/webhook"
        load(lambda s, m, e: post(s, url, m, e), deliveries[:50], args.concurrency)  # warm-up
        deliveries = deliveries[50:]
        results, seconds = load(lambda s, m, e: post(s, url, m, e), deliveries, args.concurrency)
        codes = [code for code, _ in results]
        latencies = sorted(latency for code, latency in results if code == 202)
        health = f"http://127.0.0.1:{PORT}/web/health"
        base_results, base_seconds = load(
            lambda s, *_: (s.get(health, timeout=30).status_code, 0), deliveries, args.concurrency
        )
        accepted = codes.count(202)
        ours_rate = len(deliveries) / seconds
        base_rate = len(base_results) / base_seconds
        out(f"{len(deliveries)} deliveries, {args.concurrency} concurrent, Odoo --workers=2")
        out(
            f"  answers: {accepted} x 202, {codes.count(200)} x 200 (duplicates), "
            f"{len([c for c in codes if c >= 400])} x 4xx/5xx"
        )
        out(
            f"  webhook: {ours_rate:,.0f} requests/s; do-nothing /web/health: {base_rate:,.0f} "
            f"requests/s; ratio {ours_rate / base_rate:.2f} (target >= 0.8)"
        )
        if latencies:
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            out(
                f"  accept latency p50 {statistics.median(latencies) * 1000:.0f} ms, "
                f"p99 {p99 * 1000:.0f} ms (target < 250 ms)"
            )
    finally:
        import os

        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    with environment(args.db, commit=True) as env:
        Event = env["depanssur.webhook.event"]
        pending = Event.search_count([("state", "=", "received")])
        with Timer() as drain:
            Event._cron_process(batch_size=500)
        out(
            f"  processing: {pending} events in {drain.seconds:.1f} s = "
            f"{pending / drain.seconds:,.0f} events/s (target >= 1000/s)"
        )
        env.cr.execute(
            "SELECT count(*), count(DISTINCT external_id) FROM depanssur_dossier "
            "WHERE external_id LIKE %s",
            (f"BENCH-{args.seed}-%",),
        )
        dossiers, distinct = env.cr.fetchone()
        env.cr.execute("SELECT state, count(*) FROM depanssur_webhook_event GROUP BY 1")
        out(
            f"  effects: {dossiers} claim files for {distinct} distinct ids "
            f"(duplicates: {dossiers - distinct}); events by state {dict(env.cr.fetchall())}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
