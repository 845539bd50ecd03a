import logging
import re
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command, Domain
from odoo.tools import format_amount, plaintext2html

from ..rules import address as address_rules
from ..rules import coverage, proration, workflow
from .batching import run_in_batches

_logger = logging.getLogger(__name__)

RUNNING_STATES = ("carence", "active", "suspended")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # not storable (NUL) or invisible
TERMINATION_REASONS = [
    ("client_request", "Client request"),
    ("non_payment", "Non-payment"),
    ("death", "Death"),
    ("moving_abroad", "Moving abroad"),
    ("duplicate", "Duplicate"),
    ("other", "Other"),
]


class DepanssurSubscription(models.Model):
    _name = "depanssur.subscription"
    _inherit = [
        "mail.thread",
        "mail.activity.mixin",
        "portal.mixin",
        "depanssur.notify.mixin",
        "depanssur.workflow.mixin",
    ]
    _description = "Depanssur subscription"
    _order = "date_start desc, id desc"
    _check_company_auto = True
    _depanssur_workflow = workflow.SUBSCRIPTION
    _depanssur_workflow_fields = frozenset({"state", "state_before_suspension"})
    # agents find a subscription by its number or by the client's name, email or phone
    _rec_names_search = [
        "name",
        "partner_id.name",
        "partner_id.email",
        "partner_id.phone",
        "partner_id.mobile",
    ]

    name = fields.Char(
        string="Number", required=True, readonly=True, copy=False, default="/", index="trigram"
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    partner_id = fields.Many2one(
        "res.partner",
        string="Client",
        required=True,
        index=True,
        tracking=True,
        check_company=True,
    )
    partner_invoice_id = fields.Many2one(
        "res.partner",
        string="Billing address",
        compute="_compute_partner_invoice_id",
        store=True,
        readonly=False,
        precompute=True,
        check_company=True,
    )
    risk_address_id = fields.Many2one(
        "res.partner",
        string="Insured home",
        required=True,
        tracking=True,
        check_company=True,
        help="The risk address: the home covered by this subscription.",
    )
    plan_id = fields.Many2one(
        "depanssur.plan", required=True, tracking=True, check_company=True, ondelete="restrict"
    )
    option_line_ids = fields.One2many(
        "depanssur.subscription.option", "subscription_id", string="Options"
    )
    address_history_ids = fields.One2many(
        "depanssur.subscription.address", "subscription_id", string="Address history"
    )
    plan_period_ids = fields.One2many(
        "depanssur.subscription.plan.period", "subscription_id", string="Plan history"
    )
    suspension_ids = fields.One2many(
        "depanssur.subscription.suspension", "subscription_id", string="Suspensions"
    )
    usage_ids = fields.One2many(
        "depanssur.subscription.usage", "subscription_id", string="Usage per coverage year"
    )
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("carence", "Waiting period"),
            ("active", "Covered"),
            ("suspended", "Suspended"),
            ("terminated", "Terminated"),
            ("cancelled", "Cancelled"),
        ],
        default="draft",
        required=True,
        readonly=True,
        copy=False,
        tracking=True,
        index=True,
    )
    date_start = fields.Date(
        string="Start date", required=True, default=fields.Date.context_today, tracking=True
    )
    carence_end_date = fields.Date(
        string="Coverage starts on",
        compute="_compute_carence_end_date",
        store=True,
        help="First covered day of the plan: start date + waiting period.",
    )
    anniversary_date = fields.Date(
        string="Coverage-year anniversary",
        compute="_compute_anniversary_date",
        store=True,
        readonly=False,
        help="Counters reset and the renewal notice is sent on this day every year.",
    )
    billing_period = fields.Selection(
        [("monthly", "Monthly"), ("yearly", "Yearly")], default="monthly", required=True
    )
    next_billing_date = fields.Date(copy=False, tracking=True, index=True)
    payment_token_id = fields.Many2one(
        "payment.token",
        string="Payment method",
        domain="[('partner_id', '=', partner_id)]",
        check_company=True,
    )
    anniversary_notice_year = fields.Integer(copy=False, readonly=True)
    signup_key = fields.Char(
        copy=False, readonly=True, index="btree_not_null", help="Idempotency key of a web sign-up."
    )
    payment_reference = fields.Char(help="Mandate or card reference given by the client.")
    pending_plan_id = fields.Many2one(
        "depanssur.plan", string="Scheduled plan", readonly=True, copy=False
    )
    pending_change_date = fields.Date(string="Scheduled change on", readonly=True, copy=False)
    termination_reason = fields.Selection(TERMINATION_REASONS, readonly=True, copy=False)
    termination_date = fields.Date(
        string="Termination date", readonly=True, copy=False, help="Last covered day."
    )
    termination_comment = fields.Text(readonly=True, copy=False)
    state_before_suspension = fields.Selection(
        [("carence", "Waiting period"), ("active", "Covered")], readonly=True, copy=False
    )
    invoice_ids = fields.One2many("account.move", "depanssur_subscription_id", string="Invoices")
    dossier_ids = fields.One2many("depanssur.dossier", "subscription_id", string="Claim files")
    dossier_count = fields.Integer(compute="_compute_dossier_count")
    invoice_count = fields.Integer(compute="_compute_invoice_count")
    monthly_amount = fields.Monetary(
        string="Monthly price (excl. VAT)",
        compute="_compute_monthly_amount",
        help="Plan + current options, per month, excluding VAT.",
    )
    # current coverage-year counters
    usage_year_start = fields.Date(compute="_compute_usage")
    usage_year_end = fields.Date(compute="_compute_usage")
    usage_count = fields.Integer(string="Interventions used", compute="_compute_usage")
    usage_amount = fields.Monetary(string="Amount consumed", compute="_compute_usage")
    remaining_count = fields.Integer(string="Interventions left", compute="_compute_usage")
    remaining_amount = fields.Monetary(string="Amount left", compute="_compute_usage")
    usage_count_percent = fields.Float(compute="_compute_usage")
    usage_amount_percent = fields.Float(compute="_compute_usage")
    # workflow booleans fed by the transition table (rules.workflow.SUBSCRIPTION)
    is_confirm_allowed = fields.Boolean(compute="_compute_allowed_transitions")
    is_cover_allowed = fields.Boolean(compute="_compute_allowed_transitions")
    is_suspend_allowed = fields.Boolean(compute="_compute_allowed_transitions")
    is_reactivate_allowed = fields.Boolean(compute="_compute_allowed_transitions")
    is_terminate_allowed = fields.Boolean(compute="_compute_allowed_transitions")
    is_cancel_allowed = fields.Boolean(compute="_compute_allowed_transitions")

    _name_company_unique = models.UniqueIndex(
        "(company_id, name) WHERE name != '/'", "This subscription number is already used."
    )
    _running_idx = models.Index("(state, next_billing_date)")
    _signup_key_unique = models.UniqueIndex(
        "(signup_key) WHERE signup_key IS NOT NULL", "This sign-up was already confirmed."
    )

    # ------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------

    @api.constrains("plan_id", "option_line_ids")
    def _check_options_allowed(self):
        for subscription in self:
            not_allowed = subscription.option_line_ids.option_id - (
                subscription.plan_id.allowed_option_ids
            )
            if not_allowed:
                raise ValidationError(
                    self.env._(
                        "The option %(options)s cannot be added to the plan %(plan)s.",
                        options=", ".join(not_allowed.mapped("name")),
                        plan=subscription.plan_id.name,
                    )
                )
            options = subscription.option_line_ids.filtered(lambda line: not line.date_end)
            if len(options.option_id) != len(options):
                raise ValidationError(self.env._("An option cannot be added twice."))

    @api.constrains("risk_address_id", "state")
    def _check_no_overlapping_subscription(self):
        running = self.filtered(lambda s: s.state in RUNNING_STATES)
        if not running:
            return
        overlapping = self.search(
            [
                ("id", "not in", running.ids),
                ("risk_address_id", "in", running.risk_address_id.ids),
                ("state", "in", RUNNING_STATES),
            ],
            limit=1,
        )
        if overlapping:
            raise ValidationError(
                self.env._(
                    "The home %(address)s is already covered by the subscription %(name)s.",
                    address=overlapping.risk_address_id.display_name,
                    name=overlapping.name,
                )
            )

    @api.constrains("partner_id", "risk_address_id")
    def _check_risk_address_belongs_to_client(self):
        for subscription in self:
            address = subscription.risk_address_id
            partner = subscription.partner_id.commercial_partner_id
            if address and address.commercial_partner_id != partner:
                raise ValidationError(
                    self.env._(
                        "The insured home must be the client's address or one of its addresses."
                    )
                )
            if address and not (address.street and address.zip and address.city):
                raise ValidationError(
                    self.env._(
                        "The insured home needs a complete address (street, zip code and city)."
                    )
                )

    # ------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------

    @api.depends("name", "partner_id.name")
    @api.depends_context("depanssur_subscription_show_client")
    def _compute_display_name(self):
        """The number, followed by the client's name where a subscription is picked."""
        if not self.env.context.get("depanssur_subscription_show_client"):
            return super()._compute_display_name()
        for subscription in self:
            client = subscription.partner_id.name
            subscription.display_name = (
                f"{subscription.name} – {client}" if client else subscription.name
            )

    @api.model
    def _search_display_name(self, operator, value):
        """Also match a phone typed as the agent hears it (06 12 34 56 78): stored in E.164."""
        domain = super()._search_display_name(operator, value)
        if (
            operator in ("ilike", "=")
            and isinstance(value, str)
            and sum(char.isdigit() for char in value) >= 9
        ):
            try:
                number = self.env["res.partner"]._depanssur_normalize_phone(value)
            except ValidationError:
                number = None
            if number:
                domain = (
                    Domain(domain)
                    | Domain("partner_id.mobile", "=", number)
                    | Domain("partner_id.phone", "=", number)
                )
        return domain

    @api.depends("partner_id")
    def _compute_partner_invoice_id(self):
        for subscription in self:
            subscription.partner_invoice_id = (
                subscription.partner_id.address_get(["invoice"])["invoice"]
                if subscription.partner_id
                else False
            )

    @api.depends("date_start", "plan_id.carence_days")
    def _compute_carence_end_date(self):
        for subscription in self:
            subscription.carence_end_date = subscription.date_start and (
                subscription.date_start + timedelta(days=subscription.plan_id.carence_days)
            )

    @api.depends("date_start")
    def _compute_anniversary_date(self):
        for subscription in self:
            subscription.anniversary_date = subscription.date_start

    def _compute_invoice_count(self):
        counts = dict(
            self.env["account.move"]._read_group(
                [("depanssur_subscription_id", "in", self.ids)],
                ["depanssur_subscription_id"],
                ["__count"],
            )
        )
        for subscription in self:
            subscription.invoice_count = counts.get(subscription, 0)

    def _compute_dossier_count(self):
        counts = dict(
            self.env["depanssur.dossier"]._read_group(
                [("subscription_id", "in", self.ids)], ["subscription_id"], ["__count"]
            )
        )
        for subscription in self:
            subscription.dossier_count = counts.get(subscription, 0)

    def action_open_dossiers(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("depanssur.depanssur_dossier_action")
        action["domain"] = [("subscription_id", "=", self.id)]
        action["context"] = {"default_subscription_id": self.id}
        return action

    @api.depends("plan_id.monthly_price", "option_line_ids.option_id", "option_line_ids.date_end")
    @api.depends_context("date")
    def _compute_monthly_amount(self):
        today = self._today()
        for subscription in self:
            options = subscription.option_line_ids.filtered(lambda line: line._is_active_on(today))
            subscription.monthly_amount = subscription.plan_id.monthly_price + sum(
                options.mapped("monthly_price")
            )

    @api.depends("state")
    def _compute_allowed_transitions(self):
        for subscription in self:
            targets = workflow.allowed_targets(workflow.SUBSCRIPTION, subscription.state)
            subscription.is_confirm_allowed = "carence" in targets and subscription.state == "draft"
            subscription.is_cover_allowed = subscription.state == "carence" and "active" in targets
            subscription.is_suspend_allowed = "suspended" in targets
            subscription.is_reactivate_allowed = subscription.state == "suspended"
            subscription.is_terminate_allowed = "terminated" in targets
            subscription.is_cancel_allowed = "cancelled" in targets

    @api.depends("usage_ids.interventions_used", "usage_ids.amount_consumed", "anniversary_date")
    @api.depends_context("date")
    def _compute_usage(self):
        today = self._today()
        for subscription in self:
            terms = subscription.plan_id
            if not subscription.anniversary_date:
                subscription.update(
                    {
                        "usage_year_start": False,
                        "usage_year_end": False,
                        "usage_count": 0,
                        "usage_amount": 0.0,
                        "remaining_count": terms.yearly_cap_count,
                        "remaining_amount": terms.yearly_cap_amount,
                        "usage_count_percent": 0.0,
                        "usage_amount_percent": 0.0,
                    }
                )
                continue
            year_start, year_end = subscription._coverage_year(today)
            usage = subscription.usage_ids.filtered(
                lambda u: u.year_start == year_start and not u.option_id
            )[:1]
            count, amount = usage.interventions_used, usage.amount_consumed
            subscription.update(
                {
                    "usage_year_start": year_start,
                    "usage_year_end": year_end,
                    "usage_count": count,
                    "usage_amount": amount,
                    "remaining_count": max(terms.yearly_cap_count - count, 0),
                    "remaining_amount": max(terms.yearly_cap_amount - amount, 0.0),
                    "usage_count_percent": terms.yearly_cap_count
                    and 100.0 * count / terms.yearly_cap_count,
                    "usage_amount_percent": terms.yearly_cap_amount
                    and 100.0 * amount / terms.yearly_cap_amount,
                }
            )

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    def _message_track(self, fields_iter, initial_values_dict):
        # written by a job or a webhook: the tracked values in the client's language
        return self._depanssur_track_in_client_lang(
            lambda records, *args: super(DepanssurSubscription, records)._message_track(*args),  # noqa: UP008
            fields_iter,
            initial_values_dict,
        )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
                vals["name"] = (
                    self.env["ir.sequence"]
                    .with_company(company)
                    .next_by_code("depanssur.subscription", sequence_date=vals.get("date_start"))
                    or "/"
                )
            if vals.get("partner_id") and not vals.get("risk_address_id"):
                vals["risk_address_id"] = vals["partner_id"]
        return super().create(vals_list)

    def write(self, vals):
        locked = {"plan_id", "date_start", "billing_period", "risk_address_id", "partner_id"}
        if locked & vals.keys() and not self._depanssur_in_workflow():
            running = self.filtered(lambda s: s.state != "draft")
            if running:
                raise UserError(
                    self.env._(
                        "Use the “Change plan”, “Change address” or “Terminate” actions "
                        "on a running subscription (%(names)s).",
                        names=", ".join(running.mapped("name")),
                    )
                )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_draft(self):
        if any(s.state not in ("draft", "cancelled") for s in self):
            raise UserError(
                self.env._("Only draft or cancelled subscriptions can be deleted; terminate it.")
            )

    def _compute_access_url(self):
        res = super()._compute_access_url()
        for subscription in self:
            subscription.access_url = f"/my/subscriptions/{subscription.id}"
        return res

    # ------------------------------------------------------------
    # Workflow: every state change goes through _change_state
    # ------------------------------------------------------------

    def action_confirm(self):
        """Draft → waiting period (or covered at once when the plan has no waiting period)."""
        for subscription in self:
            subscription._change_state(
                "carence",
                next_billing_date=subscription.next_billing_date or subscription.date_start,
            )
            if not subscription.plan_period_ids:
                self.env["depanssur.subscription.plan.period"].create(
                    {
                        "subscription_id": subscription.id,
                        "plan_id": subscription.plan_id.id,
                        "date_from": subscription.date_start,
                    }
                )
            if not subscription.address_history_ids:
                self.env["depanssur.subscription.address"].create(
                    {
                        "subscription_id": subscription.id,
                        "address_id": subscription.risk_address_id.id,
                        "date_from": subscription.date_start,
                    }
                )
            subscription._ensure_usage(subscription.date_start)
            if subscription.carence_end_date <= self._today():
                subscription._change_state("active")
        self._notify_event("confirmed")
        return True

    def action_end_carence(self):
        not_in_carence = self.filtered(lambda s: s.state != "carence")
        if not_in_carence:
            raise UserError(
                self.env._(
                    "%(names)s is not in its waiting period.",
                    names=", ".join(not_in_carence.mapped("name")),
                )
            )
        self._change_state("active")
        self._notify_event("coverage_active")
        return True

    def _check_manager(self):
        # the dunning ladder acts as superuser (sudo): no context key can stand for it
        self._depanssur_check_group(
            "depanssur.group_depanssur_manager",
            self.env._("Only a Depanssur manager can suspend or reactivate a subscription."),
        )

    def action_suspend(self, reason=None, day=None):
        self._check_manager()
        day = day or self._today()
        for subscription in self:
            previous = subscription.state
            subscription._change_state("suspended", state_before_suspension=previous)
            self.env["depanssur.subscription.suspension"].create(
                {"subscription_id": subscription.id, "date_from": day, "reason": reason}
            )
            subscription.message_post(
                body=subscription._depanssur_writer_env()._(
                    "Coverage suspended (%(reason)s).", reason=reason or "-"
                )
            )
        self._notify_event("suspended")
        return True

    def action_reactivate(self, day=None):
        self._check_manager()
        day = day or self._today()
        for subscription in self:
            carence_over = subscription.carence_end_date <= day
            target = "active" if carence_over else "carence"
            subscription._change_state(target, state_before_suspension=False)
            for period in subscription.suspension_ids.filtered(lambda s: not s.date_to):
                # the last suspended day, never before the first one (an empty period at worst)
                period.date_to = max(day, period.date_from) - timedelta(days=1)
            subscription.message_post(
                body=subscription._depanssur_writer_env()._("Coverage reactivated.")
            )
        self._notify_event("reactivated")
        return True

    def action_cancel(self):
        self._change_state("cancelled")
        return True

    def _terminate(self, reason, termination_date, comment=None):
        """Terminate now or schedule: the state changes when the termination date has passed."""
        for subscription in self:
            if subscription.state not in RUNNING_STATES:
                raise UserError(self.env._("%(name)s is not running.", name=subscription.name))
            if termination_date < subscription.date_start:
                raise UserError(self.env._("The termination date cannot be before the start date."))
            subscription.write(
                {
                    "termination_reason": reason,
                    "termination_date": termination_date,
                    "termination_comment": comment,
                }
            )
            subscription.message_post(
                body=subscription._depanssur_writer_env()._(
                    "Termination recorded: %(reason)s, last covered day %(date)s.",
                    reason=dict(TERMINATION_REASONS)[reason],
                    date=fields.Date.to_string(termination_date),
                )
            )
        for subscription in self:
            subscription._propose_termination_credit_notes()
        self.filtered(lambda s: s.termination_date < self._today())._apply_termination()
        return True

    def _propose_termination_credit_notes(self):
        """Draft credit notes for what was invoiced beyond the last covered day (for review)."""
        self.ensure_one()
        last_day = self.termination_date
        invoices = self.invoice_ids.filtered(
            lambda m: (
                m.move_type == "out_invoice"
                and m.state == "posted"
                and m.depanssur_period_end
                and m.depanssur_period_end > last_day
            )
        )
        notes = self.env["depanssur.credit.note"]
        client_env = self._client_env()
        for invoice in invoices:
            start, end = invoice.depanssur_period_start, invoice.depanssur_period_end
            first_unused = max(start, last_day + timedelta(days=1))
            lines = []
            for line in invoice.invoice_line_ids.filtered(lambda ml: ml.display_type == "product"):
                amount = proration.prorate(line.price_subtotal, start, end, first_unused, end)
                if amount <= 0:
                    continue
                lines.append(
                    Command.create(
                        {
                            "product_id": line.product_id.id,
                            "name": client_env._(
                                "%(label)s — unused from %(start)s to %(end)s",
                                label=line.product_id.with_env(client_env).name or line.name,
                                start=first_unused.strftime("%d/%m/%Y"),
                                end=end.strftime("%d/%m/%Y"),
                            ),
                            "quantity": 1,
                            "price_unit": float(amount),
                            "tax_ids": [Command.set(line.tax_ids.ids)],
                        }
                    )
                )
            if lines:
                notes |= (
                    self.env["depanssur.credit.note"]
                    .sudo()
                    .create(
                        {
                            "partner_id": invoice.partner_id.id,
                            "company_id": self.company_id.id,
                            "subscription_id": self.id,
                            "invoice_id": invoice.id,
                            "reason": "termination_prorata",
                            "line_ids": lines,
                        }
                    )
                )
        if notes:
            self.message_post(
                body=self._depanssur_writer_env()._(
                    "Credit notes proposed for the unused period: %(names)s",
                    names=", ".join(notes.mapped("display_name")),
                )
            )
        return notes

    def _apply_termination(self):
        self._change_state("terminated", next_billing_date=False)
        self._notify_event("terminated")

    def action_open_invoices(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        action["domain"] = [("depanssur_subscription_id", "=", self.id)]
        action["context"] = {"default_move_type": "out_invoice", "create": False}
        return action

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def _today(self):
        ctx_date = self.env.context.get("date")
        return fields.Date.to_date(ctx_date) if ctx_date else fields.Date.context_today(self)

    def _client_env(self):
        """The environment in the client's language: what the client reads (invoice and credit
        note lines) is written in it, whoever triggers the work."""
        self.ensure_one()
        return self.with_context(lang=self.partner_id.lang or self.env.lang).env

    def _notify_event(self, event):
        """Send the client the messages of ``subscription.<event>`` (see depanssur.notify.mixin)."""
        return self._depanssur_notify(f"subscription.{event}")

    def _coverage_year(self, day):
        """(first day, last day) of the coverage year containing ``day``."""
        self.ensure_one()
        return coverage.coverage_year_bounds(self.date_start, self.anniversary_date, day)

    def _ensure_usage(self, day, option=None):
        """Counters of the plan (or ``option``) for the coverage year containing ``day``, created
        at zero when missing: this is the yearly reset."""
        self.ensure_one()
        option = option or self.env["depanssur.option"]
        year_start, year_end = self._coverage_year(day)
        usage = self.usage_ids.filtered(
            lambda u: u.year_start == year_start and u.option_id == option
        )
        if usage:
            return usage
        # INSERT ... ON CONFLICT: when two workers open the same year's counters at once, the
        # second gets a serialization failure (retried by Odoo on fresh data), never a unique
        # violation (a hard error) or a second row
        Usage = self.env["depanssur.subscription.usage"]
        self.env.cr.execute(
            """
            INSERT INTO depanssur_subscription_usage
                   (subscription_id, company_id, option_id, year_start, year_end,
                    interventions_used, amount_consumed,
                    create_uid, create_date, write_uid, write_date)
            VALUES (%(subscription)s, %(company)s, %(option)s, %(start)s, %(end)s, 0, 0,
                    %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC')
            ON CONFLICT (subscription_id, year_start, COALESCE(option_id, 0)) DO NOTHING
            RETURNING id
            """,
            {
                "subscription": self.id,
                "company": self.company_id.id,
                "option": option.id or None,
                "start": year_start,
                "end": year_end,
                "uid": self.env.uid,
            },
        )
        row = self.env.cr.fetchone()
        self.invalidate_recordset(["usage_ids"])
        if row:
            return Usage.browse(row[0])
        return Usage.search(
            [
                ("subscription_id", "=", self.id),
                ("year_start", "=", year_start),
                ("option_id", "=", option.id),
            ],
            limit=1,
        )

    def _address_on(self, day):
        self.ensure_one()
        for period in self.address_history_ids:
            if period.date_from <= day and (not period.date_to or day <= period.date_to):
                return period.address_id
        return self.env["res.partner"]

    # ------------------------------------------------------------
    # Billing
    # ------------------------------------------------------------

    def _period_bounds(self, period_start):
        """(first day, last day) of the billing period starting on ``period_start``."""
        self.ensure_one()
        return proration.period_bounds(self.date_start, self.billing_period, period_start)

    def _current_period(self, day):
        """(first day, last day) of the billing period containing ``day``."""
        self.ensure_one()
        return proration.period_bounds(self.date_start, self.billing_period, day)

    def _months_per_period(self):
        return 12 if self.billing_period == "yearly" else 1

    def _invoice_line_vals(self, period_start, period_end):
        self.ensure_one()
        months = self._months_per_period()
        lines = [(self.plan_id, self.plan_id.product_id)]
        for line in self.option_line_ids:
            if line._is_active_on(period_start):
                lines.append((line.option_id, line.option_id.product_id))
        label = self.env._(
            "%(name)s — %(start)s to %(end)s",
            start=period_start.strftime("%d/%m/%Y"),
            end=period_end.strftime("%d/%m/%Y"),
            name="%s",
        )
        return [
            Command.create(
                {
                    "product_id": product.id,
                    "name": label % terms.name,
                    "quantity": months,
                    "price_unit": terms.monthly_price,
                }
            )
            for terms, product in lines
        ]

    def _prepare_invoice_vals(self, period_start, period_end, kind="period", line_vals=None):
        self.ensure_one()
        invoice_date = period_start if kind == "period" else self._today()
        partner = self.partner_invoice_id or self.partner_id
        values = {
            "move_type": "out_invoice",
            "partner_id": self.partner_invoice_id.id or self.partner_id.id,
            "company_id": self.company_id.id,
            "invoice_date": invoice_date,
            "invoice_origin": self.name,
            "depanssur_subscription_id": self.id,
            "depanssur_period_start": period_start,
            "depanssur_period_end": period_end,
            "depanssur_invoice_kind": kind,
            "invoice_line_ids": line_vals
            or self.with_env(self._client_env())._invoice_line_vals(period_start, period_end),
        }
        if not partner.with_company(self.company_id).property_payment_term_id:
            # due on receipt: the day it is issued (the run's day, as "today" everywhere else;
            # Odoo would take the server's clock). A payment term set on the client decides.
            values["invoice_date_due"] = max(invoice_date, self._today())
        return values

    def _invoice_due_periods(self, day):
        """Create and post the invoices of every period starting on or before ``day``.

        Re-running is harmless: ``next_billing_date`` moves forward in the same transaction and a
        unique index forbids two invoices for the same period. The invoices of the whole batch
        are created and posted in one go (set-based, much faster than one by one).
        """
        Move = self.env["account.move"].sudo()
        existing = set()
        if self:
            self.env.cr.execute(
                """
                SELECT depanssur_subscription_id, depanssur_period_start
                  FROM account_move
                 WHERE depanssur_subscription_id IN %s AND depanssur_invoice_kind = 'period'
                   AND move_type = 'out_invoice' AND state != 'cancel'
                """,
                (tuple(self.ids),),
            )
            existing = set(self.env.cr.fetchall())
        vals_by_company = {}
        next_dates = {}
        for subscription in self:
            next_date = subscription.next_billing_date
            while (
                subscription.state in RUNNING_STATES
                and next_date
                and next_date <= day
                and not (
                    subscription.termination_date and next_date > subscription.termination_date
                )
            ):
                start, end = subscription._period_bounds(next_date)
                subscription._apply_scheduled_changes(start)
                if (subscription.id, start) not in existing:
                    # created in the client's language: the stored client name on the
                    # invoice ("Mme Claire Martin") is in it, whoever runs the invoicing
                    key = (subscription.company_id, subscription._client_env().lang)
                    vals_by_company.setdefault(key, []).append(
                        subscription._prepare_invoice_vals(start, end)
                    )
                next_date = end + timedelta(days=1)
            if next_date != subscription.next_billing_date:
                next_dates[subscription] = next_date
        moves = Move
        quiet = {"tracking_disable": True, "mail_create_nolog": True, "mail_notrack": True}
        for (company, lang), vals_list in vals_by_company.items():
            # invoicing is the subscription's own doing, whoever triggers it (agent, cron)
            created = Move.with_company(company).with_context(lang=lang, **quiet).create(vals_list)
            created.action_post()
            moves |= created
        for subscription, next_date in next_dates.items():
            subscription.write({"next_billing_date": next_date})
        return moves

    @api.model
    def _cron_invoice_due(self, day=None, batch_size=200):
        """Daily: invoice the subscriptions whose billing date has come (default: today)."""
        day = fields.Date.to_date(day) if day else fields.Date.context_today(self)
        subscriptions = self._invoice_due(day)
        run_in_batches(
            self.env, subscriptions, batch_size, lambda batch: batch._invoice_due_periods(day)
        )
        return len(subscriptions)

    # ------------------------------------------------------------
    # Plan / option changes
    # ------------------------------------------------------------

    def _options_on(self, day):
        self.ensure_one()
        return self.option_line_ids.filtered(lambda line: line._is_active_on(day)).option_id

    def _change_effect(self, new_plan, new_options, day):
        """Describe what changing to ``new_plan`` + ``new_options`` on ``day`` would do.

        Upgrades (a dearer plan, an added option) apply on ``day`` and the difference for the rest
        of the invoiced period is charged prorata temporis; downgrades (a cheaper plan, a removed
        option) wait for the next period start.
        """
        self.ensure_one()
        current_options = (
            self._options_on(day)
            - self.option_line_ids.filtered(lambda line: line.date_end).option_id
        )
        added = new_options - current_options
        removed = current_options - new_options
        plan_up = new_plan != self.plan_id and new_plan.monthly_price >= self.plan_id.monthly_price
        plan_down = new_plan != self.plan_id and not plan_up
        old_amount = self.plan_id.monthly_price + sum(current_options.mapped("monthly_price"))
        new_amount = new_plan.monthly_price + sum(new_options.mapped("monthly_price"))
        upgrade = plan_up or bool(added)
        downgrade = plan_down or bool(removed)
        kind = (
            "mixed"
            if upgrade and downgrade
            else "upgrade"
            if upgrade
            else "downgrade"
            if downgrade
            else "none"
        )
        immediate_diff = (
            (new_plan.monthly_price if plan_up else self.plan_id.monthly_price)
            - (self.plan_id.monthly_price)
            + sum(added.mapped("monthly_price"))
        )
        prorata = self._prorata_amount(immediate_diff, day) if upgrade else 0.0
        effective = day
        if downgrade:
            effective = self._next_period_start(day)
        summary_parts = []
        if upgrade:
            summary_parts.append(
                self.env._(
                    "Upgrade applies on %(date)s; %(amount)s excl. VAT charged for the rest of "
                    "the current period.",
                    date=day.strftime("%d/%m/%Y"),
                    amount=f"{prorata:.2f}",
                )
            )
        if downgrade:
            summary_parts.append(
                self.env._(
                    "Downgrade scheduled for %(date)s (next period start).",
                    date=effective.strftime("%d/%m/%Y"),
                )
            )
        return {
            "kind": kind,
            "added": added,
            "removed": removed,
            "plan_up": plan_up,
            "plan_down": plan_down,
            "new_monthly_amount": new_amount,
            "monthly_difference": new_amount - old_amount,
            "prorata_amount": prorata,
            "effective_date": effective,
            "summary": "\n".join(summary_parts),
        }

    def _next_period_start(self, day):
        """First day of the billing period following the one containing ``day``."""
        self.ensure_one()
        _start, end = self._current_period(day)
        return end + timedelta(days=1)

    def _prorata_amount(self, monthly_difference, day):
        """Price difference for the days left in the invoiced period containing ``day``."""
        self.ensure_one()
        if not monthly_difference or not self.next_billing_date or self.next_billing_date <= day:
            # the period containing ``day`` is not invoiced yet: its invoice uses the new price
            return 0.0
        start, end = self._current_period(day)
        period_difference = monthly_difference * self._months_per_period()
        return float(proration.prorate(period_difference, start, end, day, end))

    def _change_plan_options(self, new_plan, new_options, day=None):
        """Apply an upgrade now (prorata invoice) and schedule a downgrade (one pending change)."""
        self.ensure_one()
        day = day or self._today()
        if self.state not in ("carence", "active"):
            raise UserError(self.env._("Only a running subscription can change plan or options."))
        not_allowed = new_options - new_plan.allowed_option_ids
        if not_allowed:
            raise UserError(
                self.env._(
                    "The option %(options)s cannot be added to the plan %(plan)s.",
                    options=", ".join(not_allowed.mapped("name")),
                    plan=new_plan.name,
                )
            )
        effect = self._change_effect(new_plan, new_options, day)
        if effect["kind"] == "none":
            return effect
        if (effect["plan_down"] or effect["removed"]) and self.pending_change_date:
            raise UserError(
                self.env._(
                    "A change is already scheduled on %(date)s: cancel it first.",
                    date=self.pending_change_date.strftime("%d/%m/%Y"),
                )
            )
        prorata_lines = []
        if effect["plan_up"]:
            old_plan = self.plan_id
            self._switch_plan(new_plan, day)
            if prorata_diff := new_plan.monthly_price - old_plan.monthly_price:
                prorata_lines.append((new_plan, prorata_diff))
            self.message_post(
                body=self._depanssur_writer_env()._(
                    "Plan upgraded from %(old)s to %(new)s on %(date)s.",
                    old=old_plan.name,
                    new=new_plan.name,
                    date=day.strftime("%d/%m/%Y"),
                )
            )
        for option in effect["added"]:
            self.env["depanssur.subscription.option"].create(
                {"subscription_id": self.id, "option_id": option.id, "date_start": day}
            )
            prorata_lines.append((option, option.monthly_price))
        if effect["plan_down"] or effect["removed"]:
            self.write(
                {
                    "pending_plan_id": new_plan.id if effect["plan_down"] else False,
                    "pending_change_date": effect["effective_date"],
                }
            )
            effect["removed_lines"] = self.option_line_ids.filtered(
                lambda line: line.option_id in effect["removed"] and not line.date_end
            )
            effect["removed_lines"].write(
                {"date_end": effect["effective_date"] - timedelta(days=1)}
            )
            self.message_post(body=effect["summary"])
        if prorata_lines and effect["prorata_amount"]:
            self._invoice_prorata(prorata_lines, day)
        self._notify_event("plan_changed")
        return effect

    def _switch_plan(self, new_plan, day):
        self.ensure_one()
        current = self.plan_period_ids.filtered(lambda p: not p.date_to or p.date_to >= day)
        current.filtered(lambda p: p.date_from >= day).unlink()
        (current.exists()).write({"date_to": day - timedelta(days=1)})
        self.env["depanssur.subscription.plan.period"].create(
            {"subscription_id": self.id, "plan_id": new_plan.id, "date_from": day}
        )
        self._depanssur_write({"plan_id": new_plan.id})

    def _invoice_prorata(self, lines, day):
        """Invoice the upgrade difference for the rest of the current invoiced period."""
        self.ensure_one()
        _start, end = self._current_period(day)
        client_env = self._client_env()
        line_vals = []
        for terms, monthly_difference in lines:
            amount = self._prorata_amount(monthly_difference, day)
            if not amount:
                continue
            line_vals.append(
                Command.create(
                    {
                        "product_id": terms.product_id.id,
                        "name": client_env._(
                            "%(name)s — prorata from %(start)s to %(end)s",
                            name=terms.with_env(client_env).name,
                            start=day.strftime("%d/%m/%Y"),
                            end=end.strftime("%d/%m/%Y"),
                        ),
                        "quantity": 1,
                        "price_unit": amount,
                    }
                )
            )
        if not line_vals:
            return self.env["account.move"]
        move = (
            self.env["account.move"]
            .sudo()
            .with_company(self.company_id)
            .with_context(lang=self._client_env().lang)
            .create(self._prepare_invoice_vals(day, end, kind="prorata", line_vals=line_vals))
        )
        move.action_post()
        return move

    def action_cancel_pending_change(self):
        for subscription in self:
            if not subscription.pending_change_date:
                continue
            cutoff = subscription.pending_change_date - timedelta(days=1)
            subscription.option_line_ids.filtered(lambda line: line.date_end == cutoff).write(
                {"date_end": False}
            )
            subscription.write({"pending_plan_id": False, "pending_change_date": False})
            subscription.message_post(
                body=subscription._depanssur_writer_env()._("Scheduled change cancelled.")
            )
        return True

    def _apply_scheduled_changes(self, day):
        """Apply the downgrades and address changes due on or before ``day`` (idempotent)."""
        for subscription in self:
            if subscription.pending_change_date and subscription.pending_change_date <= day:
                if subscription.pending_plan_id:
                    old = subscription.plan_id
                    subscription._switch_plan(
                        subscription.pending_plan_id, subscription.pending_change_date
                    )
                    subscription.message_post(
                        body=subscription._depanssur_writer_env()._(
                            "Plan changed from %(old)s to %(new)s.",
                            old=old.name,
                            new=subscription.plan_id.name,
                        )
                    )
                subscription.write({"pending_plan_id": False, "pending_change_date": False})
            current = subscription._address_on(day)
            if current and current != subscription.risk_address_id:
                subscription._depanssur_write({"risk_address_id": current.id})
                subscription.message_post(
                    body=subscription._depanssur_writer_env()._(
                        "The insured home is now %(address)s.", address=current.display_name
                    )
                )

    # ------------------------------------------------------------
    # Risk address
    # ------------------------------------------------------------

    def _address_cutoff_days(self):
        return int(
            self.env["ir.config_parameter"].sudo().get_param("depanssur.address_cutoff_days", 10)
        )

    def _address_change_effective_date(self, request_date):
        self.ensure_one()
        return address_rules.effective_date(
            request_date,
            self.date_start,
            self.billing_period,
            self._address_cutoff_days(),
        )

    def _request_address_change(self, new_address, request_date=None):
        self.ensure_one()
        request_date = request_date or self._today()
        if self.state not in RUNNING_STATES:
            raise UserError(self.env._("Only a running subscription can change its insured home."))
        if new_address == self.risk_address_id:
            raise UserError(self.env._("This home is already the insured one."))
        effective = self._address_change_effective_date(request_date)
        history = self.address_history_ids
        history.filtered(lambda p: p.date_from >= effective).unlink()
        current = self.address_history_ids.filtered(
            lambda p: p.date_from < effective and (not p.date_to or p.date_to >= effective)
        )
        current.write({"date_to": effective - timedelta(days=1)})
        self.env["depanssur.subscription.address"].create(
            {
                "subscription_id": self.id,
                "address_id": new_address.id,
                "date_from": effective,
                "requested_on": request_date,
            }
        )
        self._check_risk_address_value(new_address)
        self.message_post(
            body=self._depanssur_writer_env()._(
                "Insured home change requested on %(request)s: %(address)s covered from %(date)s.",
                request=request_date.strftime("%d/%m/%Y"),
                address=new_address.display_name,
                date=effective.strftime("%d/%m/%Y"),
            )
        )
        if effective <= self._today():
            self._apply_scheduled_changes(effective)
        self._notify_event("address_changed")
        return effective

    def _check_risk_address_value(self, address):
        partner = self.partner_id.commercial_partner_id
        if address.commercial_partner_id != partner:
            raise ValidationError(
                self.env._("The insured home must be the client's address or one of its addresses.")
            )

    # ------------------------------------------------------------
    # Requests from the customer portal (controllers/portal.py), validated before anything is
    # created, handled by the company's responsible for portal requests
    # ------------------------------------------------------------

    def _portal_schedule_request(self, summary, note):
        responsible = self.company_id._depanssur_portal_responsible()
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=summary,
            note=plaintext2html(note) if note else False,
            user_id=responsible.id,
        )
        return responsible

    def _portal_check_address_request(self, street, zip_code, city):
        """``(clean, problems)`` for a new home typed on the portal: the cleaned street, zip and
        city, and the problems as codes by field (rules.address), ``form`` for the request itself
        (``not_running``, ``same_home``)."""
        self.ensure_one()
        clean, problems = address_rules.check_home_address(street, zip_code, city, "FR")
        if self.state not in RUNNING_STATES:
            problems["form"] = "not_running"
        else:
            home = self.risk_address_id
            if (home.street or "", home.zip or "", (home.city or "").casefold()) == (
                clean["street"],
                clean["zip"],
                clean["city"].casefold(),
            ):
                problems["form"] = "same_home"
        return clean, problems

    def _portal_request_address_change(self, street, zip_code, city):
        """A move declared by the client on the portal: the address is checked first (nothing is
        created when it is invalid), becomes a contact of the client (an identical one is reused),
        the change is scheduled as from the back office, and the responsible for portal requests
        gets an activity to check it. Returns the date the new home is covered from."""
        self.ensure_one()
        clean, problems = self._portal_check_address_request(street, zip_code, city)
        if problems:
            raise ValidationError(
                self.env._("The new home cannot be recorded: check the address and try again.")
            )
        client = self.partner_id.commercial_partner_id
        france = self.env.ref("base.fr")
        Partner = self.env["res.partner"]
        with self.env.cr.savepoint():
            address = Partner.search(
                [
                    ("parent_id", "=", client.id),
                    ("type", "=", "other"),
                    ("street", "=", clean["street"]),
                    ("zip", "=", clean["zip"]),
                    ("city", "=ilike", clean["city"]),
                    ("country_id", "=", france.id),
                ],
                limit=1,
            ) or Partner.create(
                {
                    "parent_id": client.id,
                    "type": "other",
                    "name": clean["street"],
                    **clean,
                    "country_id": france.id,
                }
            )
            effective = self._request_address_change(address)
        self._portal_schedule_request(
            self.env._("Insured home change requested by the client"),
            self.env._(
                "New home %(address)s, covered from %(date)s: check it with the client.",
                address=f"{clean['street']}, {clean['zip']} {clean['city']}",
                date=effective.strftime("%d/%m/%Y"),
            ),
        )
        return effective

    def _portal_request_termination(self, reason):
        """A termination asked on the portal: an activity for the responsible for portal requests
        (who calls the client back and terminates from the back office), a note in the chatter."""
        self.ensure_one()
        if self.state not in RUNNING_STATES:
            raise UserError(self.env._("Only a running subscription can be terminated."))
        reason = CONTROL_CHARS.sub("", reason or "").strip()[:2000]
        responsible = self._portal_schedule_request(
            self.env._("Termination requested by the client"), reason
        )
        self.message_post(
            body=self._depanssur_writer_env()._(
                "Termination requested from the customer portal: %(reason)s",
                reason=reason or "-",
            ),
            author_id=self.env.user.partner_id.id,
        )
        return responsible

    # ------------------------------------------------------------
    # Daily jobs (the ir.cron records call these; each is callable for a given day)
    # ------------------------------------------------------------

    # Each step is split in three: ``_*_due(day)`` finds the records to process, ``_*_batch(day)``
    # processes a batch of them and re-checks each record's condition first (a batch run twice,
    # or by two workers after the other's commit, changes nothing more), and ``_cron_*`` runs the
    # whole step in batches. The daily run's job queue enqueues one job per batch instead
    # (``depanssur.jobs._steps``, ``BatchedStep``).

    @api.model
    def _end_carence_due(self, day):
        return self.search([("state", "=", "carence"), ("carence_end_date", "<=", day)], order="id")

    def _end_carence_batch(self, day):
        due = self.filtered(
            lambda s: s.state == "carence" and s.carence_end_date and s.carence_end_date <= day
        )
        if due:
            due.action_end_carence()
        return due

    @api.model
    def _cron_end_carence(self, day=None, batch_size=500):
        """Waiting period over → covered, with the "coverage active" notification."""
        day = fields.Date.to_date(day) if day else fields.Date.context_today(self)
        return run_in_batches(
            self.env,
            self._end_carence_due(day),
            batch_size,
            lambda batch: batch._end_carence_batch(day),
        )

    @api.model
    def _scheduled_changes_due(self, day):
        with_pending = self.search(
            [("state", "in", RUNNING_STATES), ("pending_change_date", "<=", day)]
        )
        # requested changes (requested_on set) whose new home is not the current one yet
        address_changes = self.env["depanssur.subscription.address"].search(
            [
                ("requested_on", "!=", False),
                ("date_from", "<=", day),
                "|",
                ("date_to", "=", False),
                ("date_to", ">=", day),
                ("subscription_id.state", "in", RUNNING_STATES),
            ]
        )
        moved = address_changes.filtered(
            lambda p: p.address_id != p.subscription_id.risk_address_id
        ).subscription_id
        return (with_pending | moved).sorted("id")

    def _scheduled_changes_batch(self, day):
        # ``_apply_scheduled_changes`` re-checks the pending change and the current home itself
        running = self.filtered(lambda s: s.state in RUNNING_STATES)
        running._apply_scheduled_changes(day)
        return running

    @api.model
    def _cron_apply_scheduled_changes(self, day=None, batch_size=500):
        """Downgrades, option removals and insured-home changes due on or before ``day``."""
        day = fields.Date.to_date(day) if day else fields.Date.context_today(self)
        return run_in_batches(
            self.env,
            self._scheduled_changes_due(day),
            batch_size,
            lambda batch: batch._scheduled_changes_batch(day),
        )

    @api.model
    def _reset_counters_due(self, day):
        # set-based: the running subscriptions with no plan counters covering ``day``
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT s.id FROM depanssur_subscription s
             WHERE s.state IN %s AND s.date_start <= %s
               AND NOT EXISTS (
                   SELECT 1 FROM depanssur_subscription_usage u
                    WHERE u.subscription_id = s.id AND u.option_id IS NULL
                      AND u.year_start <= %s AND u.year_end >= %s)
             ORDER BY s.id
            """,
            (RUNNING_STATES, day, day, day),
        )
        return self.browse([row[0] for row in self.env.cr.fetchall()])

    def _reset_counters_batch(self, day):
        # ``_ensure_usage`` creates the year's counters once (INSERT ... ON CONFLICT DO NOTHING)
        running = self.filtered(lambda s: s.state in RUNNING_STATES and s.date_start <= day)
        for subscription in running:
            subscription._ensure_usage(day)
        return running

    @api.model
    def _cron_reset_counters(self, day=None, batch_size=500):
        """Open the counters of the new coverage year for subscriptions whose anniversary is due.

        Idempotent: the counters of a coverage year are created once (unique index).
        """
        day = fields.Date.to_date(day) if day else fields.Date.context_today(self)
        return run_in_batches(
            self.env,
            self._reset_counters_due(day),
            batch_size,
            lambda batch: batch._reset_counters_batch(day),
        )

    @api.model
    def _terminations_due(self, day):
        return self.search(
            [("state", "in", RUNNING_STATES), ("termination_date", "<", day)], order="id"
        )

    def _terminations_batch(self, day):
        due = self.filtered(
            lambda s: s.state in RUNNING_STATES and s.termination_date and s.termination_date < day
        )
        if due:
            due._apply_termination()
        return due

    @api.model
    def _cron_apply_terminations(self, day=None, batch_size=500):
        """Terminations whose last covered day is before ``day`` take effect."""
        day = fields.Date.to_date(day) if day else fields.Date.context_today(self)
        return run_in_batches(
            self.env,
            self._terminations_due(day),
            batch_size,
            lambda batch: batch._terminations_batch(day),
        )

    @api.model
    def _invoice_due(self, day):
        return self.search(
            [("state", "in", RUNNING_STATES), ("next_billing_date", "<=", day)], order="id"
        )

    # ------------------------------------------------------------
    # Coverage decision and counters
    # ------------------------------------------------------------

    def _plan_on(self, day):
        self.ensure_one()
        for period in self.plan_period_ids.sorted("date_from", reverse=True):
            if period.date_from <= day and (not period.date_to or day <= period.date_to):
                return period
        return self.env["depanssur.subscription.plan.period"]

    def _coverage_terms(self, day):
        """Rules' ``CoverageTerms`` in force on ``day``: the plan (one entry per coverage start, so
        that categories kept across an upgrade keep their original start) then the options."""
        self.ensure_one()
        terms = []
        period = self._plan_on(day)
        if period:
            plan = period.plan_id
            starts = {}
            for category in plan.category_ids:
                start_period = period
                previous = self.plan_period_ids.sorted("date_from", reverse=True)
                for older in previous:
                    if (
                        older.date_to
                        and older.date_to == start_period.date_from - timedelta(days=1)
                        and category in older.plan_id.category_ids
                    ):
                        start_period = older
                starts.setdefault(start_period, set()).add(category.code)
            for start_period, codes in starts.items():
                terms.append(self._terms_for("plan", plan, start_period.date_from, codes, period))
        for line in self.option_line_ids:
            if line._is_active_on(day):
                terms.append(
                    self._terms_for(
                        f"option:{line.option_id.id}",
                        line.option_id,
                        line.date_start,
                        set(line.option_id.category_ids.mapped("code")),
                        line,
                    )
                )
        return terms

    def _terms_for(self, source, record, start, codes, period):
        carence_source = record
        if source == "plan" and period.date_from != start:
            # coverage kept from an earlier plan: its waiting period was the earlier plan's
            older = self.plan_period_ids.filtered(lambda p: p.date_from == start)[:1]
            carence_source = older.plan_id or record
        return coverage.CoverageTerms(
            source=source,
            categories=frozenset(codes),
            start=start,
            carence_days=carence_source.carence_days,
            franchise=coverage.to_money(record.franchise),
            cap_per_intervention=coverage.to_money(record.cap_per_intervention),
            yearly_cap_amount=coverage.to_money(record.yearly_cap_amount),
            yearly_cap_count=record.yearly_cap_count,
            end=getattr(period, "date_to", None) or getattr(period, "date_end", None) or None,
        )

    def _coverage_contract(self):
        self.ensure_one()
        return coverage.Contract(
            start=self.date_start,
            termination_date=self.termination_date or None,
            suspensions=tuple((s.date_from, s.date_to or None) for s in self.suspension_ids),
            addresses=tuple(
                (a.address_id.id, a.date_from, a.date_to or None) for a in self.address_history_ids
            ),
        )

    def _usage_record(self, day, source):
        self.ensure_one()
        option = self.env["depanssur.option"]
        if source and source.startswith("option:"):
            option = option.browse(int(source.split(":")[1]))
        return self._ensure_usage(day, option=option)

    def _coverage_decision(self, day, category_code, address, cost, exclude_amount=0.0):
        """The rules' ``CoverageDecision`` for an incident on ``day`` at ``address`` (a partner)."""
        self.ensure_one()
        if self.state in ("draft", "cancelled"):
            return coverage.CoverageDecision(
                "not_covered", "not_started", client_share=coverage.to_money(cost)
            )
        terms = self._coverage_terms(day)
        year_start, _year_end = self._coverage_year(day)
        usage_by_source = {}
        for usage in self.usage_ids.filtered(lambda u: u.year_start == year_start):
            source = f"option:{usage.option_id.id}" if usage.option_id else "plan"
            usage_by_source[source] = coverage.Usage(
                usage.interventions_used, coverage.to_money(usage.amount_consumed)
            )
        incident = coverage.Incident(
            day=day,
            category=category_code,
            address=address.id if address else None,
            cost=coverage.to_money(cost),
        )
        return coverage.decide(self._coverage_contract(), terms, usage_by_source, incident)

    def _consume_coverage(self, day, source, amount, sign=1):
        """Add (sign=1) or give back (sign=-1) one intervention of ``amount`` to the counters of
        ``source`` for the coverage year of ``day``, atomically (safe under concurrency)."""
        self.ensure_one()
        usage = self._usage_record(day, source)
        self.env.flush_all()
        self.env.cr.execute(
            """
            UPDATE depanssur_subscription_usage
               SET interventions_used = GREATEST(interventions_used + %(count)s, 0),
                   amount_consumed = GREATEST(amount_consumed + %(amount)s, 0)
             WHERE id = %(id)s
            """,
            {"count": sign, "amount": sign * float(amount or 0.0), "id": usage.id},
        )
        usage.invalidate_recordset(["interventions_used", "amount_consumed"])
        self.invalidate_recordset()
        return usage

    @api.model
    def _payment_failure_labels(self, env):
        """The failure reasons of the payment webhooks worded for people, in ``env``'s language
        (an unknown reason is shown as sent)."""
        return {
            "insufficient_funds": env._("insufficient funds"),
            "card_expired": env._("card expired"),
            "expired_card": env._("card expired"),
            "card_declined": env._("card declined"),
            "do_not_honor": env._("refused by the bank"),
            "authentication_required": env._("authentication required"),
            "mandate_revoked": env._("direct debit mandate revoked"),
            "account_closed": env._("bank account closed"),
        }

    def _depanssur_payment_event(self, kind, data, event):
        """A payment.failed / payment.succeeded webhook: opens or closes the dunning case."""
        self.ensure_one()
        Case = self.env["depanssur.dunning.case"].sudo()
        invoice = self.env["account.move"]
        if data.get("invoice"):
            invoice = self.invoice_ids.filtered(lambda m: m.name == data["invoice"])[:1]
        if kind == "failed":
            invoice = (
                invoice
                or self.invoice_ids.filtered(
                    lambda m: m.state == "posted" and m.payment_state in ("not_paid", "partial")
                ).sorted("invoice_date")[:1]
            )
            case = Case._open_for(self, invoice, event.occurred_at.date(), source="payment_failed")
            case._depanssur_notify("dunning.payment_failed")
        else:
            if self.state == "draft" and self.signup_key:  # an unconfirmed web sign-up, now paid
                self.env["depanssur.signup"]._signup_activate(self, proof="payment")
            domain = [("subscription_id", "=", self.id), ("state", "!=", "closed")]
            if invoice:
                domain.append(("invoice_id", "=", invoice.id))
            Case.search(domain)._close("paid")
        env = self._depanssur_writer_env()
        currency = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "=", data["currency"])], limit=1)
        )
        amount = (
            format_amount(env, float(data["amount"]), currency)
            if currency
            else f"{data['amount']} {data['currency']}"
        )
        if kind == "failed":
            reason = data.get("reason") or "-"
            body = env._(
                "Payment failed (%(amount)s): %(reason)s",
                amount=amount,
                reason=self._payment_failure_labels(env).get(reason, reason),
            )
        else:
            body = env._("Payment received (%(amount)s).", amount=amount)
        self.message_post(body=body)
        return "processed"
