import logging
import re

from odoo import api, fields, models, tools
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, consteq

from ..rules import workflow

_logger = logging.getLogger(__name__)

DECISIONS = [
    ("covered", "Covered"),
    ("partial", "Partly covered"),
    ("not_covered", "Not covered"),
]
DECISION_REASONS = [
    ("not_started", "Subscription not started"),
    ("terminated", "Subscription terminated"),
    ("suspended", "Subscription suspended"),
    ("address", "Not the insured home"),
    ("category", "Category not covered"),
    ("carence", "Waiting period"),
    ("count_cap", "Yearly number of interventions reached"),
    ("amount_cap", "Yearly amount cap reached"),
    ("franchise", "Franchise"),
    ("intervention_cap", "Cap per intervention"),
    ("yearly_cap", "Yearly amount cap"),
]
NPS_TOKEN_SCOPE = "depanssur-nps"
NPS_COMMENT_MAX = 2000
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # not storable (NUL) or invisible
CHANNELS = [
    ("phone", "Phone"),
    ("web", "Website"),
    ("app", "Mobile app"),
    ("email", "Email"),
]


class DepanssurDossier(models.Model):
    """A claim file ("dossier déclaratif") mirrored from Depanssur's operational tool."""

    _name = "depanssur.dossier"
    _inherit = [
        "mail.thread",
        "mail.activity.mixin",
        "depanssur.notify.mixin",
        "depanssur.workflow.mixin",
    ]
    _description = "Claim file"
    _order = "declaration_date desc, id desc"
    _check_company_auto = True
    _depanssur_workflow = workflow.DOSSIER
    _depanssur_workflow_fields = frozenset({"state", "counters_consumed", "consumed_amount"})

    name = fields.Char(
        string="Number", required=True, readonly=True, copy=False, default="/", index="trigram"
    )
    external_id = fields.Char(
        string="External ID", index=True, copy=False, help="Identifier in Depanssur's tool."
    )
    company_id = fields.Many2one(
        related="subscription_id.company_id", store=True, index=True, precompute=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    subscription_id = fields.Many2one(
        "depanssur.subscription", required=True, index=True, tracking=True, ondelete="restrict"
    )
    partner_id = fields.Many2one(
        related="subscription_id.partner_id", store=True, string="Client", index=True
    )
    partner_phone = fields.Char(related="partner_id.phone", string="Phone")
    partner_mobile = fields.Char(related="partner_id.mobile", string="Mobile")
    partner_mobile_display = fields.Char(
        related="partner_id.depanssur_mobile_display", string="Client's mobile"
    )
    category_id = fields.Many2one("depanssur.category", required=True, tracking=True)
    user_id = fields.Many2one(
        "res.users",
        string="Owner",
        default=lambda self: self._default_user_id(),
        domain="[('share', '=', False)]",
        index=True,
        tracking=True,
        help="The agent following this claim file (empty for a file created by a webhook).",
    )
    incident_date = fields.Date(required=True, tracking=True)
    declaration_date = fields.Datetime(required=True, default=fields.Datetime.now)
    channel = fields.Selection(CHANNELS, string="Declared by", default="phone", required=True)
    description = fields.Text()
    risk_address_id = fields.Many2one(
        "res.partner",
        string="Incident address",
        compute="_compute_risk_address_id",
        store=True,
        readonly=False,
        precompute=True,
        help="Where the incident happened; by default the home insured on the incident date.",
    )
    estimated_cost = fields.Monetary(tracking=True)
    cost_labour = fields.Monetary(string="Labour")
    cost_parts = fields.Monetary(string="Parts")
    cost_travel = fields.Monetary(string="Travel")
    final_cost = fields.Monetary(compute="_compute_final_cost", store=True, tracking=True)
    has_final_cost = fields.Boolean(readonly=True, copy=False)
    decision = fields.Selection(DECISIONS, readonly=True, copy=False, tracking=True)
    decision_reason = fields.Selection(DECISION_REASONS, readonly=True, copy=False)
    decision_date = fields.Datetime(readonly=True, copy=False)
    coverage_source = fields.Char(readonly=True, copy=False)
    covered_amount = fields.Monetary(readonly=True, copy=False)
    franchise_amount = fields.Monetary(string="Franchise", readonly=True, copy=False)
    client_share = fields.Monetary(readonly=True, copy=False)
    counters_consumed = fields.Boolean(readonly=True, copy=False)
    consumed_amount = fields.Monetary(readonly=True, copy=False)
    scheduled_date = fields.Datetime(string="Intervention scheduled on", tracking=True)
    done_date = fields.Date(string="Intervention done on", readonly=True, copy=False)
    nps_score = fields.Integer(string="NPS score", readonly=True, copy=False, aggregator="avg")
    nps_comment = fields.Text(string="NPS comment", readonly=True, copy=False)
    nps_date = fields.Datetime(string="NPS answered on", readonly=True, copy=False)
    nps_callback_planned = fields.Boolean(readonly=True, copy=False)
    last_event_at = fields.Datetime(
        readonly=True, copy=False, help="occurred_at of the newest webhook event applied."
    )
    state = fields.Selection(
        [
            ("declared", "Declared"),
            ("qualified", "Qualified"),
            ("scheduled", "Intervention scheduled"),
            ("done", "Intervention done"),
            ("closed", "Closed"),
            ("refused", "Refused"),
            ("cancelled", "Cancelled"),
        ],
        default="declared",
        required=True,
        readonly=True,
        copy=False,
        tracking=True,
        index=True,
    )
    is_qualify_allowed = fields.Boolean(compute="_compute_allowed_transitions")
    is_schedule_allowed = fields.Boolean(compute="_compute_allowed_transitions")
    is_done_allowed = fields.Boolean(compute="_compute_allowed_transitions")
    is_close_allowed = fields.Boolean(compute="_compute_allowed_transitions")
    is_refuse_allowed = fields.Boolean(compute="_compute_allowed_transitions")
    is_cancel_allowed = fields.Boolean(compute="_compute_allowed_transitions")

    _external_id_unique = models.UniqueIndex(
        "(company_id, external_id) WHERE external_id IS NOT NULL",
        "A claim file with this external ID already exists.",
    )
    _nps_range = models.Constraint(
        "CHECK (nps_score IS NULL OR (nps_score >= 0 AND nps_score <= 10))",
        "The NPS score is between 0 and 10.",
    )
    _costs_positive = models.Constraint(
        "CHECK (COALESCE(estimated_cost, 0) >= 0 AND COALESCE(cost_labour, 0) >= 0 "
        "AND COALESCE(cost_parts, 0) >= 0 AND COALESCE(cost_travel, 0) >= 0)",
        "Costs cannot be negative.",
    )

    @api.model
    def _default_user_id(self):
        """The agent creating the file; none when a job or a webhook (sudo) creates it."""
        user = self.env.user
        if self.env.su or user._is_superuser() or not user._is_internal():
            return False
        return user

    @api.depends("subscription_id", "incident_date")
    def _compute_risk_address_id(self):
        for dossier in self:
            subscription = dossier.subscription_id
            address = (
                subscription._address_on(dossier.incident_date)
                if subscription and dossier.incident_date
                else False
            )
            dossier.risk_address_id = address or subscription.risk_address_id

    @api.depends("cost_labour", "cost_parts", "cost_travel")
    def _compute_final_cost(self):
        for dossier in self:
            dossier.final_cost = dossier.cost_labour + dossier.cost_parts + dossier.cost_travel

    @api.depends("state")
    def _compute_allowed_transitions(self):
        for dossier in self:
            targets = workflow.allowed_targets(workflow.DOSSIER, dossier.state)
            dossier.is_qualify_allowed = "qualified" in targets
            dossier.is_schedule_allowed = "scheduled" in targets
            dossier.is_done_allowed = "done" in targets
            dossier.is_close_allowed = "closed" in targets
            dossier.is_refuse_allowed = "refused" in targets
            dossier.is_cancel_allowed = "cancelled" in targets

    @api.constrains("incident_date", "declaration_date")
    def _check_dates(self):
        for dossier in self:
            if (
                dossier.incident_date
                and dossier.declaration_date
                and (dossier.incident_date > dossier.declaration_date.date())
            ):
                raise ValidationError(
                    self.env._("The incident cannot happen after its declaration.")
                )

    def _message_track(self, fields_iter, initial_values_dict):
        # written by a job or a webhook: the tracked values in the client's language
        return self._depanssur_track_in_client_lang(
            lambda records, *args: super(DepanssurDossier, records)._message_track(*args),  # noqa: UP008
            fields_iter,
            initial_values_dict,
        )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                vals["name"] = self.env["ir.sequence"].next_by_code("depanssur.dossier") or "/"
        return super().create(vals_list)

    @api.ondelete(at_uninstall=False)
    def _unlink_never_once_decided(self):
        if any(d.state != "declared" or d.counters_consumed for d in self):
            raise UserError(
                self.env._("A claim file can only be deleted while just declared; cancel it.")
            )

    # ------------------------------------------------------------
    # Workflow
    # ------------------------------------------------------------

    def _decide(self):
        """Compute and store the coverage decision (final cost when known, else the estimate)."""
        for dossier in self:
            cost = dossier.final_cost if dossier.has_final_cost else dossier.estimated_cost
            decision = dossier.subscription_id._coverage_decision(
                dossier.incident_date,
                dossier.category_id.code,
                dossier.risk_address_id,
                cost,
            )
            dossier.write(
                {
                    "decision": decision.status,
                    "decision_reason": decision.reason or False,
                    "decision_date": fields.Datetime.now(),
                    "coverage_source": decision.source or False,
                    "covered_amount": float(decision.covered_amount),
                    "franchise_amount": float(decision.franchise),
                    "client_share": float(decision.client_share),
                }
            )
        return True

    def action_qualify(self):
        """Decide the coverage: qualified when (partly) covered, refused otherwise."""
        for dossier in self:
            dossier._decide()
            target = "refused" if dossier.decision == "not_covered" else "qualified"
            dossier._change_state(target)
            dossier._notify_event("decision")
        return True

    def action_schedule(self, scheduled_date=None):
        for dossier in self:
            dossier._change_state(
                "scheduled", scheduled_date=scheduled_date or dossier.scheduled_date
            )
            dossier._notify_event("scheduled")
        return True

    def action_done(self, done_date=None):
        """Intervention done: final decision on the final cost, counters consumed."""
        for dossier in self:
            if dossier.state == "declared":
                dossier.action_qualify()
                if dossier.state == "refused":
                    continue
            dossier._decide()
            dossier._change_state("done", done_date=done_date or fields.Date.context_today(self))
            if dossier.decision in ("covered", "partial") and not dossier.counters_consumed:
                dossier.subscription_id._consume_coverage(
                    dossier.incident_date, dossier.coverage_source, dossier.covered_amount
                )
                dossier._depanssur_write(
                    {"counters_consumed": True, "consumed_amount": dossier.covered_amount}
                )
            dossier._notify_event("done")
        return True

    def action_close(self):
        self._change_state("closed")
        return True

    def action_refuse(self):
        self._change_state("refused")
        return True

    def action_cancel(self):
        """Cancel; counters consumed by a done intervention are given back."""
        for dossier in self:
            dossier._change_state("cancelled")
            if dossier.counters_consumed:
                dossier.subscription_id._consume_coverage(
                    dossier.incident_date,
                    dossier.coverage_source,
                    dossier.consumed_amount,
                    sign=-1,
                )
                dossier._depanssur_write({"counters_consumed": False})
                dossier.message_post(
                    body=dossier._depanssur_writer_env()._("Coverage counters given back.")
                )
        return True

    # ------------------------------------------------------------
    # Satisfaction question (NPS), answered from the page the email links to
    # ------------------------------------------------------------

    def _nps_token(self):
        """The proof that a visitor of the NPS page received this claim file's email."""
        self.ensure_one()
        return tools.hmac(self.env(su=True), NPS_TOKEN_SCOPE, self.id)

    def _nps_check_token(self, token):
        self.ensure_one()
        # bytes: compare_digest refuses non-ASCII str, and a hostile link may carry any text
        return isinstance(token, str) and consteq(token.encode(), self._nps_token().encode())

    def _nps_url(self):
        """The signed link of the satisfaction page (controllers/nps.py); opening it records
        nothing, the answer is posted from the page."""
        self.ensure_one()
        return f"{self.get_base_url()}/depanssur/nps/{self.id}?token={self._nps_token()}"

    def _nps_answer(self, score, comment=None, answered_at=None):
        """Record the client's answer once; returns False when an answer was already there.
        ``answered_at`` (default: now) dates an answer received earlier (the sample year).

        The row is locked first: a simultaneous second answer waits, then fails to serialize and
        Odoo replays its request, which finds the first answer.
        """
        self.ensure_one()
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 10:
            raise ValidationError(self.env._("The NPS score is between 0 and 10."))
        self.env.cr.execute(
            SQL("SELECT nps_date FROM depanssur_dossier WHERE id = %s FOR UPDATE", self.id)
        )
        if self.env.cr.fetchone()[0]:
            return False
        self.write(
            {
                "nps_score": score,
                "nps_comment": CONTROL_CHARS.sub("", comment or "").strip()[:NPS_COMMENT_MAX]
                or False,
                "nps_date": answered_at or fields.Datetime.now(),
            }
        )
        return True

    def _notify_event(self, event):
        """Send the client the messages of ``dossier.<event>`` (see depanssur.notify.mixin)."""
        return self._depanssur_notify(f"dossier.{event}")
