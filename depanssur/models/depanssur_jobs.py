import logging
from datetime import timedelta

from dateutil.relativedelta import relativedelta
from odoo import api, fields, models

from .account_payment_order import COLLECT_BATCH_SIZE
from .batching import BatchedStep, company_env, run_in_batches
from .depanssur_consent import CONSENT_PURPOSES
from .depanssur_subscription import RUNNING_STATES

_logger = logging.getLogger(__name__)

JOB_PERIOD_DAYS = {"daily": 1, "weekly": 7}
STEPS_CHANNEL = "root.depanssur.steps"
# With the job queue, a step of the daily run starts as soon as the steps it needs are finished
# (done or failed), and runs alongside the others: the job workers stay busy while invoicing
# waits on the journal's gapless numbering. A step not listed needs every step before it (the
# weekly run's steps, and the order of the run without the job queue, stay as listed).
DAILY_NEEDS = {
    "terminations": (),
    # a subscription whose termination takes effect is ended first: no change applied, no
    # "coverage active" message, no renewal notice for it afterwards
    "scheduled_changes": ("terminations",),
    "carence": ("terminations",),
    "counters": ("terminations",),
    "anniversary": ("terminations",),
    # a subscription ending its waiting period, starting a coverage year or given its renewal
    # notice today is mostly due for an invoice today too: invoicing waits for those steps
    # rather than racing them row by row (lock retries, serialization failures)
    "invoicing": ("terminations", "scheduled_changes", "carence", "counters", "anniversary"),
    "cap_alerts": ("counters",),
    # after invoicing, as without the job queue: a termination for non-payment dated the day
    # before must not decide by timing whether today's period is invoiced
    "dunning": ("invoicing",),
    # the debits of today's invoices and the ones the dunning re-presents, in today's order
    "sepa_collection": ("invoicing", "dunning"),
    "credit_notes": (),
    "webhooks": (),
    "rgpd": (),
}


class DepanssurJobs(models.AbstractModel):
    """The daily and weekly runs: each step is a ``_cron_*`` method callable for a given day,
    idempotent (running it twice changes nothing more) and traced in ``depanssur.job.run``.

    The scheduled actions call ``_cron_daily()`` / ``_cron_weekly()`` through Odoo's cron runner:
    each step commits on its own, a failing step does not stop the others, and a run cut by the
    cron's time limit resumes where it stopped (see ``depanssur.job.run._run_steps``).
    """

    _name = "depanssur.jobs"
    _description = "Depanssur scheduled jobs"

    @api.model
    def _day(self, day):
        return fields.Date.to_date(day) if day else fields.Date.context_today(self)

    @api.model
    def _cron_daily(self, day=None):
        """The daily run for ``day`` (default: today, after finishing an earlier run that was
        cut). Returns the traces of the steps run."""
        return self._run_job("daily", day)

    @api.model
    def _cron_weekly(self, day=None):
        """The weekly run for ``day`` (default: today, unless the run of this week was cut and
        is now finished). Returns the traces of the steps run."""
        return self._run_job("weekly", day)

    @api.model
    def _steps(self, job, day):
        """The steps of ``job`` for ``day``: ``(code, label, function)``; every step takes the
        run's day (and ``date`` in the context, for what reads "today" on the way)."""
        jobs = self.with_context(date=fields.Date.to_string(day))
        env = jobs.env
        Subscription = env["depanssur.subscription"]
        Order = env["account.payment.order"]
        # the traces are the company's records: labelled in its language
        label_env = company_env(env)

        def batched_step(run, records, process, size=200):
            # the steps other than invoicing share the ``steps`` channel (its capacity is set
            # where queue_job's runner reads it, see data/queue_job_data.xml)
            return BatchedStep(run, records, process, size=size, channel=STEPS_CHANNEL)

        Case = env["depanssur.dunning.case"]
        if job == "daily":
            return [
                (
                    "terminations",
                    label_env._("Effective terminations"),
                    batched_step(
                        lambda: Subscription._cron_apply_terminations(day),
                        lambda: Subscription._terminations_due(day),
                        lambda batch: batch._terminations_batch(day),
                    ),
                ),
                (
                    "scheduled_changes",
                    label_env._("Scheduled changes"),
                    batched_step(
                        lambda: Subscription._cron_apply_scheduled_changes(day),
                        lambda: Subscription._scheduled_changes_due(day),
                        lambda batch: batch._scheduled_changes_batch(day),
                    ),
                ),
                (
                    "carence",
                    label_env._("End of waiting periods"),
                    batched_step(
                        lambda: Subscription._cron_end_carence(day),
                        lambda: Subscription._end_carence_due(day),
                        lambda batch: batch._end_carence_batch(day),
                    ),
                ),
                (
                    "counters",
                    label_env._("Counters reset at anniversaries"),
                    batched_step(
                        lambda: Subscription._cron_reset_counters(day),
                        lambda: Subscription._reset_counters_due(day),
                        lambda batch: batch._reset_counters_batch(day),
                        size=500,
                    ),
                ),
                (
                    "anniversary",
                    label_env._("Anniversary notices"),
                    batched_step(
                        lambda: jobs._cron_anniversary_notices(day),
                        lambda: jobs._anniversary_due(day),
                        lambda batch: jobs._anniversary_batch(batch, day),
                    ),
                ),
                (
                    "invoicing",
                    label_env._("Invoicing"),
                    BatchedStep(
                        lambda: Subscription._cron_invoice_due(day),
                        lambda: Subscription._invoice_due(day),
                        lambda batch: batch._invoice_due_periods(day),
                        channel="root.depanssur.invoicing",
                    ),
                ),
                (
                    "cap_alerts",
                    label_env._("Cap alerts"),
                    batched_step(
                        lambda: jobs._cron_cap_alerts(day),
                        lambda: jobs._cap_alerts_due(day),
                        lambda batch: jobs._cap_alerts_batch(batch, day),
                    ),
                ),
                (
                    "dunning",
                    label_env._("Dunning levels applied"),
                    batched_step(
                        lambda: Case._cron_advance(day),
                        lambda: Case._advance_due(day),
                        lambda batch: batch._advance_batch(day),
                    ),
                ),
                # after the dunning: the debits it re-presents go in today's order
                (
                    "sepa_collection",
                    label_env._("Direct debit orders"),
                    BatchedStep(
                        lambda: Order._cron_depanssur_collect(day),
                        lambda: Order._depanssur_collect_mandates(day),
                        lambda batch: Order._depanssur_collect_batch(batch, day),
                        size=COLLECT_BATCH_SIZE,
                        channel="root.depanssur.sepa",
                        finish=lambda: Order._depanssur_collect_finish(day),
                    ),
                ),
                # what was paid and what arrived is processed as it stands (no calendar day);
                # single jobs: the credit notes still "issued" (a handful, not the book), and
                # the webhook events' retries (the webhook cron fans them out per claim file)
                (
                    "credit_notes",
                    label_env._("Credit notes refunded"),
                    env["depanssur.credit.note"]._cron_sync_refunded,
                ),
                (
                    "webhooks",
                    label_env._("Webhook events retry"),
                    env["depanssur.webhook.event"]._cron_process,
                ),
                (
                    "rgpd",
                    label_env._("RGPD retention"),
                    batched_step(
                        lambda: jobs._cron_rgpd_retention(day),
                        lambda: jobs._rgpd_due(day),
                        lambda batch: jobs._rgpd_batch(batch, day),
                    ),
                ),
            ]
        # the KPI snapshot is set-based SQL (one GROUP BY per figure), the data-quality report
        # and the digest are one report each: single jobs
        return [
            (
                "kpi_snapshot",
                label_env._("Weekly KPI snapshot"),
                lambda: env["depanssur.kpi.snapshot"]._cron_snapshot(day),
            ),
            (
                "detractors",
                label_env._("Detractor call-backs"),
                batched_step(
                    lambda: jobs._cron_detractor_activities(day),
                    lambda: jobs._detractors_due(day),
                    lambda batch: jobs._detractors_batch(batch, day),
                ),
            ),
            (
                "data_quality",
                label_env._("Data quality report"),
                lambda: jobs._cron_data_quality(day),
            ),
            ("digest", label_env._("Manager digest"), lambda: jobs._cron_manager_digest(day)),
        ]

    @api.model
    def _step_needs(self, job, steps):
        """``{code: codes}``: the steps each step of ``job`` waits for with the job queue (every
        step before it unless ``DAILY_NEEDS`` says otherwise)."""
        needs = DAILY_NEEDS if job == "daily" else {}
        codes = [code for code, _label, _function in steps]
        return {
            code: needs[code] if code in needs else tuple(codes[:index])
            for index, code in enumerate(codes)
        }

    @api.model
    def _run_days(self, job, day):
        """The days to run: ``day`` when given; otherwise the day of an earlier run of ``job``
        left unfinished (cut by the time limit, the server stopped), then today unless that
        earlier run is still this period's run (a weekly run finished the next day)."""
        if day:
            return [fields.Date.to_date(day)]
        today = fields.Date.context_today(self)
        Run = self.env["depanssur.job.run"]
        last = Run.search(
            [("job", "=", job), ("run_date", "<", today)], order="run_date desc, id desc", limit=1
        )
        codes = [code for code, _label, _function in self._steps(job, today)]
        if not last or not Run._open_run(job, last.run_date, codes):
            return [today]
        if (today - last.run_date).days < JOB_PERIOD_DAYS[job]:
            return [last.run_date]
        return [last.run_date, today]

    @api.model
    def _run_job(self, job, day=None):
        Run = self.env["depanssur.job.run"]
        traces = Run
        for run_day in self._run_days(job, day):
            done, finished = Run._run_steps(job, run_day, self._steps(job, run_day))
            traces |= done
            if not finished:
                break  # the cron's time is up: the next run resumes
        return traces

    # ------------------------------------------------------------
    # Daily steps
    # ------------------------------------------------------------

    @api.model
    def _cron_anniversary_notices(self, day=None):
        """Renewal reminder with the terms, once a year, 30 days before the anniversary."""
        day = self._day(day)
        return run_in_batches(
            self.env,
            self._anniversary_due(day),
            200,
            lambda batch: self._anniversary_batch(batch, day),
        )

    @api.model
    def _anniversary_due(self, day):
        target = day + timedelta(days=30)
        # SQL narrows to the anniversaries on that month and day (29 February counts on the 28th
        # and the 1st of March too); the coverage-year rule then decides exactly
        days = {target.day} | ({29} if (target.month, target.day) in ((2, 28), (3, 1)) else set())
        months = {target.month} | ({2} if (target.month, target.day) == (3, 1) else set())
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT id FROM depanssur_subscription
             WHERE state IN ('carence', 'active', 'suspended')
               AND EXTRACT(month FROM anniversary_date) IN %s
               AND EXTRACT(day FROM anniversary_date) IN %s
             ORDER BY id
            """,
            (tuple(months), tuple(days)),
        )
        subscriptions = self.env["depanssur.subscription"].browse(
            row[0] for row in self.env.cr.fetchall()
        )
        return self._anniversary_filter(subscriptions, day)

    @api.model
    def _anniversary_filter(self, subscriptions, day):
        target = day + timedelta(days=30)
        return subscriptions.filtered(
            lambda s: (
                s.state in RUNNING_STATES
                and s._coverage_year(target)[0] == target
                and s.anniversary_notice_year != target.year
                and target > s.date_start
            )
        )

    @api.model
    def _anniversary_batch(self, subscriptions, day):
        """The notices of the batch not sent yet (re-checked: a batch run twice sends none)."""
        due = self._anniversary_filter(subscriptions, day)
        if due:
            due._notify_event("anniversary")
            due.anniversary_notice_year = (day + timedelta(days=30)).year
        return due

    @api.model
    def _cron_cap_alerts(self, day=None):
        """80 % of a yearly cap reached, then cap reached: each alert once per coverage year."""
        day = self._day(day)
        sent = []
        run_in_batches(
            self.env,
            self._cap_alerts_due(day),
            500,
            lambda batch: sent.extend(self._cap_alerts_batch(batch, day).ids),
        )
        return self.env["depanssur.subscription.usage"].browse(sent)

    @api.model
    def _cap_alerts_due(self, day):
        """The plan counters of ``day``'s coverage year due for an alert they have not had
        (set-based, ids only: the counters of a large book are not loaded to find the few at a
        cap; ``_cap_alert_due`` is the same rule, re-checked by each batch)."""
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT id FROM (
                SELECT u.id, u.alert_80_sent, u.alert_cap_sent,
                       GREATEST(
                           CASE WHEN p.yearly_cap_amount != 0
                                THEN u.amount_consumed / p.yearly_cap_amount END,
                           CASE WHEN p.yearly_cap_count != 0
                                THEN u.interventions_used::numeric / p.yearly_cap_count END
                       ) AS ratio
                  FROM depanssur_subscription_usage u
                  JOIN depanssur_subscription s ON s.id = u.subscription_id
                  JOIN depanssur_plan p ON p.id = s.plan_id
                 WHERE u.option_id IS NULL AND u.year_start <= %(day)s AND u.year_end >= %(day)s
                   AND s.state IN %(running)s
                   AND (u.alert_80_sent IS NOT TRUE OR u.alert_cap_sent IS NOT TRUE)
                   -- counters at zero are at no cap (most of the book): left in the database
                   AND (u.interventions_used > 0 OR u.amount_consumed > 0)
            ) counters
             WHERE (ratio >= 1 AND alert_cap_sent IS NOT TRUE)
                OR (ratio >= 0.8 AND alert_80_sent IS NOT TRUE)
             ORDER BY id
            """,
            {"day": day, "running": RUNNING_STATES},
        )
        return self.env["depanssur.subscription.usage"].browse(
            row[0] for row in self.env.cr.fetchall()
        )

    @api.model
    def _cap_alert_due(self, usage):
        """The alert ``usage`` (plan counters) is due for and has not had: ``cap_reached``,
        ``cap_80`` or ``None``."""
        if usage.subscription_id.state not in RUNNING_STATES:
            return None
        plan = usage.subscription_id.plan_id
        ratios = []
        if plan.yearly_cap_amount:
            ratios.append(usage.amount_consumed / plan.yearly_cap_amount)
        if plan.yearly_cap_count:
            ratios.append(usage.interventions_used / plan.yearly_cap_count)
        ratio = max(ratios or [0])
        if ratio >= 1 and not usage.alert_cap_sent:
            return "cap_reached"
        if ratio >= 0.8 and not usage.alert_80_sent:
            return "cap_80"
        return None

    @api.model
    def _cap_alerts_batch(self, usages, day):
        """The alerts of ``usages`` due and not sent yet (the flags are re-read: a batch run
        twice sends nothing more). Returns the counters alerted."""
        sent = self.env["depanssur.subscription.usage"]
        for usage in usages:
            alert = self._cap_alert_due(usage)
            if not alert:
                continue
            subscription = usage.subscription_id.with_context(date=fields.Date.to_string(day))
            subscription._notify_event(alert)
            if alert == "cap_reached":
                usage.write({"alert_cap_sent": True, "alert_80_sent": True})
            else:
                usage.alert_80_sent = True
            sent |= usage
        return sent

    @api.model
    def _cron_rgpd_retention(self, day=None):
        """Anonymise clients terminated for longer than the retention period whose accounting is
        settled (no open subscription, nothing left to pay)."""
        day = self._day(day)
        done = []
        run_in_batches(
            self.env,
            self._rgpd_due(day),
            200,
            lambda batch: done.extend(self._rgpd_batch(batch, day).ids),
        )
        return self.env["res.partner"].browse(done)

    @api.model
    def _rgpd_limit(self, day):
        years = int(
            self.env["ir.config_parameter"].sudo().get_param("depanssur.retention_years", 3)
        )
        return day - relativedelta(years=years)

    @api.model
    def _rgpd_due(self, day):
        """The clients with a subscription ended before the retention limit, not anonymised yet,
        with no later subscription and nothing left to pay (set-based; ``_rgpd_batch`` checks
        each one again, with the erasure blockers)."""
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT DISTINCT s.partner_id
              FROM depanssur_subscription s
              JOIN res_partner p ON p.id = s.partner_id
             WHERE s.state IN ('terminated', 'cancelled') AND s.termination_date < %(limit)s
               AND p.depanssur_anonymized IS NOT TRUE
               AND NOT EXISTS (
                   SELECT 1 FROM depanssur_subscription r
                    WHERE r.partner_id = s.partner_id
                      AND (r.state NOT IN ('terminated', 'cancelled')
                           OR r.termination_date >= %(limit)s))
               AND NOT EXISTS (
                   SELECT 1 FROM account_move m
                    WHERE m.partner_id = s.partner_id AND m.state = 'posted'
                      AND m.payment_state IN ('not_paid', 'partial')
                      AND m.move_type IN ('out_invoice', 'out_refund'))
             ORDER BY s.partner_id
            """,
            {"limit": self._rgpd_limit(day)},
        )
        return self.env["res.partner"].browse(row[0] for row in self.env.cr.fetchall())

    @api.model
    def _rgpd_batch(self, partners, day):
        """Anonymise the clients of ``partners`` whose retention is over and whose accounting is
        settled; one already anonymised is left alone (a batch run twice changes nothing more)."""
        limit = self._rgpd_limit(day)
        Subscription = self.env["depanssur.subscription"].sudo()
        done = self.env["res.partner"]
        for partner in partners.sudo().filtered(lambda p: not p.depanssur_anonymized):
            recent = Subscription.search_count(
                [
                    ("partner_id", "=", partner.id),
                    "|",
                    ("state", "not in", ("terminated", "cancelled")),
                    ("termination_date", ">=", limit),
                ]
            )
            unpaid = (
                self.env["account.move"]
                .sudo()
                .search_count(
                    [
                        ("partner_id", "=", partner.id),
                        ("state", "=", "posted"),
                        ("payment_state", "in", ("not_paid", "partial")),
                        ("move_type", "in", ("out_invoice", "out_refund")),
                    ]
                )
            )
            if recent or unpaid or partner._depanssur_erasure_blockers():
                continue
            partner._depanssur_anonymize()
            done |= partner
        return done

    # ------------------------------------------------------------
    # Weekly steps
    # ------------------------------------------------------------

    @api.model
    def _cron_detractor_activities(self, day=None):
        """A call-back activity for an agent on each detractor answer (NPS 0-6), once."""
        day = self._day(day)
        return run_in_batches(
            self.env,
            self._detractors_due(day),
            200,
            lambda batch: self._detractors_batch(batch, day),
        )

    @api.model
    def _detractors_due(self, day):
        return self.env["depanssur.dossier"].search(
            [
                ("nps_date", "!=", False),
                ("nps_score", "<=", 6),
                ("nps_callback_planned", "=", False),
            ],
            order="id",
        )

    @api.model
    def _detractors_batch(self, dossiers, day):
        """One call-back activity per detractor of ``dossiers`` not planned yet (re-checked: a
        batch run twice plans none more); agents take them in turn (by the dossier's id, so that
        parallel batches share them out too)."""
        dossiers = dossiers.filtered(
            lambda d: d.nps_date and d.nps_score <= 6 and not d.nps_callback_planned
        )
        agent_group = self.env.ref("depanssur.group_depanssur_agent")
        agents = agent_group.all_user_ids.filtered(lambda u: not u.share and u.active).sorted("id")
        activity_type = self.env.ref("mail.mail_activity_data_call")
        for dossier in dossiers:
            user = agents[dossier.id % len(agents)] if agents else self.env.user
            dossier.activity_schedule(
                activity_type_id=activity_type.id,
                summary=self.env._(
                    "Call back a detractor (NPS %(score)s)", score=dossier.nps_score
                ),
                note=dossier.nps_comment or "",
                user_id=user.id,
                date_deadline=day + timedelta(days=2),
            )
            dossier.nps_callback_planned = True
        return dossiers

    @api.model
    def _data_quality_issues(self):
        Partner = self.env["res.partner"]
        clients = Partner.search([("depanssur_subscription_ids", "!=", False)])
        invalid_phones = clients.filtered(
            lambda p: any(
                number and not p._phone_format(number=number) for number in (p.phone, p.mobile)
            )
        )
        # an answer on a marketing purpose (the express start of a sign-up is no such answer)
        without_consent = clients.filtered(
            lambda p: (
                not p.depanssur_consent_ids.filtered(
                    lambda consent: consent.purpose in dict(CONSENT_PURPOSES)
                )
            )
        )
        without_address = (
            self.env["depanssur.subscription"]
            .search([("state", "in", ("carence", "active", "suspended"))])
            .filtered(
                lambda s: (
                    not s.risk_address_id
                    or not (
                        s.risk_address_id.street
                        and s.risk_address_id.zip
                        and s.risk_address_id.city
                    )
                )
            )
        )
        return {
            "invalid_phones": invalid_phones or Partner,
            "without_consent": without_consent or Partner,
            "without_address": without_address,
        }

    @api.model
    def _cron_data_quality(self, day=None):
        issues = self._data_quality_issues()
        message = company_env(self.env)._(
            "Invalid phones: %(phones)s (%(phone_names)s)\n"
            "Clients without any consent record: %(consents)s\n"
            "Subscriptions without a complete insured home: %(homes)s (%(home_names)s)",
            phones=len(issues["invalid_phones"]),
            phone_names=", ".join(issues["invalid_phones"][:20].mapped("display_name")),
            consents=len(issues["without_consent"]),
            homes=len(issues["without_address"]),
            home_names=", ".join(issues["without_address"][:20].mapped("name")),
        )
        return sum(len(records) for records in issues.values()), message

    @api.model
    def _cron_manager_digest(self, day=None):
        """A weekly digest email to Managers: KPIs, failed webhook events, dunning by level,
        detractors, data quality."""
        day = self._day(day)
        managers = self.env.ref("depanssur.group_depanssur_manager").all_user_ids.filtered(
            lambda u: not u.share and u.active and u.email
        )
        if not managers:
            return 0
        values = self._digest_values(day)
        body = self.env["ir.qweb"]._render("depanssur.manager_digest", values)
        self.env["mail.mail"].sudo().create(
            {
                "subject": self.env._(
                    "Depanssur — weekly digest %(date)s", date=day.strftime("%d/%m/%Y")
                ),
                "body_html": body,
                "email_to": ",".join(managers.mapped("email_formatted")),
                "auto_delete": False,
            }
        )
        return len(managers)

    @api.model
    def _digest_values(self, day):
        snapshot = self.env["depanssur.kpi.snapshot"].search(
            [], order="date desc, id desc", limit=1
        )
        week_ago = fields.Datetime.to_datetime(day) - timedelta(days=7)
        failed = self.env["depanssur.webhook.event"].search([("state", "=", "failed")])
        dunning = self.env["depanssur.dunning.case"]._read_group(
            [("state", "=", "open")], ["level_id"], ["__count"]
        )
        detractors = self.env["depanssur.dossier"].search(
            [("nps_date", ">=", week_ago), ("nps_score", "<=", 6)]
        )
        return {
            "day": day,
            "snapshot": snapshot,
            "failed_events": failed,
            "dunning": dunning,
            "detractors": detractors,
            "quality": self._data_quality_issues(),
            "company": self.env.company,
        }
