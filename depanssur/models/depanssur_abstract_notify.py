import contextlib
import contextvars
import logging

from odoo import api, models
from odoo.fields import Command

from .batching import written_by_system

_logger = logging.getLogger(__name__)

# One place for "what goes out when": event → (email template, SMS template, consent purpose).
# A purpose of None means transactional: sent to every client with a valid address/number (Odoo's
# mail and phone blacklists are marketing opt-outs, as in Odoo's mass mailing: they do not stop
# contract messages). A purpose means marketing: sent only with that consent given, and never to
# a blacklisted address or number.
NOTIFICATIONS = {
    "subscription.confirmed": ("mail_template_subscription_welcome", None, None),
    "subscription.coverage_active": ("mail_template_coverage_active", None, None),
    "subscription.plan_changed": ("mail_template_plan_changed", None, None),
    "subscription.address_changed": ("mail_template_address_changed", None, None),
    "subscription.suspended": ("mail_template_suspended", "sms_template_suspended", None),
    "subscription.reactivated": ("mail_template_reactivated", None, None),
    "subscription.terminated": ("mail_template_terminated", None, None),
    "subscription.cap_80": ("mail_template_cap_80", None, None),
    "subscription.cap_reached": ("mail_template_cap_reached", None, None),
    "subscription.anniversary": ("mail_template_anniversary", None, None),
    "subscription.offer": ("mail_template_partner_offer", None, "partner_offers"),
    "dossier.received": ("mail_template_dossier_received", "sms_template_dossier_received", None),
    "dossier.decision": ("mail_template_dossier_decision", "sms_template_dossier_decision", None),
    "dossier.scheduled": (None, "sms_template_intervention_scheduled", None),
    "dossier.done": ("mail_template_intervention_done", "sms_template_intervention_done", None),
    "credit_note.issued": ("mail_template_credit_note_issued", None, None),
    "partner.consent": ("mail_template_consent_changed", None, None),
    "dunning.payment_failed": (None, "sms_template_payment_failed", None),
}


# Where the messages of the work in progress go, set by Python code only (never by a context
# key, which any RPC caller could send): a list to queue them in (the webhook processing sends a
# batch's messages in one go), or MUTED when the caller sends its own message instead.
MUTED = object()
_NOTIFY_SINK = contextvars.ContextVar("depanssur_notify_sink", default=None)


@contextlib.contextmanager
def notifications(sink):
    """Within the block, ``_depanssur_notify`` queues the table's messages into the list
    ``sink``, sends nothing when ``sink`` is MUTED, and sends them at once when it is None."""
    token = _NOTIFY_SINK.set(sink)
    try:
        yield sink
    finally:
        _NOTIFY_SINK.reset(token)


def notify_sink():
    """The sink of the block being run (see ``notifications``), or None."""
    return _NOTIFY_SINK.get()


class DepanssurNotifyMixin(models.AbstractModel):
    """Sends Depanssur's French emails and SMS through Odoo's mail and sms machinery, following
    the sending rules of ``NOTIFICATIONS``; every message (or why none was sent) is logged on the
    record's chatter."""

    _name = "depanssur.notify.mixin"
    _description = "Depanssur notifications"

    def _depanssur_notify_partner(self):
        return self.partner_id

    def _depanssur_lang(self):
        """The language of this record's client: theirs, else the company's."""
        self.ensure_one()
        partner = self._depanssur_notify_partner()
        company = self["company_id"] if "company_id" in self._fields else self.env.company
        return partner.lang or company.partner_id.lang or self.env.lang

    def _depanssur_writer_env(self):
        """The environment to write this record's messages in: the client's language when the
        system writes (a scheduled job, a webhook's processing), the user's when a person acts.
        Use ``record._depanssur_writer_env()._("...")`` for chatter notes."""
        self.ensure_one()
        if not written_by_system(self.env):
            return self.env
        return self.with_context(lang=self._depanssur_lang()).env

    def _depanssur_track_in_client_lang(self, track, fields_iter, initial_values_dict):
        """Run Odoo's tracking (``track(records, fields_iter, initial_values_dict)``, the
        model's ``super()._message_track``) in each client's language when the system writes:
        the tracked values ("Declared → Intervention scheduled") are stored translated."""
        if not written_by_system(self.env):
            return track(self, fields_iter, initial_values_dict)
        data = self.env.cr.precommit.data
        keys = (f"mail.tracking.message.{self._name}", f"mail.tracking.author.{self._name}")
        saved = {key: data.get(key) for key in keys}
        result = {}
        # records deleted meanwhile are skipped, as Odoo's tracking skips them
        for lang, records in self.exists().grouped(lambda r: r._depanssur_lang()).items():
            for key, value in saved.items():  # each call pops them: give each group its own
                if value is not None:
                    data[key] = dict(value)
            result.update(track(records.with_context(lang=lang), fields_iter, initial_values_dict))
        return result

    def _depanssur_notify(self, event, email_template=None, sms_template=None, attachments=None):
        """Send ``event``'s messages; explicit templates override the table (dunning levels).

        Returns the counts (``email``, ``sms``) and the ids of the records each went out for.
        Within ``notifications(queue)`` (the webhook processing) the table's messages are
        queued instead, for ``_depanssur_send_queued`` to send; within ``notifications(MUTED)``
        they are not sent (the caller sends its own).
        """
        sink = notify_sink()
        if sink is not None and not (email_template or sms_template or attachments):
            if sink is not MUTED:
                sink.append((self._name, self.ids, event))
            return {"email": 0, "sms": 0, "email_ids": set(), "sms_ids": set()}
        mail_xmlid, sms_xmlid, purpose = NOTIFICATIONS.get(event, (None, None, None))
        mail_template = email_template or (
            mail_xmlid and self.env.ref(f"depanssur.{mail_xmlid}", raise_if_not_found=False)
        )
        sms_tmpl = sms_template or (
            sms_xmlid and self.env.ref(f"depanssur.{sms_xmlid}", raise_if_not_found=False)
        )
        sent = {"email": 0, "sms": 0, "email_ids": set(), "sms_ids": set()}
        to_email = self.browse()
        for record in self:
            partner = record._depanssur_notify_partner()
            if not partner or partner.depanssur_anonymized:
                continue
            if purpose and not partner._depanssur_marketing_allowed(purpose):
                writer = record._depanssur_writer_env()
                if partner[f"consent_{purpose}"] == "outdated":
                    body = writer._(
                        "Not sent (%(event)s): the consent was given on an older wording; "
                        "the client must be asked again.",
                        event=event,
                    )
                else:
                    body = writer._("Not sent (%(event)s): no marketing consent.", event=event)
                record._message_log(body=body)
                continue
            marketing = bool(purpose)
            if mail_template and record._depanssur_can_email(partner, marketing=marketing):
                to_email |= record
            if sms_tmpl and record._depanssur_send_sms(partner, sms_tmpl, marketing=marketing):
                sent["sms"] += 1
                sent["sms_ids"].add(record.id)
        if to_email:
            sent["email"] = to_email._depanssur_post_email(mail_template, attachments)
            sent["email_ids"] = set(to_email.ids)
        return sent

    def _depanssur_can_email(self, partner, marketing=False):
        """Whether ``partner`` may get this record's email; if not, say why on the chatter."""
        self.ensure_one()
        if not partner.email_normalized:
            self._message_log(
                body=self._depanssur_writer_env()._(
                    "Email not sent: the client has no valid email."
                )
            )
            return False
        if marketing and partner.is_blacklisted:
            self._message_log(
                body=self._depanssur_writer_env()._("Email not sent: the address is blacklisted.")
            )
            return False
        return True

    def _depanssur_post_email(self, template, attachments=None):
        """Post ``template`` on every record of ``self`` (its chatter) and queue the emails to the
        template's recipients (the client), each rendered in the client's language.

        One composer for the whole batch: the template is compiled and rendered once for all the
        records (Odoo's batch comment mode), instead of once per record.
        """
        if not self:
            return 0
        # queued: the mail queue cron sends them (a job never waits on an SMTP server)
        composer = (
            self.env["mail.compose.message"]
            .with_context(
                default_composition_mode="comment",
                default_model=self._name,
                default_res_ids=self.ids,
                default_template_id=template.id,
                mail_notify_force_send=False,
            )
            .create(
                {
                    "message_type": "notification",
                    "subtype_id": self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_comment"),
                }
            )
        )
        if attachments:
            composer.attachment_ids = [Command.link(attachment.id) for attachment in attachments]
        _mails, messages = composer._action_send_mail()
        return len(messages)

    def _depanssur_send_sms(self, partner, template, marketing=False):
        self.ensure_one()
        number = partner.mobile or partner.phone
        sanitized = number and partner._phone_format(number=number)
        if not sanitized:
            self._message_log(
                body=self._depanssur_writer_env()._("SMS not sent: the client has no valid number.")
            )
            return 0
        blacklist = self.env["phone.blacklist"].sudo()
        if marketing and blacklist.search_count([("number", "=", sanitized)]):
            self._message_log(
                body=self._depanssur_writer_env()._("SMS not sent: the number is blacklisted.")
            )
            return 0
        # queued: the SMS queue cron sends it through the configured provider (IAP, Twilio...)
        self.with_context(lang=partner.lang or self.env.lang)._message_sms_with_template(
            template=template,
            partner_ids=partner.ids,
            sms_pid_to_number={partner.id: sanitized},
            put_in_queue=True,
        )
        return 1

    @api.model
    def _depanssur_send_queued(self, queue):
        """Send the notifications queued by ``_depanssur_notify`` (a list of (model, ids,
        event)): one batch per model and event, in the order they were first queued. A batch
        that fails is sent record by record, and a record whose message still fails gets a
        note on its chatter instead: the work that queued it is never undone."""
        groups = {}
        for model, ids, event in queue:
            groups.setdefault((model, event), []).extend(ids)
        for (model, event), ids in groups.items():
            records = self.env[model].browse(dict.fromkeys(ids)).exists()
            try:
                with self.env.cr.savepoint(), notifications(None):
                    records._depanssur_notify(event)
                continue
            except Exception:
                _logger.exception("depanssur: %s notifications failed as a batch", event)
            for record in records:
                try:
                    with self.env.cr.savepoint(), notifications(None):
                        record._depanssur_notify(event)
                except Exception as error:
                    record._message_log(
                        body=record._depanssur_writer_env()._(
                            "Notification %(event)s not sent: %(error)s", event=event, error=error
                        )
                    )
        queue.clear()
