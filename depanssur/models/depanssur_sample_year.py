import logging
import random
import time
from collections import defaultdict
from datetime import datetime, timedelta
from datetime import time as day_time

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Command

from ..tools import sample_year
from ..wizards.account_payment_register import reconcile_in_batch
from .depanssur_abstract_notify import MUTED, notifications

_logger = logging.getLogger(__name__)

SAMPLE_PARAM = "depanssur.sample_year"
# the daily job's steps the sample year does not play: nothing arrives from outside, and
# nobody's data is old enough to be anonymised
# the daily job's steps run every JOB_EVERY simulated days (and on the last day)
JOB_EVERY = 7
SKIPPED_STEPS = frozenset({"webhooks", "rgpd", "credit_notes"})
QUIET = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
    "mail_auto_subscribe_no_notify": True,
}


class DepanssurSampleYear(models.AbstractModel):
    """A demo book that tells a year: clients sign up (web and phone), pay on time, late or
    never, change plan, move, declare claims, answer the satisfaction question and leave, day
    after day, through the product's own methods (sign-up, confirmation, invoicing, payment
    wizard, dunning ladder, claim workflow, credit notes), each given the day it happens.

    For the administrators of a demo database only; the clients are fictitious
    (``@example.com``) and the messages queued for them are cancelled at the end.
    """

    _name = "depanssur.sample.year"
    _description = "Sample year generator (demo databases)"

    @api.model
    def _check_sample_allowed(self):
        """Administrators (Settings) only, on a database with demo data: decided by the user's
        groups and the installed module, never by the context."""
        if not self.env.is_system():
            raise AccessError(self.env._("Only an administrator can generate a sample year."))
        module = self.env["ir.module.module"].sudo().search([("name", "=", "depanssur")])
        if not module.demo:
            raise UserError(
                self.env._(
                    "A sample year is only generated on a demonstration database (installed "
                    "with demo data): it would mix fictitious clients with real ones."
                )
            )

    @api.model
    def action_generate(self):
        """The "Generate a sample year" button: the generation runs as a job (minutes, longer
        than an HTTP worker's time limit), the button says so at once."""
        self._check_sample_allowed()
        self.with_delay(
            channel="root.depanssur", description=self.env._("Generate a sample year")
        )._generate()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Sample year"),
                "message": self.env._(
                    "The sample year is being generated in the background (a few minutes): "
                    "its progress is in Settings > Technical > Queue Jobs."
                ),
                "type": "info",
            },
        }

    def _generate(self, seed=2026, clients=300, months=18):
        """Play ``clients`` clients over the ``months`` months before today (deterministic for
        ``seed``), then rebuild the KPI snapshots. Idempotent: once a sample year exists, a new
        call only rebuilds the snapshots. Returns a summary (``created``, ``clients``,
        ``months``, ``seconds``, ``subscription_ids``)."""
        self._check_sample_allowed()
        started = time.monotonic()
        Param = self.env["ir.config_parameter"].sudo()
        previous = Param.get_param(SAMPLE_PARAM)
        env = self.sudo().with_context(**QUIET).env
        snapshots = env["depanssur.kpi.snapshot"]
        if previous:
            snapshots.action_rebuild_history(months=min(months, 24))
            count = int(previous.split(":")[1])
            return {
                "created": False,
                "clients": count,
                "months": months,
                "seconds": time.monotonic() - started,
                "subscription_ids": [],
            }
        player = _Player(env, seed, clients, months)
        # the client messages of the workflow (confirmation, coverage, claim files) are not
        # rendered nor sent to these fictitious clients
        with notifications(MUTED):
            subscriptions = player.play()
        snapshots.action_rebuild_history(months=min(months, 24))
        env["depanssur.jobs"]._cron_detractor_activities(player.today)
        Param.set_param(SAMPLE_PARAM, f"{seed}:{clients}:{months}:{player.today}")
        seconds = time.monotonic() - started
        _logger.info("Sample year: %s clients over %s months in %.1f s", clients, months, seconds)
        return {
            "created": True,
            "clients": clients,
            "months": months,
            "seconds": seconds,
            "subscription_ids": subscriptions.ids,
        }


class _Player:
    """Plays the scripts of ``tools.sample_year`` day by day (see ``play``)."""

    def __init__(self, env, seed, clients, months):
        self.env = env
        self.company = env.company
        self.today = fields.Date.context_today(env["depanssur.subscription"])
        self.seed = seed
        self.rng = random.Random(f"{seed}:payments")
        self.plans = (
            env["depanssur.plan"]
            .search([("company_id", "=", self.company.id)])
            .sorted(lambda plan: (plan.monthly_price, plan.id))
        )
        self.categories = env["depanssur.category"].search([], order="id")
        if not self.plans or not self.categories:
            raise UserError(
                env._("A sample year needs at least one plan and one category of incidents.")
            )
        self.start, self.scripts = sample_year.build_scripts(
            seed, clients, months, self.today, len(self.plans), len(self.categories)
        )
        # script index -> subscription id: ids, not records, so that the environments of the
        # days gone by (one per simulated day) are freed; Odoo looks through the live ones each
        # time it makes an environment
        self.subscriptions = {}
        self.invoice_counts = defaultdict(int)
        self.payments = defaultdict(list)  # day -> invoice ids to pay that day
        self.gestures = max(2, clients // 25)  # commercial gestures to detractors
        self.issued_prorata = max(2, clients // 25)

    # ------------------------------------------------------------
    # The loop
    # ------------------------------------------------------------

    def play(self):
        env = self.env
        events = defaultdict(list)
        for script in self.scripts:
            events[script.signup_day].append((0, "signup", script, None))
            for kind in ("move", "upgrade", "downgrade", "termination"):
                if day := getattr(script, f"{kind}_day"):
                    events[day].append((1, kind, script, None))
            for claim in script.claims:
                events[claim.day].append((2, "claim", script, claim))
        mail_start = self._max_id("mail.mail")
        sms_start = self._max_id("sms.sms")
        self.last_move_id = self._max_id("account.move")
        day = self.start - timedelta(days=1)
        while day <= self.today:
            day_env = env(context=dict(env.context, date=fields.Date.to_string(day)))
            for _order, kind, script, payload in sorted(
                events.get(day, ()), key=lambda e: (e[0], e[2].index)
            ):
                getattr(self, f"_on_{kind}")(day_env, day, script, payload)
            if (self.today - day).days % JOB_EVERY == 0:
                self._run_daily_job(day_env, day)
            day += timedelta(days=1)
        self._schedule_payments(env)
        self._cancel_outgoing(mail_start, sms_start)
        return env["depanssur.subscription"].browse(list(self.subscriptions.values()))

    def _run_daily_job(self, env, day):
        """The daily job's steps for ``day``; each catches up what is due on or before its day
        (the invoices keep their period's date), so running them every few simulated days
        gives the same book with bigger batches."""
        for code, _label, step in env["depanssur.jobs"]._steps("daily", day):
            if code in SKIPPED_STEPS:
                continue
            if code == "dunning":
                # what the bank paid by today is known before the dunning run
                self._schedule_payments(env)
                self._pay(env, day)
            step()

    def _max_id(self, model):
        Model = self.env[model].with_context(active_test=False)
        return Model.search([], order="id desc", limit=1).id or 0

    def _cancel_outgoing(self, mail_start, sms_start):
        """The fictitious clients get no email nor SMS: what was queued for them is cancelled
        (the messages stay in the chatters)."""
        self.env["mail.mail"].search(
            [("id", ">", mail_start), ("state", "in", ("outgoing", "exception"))]
        ).write({"state": "cancel"})
        self.env["sms.sms"].search([("id", ">", sms_start), ("state", "=", "outgoing")]).write(
            {"state": "canceled"}
        )

    # ------------------------------------------------------------
    # Events
    # ------------------------------------------------------------

    def _on_signup(self, env, day, script, _payload):
        plan = self.plans[script.plan].with_env(env)
        option = plan.allowed_option_ids[:1] if script.option else plan.allowed_option_ids[:0]
        values = {
            "plan_id": str(plan.id),
            "option_ids": option.ids,
            "civility": script.civility,
            "first_name": script.first_name,
            "last_name": script.last_name,
            "email": script.email,
            "mobile": script.mobile,
            "street": script.street,
            "zip": script.zip,
            "city": script.city,
            "billing_period": script.billing_period,
            "date_start": fields.Date.to_string(day),
            "consents": ["marketing_email"] if script.index % 3 else [],
            "terms_accepted": True,
        }
        Signup = env["depanssur.signup"]
        if script.channel == "phone":
            subscription = Signup._signup(values, "phone")
        else:
            # the express request to be covered before the 14 days of withdrawal end
            values["express_start"] = True
            values["signup_key"] = f"sample-{self.seed}-{script.index}"
            values["ip"] = f"198.51.100.{script.index % 250 + 1}"
            # the form was filled in the day before; the client confirms by email today
            eve = fields.Date.to_string(day - timedelta(days=1))
            subscription = Signup.with_context(date=eve)._signup(values, "web_form")
            Signup._signup_activate(subscription.with_env(env), proof="email")
        self.subscriptions[script.index] = subscription.id

    def _subscription(self, env, script):
        return env["depanssur.subscription"].browse(self.subscriptions.get(script.index))

    def _running(self, env, script, states=("carence", "active")):
        subscription = self._subscription(env, script)
        return subscription if subscription and subscription.state in states else None

    def _on_upgrade(self, env, day, script, _payload, step=1):
        subscription = self._running(env, script)
        if not subscription or subscription.pending_change_date:
            return
        plans = self.plans
        index = list(plans).index(subscription.plan_id) + step
        if not 0 <= index < len(plans):
            return
        new_plan = plans[index]
        options = subscription._options_on(day)
        if options - new_plan.allowed_option_ids:
            return  # the client keeps an option the other plan does not offer
        subscription.with_env(env)._change_plan_options(new_plan, options, day=day)

    def _on_downgrade(self, env, day, script, payload):
        self._on_upgrade(env, day, script, payload, step=-1)

    def _on_move(self, env, day, script, _payload):
        subscription = self._running(env, script, ("carence", "active", "suspended"))
        if not subscription:
            return
        client = subscription.partner_id
        zip_code, city = sample_year.CITIES[(script.index + 3) % len(sample_year.CITIES)]
        street = f"{script.index % 90 + 2} {sample_year.STREETS[script.index % 10]}"
        home = env["res.partner"].create(
            {
                "parent_id": client.id,
                "type": "other",
                "name": street,
                "street": street,
                "zip": zip_code,
                "city": city,
                "country_id": env.ref("base.fr").id,
            }
        )
        subscription.with_env(env)._request_address_change(home, request_date=day)

    def _on_termination(self, env, day, script, _payload):
        subscription = self._running(env, script, ("carence", "active", "suspended"))
        if not subscription or subscription.termination_date:
            return
        subscription = subscription.with_env(env)
        if subscription.billing_period == "yearly":
            last_day = day + timedelta(days=30)  # a month's notice: the rest is credited
        else:
            last_day = subscription._current_period(day)[1]
        subscription._terminate(script.termination_reason, max(last_day, day))
        if self.issued_prorata:
            notes = env["depanssur.credit.note"].search(
                [("subscription_id", "=", subscription.id), ("state", "=", "draft")]
            )
            for note in notes:
                if self._issue(note):
                    self.issued_prorata -= 1

    def _on_claim(self, env, day, script, claim):
        subscription = self._subscription(env, script)
        if (
            not subscription
            or subscription.state in ("draft", "cancelled")
            or day < subscription.date_start
        ):
            return
        hour = 8 + (script.index + claim.day.toordinal()) % 10
        incident_date = max(day - timedelta(days=1), subscription.date_start)
        category = self.categories[claim.category]
        if claim.covered:
            # a claim told to show a state of the workflow: in a category the client's plan
            # covers that day, when there is one (else it is refused, as any other)
            address = subscription._address_on(incident_date) or subscription.risk_address_id
            for candidate in self.categories:
                decision = subscription._coverage_decision(
                    incident_date, candidate.code, address, claim.cost
                )
                if decision.status != "not_covered":
                    category = candidate
                    break
        dossier = env["depanssur.dossier"].create(
            {
                "subscription_id": subscription.id,
                "category_id": category.id,
                "incident_date": incident_date,
                "declaration_date": datetime.combine(day, day_time(hour, 15)),
                "channel": claim.channel,
                "estimated_cost": claim.cost,
                "description": env._("Sample claim file"),
            }
        )
        if claim.outcome == "declared":
            return
        if claim.outcome == "cancelled":
            dossier.action_cancel()
            return
        dossier.action_qualify()
        if dossier.state == "refused" or claim.outcome == "qualified":
            return
        if claim.outcome == "refused":
            dossier.action_refuse()
            return
        dossier.action_schedule(scheduled_date=datetime.combine(day + timedelta(days=1), hour_10))
        if claim.outcome == "scheduled":
            return
        done = min(day + timedelta(days=2), self.today)
        dossier.action_done(done_date=done)
        answered = done + timedelta(days=2)
        if claim.nps is not None and answered <= self.today:
            dossier._nps_answer(
                claim.nps,
                env._("Quick and friendly.") if claim.nps >= 9 else False,
                answered_at=datetime.combine(answered, hour_10),
            )
            if claim.nps <= 4 and self.gestures:
                self._gesture(env, subscription)
        if claim.outcome == "closed":
            dossier.action_close()

    # ------------------------------------------------------------
    # Money
    # ------------------------------------------------------------

    def _schedule_payments(self, env):
        """Decide when each new invoice gets paid (its client's habits)."""
        Move = env["account.move"]
        invoices = Move.search(
            [
                ("id", ">", self.last_move_id),
                ("move_type", "=", "out_invoice"),
                ("state", "=", "posted"),
                ("depanssur_subscription_id", "!=", False),
            ],
            order="id",
        )
        if not invoices:
            return
        self.last_move_id = invoices[-1].id
        scripts = {sub_id: self.scripts[index] for index, sub_id in self.subscriptions.items()}
        for invoice in invoices:
            script = scripts.get(invoice.depanssur_subscription_id.id)
            if not script:
                continue
            self.invoice_counts[script.index] += 1
            delay = script.payment_delay(self.rng, self.invoice_counts[script.index])
            if delay is not None:
                pay_day = (invoice.invoice_date_due or invoice.invoice_date) + timedelta(days=delay)
                self.payments[max(pay_day, invoice.invoice_date)].append(invoice.id)

    def _pay(self, env, day):
        """Register the payments received by ``day``, each on its own date, with the payment
        wizard, as an accountant does (one call per day; the payments reconciled in one plan)."""
        for pay_day in sorted(d for d in self.payments if d <= day):
            invoices = (
                env["account.move"]
                .browse(self.payments.pop(pay_day))
                .filtered(
                    lambda m: m.state == "posted" and m.payment_state in ("not_paid", "partial")
                )
            )
            if invoices:
                with reconcile_in_batch():
                    env["account.payment.register"].with_context(
                        active_model="account.move", active_ids=invoices.ids
                    ).create({"payment_date": pay_day})._create_payments()

    def _gesture(self, env, subscription):
        """A commercial gesture after a bad experience: 10 (excl. VAT) off the last invoice."""
        invoice = subscription.invoice_ids.filtered(
            lambda m: m.move_type == "out_invoice" and m.state == "posted"
        ).sorted("invoice_date")[-1:]
        line = invoice.invoice_line_ids.filtered(lambda ml: ml.display_type == "product")[:1]
        if not line or line.price_subtotal < 10:
            return
        note = env["depanssur.credit.note"].create(
            {
                "partner_id": invoice.partner_id.id,
                "subscription_id": subscription.id,
                "invoice_id": invoice.id,
                "reason": "commercial_gesture",
                "reason_text": env._("Sorry for the intervention that did not go well."),
                "line_ids": [
                    Command.create(
                        {
                            "product_id": line.product_id.id,
                            "name": env._("Commercial gesture after an intervention"),
                            "quantity": 1,
                            "price_unit": 10.0,
                            "tax_ids": [Command.set(line.tax_ids.ids)],
                        }
                    )
                ],
            }
        )
        if self._issue(note):
            self.gestures -= 1

    def _issue(self, note):
        """Submit, approve and issue ``note``; one the company cannot issue yet (a legal
        mention missing) stays approved, for an accountant to finish."""
        note.action_submit()
        if note.state == "to_approve":
            note.action_approve()
        try:
            with self.env.cr.savepoint():
                note.action_issue()
        except UserError as error:
            _logger.info("Sample year: credit note %s left approved: %s", note.id, error)
            return False
        return True


hour_10 = day_time(10, 0)
