"""Odoo's own cost of the sample year's accounting documents (the floor of bench/sample_year.py).

``recording(env)`` wraps ``account.move.create`` and ``account.payment.register._create_payments``
while the generator runs and records, in order, each call that made customer invoices (their
ids) and each payment-wizard call (the invoices it paid, the payment date). ``replay`` then makes
the same documents again with nothing of the product around them: the same number of new plain
partners, ``out_invoice``s with the same lines (product, label, quantity, price, taxes), company,
journal, dates and language, created and posted with ``action_post``, and one payment per
invoice through ``account.payment.register`` (same dates, same context) — either in the same
batches as the generator (one ``create`` + ``action_post`` per recorded call, one wizard per
recorded call, in the recorded order) or all at once (one ``create`` + ``action_post`` of every
invoice, one wizard over every paid invoice). Each replay runs in a savepoint rolled back at the
end; its partners are made before the clock starts. Run it after rolling the generator back:
the generator's records hold its environments (hundreds, one per simulated day and context),
through which Odoo looks each time it makes an environment (``Environment.__new__``); left
alive, they made the floor pay for the generator's history (30 clients: 97.8 s of CPU for the
floor in the generator's batches instead of 46.9 s).
"""

import gc
import time
from contextlib import contextmanager

from odoo import fields
from odoo.fields import Command

INVOICE_CONTEXT = (
    "lang",
    "tracking_disable",
    "mail_create_nolog",
    "mail_create_nosubscribe",
    "mail_notrack",
    "mail_auto_subscribe_no_notify",
)
PAYMENT_CONTEXT = (*INVOICE_CONTEXT, "depanssur_reconcile_in_batch")


def _patch(cls, name, make):
    own = cls.__dict__.get(name)
    setattr(cls, name, make(getattr(cls, name)))
    return lambda: setattr(cls, name, own) if own is not None else delattr(cls, name)


@contextmanager
def recording(env):
    """Yield a list filled with ``("invoices", ids, context)`` and ``("payments", invoice ids,
    date, context)`` in the order the code under the block makes them."""
    calls = []

    def make_create(original):
        def create(self, vals_list):
            records = original(self, vals_list)
            invoices = records.filtered(lambda m: m.move_type == "out_invoice")
            if invoices:
                context = {k: v for k, v in self.env.context.items() if k in INVOICE_CONTEXT}
                calls.append(("invoices", invoices.ids, context))
            return records

        return create

    def make_pay(original):
        def _create_payments(self):
            invoices = self.line_ids.move_id.filtered(lambda m: m.move_type == "out_invoice")
            context = {k: v for k, v in self.env.context.items() if k in PAYMENT_CONTEXT}
            calls.append(("payments", invoices.ids, self.payment_date, context))
            return original(self)

        return _create_payments

    restore = [
        _patch(type(env["account.move"]), "create", make_create),
        _patch(type(env["account.payment.register"]), "_create_payments", make_pay),
    ]
    try:
        yield calls
    finally:
        for undo in restore:
            undo()


def batch_sizes(calls, kind):
    return [len(call[1]) for call in calls if call[0] == kind]


def shapes(env, calls):
    """What each recorded invoice is made of, read before the replays."""
    ids = [i for call in calls if call[0] == "invoices" for i in call[1]]
    result = {}
    for move in env["account.move"].browse(ids):
        result[move.id] = {
            "partner": move.partner_id.id,
            "vals": {
                "move_type": "out_invoice",
                "company_id": move.company_id.id,
                "journal_id": move.journal_id.id,
                "currency_id": move.currency_id.id,
                "invoice_date": move.invoice_date,
                "invoice_date_due": move.invoice_date_due,
            },
            "lines": [
                {
                    "product_id": line.product_id.id,
                    "name": line.name,
                    "quantity": line.quantity,
                    "price_unit": line.price_unit,
                    "tax_ids": [Command.set(line.tax_ids.ids)],
                }
                for line in move.invoice_line_ids.filtered(lambda ln: ln.display_type == "product")
            ],
        }
    return result


def replay(env, calls, shape, one_batch=False):
    """Make the recorded documents again (see the module's docstring) in a savepoint rolled
    back at the end; return the wall and CPU seconds and the counts (invoices, posted, paid,
    payments, create calls, wizard calls, live environments at the start)."""
    gc.collect()  # the environments of the previous run, if nothing holds them any more
    live = len(env.transaction.envs)
    savepoint = env.cr.savepoint()
    try:
        partners = sorted({s["partner"] for s in shape.values()})
        new = env["res.partner"].create(
            [{"name": f"Floor client {i}", "email": f"floor{i}@example.com"} for i in partners]
        )
        partner_of = dict(zip(partners, new.ids, strict=True))
        env.flush_all()
        if one_batch:
            invoice_ids = [i for call in calls if call[0] == "invoices" for i in call[1]]
            paid = [i for call in calls if call[0] == "payments" for i in call[1]]
            first = next(call for call in calls if call[0] == "invoices")
            last = [call for call in calls if call[0] == "payments"][-1]
            plan = [("invoices", invoice_ids, first[2])]
            if paid:
                plan.append(
                    ("payments", paid, max(c[2] for c in calls if c[0] == "payments"), last[3])
                )
        else:
            plan = calls
        Move = env["account.move"]
        made = {}
        counts = {"invoices": 0, "payments": 0, "creates": 0, "wizards": 0}
        cpu = time.process_time()
        wall = time.perf_counter()
        for call in plan:
            if call[0] == "invoices":
                vals_list = [
                    dict(
                        shape[i]["vals"],
                        partner_id=partner_of[shape[i]["partner"]],
                        invoice_line_ids=[Command.create(dict(v)) for v in shape[i]["lines"]],
                    )
                    for i in call[1]
                ]
                company = env["res.company"].browse(vals_list[0]["company_id"])
                created = Move.with_company(company).with_context(**call[2]).create(vals_list)
                created.action_post()
                made.update(zip(call[1], created.ids, strict=True))
                counts["invoices"] += len(created)
                counts["creates"] += 1
            else:
                _kind, ids, day, context = call
                invoices = Move.browse([made[i] for i in ids if i in made])
                if not invoices:
                    continue
                payments = (
                    env["account.payment.register"]
                    .with_context(active_model="account.move", active_ids=invoices.ids, **context)
                    .create({"payment_date": fields.Date.to_date(day), "group_payment": False})
                    ._create_payments()
                )
                counts["payments"] += len(payments)
                counts["wizards"] += 1
        env.flush_all()
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        invoices = Move.browse(list(made.values()))
        counts["posted"] = len(invoices.filtered(lambda m: m.state == "posted"))
        counts["paid"] = len(invoices.filtered(lambda m: m.payment_state in ("paid", "in_payment")))
    finally:
        savepoint.close(rollback=True)
        env.invalidate_all(flush=False)
    counts["live environments"] = live
    return wall, cpu, counts
