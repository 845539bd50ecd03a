#!/usr/bin/env python3
"""The monthly SEPA debit order over a seeded book: time and peak memory.

    python3 bench/seed.py --subscriptions 10000 --db depanssur_bench_10k
    python3 bench/sepa.py --db depanssur_bench_10k [--debits 10000]
    # big books: the set-up committed once on a copy, then the step alone (its own peak memory)
    python3 bench/sepa.py --db h_sepa_100k --setup commit
    python3 bench/sepa.py --db h_sepa_100k --setup skip

Set-up (not timed): a SEPA bank journal and payment mode (``depanssur.tools.sepa_setup``, the
tests' set-up), one bank account and signed mandate per running subscription (``--debits`` of
them, all by default), their latest invoice set back to unpaid with its debit date tomorrow, all
set-based in SQL (100 000 in about 35 s).
``--setup rollback`` (default) does it in the step's transaction; ``commit`` commits it and
stops (run it on a copy of a bench database); ``skip`` uses a committed one.

Then the "Direct debit orders" step of the daily run (the debits split into orders of at most
``--max-debits``, the company's "Debits per bank file" by default), timed phase by phase, each
with its own peak RSS, as the job queue runs
it (docs/sepa.md): the mandates and the draft order; the batches of 500 mandates (payment lines
and payments in bulk), each with a fresh cache as a job; the finish (the order confirmed, the
pain.008 written and checked against the XSD by the OCA module). The step is rolled back
(repeatable). The same file is then built and validated again alone (``generate_payment_file``)
as the floor of the ratio printed, and the XSD check alone. ``uptime`` is printed before and
after: the machine may be shared.
"""

import argparse
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    DEFAULT_DB,
    Timer,
    current_peak_rss_mb,
    environment,
    out,
    peak_rss_mb,
    reset_peak_rss,
)


def iban_fr(i):
    bban = f"30006{i % 100000:05d}{i:011d}{i % 97:02d}"
    digits = "".join(str(int(c, 36)) for c in bban + "FR00")
    return f"FR{98 - int(digits) % 97:02d}{bban}"


def uptime():
    return subprocess.run(["uptime"], check=False, capture_output=True, text=True).stdout.strip()


def set_up(env, mode, rows, today):
    """Every subscription of ``rows`` paid by a signed mandate, its invoice to debit tomorrow.

    Set-based, like the seed: the bank accounts and mandates are inserted as the ORM would
    store them (valid IBANs, a unique mandate reference each, signed 40 days ago, first
    debit), 100 000 in seconds instead of the ORM's hours (its per-record sequence numbers and
    IBAN checks are not what this benchmark measures)."""
    tomorrow = today + timedelta(days=1)
    ibans = [(i, partner, iban_fr(i)) for i, (_sub, partner, _move) in enumerate(rows, start=1)]
    env.cr.execute("CREATE TEMP TABLE bench_bank (i int, partner int, iban text) ON COMMIT DROP")
    for index in range(0, len(ibans), 10000):
        chunk = ibans[index : index + 10000]
        env.cr.execute("INSERT INTO bench_bank VALUES " + ",".join(["%s"] * len(chunk)), chunk)
    env.cr.execute(
        """
        CREATE TEMP TABLE bench_mandate ON COMMIT DROP AS
        WITH bank AS (
            INSERT INTO res_partner_bank (partner_id, acc_number, sanitized_acc_number,
                                          company_id, active, allow_out_payment, sequence,
                                          create_uid, write_uid, create_date, write_date)
            SELECT partner, iban, iban, %(company)s, true, false, 10, 1, 1, now(), now()
              FROM bench_bank ORDER BY i
            RETURNING id, partner_id
        )
        SELECT bank.id AS bank, bank.partner_id AS partner,
               nextval('account_banking_mandate_id_seq') AS mandate
          FROM bank;
        INSERT INTO account_banking_mandate (id, partner_bank_id, partner_id, company_id,
                    format, type, recurrent_sequence_type, scheme, unique_mandate_reference,
                    display_name, state, signature_date, is_sent, depanssur_channel,
                    create_uid, write_uid, create_date, write_date)
        SELECT mandate, bank, partner, %(company)s, 'sepa', 'recurrent', 'first', 'CORE',
               'BENCH' || mandate, 'BENCH' || mandate, 'valid', %(signed)s, false, 'web',
               1, 1, now(), now()
          FROM bench_mandate;
        """,
        {"company": env.company.id, "signed": today - timedelta(days=40)},
    )
    env.cr.execute("SELECT partner, mandate FROM bench_mandate")
    mandate_of = dict(env.cr.fetchall())
    values = [(sub, mandate_of[partner], move) for sub, partner, move in rows]
    env.cr.execute("CREATE TEMP TABLE bench_sepa (sub int, mandate int, move int) ON COMMIT DROP")
    for index in range(0, len(values), 10000):
        chunk = values[index : index + 10000]
        env.cr.execute("INSERT INTO bench_sepa VALUES " + ",".join(["%s"] * len(chunk)), chunk)
    env.cr.execute(
        """
        UPDATE depanssur_subscription s SET payment_method = 'sepa', mandate_id = b.mandate
          FROM bench_sepa b WHERE s.id = b.sub;
        UPDATE account_move m
           SET payment_state = 'not_paid', amount_residual = m.amount_total,
               amount_residual_signed = m.amount_total, payment_mode_id = %(mode)s,
               mandate_id = b.mandate, depanssur_debit_date = %(tomorrow)s,
               invoice_date_due = %(tomorrow)s
          FROM bench_sepa b WHERE m.id = b.move;
        UPDATE account_move_line l
           SET amount_residual = l.balance, amount_residual_currency = l.amount_currency,
               reconciled = false, payment_mode_id = %(mode)s, date_maturity = %(tomorrow)s
          FROM bench_sepa b
         WHERE l.move_id = b.move AND l.display_type = 'payment_term';
        """,
        {"mode": mode.id, "tomorrow": tomorrow},
    )
    env.invalidate_all()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--debits", type=int, default=0, help="0: every running subscription")
    parser.add_argument("--setup", choices=("rollback", "commit", "skip"), default="rollback")
    parser.add_argument(
        "--max-debits",
        type=int,
        default=None,
        help="the company's debits per bank file for this run (default: as configured)",
    )
    args = parser.parse_args()
    out(f"uptime before: {uptime()}")
    with environment(args.db, commit=args.setup == "commit") as env:
        from lxml import etree
        from odoo import fields
        from odoo.addons.depanssur.models.account_payment_order import COLLECT_BATCH_SIZE
        from odoo.addons.depanssur.models.batching import batched
        from odoo.addons.depanssur.tools.sepa_setup import setup_sepa
        from odoo.tools.misc import file_path

        env = env(context=dict(env.context, tracking_disable=True, mail_notrack=True))
        today = fields.Date.today()
        if args.setup != "skip":
            mode = setup_sepa(env, code="SDDX", account_code="511901", name="SEPA bench")
            env.cr.execute(
                """
                SELECT DISTINCT ON (s.id) s.id, s.partner_id, m.id
                  FROM depanssur_subscription s
                  JOIN account_move m ON m.depanssur_subscription_id = s.id
                                     AND m.move_type = 'out_invoice' AND m.state = 'posted'
                 WHERE s.state IN ('carence', 'active', 'suspended')
                 ORDER BY s.id, m.invoice_date DESC
                """
            )
            rows = env.cr.fetchall()
            if args.debits:
                rows = rows[: args.debits]
            with Timer() as setup:
                set_up(env, mode, rows, today)
            out(
                f"set-up (not timed below): {len(rows)} mandates and unpaid invoices, "
                f"{setup.seconds:.1f} s"
            )
            if args.setup == "commit":
                out("set-up committed; run again with --setup skip")
                return
        if args.max_debits is not None:
            env.company.depanssur_sepa_max_debits = args.max_debits
        out(f"debits per bank file: {env.company.depanssur_sepa_max_debits or 'no limit'}")
        Order = env["account.payment.order"].with_context(date=str(today))
        rss_before = peak_rss_mb()
        # each phase's own peak (VmHWM reset before it): what the process running it as a job
        # (the coordinator, a batch's job worker, the finish's) needs
        peaks = {}
        with Timer() as timer:
            reset_peak_rss()
            with Timer() as phase1:
                mandates = Order._depanssur_collect_mandates(today)
            peaks["mandates"] = current_peak_rss_mb()
            env.invalidate_all()
            reset_peak_rss()
            with Timer() as phase2:
                for batch in batched(mandates, COLLECT_BATCH_SIZE):
                    Order._depanssur_collect_batch(batch, today)
                    env.flush_all()
                    env.invalidate_all()  # a job's fresh cache
            peaks["batches"] = current_peak_rss_mb()
            reset_peak_rss()
            with Timer() as phase3:
                orders = Order._depanssur_collect_finish(today)
            peaks["finish"] = current_peak_rss_mb()
        env.invalidate_all()
        per_order = [
            (
                env["account.payment.line"].search_count([("order_id", "=", order_id)]),
                env["account.payment"].search_count([("payment_order_id", "=", order_id)]),
            )
            for order_id in orders.ids
        ]
        lines = sum(count for count, _payments in per_order)
        payments = sum(count for _lines, count in per_order)
        out(
            f"debit order step: {len(orders)} order(s), {lines} debits, {payments} payments, "
            f"{timer.seconds:.1f} s wall ({lines / max(timer.seconds, 1e-9):.0f} debits/s), "
            f"peak RSS {peak_rss_mb():.0f} MB (before the step {rss_before:.0f} MB)"
        )
        out(
            f"  phases: mandates + draft order {phase1.seconds:.1f} s (peak RSS "
            f"{peaks['mandates']:.0f} MB); {-(-len(mandates) // COLLECT_BATCH_SIZE)} batch(es) of "
            f"{COLLECT_BATCH_SIZE} {phase2.seconds:.1f} s (peak {peaks['batches']:.0f} MB); finish "
            f"(confirm + pain.008 + XSD) {phase3.seconds:.1f} s (peak {peaks['finish']:.0f} MB)"
        )
        out(f"  debits per order: {sorted(count for count, _payments in per_order)}")
        out(f"uptime after the step: {uptime()}")
        if not orders:
            return
        schema = etree.XMLSchema(
            etree.parse(file_path("account_banking_sepa_direct_debit/data/pain.008.001.02.xsd"))
        )
        # the floor: the same files built and checked again, alone
        pain_seconds = xsd_seconds = size = 0
        for order_id in orders.ids:
            env.invalidate_all()
            order = env["account.payment.order"].browse(order_id)  # alone in its prefetch set
            with Timer() as pain:
                xml, _name = order.generate_payment_file()
            with Timer() as xsd:
                schema.assertValid(etree.fromstring(xml))
            pain_seconds += pain.seconds
            xsd_seconds += xsd.seconds
            size += len(xml)
        out(
            f"  pain.008 alone (OCA generate + XSD check), {len(orders)} file(s): "
            f"{pain_seconds:.1f} s, {size / 1e6:.1f} MB; XSD check alone {xsd_seconds:.2f} s"
        )
        out(
            f"  ratio: whole step / pain.008 files = {timer.seconds / max(pain_seconds, 1e-9):.1f}x "
            "(the rest is the payment lines and payments)"
        )


if __name__ == "__main__":
    main()
