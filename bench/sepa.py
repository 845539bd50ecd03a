#!/usr/bin/env python3
"""The monthly SEPA debit order over a seeded book: time and peak memory.

    python3 bench/seed.py --subscriptions 10000 --db depanssur_bench_10k
    python3 bench/sepa.py --db depanssur_bench_10k [--debits 10000]

In one rolled-back transaction (repeatable): a SEPA bank journal and payment mode, one signed
mandate per subscription (``--debits`` of them, all by default), their latest invoice set back
to unpaid with its debit date tomorrow (set-based SQL, not timed), then the "Direct debit
orders" step of the daily run, timed: the order, its payment lines and payments, the pain.008
file written and checked against the XSD by the OCA module. The same file is then built and
validated again alone (``generate_payment_file``), and the XSD check alone, as the floors of
the ratio printed.
"""

import argparse
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_DB, Timer, environment, out, peak_rss_mb


def iban_fr(i):
    bban = f"30006{i % 100000:05d}{i:011d}{i % 97:02d}"
    digits = "".join(str(int(c, 36)) for c in bban + "FR00")
    return f"FR{98 - int(digits) % 97:02d}{bban}"


def setup_sepa(env):
    company = env.company
    company.sepa_creditor_identifier = "FR78ZZZ424242"
    bank = env["res.bank"].create({"name": "Banque Bench", "bic": "BNPAFRPPXXX"})
    account = env["res.partner.bank"].create(
        {
            "acc_number": "FR14 2004 1010 0505 0001 3M02 606",
            "bank_id": bank.id,
            "partner_id": company.partner_id.id,
            "company_id": company.id,
        }
    )
    outstanding = env["account.account"].create(
        {
            "code": "511901",
            "name": "SEPA bench",
            "account_type": "asset_current",
            "reconcile": True,
        }
    )
    sdd = env.ref("account_banking_sepa_direct_debit.sepa_direct_debit")
    journal = env["account.journal"].create(
        {
            "name": "SEPA bench",
            "type": "bank",
            "code": "SDDX",
            "bank_account_id": account.id,
            "inbound_payment_method_line_ids": [
                (0, 0, {"payment_method_id": sdd.id, "payment_account_id": outstanding.id})
            ],
        }
    )
    mode = env["account.payment.mode"].create(
        {
            "name": "SEPA bench",
            "company_id": company.id,
            "payment_method_id": sdd.id,
            "bank_account_link": "fixed",
            "fixed_journal_id": journal.id,
        }
    )
    company.depanssur_sepa_payment_mode_id = mode
    return mode


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--debits", type=int, default=0, help="0: every running subscription")
    args = parser.parse_args()
    with environment(args.db) as env:
        from lxml import etree
        from odoo import fields
        from odoo.tools.misc import file_path

        env = env(context=dict(env.context, tracking_disable=True, mail_notrack=True))
        today = fields.Date.today()
        tomorrow = today + timedelta(days=1)
        mode = setup_sepa(env)
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
            quiet = {"mail_create_nolog": True}
            banks = (
                env["res.partner.bank"]
                .with_context(**quiet)
                .create(
                    [
                        {
                            "partner_id": partner,
                            "acc_number": iban_fr(i),
                            "company_id": env.company.id,
                        }
                        for i, (_sub, partner, _move) in enumerate(rows, start=1)
                    ]
                )
            )
            mandates = (
                env["account.banking.mandate"]
                .with_context(**quiet)
                .create(
                    [
                        {
                            "format": "sepa",
                            "type": "recurrent",
                            "recurrent_sequence_type": "first",
                            "partner_bank_id": bank.id,
                            "signature_date": today - timedelta(days=40),
                            "state": "valid",
                            "depanssur_channel": "web",
                        }
                        for bank in banks
                    ]
                )
            )
            env.flush_all()
            values = [
                (sub, mandate, move)
                for (sub, _partner, move), mandate in zip(rows, mandates.ids, strict=True)
            ]
            env.cr.execute(
                "CREATE TEMP TABLE bench_sepa (sub int, mandate int, move int) ON COMMIT DROP"
            )
            env.cr.execute(
                "INSERT INTO bench_sepa VALUES " + ",".join(["%s"] * len(values)), values
            )
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
        out(
            f"set-up (not timed below): {len(rows)} mandates and unpaid invoices, {setup.seconds:.1f} s"
        )
        rss_before = peak_rss_mb()
        with Timer() as timer:
            orders = env["account.payment.order"]._cron_depanssur_collect(today)
        lines = sum(len(order.payment_line_ids) for order in orders)
        out(
            f"debit order step: {len(orders)} order(s), {lines} debits, "
            f"{timer.seconds:.1f} s wall ({lines / max(timer.seconds, 1e-9):.0f} debits/s), "
            f"peak RSS {peak_rss_mb():.0f} MB (before {rss_before:.0f} MB)"
        )
        order = orders[:1]
        if not order:
            return
        with Timer() as pain:
            xml, _name = order.generate_payment_file()
        schema = etree.XMLSchema(
            etree.parse(file_path("account_banking_sepa_direct_debit/data/pain.008.001.02.xsd"))
        )
        with Timer() as xsd:
            schema.assertValid(etree.fromstring(xml))
        out(
            f"  pain.008 alone (OCA generate + XSD check): {pain.seconds:.1f} s, "
            f"{len(xml) / 1e6:.1f} MB; XSD check alone {xsd.seconds:.2f} s"
        )
        out(
            f"  ratio: whole step / pain.008 file = {timer.seconds / max(pain.seconds, 1e-9):.1f}x "
            "(the rest is Odoo's payment lines, payments and their sequence numbers)"
        )


if __name__ == "__main__":
    main()
