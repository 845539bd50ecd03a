import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tools import SQL

from ..rules import dunning as dunning_rules
from ..rules import workflow
from .batching import browse_in_chunks, run_in_batches

_logger = logging.getLogger(__name__)

# a case closed for one of these reasons may be reopened if its invoice becomes unpaid again
SETTLED_REASONS = ("paid", "credit_note")

LEVEL_ACTIONS = [
    ("none", "Message only"),
    ("retry_payment", "Retry payment"),
    ("suspend", "Suspend coverage"),
    ("terminate", "Terminate for non-payment"),
    ("collection", "Hand to collection"),
]


class DepanssurDunningLevel(models.Model):
    """A step of the dunning ladder (configurable; the default ladder is data)."""

    _name = "depanssur.dunning.level"
    _description = "Dunning level"
    _order = "days_after, sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10, required=True)
    days_after = fields.Integer(
        string="Days after", required=True, help="Days after the failure or due date."
    )
    channel = fields.Selection(
        [("email", "Email"), ("sms", "SMS"), ("both", "Email and SMS")],
        required=True,
        default="email",
    )
    mail_template_id = fields.Many2one(
        "mail.template", domain="[('model', '=', 'depanssur.dunning.case')]"
    )
    sms_template_id = fields.Many2one(
        "sms.template", domain="[('model', '=', 'depanssur.dunning.case')]"
    )
    action = fields.Selection(LEVEL_ACTIONS, required=True, default="none")
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)
    active = fields.Boolean(default=True)

    _days_positive = models.Constraint("CHECK (days_after >= 0)", "Days after cannot be negative.")

    def _as_rule(self):
        self.ensure_one()
        actions = frozenset() if self.action == "none" else frozenset({self.action})
        return dunning_rules.DunningLevel(
            self.id, self.days_after, self.channel, actions, self.name
        )


class DepanssurDunningCase(models.Model):
    """One unpaid invoice (or failed payment) followed along the dunning ladder."""

    _name = "depanssur.dunning.case"
    _inherit = [
        "mail.thread",
        "mail.activity.mixin",
        "depanssur.notify.mixin",
        "depanssur.workflow.mixin",
    ]
    _description = "Dunning case"
    _order = "next_action_date, id"
    _check_company_auto = True
    _depanssur_workflow = workflow.DUNNING_CASE
    _depanssur_workflow_fields = frozenset({"state", "close_reason"})

    name = fields.Char(compute="_compute_name", store=True)
    subscription_id = fields.Many2one(
        "depanssur.subscription", required=True, index=True, ondelete="restrict"
    )
    partner_id = fields.Many2one(related="subscription_id.partner_id", store=True, index=True)
    company_id = fields.Many2one(related="subscription_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    invoice_id = fields.Many2one("account.move", index="btree_not_null", ondelete="restrict")
    amount_due = fields.Monetary(compute="_compute_amount_due")
    start_date = fields.Date(required=True, help="Failure or due date: D+0 of the ladder.")
    state = fields.Selection(
        [("open", "Open"), ("paused", "Paused"), ("closed", "Closed")],
        default="open",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        tracking=True,
    )
    level_id = fields.Many2one(
        "depanssur.dunning.level", string="Current level", readonly=True, tracking=True
    )
    next_action_date = fields.Date(readonly=True, index=True)
    action_ids = fields.One2many("depanssur.dunning.action", "case_id", string="History")
    close_reason = fields.Selection(
        [
            ("paid", "Paid"),
            ("credit_note", "Cleared by a credit note"),
            ("terminated", "Subscription terminated"),
            ("written_off", "Written off"),
            ("manual", "Closed by hand"),
        ],
        readonly=True,
        copy=False,
    )
    suspended_by_dunning = fields.Boolean(readonly=True)
    source = fields.Selection(
        [("overdue", "Overdue invoice"), ("payment_failed", "Payment failed")],
        default="overdue",
        required=True,
    )

    _one_open_per_invoice = models.UniqueIndex(
        "(invoice_id) WHERE state != 'closed' AND invoice_id IS NOT NULL",
        "This invoice already has an open dunning case.",
    )

    @api.depends("subscription_id.name", "invoice_id.name")
    def _compute_name(self):
        for case in self:
            case.name = " / ".join(filter(None, [case.subscription_id.name, case.invoice_id.name]))

    @api.depends("invoice_id.amount_residual")
    def _compute_amount_due(self):
        for case in self:
            case.amount_due = case.invoice_id.amount_residual

    def _message_track(self, fields_iter, initial_values_dict):
        # written by a job or a webhook: the tracked values in the client's language
        return self._depanssur_track_in_client_lang(
            lambda records, *args: super(DepanssurDunningCase, records)._message_track(*args),  # noqa: UP008
            fields_iter,
            initial_values_dict,
        )

    # ------------------------------------------------------------
    # Opening and closing
    # ------------------------------------------------------------

    @api.model
    def _open_for(self, subscription, invoice, start_date, source="overdue"):
        existing = self.search(
            [
                ("subscription_id", "=", subscription.id),
                ("state", "!=", "closed"),
                ("invoice_id", "=", invoice.id if invoice else False),
            ],
            limit=1,
        )
        if existing:
            return existing
        case = self.create(
            {
                "subscription_id": subscription.id,
                "invoice_id": invoice.id if invoice else False,
                "start_date": start_date,
                "next_action_date": start_date,
                "source": source,
            }
        )
        case.message_post(body=case._depanssur_writer_env()._("Dunning case opened."))
        return case

    @api.model
    def _cron_open_overdue(self, day=None):
        """Open a case for each overdue posted subscription invoice not followed yet.

        An invoice whose case was closed without being settled (subscription terminated, written
        off, handed to collection) is not dunned again; one whose settlement was undone (paid or
        credited, then unreconciled) is.
        """
        day = fields.Date.to_date(day) if day else fields.Date.context_today(self)
        # set-based, ids only: the overdue invoices of a large book are not loaded at once
        # (run by the daily run's coordinator, whose memory must not grow with the book)
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT m.id FROM account_move m
                 WHERE m.move_type = 'out_invoice' AND m.state = 'posted'
                   AND m.depanssur_subscription_id IS NOT NULL
                   AND m.payment_state IN ('not_paid', 'partial')
                   AND m.invoice_date_due < %(day)s
                   AND NOT EXISTS (
                       SELECT 1 FROM depanssur_dunning_case c
                        WHERE c.invoice_id = m.id
                          AND (c.state != 'closed' OR c.close_reason IS NULL
                               OR c.close_reason NOT IN %(settled)s))
                 ORDER BY m.id
                """,
                day=day,
                settled=SETTLED_REASONS,
            )
        )
        opened = []
        for invoices in browse_in_chunks(
            self.env["account.move"], [row[0] for row in self.env.cr.fetchall()]
        ):
            for invoice in invoices:
                opened += self._open_for(
                    invoice.depanssur_subscription_id, invoice, invoice.invoice_date_due
                ).ids
        return self.browse(opened)

    def _close(self, reason, day=None):
        """Close the open cases of ``self`` for ``reason``; a suspension they caused is lifted
        from ``day`` (default: today, or the ``date`` in the context) when the debt is settled."""
        open_cases = self.filtered(lambda c: c.state != "closed")
        open_cases._change_state("closed", close_reason=reason, next_action_date=False)
        for case in open_cases:
            case.message_post(
                body=case._depanssur_writer_env()._(
                    "Dunning case closed: %(reason)s.",
                    reason=dict(
                        self._fields["close_reason"]._description_selection(
                            case._depanssur_writer_env()
                        )
                    )[reason],
                )
            )
            case._lift_suspension(day)
        return open_cases

    def _lift_suspension(self, day=None):
        """Payment at any level lifts a dunning suspension, from ``day`` (default: today, or the
        ``date`` in the context)."""
        for case in self.filtered("suspended_by_dunning"):
            subscription = case.subscription_id.sudo()
            if subscription.state == "suspended" and case.close_reason in (
                "paid",
                "credit_note",
                "written_off",
            ):
                subscription.action_reactivate(day=day)
            case.suspended_by_dunning = False

    @api.model
    def _close_paid_invoices(self, invoices):
        """The open cases of ``invoices`` (just paid) closed as paid, at once: the suspension
        for non-payment they caused is lifted from today (the run's day in a scheduled run)."""
        cases = self.search([("invoice_id", "in", invoices.ids), ("state", "!=", "closed")])
        return cases._close("paid")

    @api.model
    def _cron_close_settled(self, day=None):
        """Close the cases whose invoice got paid or credited (a safety net: a payment closes
        its case at once, see ``account.move._invoice_paid_hook``)."""
        # ids only (see ``_cron_open_overdue``): the cases' invoices are not loaded
        closed = []
        for reason, states in (("paid", ("paid", "in_payment")), ("credit_note", ("reversed",))):
            settled = self.search(
                [("state", "!=", "closed"), ("invoice_id.payment_state", "in", states)],
                order="id",
            )
            for cases in browse_in_chunks(self, settled.ids):
                closed += cases._close(reason, day).ids
        return self.browse(closed)

    # ------------------------------------------------------------
    # The ladder
    # ------------------------------------------------------------

    def _ladder(self):
        return self.env["depanssur.dunning.level"].search(
            [("company_id", "in", [*self.company_id.ids, False])]
        )

    @api.model
    def _cron_advance(self, day=None, batch_size=200):
        """Daily: every due level of every open case, exactly once per level."""
        day = fields.Date.to_date(day) if day else fields.Date.context_today(self)
        Case = self.with_context(date=fields.Date.to_string(day))
        return run_in_batches(
            Case.env, Case._advance_due(day), batch_size, lambda batch: batch._advance_batch(day)
        )

    @api.model
    def _advance_due(self, day):
        """The open cases with a level due on ``day``, after closing the settled cases and
        opening those of newly overdue invoices (both idempotent, run once when the step starts:
        with the job queue, by the coordinator before it enqueues the batches)."""
        # what reads "today" on the way (termination, reactivation) reads the run's day
        Case = self.with_context(date=fields.Date.to_string(day))
        Case._cron_close_settled(day)
        Case._cron_open_overdue(day)
        return Case.search([("state", "=", "open"), ("next_action_date", "<=", day)], order="id")

    def _advance_batch(self, day):
        """``_advance`` on the cases of ``self`` still open and due (a batch run twice changes
        nothing more: a level done is in the case's actions and never executed again)."""
        due = self.with_context(date=fields.Date.to_string(day)).filtered(
            lambda c: c.state == "open" and c.next_action_date and c.next_action_date <= day
        )
        due._advance(day)
        return due

    def _advance(self, day):
        """Every due level of every case of ``self``, in the ladder's order; the messages of a
        level go out in one batch for all the cases that reach it."""
        for cases in self.grouped("company_id").values():
            levels = cases[:1]._ladder()
            rules = dunning_rules.ordered([level._as_rule() for level in levels])
            due = {
                case: {
                    rule.sequence
                    for rule in dunning_rules.due_levels(
                        rules, case.start_date, case.action_ids.level_id.ids, day
                    )
                }
                for case in cases
            }
            for rule in rules:
                todo = cases.filtered(lambda c, r=rule: r.sequence in due[c] and c.state == "open")
                if todo:
                    todo._execute_level(levels.browse(rule.sequence), day)
            for case in cases:
                case.next_action_date = dunning_rules.next_action_date(
                    rules, case.start_date, case.action_ids.level_id.ids
                )

    def _execute_level(self, level, day, skipped=False):
        """Execute ``level`` for every case of ``self``: its messages (one batch), then its action
        case by case; each case gets its action line with what was done."""
        actions = self.env["depanssur.dunning.action"].create(
            [
                {"case_id": case.id, "level_id": level.id, "date": day, "skipped": skipped}
                for case in self
            ]
        )
        self.level_id = level
        if skipped:
            for case, action in zip(self, actions, strict=True):
                action.result = case._depanssur_writer_env()._("Skipped by hand.")
            return actions
        sms = level.sms_template_id if level.channel in ("sms", "both") else None
        mail = level.mail_template_id if level.channel in ("email", "both") else None
        sent = self._depanssur_notify(
            "dunning.level", email_template=mail or None, sms_template=sms or None
        )
        for case, action in zip(self, actions, strict=True):
            results = [
                case._depanssur_writer_env()._(
                    "%(email)s email(s), %(sms)s SMS",
                    email=int(case.id in sent["email_ids"]),
                    sms=int(case.id in sent["sms_ids"]),
                )
            ]
            results += case._level_action(level, day)
            action.result = "; ".join(results)
        return actions

    def _level_action(self, level, day):
        """The level's action on this case (retry, suspend, terminate, collection)."""
        self.ensure_one()
        env = self._depanssur_writer_env()
        if level.action == "retry_payment":
            return [self._retry_payment()]
        if level.action == "suspend":
            subscription = self.subscription_id.sudo()
            if subscription.state in ("carence", "active"):
                subscription.action_suspend(
                    reason=env._("Unpaid invoice %(name)s", name=self.invoice_id.name or "-"),
                    day=day,
                )
                self.suspended_by_dunning = True
                return [env._("coverage suspended")]
        elif level.action == "terminate":
            results = []
            subscription = self.subscription_id.sudo()
            if subscription.state in ("carence", "active", "suspended"):
                subscription._terminate("non_payment", day - timedelta(days=1))
                results.append(env._("subscription terminated for non-payment"))
            self._close("terminated", day)
            return results
        elif level.action == "collection":
            self.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=env._("Hand to collection"),
                user_id=self.env.ref("base.user_admin").id,
            )
            return [env._("handed to collection")]
        return []

    def _retry_payment(self):
        """Charge the saved payment method off-session, or send the portal payment link."""
        self.ensure_one()
        env = self._depanssur_writer_env()
        subscription = self.subscription_id.sudo()
        invoice = self.invoice_id.sudo()
        token = subscription.payment_token_id
        if not invoice or invoice.payment_state not in ("not_paid", "partial"):
            return env._("nothing to charge")
        if token:
            tx = (
                self.env["payment.transaction"]
                .sudo()
                .create(
                    {
                        "provider_id": token.provider_id.id,
                        "payment_method_id": token.payment_method_id.id,
                        "reference": self.env["payment.transaction"]._compute_reference(
                            token.provider_id.code, prefix=invoice.name
                        ),
                        "amount": invoice.amount_residual,
                        "currency_id": invoice.currency_id.id,
                        "partner_id": invoice.partner_id.id,
                        "token_id": token.id,
                        "operation": "offline",
                        "invoice_ids": [Command.set(invoice.ids)],
                    }
                )
            )
            tx._charge_with_token()
            if tx.state == "done":
                tx._post_process()
            self.message_post(
                body=self._depanssur_writer_env()._(
                    "Payment retried with %(token)s: %(state)s.",
                    token=token.display_name,
                    state=tx.state,
                )
            )
            if invoice.payment_state in ("paid", "in_payment"):
                self._close("paid")
            return env._("payment retried (%(state)s)", state=tx.state)
        return env._("payment link sent")

    def _payment_link(self):
        self.ensure_one()
        invoice = self.invoice_id.sudo()
        if not invoice:
            return self.get_base_url() + "/my"
        return invoice.get_base_url() + invoice._get_share_url(redirect=True)

    # ------------------------------------------------------------
    # Manual actions (Accounting)
    # ------------------------------------------------------------

    def _check_accounting(self):
        self._depanssur_check_group(
            "depanssur.group_depanssur_accounting",
            self.env._("Only Depanssur accounting can act on dunning cases."),
        )

    def action_pause(self):
        self._check_accounting()
        self._change_state("paused")
        return True

    def action_resume(self):
        self._check_accounting()
        self._change_state("open")
        return True

    def action_skip_to_level(self, level, day=None):
        """Mark the levels before ``level`` as skipped and execute ``level`` now."""
        self._check_accounting()
        self.ensure_one()
        day = day or fields.Date.context_today(self)
        if self.state == "closed":
            raise UserError(self.env._("This dunning case is closed."))
        for earlier in self._ladder():
            if earlier == level:
                break
            if earlier not in self.action_ids.level_id:
                self._execute_level(earlier, day, skipped=True)
        if level not in self.action_ids.level_id:
            self._execute_level(level, day)
        self.next_action_date = dunning_rules.next_action_date(
            [lv._as_rule() for lv in self._ladder()], self.start_date, self.action_ids.level_id.ids
        )
        return True

    def action_write_off(self):
        """Clear the debt with an issued credit note and close the case."""
        self._check_accounting()
        for case in self:
            invoice = case.invoice_id
            if not invoice or not invoice.amount_residual:
                raise UserError(self.env._("Nothing left to write off."))
            ratio = invoice.amount_residual / invoice.amount_total
            lines = [
                Command.create(
                    {
                        "product_id": line.product_id.id,
                        "name": case.subscription_id._client_env()._(
                            "Write-off: %(label)s", label=line.name
                        ),
                        "quantity": 1,
                        "price_unit": invoice.currency_id.round(line.price_subtotal * ratio),
                        "tax_ids": [Command.set(line.tax_ids.ids)],
                    }
                )
                for line in invoice.invoice_line_ids.filtered(
                    lambda ml: ml.display_type == "product"
                )
            ]
            note = self.env["depanssur.credit.note"].create(
                {
                    "partner_id": invoice.partner_id.id,
                    "subscription_id": case.subscription_id.id,
                    "invoice_id": invoice.id,
                    "reason": "write_off",
                    "line_ids": lines,
                }
            )
            note.action_submit()
            if note.state == "to_approve":
                note.action_approve()
            note.action_issue()
            case._close("written_off")
        return True


class DepanssurDunningAction(models.Model):
    """What a dunning level did on a case: one record per (case, level), never two."""

    _name = "depanssur.dunning.action"
    _description = "Dunning action"
    _order = "date, id"

    case_id = fields.Many2one(
        "depanssur.dunning.case", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="case_id.company_id", store=True)
    level_id = fields.Many2one("depanssur.dunning.level", required=True, ondelete="restrict")
    date = fields.Date(required=True)
    skipped = fields.Boolean()
    result = fields.Char()

    _once_per_level = models.UniqueIndex(
        "(case_id, level_id)", "This dunning level was already applied to this case."
    )
