import json
import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.tools import SQL
from psycopg2.extras import Json

from .batching import commit_progress, company_env
from .depanssur_abstract_notify import notifications, notify_sink

_logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# The claim file an event belongs to (its ordering unit): the claim file's reference, else the
# subscription's (payment events), else the event alone.
FILE_KEY = SQL(
    "COALESCE('file:' || (payload -> 'data' ->> 'external_id'),"
    " 'subscription:' || (payload -> 'data' ->> 'subscription'), 'event:' || id)"
)


def due_events(now):
    """The events to process at ``now``: received, or failed with a retry due."""
    return SQL("(state = 'received' OR (state = 'failed' AND next_attempt_at <= %s))", now)


BACKOFF_MINUTES = (1, 5, 30, 120, 720)


class DepanssurWebhookEvent(models.Model):
    """Every accepted webhook delivery, kept: the inbox processed asynchronously by a cron."""

    _name = "depanssur.webhook.event"
    _description = "Webhook event"
    _order = "received_at desc, id desc"
    _rec_name = "webhook_id"

    webhook_id = fields.Char(string="Webhook ID", required=True, readonly=True, index=True)
    event_type = fields.Char(string="Type", required=True, readonly=True, index=True)
    occurred_at = fields.Datetime(required=True, readonly=True, index=True)
    received_at = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    payload = fields.Json(readonly=True)
    payload_text = fields.Text(string="Payload (formatted)", compute="_compute_payload_text")
    state = fields.Selection(
        [
            ("received", "Received"),
            ("processed", "Processed"),
            ("failed", "Failed"),
            ("ignored", "Ignored"),
        ],
        default="received",
        required=True,
        readonly=True,
        index=True,
    )
    attempts = fields.Integer(readonly=True, default=0)
    next_attempt_at = fields.Datetime(readonly=True)
    processed_at = fields.Datetime(readonly=True)
    error = fields.Text(readonly=True)
    dossier_id = fields.Many2one("depanssur.dossier", readonly=True, index="btree_not_null")
    subscription_id = fields.Many2one(
        "depanssur.subscription", readonly=True, index="btree_not_null"
    )
    company_id = fields.Many2one("res.company", readonly=True)

    _webhook_id_unique = models.UniqueIndex("(webhook_id)", "This webhook was already received.")
    _todo_idx = models.Index("(state, occurred_at, id) WHERE state IN ('received', 'failed')")

    def _compute_payload_text(self):
        for event in self:
            event.payload_text = json.dumps(event.payload, indent=2, ensure_ascii=False)

    # ------------------------------------------------------------
    # Accept path (controller): one INSERT, deduplicated by webhook-id
    # ------------------------------------------------------------

    @api.model
    def _accept(self, webhook_id, event_type, occurred_at, payload):
        """Store a delivery; return True when new, False when already received.

        ``INSERT ... ON CONFLICT DO NOTHING``: a duplicate delivery is not an error (no unique
        violation to catch) and has no second effect. A duplicate racing the first delivery, whose
        row was committed after this transaction's snapshot, gets a serialization failure instead
        (REPEATABLE READ): Odoo replays the request, which then finds the row. That failure is
        expected, so the query is not logged as a bad one (the replay logs it at INFO).
        """
        self.env.cr.execute(
            """
            INSERT INTO depanssur_webhook_event
                   (webhook_id, event_type, occurred_at, payload, state, attempts,
                    received_at, create_date, write_date, create_uid, write_uid)
            VALUES (%s, %s, %s, %s, 'received', 0, now() at time zone 'UTC',
                    now() at time zone 'UTC', now() at time zone 'UTC', %s, %s)
            ON CONFLICT (webhook_id) DO NOTHING
            RETURNING id
            """,
            (
                webhook_id,
                event_type,
                occurred_at.replace(tzinfo=None),
                Json(payload),
                self.env.uid,
                self.env.uid,
            ),
            log_exceptions=False,
        )
        return bool(self.env.cr.fetchone())

    @api.model
    def _wake_processing(self):
        """Have the processing cron run soon, without a trigger per event under load.

        A trigger that is already due (or due within seconds) will run the cron, which drains
        everything received by then; only when none is pending is one added (an INSERT and a
        NOTIFY to the cron workers on another connection, which a burst of events would
        otherwise pay each time). "Within seconds" of the statement's time, not of the
        transaction's start (``now()``), which a long transaction would leave behind.
        """
        # the cached xmlid lookup (env.ref would also check that the cron exists: one query)
        cron_id = self.env["ir.model.data"]._xmlid_to_res_id(
            "depanssur.ir_cron_depanssur_webhook_process"
        )
        self.env.cr.execute(
            """
            SELECT 1 FROM ir_cron_trigger
             WHERE cron_id = %s
               AND call_at <= (statement_timestamp() at time zone 'UTC') + interval '5 seconds'
             LIMIT 1
            """,
            (cron_id,),
        )
        if not self.env.cr.fetchone():
            self.env["ir.cron"].sudo().browse(cron_id)._trigger()

    # ------------------------------------------------------------
    # Processing (cron)
    # ------------------------------------------------------------

    @api.model
    def _cron_process(self, batch_size=200, now=None):
        """Process received events and due retries, oldest ``occurred_at`` first.

        Each event runs in its own savepoint: a failure is recorded on the event (retried with
        backoff, then left ``failed``) and never undoes the others.

        In a cron run with the job queue (``depanssur.job.batch._queue_enabled``) the events fan
        out instead: one queue_job job per claim file (``_enqueue_files``).
        """
        if self.env["depanssur.job.batch"]._queue_enabled():
            return self._enqueue_files(now)
        now = now or fields.Datetime.now()
        domain = [
            "|",
            ("state", "=", "received"),
            "&",
            ("state", "=", "failed"),
            ("next_attempt_at", "<=", now),
        ]
        done = 0
        while True:
            events = self.search(domain, order="occurred_at, id", limit=batch_size)
            events = events.try_lock_for_update()
            if not events:
                break
            # the batch's emails and SMS are queued, then sent per kind in one go
            queue = []
            with notifications(queue):
                for event in events:
                    event._process_one(now)
            self.env["depanssur.notify.mixin"]._depanssur_send_queued(queue)
            done += len(events)
            remaining = self.search_count(domain)
            if not commit_progress(self.env, len(events), remaining) or not remaining:
                break
        return done

    # ------------------------------------------------------------
    # Processing fanned out on queue_job: one job per claim file
    # ------------------------------------------------------------

    @api.model
    def _enqueue_files(self, now=None):
        """Enqueue one job per claim file (``FILE_KEY``) with events to process; returns the
        number of events. A file whose job is still waiting gets no second job (identity key):
        that job takes the new events too, as it selects them when it runs."""
        now = now or fields.Datetime.now()
        # the claim files created by the jobs are numbered in the year's range of their
        # sequence: made here, once, before the jobs fan out (two jobs making it at once would
        # collide on its unique constraint and fail their events)
        day = fields.Date.context_today(self)
        for sequence in self.env["ir.sequence"].sudo().search([("code", "=", "depanssur.dossier")]):
            if sequence.use_date_range:
                sequence._get_current_sequence(sequence_date=day)
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT %s AS key, count(*), min(occurred_at)
                  FROM depanssur_webhook_event
                 WHERE %s
                 GROUP BY key ORDER BY min(occurred_at), key
                """,
                FILE_KEY,
                due_events(now),
            )
        )
        total = 0
        for key, count, _first in self.env.cr.fetchall():
            self.with_delay(
                channel="root.depanssur.webhook",
                identity_key=f"depanssur.webhook:{key}",
                description=f"Webhook events of {key}",
            )._job_process_file(key)
            total += count
        return total

    @api.model
    def _job_process_file(self, key, now=None):
        """Job: process the due events of one claim file (``key``), oldest ``occurred_at``
        first. A transaction lock on the key serialises the jobs of a file (a job enqueued while
        another one of the file runs waits, then is retried on fresh data by queue_job): an older
        event of a file is never applied after a newer one."""
        self.env.invalidate_all()
        now = now or fields.Datetime.now()
        self.env.cr.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("depanssur.webhook:" + key,)
        )
        self.flush_model()
        # FOR UPDATE: when another job of the file committed after this job's transaction began
        # (its snapshot is older than the lock), the events it processed raise a serialization
        # failure here, before anything is applied: queue_job postpones the job, which then
        # reads the file afresh (never applying an event again, nor on stale data)
        self.env.cr.execute(
            SQL(
                "SELECT id FROM depanssur_webhook_event WHERE %s AND %s = %s"
                " ORDER BY occurred_at, id FOR UPDATE",
                due_events(now),
                FILE_KEY,
                key,
            )
        )
        events = self.browse(row[0] for row in self.env.cr.fetchall())
        queue = []
        with notifications(queue):
            for event in events:
                event._process_one(now)
        self.env["depanssur.notify.mixin"]._depanssur_send_queued(queue)
        return len(events)

    def _process_one(self, now=None):
        self.ensure_one()
        now = now or fields.Datetime.now()
        queue = notify_sink()
        queue = queue if isinstance(queue, list) else None
        queued = len(queue) if queue is not None else 0
        try:
            with self.env.cr.savepoint():
                # the event's error or note is the company's text: in its language; what the
                # handlers write on the records of a client is in theirs (_depanssur_writer_env)
                result = self.with_env(company_env(self.env, self.company_id))._dispatch()
        except Exception as error:
            if getattr(error, "pgcode", None) in PG_CONCURRENCY_ERRORS_TO_RETRY:
                # not the event's failure: the whole job (or cron batch) is retried on fresh data
                # (queue_job postpones the job; the cron's next run takes the events again)
                raise
            if queue is not None:
                del queue[queued:]  # what the failed event queued did not happen
            attempts = self.attempts + 1
            _logger.info("webhook event %s failed (attempt %s): %s", self.id, attempts, error)
            values = {"state": "failed", "attempts": attempts, "error": str(error)[:2000]}
            if attempts < MAX_ATTEMPTS:
                values["next_attempt_at"] = now + timedelta(minutes=BACKOFF_MINUTES[attempts - 1])
            else:
                values["next_attempt_at"] = False
            self.write(values)
            return False
        state, message = result if isinstance(result, tuple) else (result, False)
        self.write(
            {
                "state": state,
                "attempts": self.attempts + 1,
                "processed_at": now,
                "error": message or False,
                "next_attempt_at": False,
            }
        )
        return True

    def _dispatch(self):
        handler = getattr(self, "_handle_" + self.event_type.replace(".", "_"), None)
        if handler is None:
            return "ignored", self.env._(
                "Unknown event type %s: stored and ignored.", self.event_type
            )
        return handler(self.payload.get("data") or {})

    def action_retry(self):
        if not self.env.user.has_group("depanssur.group_depanssur_manager"):
            raise UserError(self.env._("Only a Depanssur manager can reprocess webhook events."))
        failed = self.filtered(lambda e: e.state == "failed")
        failed.write({"state": "received", "next_attempt_at": False})
        for event in failed:
            event._process_one()
        return True

    @api.autovacuum
    def _gc_payloads(self, batch_size=1000):
        """Drop the payload of the events processed or ignored more than ``depanssur.
        webhook_payload_days`` days ago (default 90): the payload may carry the client's free text
        (claim descriptions, NPS comments); the event's metadata (type, dates, state, error, claim
        file and subscription) stays. Events still to process or failed keep theirs to be retried.
        Returns (done, remaining): Odoo's autovacuum calls it again while ``remaining`` is not 0
        (here 1 when more than a batch was due)."""
        days = int(
            self.env["ir.config_parameter"].sudo().get_param("depanssur.webhook_payload_days", 90)
        )
        if days <= 0:
            return 0, 0
        limit = fields.Datetime.now() - timedelta(days=days)
        self.flush_model(["state", "processed_at", "payload"])
        # a Json field has no ORM search on emptiness: SQL, on the (state, ...) index
        query = """
            SELECT id FROM depanssur_webhook_event
             WHERE state IN ('processed', 'ignored') AND processed_at < %s
               AND payload IS NOT NULL
        """
        self.env.cr.execute(query + " ORDER BY id LIMIT %s", (limit, batch_size + 1))
        ids = [row[0] for row in self.env.cr.fetchall()]
        events = self.sudo().browse(ids[:batch_size])
        events.write({"payload": False})
        remaining = len(ids) - len(events)
        _logger.info("webhook events: %s payloads dropped, %s left", len(events), remaining)
        return len(events), remaining

    @api.autovacuum
    def _gc_processed_events(self):
        """Remove processed and ignored events older than a year (dossiers keep their history)."""
        limit = fields.Datetime.now() - timedelta(days=365)
        self.search(
            [("state", "in", ("processed", "ignored")), ("received_at", "<", limit)]
        ).unlink()

    # ------------------------------------------------------------
    # Handlers: one per event type, each returns "processed" or ("ignored", why)
    # ------------------------------------------------------------

    def _dossier(self, data, required=True):
        dossier = (
            self.env["depanssur.dossier"]
            .sudo()
            .search([("external_id", "=", data["external_id"])], limit=1)
        )
        if not dossier and required:
            raise UserError(self.env._("Unknown claim file %(ref)s.", ref=data["external_id"]))
        if dossier:
            self.dossier_id = dossier
            self.subscription_id = dossier.subscription_id
            self.company_id = dossier.company_id
        return dossier

    def _subscription(self, reference):
        subscription = (
            self.env["depanssur.subscription"].sudo().search([("name", "=", reference)], limit=1)
        )
        if not subscription:
            raise UserError(self.env._("Unknown subscription %(ref)s.", ref=reference))
        self.subscription_id = subscription
        self.company_id = subscription.company_id
        return subscription

    def _category(self, code):
        category = self.env["depanssur.category"].sudo().search([("code", "=", code)], limit=1)
        if not category:
            raise UserError(self.env._("Unknown category %(code)s.", code=code))
        return category

    def _is_stale(self, dossier):
        """An event older than the newest one applied to the dossier never overwrites it."""
        return bool(dossier.last_event_at and self.occurred_at < dossier.last_event_at)

    def _stale(self, dossier):
        return "ignored", self.env._(
            "Older than the last event applied to %(dossier)s (%(date)s): ignored.",
            dossier=dossier.name,
            date=fields.Datetime.to_string(dossier.last_event_at),
        )

    def _touch(self, dossier):
        dossier.sudo().write({"last_event_at": self.occurred_at})

    def _handle_dossier_created(self, data):
        if dossier := self._dossier(data, required=False):
            return "ignored", self.env._("Claim file %(name)s already exists.", name=dossier.name)
        subscription = self._subscription(data["subscription"])
        values = {
            "external_id": data["external_id"],
            "subscription_id": subscription.id,
            "category_id": self._category(data["category"]).id,
            "incident_date": data["incident_date"],
            "channel": data.get("channel", "phone"),
            "description": data.get("description"),
            "estimated_cost": float(data.get("estimated_cost") or 0.0),
            "last_event_at": self.occurred_at,
        }
        if data.get("declared_at"):
            values["declaration_date"] = self._parse_datetime(data["declared_at"])
        dossier = self.env["depanssur.dossier"].sudo().create(values)
        self.dossier_id = dossier
        dossier._notify_event("received")
        return "processed"

    def _handle_dossier_updated(self, data):
        dossier = self._dossier(data)
        if self._is_stale(dossier):
            return self._stale(dossier)
        values = {}
        if "description" in data:
            values["description"] = data["description"]
        if "estimated_cost" in data:
            values["estimated_cost"] = float(data["estimated_cost"])
        if dossier.state == "declared":
            if "category" in data:
                values["category_id"] = self._category(data["category"]).id
            if "incident_date" in data:
                values["incident_date"] = data["incident_date"]
        dossier.write(values)
        self._touch(dossier)
        return "processed"

    def _handle_dossier_status_changed(self, data):
        dossier = self._dossier(data)
        if self._is_stale(dossier):
            return self._stale(dossier)
        status = data["status"]
        if dossier.state == status:
            self._touch(dossier)
            return "ignored", self.env._("Claim file already %(status)s.", status=status)
        if status == "qualified":
            dossier.action_qualify()
        elif status == "scheduled":
            if dossier.state == "declared":
                dossier.action_qualify()
            scheduled = data.get("scheduled_at")
            dossier.action_schedule(self._parse_datetime(scheduled) if scheduled else None)
        elif status == "done":
            dossier.action_done()
        elif status == "closed":
            dossier.action_close()
        elif status == "cancelled":
            dossier.action_cancel()
        elif status == "refused":
            dossier.action_refuse()
        else:  # "declared": a claim file never goes back to declared
            return "ignored", self.env._(
                "Claim file %(name)s cannot go back to %(status)s.",
                name=dossier.name,
                status=status,
            )
        self._touch(dossier)
        return "processed"

    def _handle_intervention_completed(self, data):
        dossier = self._dossier(data)
        if self._is_stale(dossier):
            return self._stale(dossier)
        costs = data["costs"]
        if dossier.state in ("done", "closed", "cancelled", "refused"):
            return "ignored", self.env._(
                "Claim file %(name)s is no longer open.", name=dossier.name
            )
        dossier.write(
            {
                "cost_labour": float(costs["labour"]),
                "cost_parts": float(costs["parts"]),
                "cost_travel": float(costs["travel"]),
                "has_final_cost": True,
            }
        )
        dossier.action_done(fields.Date.to_date(data["completed_on"]))
        self._touch(dossier)
        return "processed"

    def _handle_dossier_closed(self, data):
        return self._handle_dossier_status_changed(dict(data, status="closed"))

    def _handle_dossier_cancelled(self, data):
        result = self._handle_dossier_status_changed(dict(data, status="cancelled"))
        if data.get("reason") and self.dossier_id:
            self.dossier_id.message_post(body=data["reason"])
        return result

    def _handle_nps_responded(self, data):
        dossier = self._dossier(data)
        if dossier.nps_date and dossier.nps_date > self.occurred_at:
            return "ignored", self.env._("A newer answer is already recorded.")
        dossier.write(
            {
                "nps_score": data["score"],
                "nps_comment": data.get("comment"),
                "nps_date": self.occurred_at,
            }
        )
        return "processed"

    def _handle_payment_failed(self, data):
        subscription = self._subscription(data["subscription"])
        return subscription._depanssur_payment_event("failed", data, self)

    def _handle_payment_succeeded(self, data):
        subscription = self._subscription(data["subscription"])
        return subscription._depanssur_payment_event("succeeded", data, self)

    @api.model
    def _parse_datetime(self, value):
        from ..rules.webhook_contract import parse_timestamp

        return parse_timestamp(value).replace(tzinfo=None)
