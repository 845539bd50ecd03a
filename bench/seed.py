#!/usr/bin/env python3
"""Seed a benchmark database with a realistic Depanssur book, set-based and reproducible.

    python3 bench/seed.py [--db depanssur_bench] [--subscriptions 100000] [--seed 42]

Clients and subscriptions (3 plans, start dates over two years), plan and address history,
coverage-year counters, claim files (one per two subscriptions) with covered amounts and NPS
answers. The day of the run is "today": ~3 % of the subscriptions are due for invoicing, ~1 %
end their waiting period and ~0.3 % reach their anniversary, as in the daily-run benchmark.
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
                         mobile, email, active, type, is_company, autopost_bills, lang,
                         country_id, create_date, write_date, create_uid, write_uid)
SELECT 'Client ' || i, 'Client ' || i, 'Prénom' || i, 'Nom' || i, i || ' rue de la Bench',
       lpad((69001 + (i %% 9))::text, 5, '0'), 'Lyon', '+336' || lpad((i %% 100000000)::text, 8, '0'),
       'client' || i || '@bench.example', true, 'contact', false, 'ask', 'fr_FR',
       %(fr)s, now(), now(), 1, 1
  FROM generate_series(1, %(n)s) AS i;
UPDATE res_partner SET commercial_partner_id = id
 WHERE commercial_partner_id IS NULL AND email LIKE '%%@bench.example';

CREATE TEMP TABLE bench_client AS
SELECT row_number() OVER (ORDER BY id) AS i, id AS partner_id
  FROM res_partner WHERE email LIKE '%%@bench.example';

INSERT INTO depanssur_subscription (name, company_id, partner_id, partner_invoice_id,
        risk_address_id, plan_id, state, date_start, carence_end_date, anniversary_date,
        billing_period, next_billing_date, create_date, write_date, create_uid, write_uid)
SELECT 'BEN/' || lpad(c.i::text, 7, '0'), %(company)s, c.partner_id, c.partner_id,
       c.partner_id, p.plan_id,
       CASE WHEN d.start + p.carence >= %(today)s THEN 'carence' ELSE 'active' END,
       d.start, d.start + p.carence, d.start, 'monthly',
       CASE WHEN pg_temp.rnd(c.i, 'due') < 0.03 THEN %(today)s::date
            ELSE %(today)s::date + 1 + (pg_temp.rnd(c.i, 'nb') * 27)::int END,
       now(), now(), 1, 1
  FROM bench_client c
  CROSS JOIN LATERAL (
      SELECT CASE WHEN pg_temp.rnd(c.i, 'carence') < 0.01
                  THEN %(today)s::date - 30                         -- carence ends today
                  WHEN pg_temp.rnd(c.i, 'anniv') < 0.003
                  THEN (%(today)s::date - interval '1 year')::date  -- anniversary today
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
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
        env["product.product"].search([("id", "in", plans.product_id.ids)]).taxes_id = False
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
        env.cr.execute("SELECT count(*) FROM depanssur_dossier WHERE name LIKE 'BDOS/%'")
        dossiers = env.cr.fetchone()[0]
        out(
            f"seeded {args.subscriptions} clients and subscriptions, {dossiers} claim files "
            f"in {timer.seconds:.1f} s ({args.subscriptions / timer.seconds:,.0f} subscriptions/s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
