#!/usr/bin/env python3
"""Seed a benchmark database with a realistic Depanssur book, set-based and reproducible.

    python3 bench/seed.py [--db depanssur_bench] [--subscriptions 100000] [--seed 42] [--months 12]

Clients and subscriptions (3 plans, start dates over two years), plan and address history,
coverage-year counters, claim files (one per two subscriptions) with covered amounts and NPS
answers, and the posted invoices of the last 12 months (``--months``; one per monthly period, with the sale
tax and the receivable; 3 % of the last 30 days' invoices unpaid, with their dunning cases at
the level their age reached). The day of the run is "today": ~3 % of the subscriptions are due
for invoicing, ~1 % end their waiting period, ~0.3 % reach their anniversary and ~500 dunning
steps fall due, as in the daily-run benchmark.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_DB, Timer, ensure_database, environment, out

SEED_SQL = """
-- deterministic pseudo-random numbers in [0, 1) from the row number and the seed
CREATE OR REPLACE FUNCTION pg_temp.rnd(i bigint, salt text) RETURNS float8 AS $$
    SELECT ('x' || substr(md5(i::text || salt || %(seed)s::text), 1, 8))::bit(32)::bigint
           / 4294967296.0
$$ LANGUAGE sql IMMUTABLE;

INSERT INTO res_partner (name, complete_name, first_name, last_name, street, zip, city,
                         mobile, phone_sanitized, email, email_normalized, active, type,
                         is_company, autopost_bills, lang, country_id,
                         create_date, write_date, create_uid, write_uid)
SELECT 'Client ' || i, 'Client ' || i, 'Prénom' || i, 'Nom' || i, i || ' rue de la Bench',
       lpad((69001 + (i %% 9))::text, 5, '0'), 'Lyon', '+336' || lpad((i %% 100000000)::text, 8, '0'),
       '+336' || lpad((i %% 100000000)::text, 8, '0'),
       'client' || i || '@bench.example', 'client' || i || '@bench.example', true, 'contact',
       false, 'ask', 'fr_FR', %(fr)s, now(), now(), 1, 1
  FROM generate_series(1, %(n)s) AS i;
UPDATE res_partner SET commercial_partner_id = id
 WHERE commercial_partner_id IS NULL AND email LIKE '%%@bench.example';

CREATE TEMP TABLE bench_client AS
SELECT row_number() OVER (ORDER BY id) AS i, id AS partner_id
  FROM res_partner WHERE email LIKE '%%@bench.example';

INSERT INTO depanssur_subscription (name, company_id, partner_id, partner_invoice_id,
        risk_address_id, plan_id, state, date_start, carence_end_date, anniversary_date,
        billing_period, next_billing_date, payment_method,
        create_date, write_date, create_uid, write_uid)
SELECT 'BEN/' || lpad(c.i::text, 7, '0'), %(company)s, c.partner_id, c.partner_id,
       c.partner_id, p.plan_id,
       CASE WHEN d.start + p.carence >= %(today)s THEN 'carence' ELSE 'active' END,
       d.start, d.start + p.carence, d.start, 'monthly',
       CASE WHEN pg_temp.rnd(c.i, 'due') < 0.03 THEN %(today)s::date
            ELSE %(today)s::date + 1 + (pg_temp.rnd(c.i, 'nb') * 27)::int END,
       'card', now(), now(), 1, 1
  FROM bench_client c
  CROSS JOIN LATERAL (
      SELECT CASE WHEN pg_temp.rnd(c.i, 'carence') < 0.01
                  THEN %(today)s::date - 30                         -- carence ends today
                  WHEN pg_temp.rnd(c.i, 'anniv') < 0.003
                  THEN (%(today)s::date - interval '1 year')::date  -- anniversary today
                  WHEN pg_temp.rnd(c.i, 'due') < 0.03               -- a billing period starts today
                  THEN (%(today)s::date
                        - make_interval(months => 2 + (pg_temp.rnd(c.i, 'start') * 20)::int))::date
                  ELSE %(today)s::date - 31 - (pg_temp.rnd(c.i, 'start') * 700)::int
             END AS start) d
  CROSS JOIN LATERAL (
      SELECT (ARRAY[%(plan1)s, %(plan2)s, %(plan3)s])[1 + (pg_temp.rnd(c.i, 'plan') * 3)::int %% 3]
             AS plan_id, 30 AS carence) p;

INSERT INTO depanssur_subscription_plan_period (subscription_id, company_id, plan_id, date_from,
                                                create_date, write_date, create_uid, write_uid)
SELECT id, company_id, plan_id, date_start, now(), now(), 1, 1
  FROM depanssur_subscription WHERE name LIKE 'BEN/%%';
INSERT INTO depanssur_subscription_address (subscription_id, company_id, address_id, date_from,
                                            create_date, write_date, create_uid, write_uid)
SELECT id, company_id, risk_address_id, date_start, now(), now(), 1, 1
  FROM depanssur_subscription WHERE name LIKE 'BEN/%%';
-- counters of the coverage year in progress (the anniversaries of today get theirs from the job)
INSERT INTO depanssur_subscription_usage (subscription_id, company_id, year_start, year_end,
        interventions_used, amount_consumed, create_date, write_date, create_uid, write_uid)
SELECT s.id, s.company_id, y.year_start, (y.year_start + interval '1 year - 1 day')::date,
       0, 0, now(), now(), 1, 1
  FROM depanssur_subscription s
  CROSS JOIN LATERAL (
      SELECT (s.date_start + make_interval(years => GREATEST(
                 extract(year FROM age(%(today)s::date - 1, s.date_start))::int, 0)))::date
             AS year_start) y
 WHERE s.name LIKE 'BEN/%%';

INSERT INTO depanssur_dossier (name, company_id, subscription_id, partner_id, category_id,
        incident_date, declaration_date, channel, state, estimated_cost, cost_labour,
        final_cost, covered_amount, client_share, decision, done_date, nps_score, nps_date,
        create_date, write_date, create_uid, write_uid)
SELECT 'BDOS/' || lpad(s.i::text, 7, '0'), s.company_id, s.id, s.partner_id, %(category)s,
       d.day, d.day + time '10:00', 'phone', 'closed', 200, 200 + (pg_temp.rnd(s.i, 'cost') * 300)::int,
       200 + (pg_temp.rnd(s.i, 'cost') * 300)::int, LEAST(200 + (pg_temp.rnd(s.i, 'cost') * 300)::int, 300),
       GREATEST((pg_temp.rnd(s.i, 'cost') * 300)::int - 100, 0), 'covered', d.day + 2,
       CASE WHEN pg_temp.rnd(s.i, 'nps') < 0.3 THEN (pg_temp.rnd(s.i, 'score') * 11)::int %% 11 END,
       CASE WHEN pg_temp.rnd(s.i, 'nps') < 0.3 THEN d.day + 5 END,
       now(), now(), 1, 1
  FROM (SELECT row_number() OVER (ORDER BY id) AS i, id, company_id, partner_id
          FROM depanssur_subscription WHERE name LIKE 'BEN/%%') s
  CROSS JOIN LATERAL (SELECT %(today)s::date - 3 - (pg_temp.rnd(s.i, 'day') * 360)::int AS day) d
 WHERE s.i %% 2 = 0;
ANALYZE res_partner, depanssur_subscription, depanssur_subscription_usage, depanssur_dossier,
        depanssur_subscription_plan_period, depanssur_subscription_address;
"""

INVOICE_SQL = """
-- one invoice per monthly period over the last %(months)s months (before the next billing date)
CREATE TEMP TABLE bench_period AS
SELECT s.id AS subscription_id, s.name AS origin, s.partner_id, s.company_id,
       pp.id AS product_id, pt.list_price::numeric AS price, ps.start,
       (ps.start + interval '1 month' - interval '1 day')::date AS stop,
       round(pt.list_price::numeric * %(tax_rate)s / 100, 2) AS tax,
       -- 3 %% of the last 30 days' invoices are unpaid and being dunned (older ones were
       -- settled): ~100 cases reach each level of the ladder on the day of the run
       NOT (ps.start > %(today)s::date - 31 AND pg_temp.rnd(s.id * 100 + ps.n, 'unpaid') < 0.03)
           AS paid,
       row_number() OVER (PARTITION BY extract(year FROM ps.start) ORDER BY ps.start, s.id)
           AS number
  FROM depanssur_subscription s
  JOIN depanssur_plan plan ON plan.id = s.plan_id
  JOIN product_product pp ON pp.id = plan.product_id
  JOIN product_template pt ON pt.id = pp.product_tmpl_id
 CROSS JOIN LATERAL (
      SELECT n, (s.date_start + make_interval(months => n))::date AS start
        FROM generate_series(0, 36) AS n) ps
 WHERE s.name LIKE 'BEN/%%'
   AND ps.start >= (%(today)s::date - make_interval(months => %(months)s))::date
   AND ps.start < s.next_billing_date
   AND ps.start < %(today)s;

INSERT INTO account_move (name, sequence_prefix, sequence_number, date, invoice_date,
        invoice_date_due, state, move_type, auto_post, posted_before, journal_id, company_id,
        currency_id, partner_id, commercial_partner_id, partner_shipping_id, invoice_origin,
        depanssur_subscription_id, depanssur_period_start, depanssur_period_end,
        depanssur_invoice_kind, amount_untaxed, amount_tax, amount_total, amount_residual,
        amount_untaxed_signed, amount_untaxed_in_currency_signed, amount_tax_signed,
        amount_total_signed, amount_total_in_currency_signed, amount_residual_signed,
        payment_state, invoice_currency_rate, is_move_sent, always_tax_exigible,
        create_date, write_date, create_uid, write_uid)
SELECT %(code)s || '/' || extract(year FROM b.start) || '/' || lpad(b.number::text, GREATEST(6, length(b.number::text)), '0'),
       %(code)s || '/' || extract(year FROM b.start) || '/', b.number, b.start, b.start, b.start,
       'posted', 'out_invoice', 'no', true, %(journal)s, b.company_id, %(currency)s,
       b.partner_id, b.partner_id, b.partner_id, b.origin, b.subscription_id, b.start, b.stop,
       'period', b.price, b.tax, b.price + b.tax, CASE WHEN b.paid THEN 0 ELSE b.price + b.tax END,
       b.price, b.price, b.tax, b.price + b.tax, b.price + b.tax,
       CASE WHEN b.paid THEN 0 ELSE b.price + b.tax END,
       CASE WHEN b.paid THEN 'paid' ELSE 'not_paid' END, 1, true, false,
       now(), now(), 1, 1
  FROM bench_period b;

CREATE TEMP TABLE bench_move AS
SELECT m.id AS move_id, m.name AS move_name, b.*
  FROM bench_period b
  JOIN account_move m ON m.depanssur_subscription_id = b.subscription_id
                     AND m.depanssur_period_start = b.start
                     AND m.depanssur_invoice_kind = 'period';

-- three lines each: the plan (income), the tax, the receivable
INSERT INTO account_move_line (move_id, move_name, sequence, display_type, name, date,
        invoice_date, date_maturity, parent_state, journal_id, company_id, company_currency_id,
        currency_id, partner_id, account_id, product_id, quantity, price_unit, price_subtotal,
        price_total, tax_line_id, tax_repartition_line_id, tax_group_id, tax_base_amount, debit,
        credit, balance, amount_currency, amount_residual, amount_residual_currency, reconciled,
        create_date, write_date, create_uid, write_uid)
SELECT b.move_id, b.move_name, l.sequence, l.display_type, l.name, b.start, b.start,
       CASE WHEN l.display_type = 'payment_term' THEN b.start END, 'posted', %(journal)s,
       b.company_id, %(currency)s, %(currency)s, b.partner_id, l.account_id, l.product_id,
       l.quantity, l.price_unit, l.subtotal, l.total, l.tax_line_id, l.repartition, l.tax_group,
       l.tax_base, GREATEST(l.balance, 0), GREATEST(-l.balance, 0), l.balance, l.balance,
       l.residual, l.residual, l.display_type = 'payment_term' AND b.paid,
       now(), now(), 1, 1
  FROM bench_move b
 CROSS JOIN LATERAL (VALUES
      (10, 'product', b.origin || ' — ' || to_char(b.start, 'DD/MM/YYYY') || ' au '
                     || to_char(b.stop, 'DD/MM/YYYY'),
       %(income)s, b.product_id, 1.0, b.price, b.price, b.price + b.tax, NULL::int, NULL::int,
       NULL::int, 0, -b.price, 0),
      (11, 'tax', %(tax_name)s, %(tax_account)s, NULL, NULL, NULL, NULL, NULL, %(tax)s,
       %(repartition)s, %(tax_group)s, b.price, -b.tax, 0),
      (12, 'payment_term', '', %(receivable)s, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0,
       b.price + b.tax, CASE WHEN b.paid THEN 0 ELSE b.price + b.tax END)
 ) AS l(sequence, display_type, name, account_id, product_id, quantity, price_unit, subtotal,
        total, tax_line_id, repartition, tax_group, tax_base, balance, residual);

-- the dunning cases of the overdue ones, each with the levels already done on earlier days
INSERT INTO depanssur_dunning_case (subscription_id, partner_id, company_id, invoice_id, name,
        state, source, start_date, next_action_date, level_id, suspended_by_dunning,
        create_date, write_date, create_uid, write_uid)
SELECT b.subscription_id, b.partner_id, b.company_id, b.move_id, b.origin || ' / ' || b.move_name,
       'open', 'overdue', b.start,
       (SELECT min(b.start + l.days_after) FROM depanssur_dunning_level l
         WHERE l.active AND b.start + l.days_after >= %(today)s),
       (SELECT l.id FROM depanssur_dunning_level l
         WHERE l.active AND b.start + l.days_after < %(today)s ORDER BY l.sequence DESC LIMIT 1),
       false, now(), now(), 1, 1
  FROM bench_move b
 WHERE NOT b.paid AND b.start < %(today)s;
INSERT INTO depanssur_dunning_action (case_id, company_id, level_id, date, result, skipped,
        create_date, write_date, create_uid, write_uid)
SELECT c.id, c.company_id, l.id, c.start_date + l.days_after, 'bench seed', false,
       now(), now(), 1, 1
  FROM depanssur_dunning_case c
  JOIN depanssur_dunning_level l ON l.active AND c.start_date + l.days_after < %(today)s
 WHERE c.invoice_id IN (SELECT move_id FROM bench_move WHERE NOT paid);

INSERT INTO account_move_line_account_tax_rel (account_move_line_id, account_tax_id)
SELECT aml.id, %(tax)s
  FROM account_move_line aml JOIN bench_move b ON b.move_id = aml.move_id
 WHERE aml.display_type = 'product';

ANALYZE account_move, account_move_line, account_move_line_account_tax_rel,
        depanssur_dunning_case, depanssur_dunning_action;
"""


def invoice_parameters(env, plans, tax, today):
    """Accounts, tax and journal of the seeded invoices, read from the company's chart."""
    journal = env["account.journal"].search(
        [("type", "=", "sale"), ("company_id", "=", env.company.id)], limit=1
    )
    repartition = tax.invoice_repartition_line_ids.filtered(
        lambda line: line.repartition_type == "tax"
    )[:1]
    product = plans[0].product_id
    return {
        "today": today,
        "code": journal.code,
        "journal": journal.id,
        "currency": env.company.currency_id.id,
        "income": product._get_product_accounts()["income"].id,
        "receivable": env["res.partner"].new().property_account_receivable_id.id
        or env["ir.default"]._get("res.partner", "property_account_receivable_id"),
        "tax": tax.id,
        "tax_rate": tax.amount,
        "tax_name": tax.name,
        "tax_account": repartition.account_id.id,
        "repartition": repartition.id,
        "tax_group": tax.tax_group_id.id,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--months",
        type=int,
        default=12,
        help="months of invoice history (1: the last period only, for the largest books)",
    )
    args = parser.parse_args()
    ensure_database(args.db)
    with environment(args.db, commit=True) as env:
        from odoo import fields

        env.cr.execute("SELECT count(*) FROM depanssur_subscription WHERE name LIKE 'BEN/%'")
        if env.cr.fetchone()[0]:
            out(f"{args.db} is already seeded; drop it to seed again.")
            return 0
        plans = env["depanssur.plan"].search([], limit=3)
        categories = env.ref("depanssur.category_plumbing")
        while len(plans) < 3:
            plans |= env["depanssur.plan"].create(
                {
                    "name": f"Bench {len(plans) + 1}",
                    "monthly_price": 9.90 + 5 * len(plans),
                    "carence_days": 30,
                    "cap_per_intervention": 300,
                    "yearly_cap_amount": 600,
                    "yearly_cap_count": 2,
                    "category_ids": [(4, categories.id)],
                }
            )
        company = env.company
        tax = company.account_sale_tax_id
        # invoices carry the company's sale tax, as real ones do
        env["product.product"].search([("id", "in", plans.product_id.ids)]).taxes_id = tax
        with Timer() as timer:
            env.cr.execute(
                SEED_SQL,
                {
                    "seed": args.seed,
                    "n": args.subscriptions,
                    "fr": env.ref("base.fr").id,
                    "company": env.company.id,
                    "today": fields.Date.today(),
                    "plan1": plans[0].id,
                    "plan2": plans[1].id,
                    "plan3": plans[2].id,
                    "category": categories.id,
                },
            )
        with Timer() as invoicing:
            env.cr.execute(
                INVOICE_SQL,
                dict(invoice_parameters(env, plans, tax, fields.Date.today()), months=args.months),
            )
        env.cr.execute("SELECT count(*) FROM bench_move")
        invoices = env.cr.fetchone()[0]
        env.cr.execute("SELECT count(*) FROM depanssur_dossier WHERE name LIKE 'BDOS/%'")
        dossiers = env.cr.fetchone()[0]
        out(
            f"seeded {args.subscriptions} clients and subscriptions, {dossiers} claim files "
            f"in {timer.seconds:.1f} s ({args.subscriptions / timer.seconds:,.0f} subscriptions/s); "
            f"{invoices} posted invoices ({invoices * 3} journal items, {invoices} invoice lines) "
            f"over {args.months} months in {invoicing.seconds:.1f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
