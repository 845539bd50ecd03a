"""Right to erasure beyond the partner record: everything else that names the client.

``res_partner.py`` scrubs the partner itself; this extension, run around it, archives the client's
users first (Odoo refuses to archive a contact linked to an active user) and then removes the
client from what the product wrote about them: chatter messages and their tracking values,
queued and sent emails and SMS, attachments, claim-file free text and NPS comments, webhook
payloads, activities and job reports. Accounting documents (``account.move`` and their lines,
their attachments and the issued credit-note PDFs) are left as issued; an opt-out (an active
``mail.blacklist`` / ``phone.blacklist`` entry) is kept so the address is never contacted again.
"""

import logging

from odoo import models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# models whose records belong to one client (through ``partner_id``) and carry a chatter
CLIENT_THREAD_MODELS = (
    "depanssur.subscription",
    "depanssur.dossier",
    "depanssur.credit.note",
    "depanssur.dunning.case",
)
# accounting documents: their chatter is scrubbed, their attachments are kept as issued
ACCOUNTING_MODELS = ("account.move",)


class ResPartner(models.Model):
    _inherit = "res.partner"

    # ------------------------------------------------------------
    # Blockers
    # ------------------------------------------------------------

    def _depanssur_erasure_blockers(self):
        blockers = super()._depanssur_erasure_blockers()
        commercial = self.commercial_partner_id
        owed = (
            self.env["account.move"]
            .sudo()
            .search(
                [
                    ("partner_id", "child_of", commercial.id),
                    ("state", "=", "posted"),
                    ("move_type", "in", ("out_invoice", "out_refund")),
                    ("payment_state", "in", ("not_paid", "partial")),
                ]
            )
        )
        invoices = owed.filtered(lambda m: m.move_type == "out_invoice")
        refunds = owed - invoices
        if invoices:
            blockers.append(
                self.env._(
                    "invoices not paid yet %(names)s", names=", ".join(invoices.mapped("name"))
                )
            )
        if refunds:
            blockers.append(
                self.env._(
                    "credit notes not refunded yet %(names)s",
                    names=", ".join(refunds.mapped("name")),
                )
            )
        employees = (
            self.env["res.users"]
            .sudo()
            .with_context(active_test=False)
            .search([("partner_id", "=", self.id), ("share", "=", False)])
        )
        if employees:
            blockers.append(
                self.env._(
                    "linked to the internal user %(logins)s (archive the employee's account first)",
                    logins=", ".join(employees.mapped("login")),
                )
            )
        return blockers

    # ------------------------------------------------------------
    # Erasure
    # ------------------------------------------------------------

    def _depanssur_anonymize(self):
        """Archive the users, scrub the partner (``res_partner.py``), then every trace."""
        self.ensure_one()
        identity = self._depanssur_identity_strings()
        scope = self._depanssur_erasure_scope()
        messages = self._depanssur_erasure_messages(scope)
        proofs = self.sudo().depanssur_consent_ids.proof_attachment_id
        self._depanssur_erase_users()
        super()._depanssur_anonymize()
        self._depanssur_erase_traces(identity, scope, messages, proofs)

    def _depanssur_identity_strings(self):
        """The client's name, email and phones as they may appear in free text (lower case)."""
        self.ensure_one()
        partner = self.sudo()
        strings = {partner.name, partner.email, partner.email_normalized}
        for number in (partner.mobile, partner.phone, partner.phone_sanitized):
            if not number:
                continue
            strings.add(number)
            digits = "".join(c for c in number if c.isdigit())
            if number.startswith("+33") and len(digits) == 11:
                national = "0" + digits[2:]
                strings.add(national)
                strings.add(" ".join(national[i : i + 2] for i in range(0, 10, 2)))
        # a short string (a one-letter name, a bare street number) would match everything
        return sorted({s.strip().lower() for s in strings if s and len(s.strip()) >= 5})

    def _depanssur_erasure_scope(self):
        """{model: records} of what belongs to this partner and carries its traces."""
        self.ensure_one()
        scope = {"res.partner": self.sudo()}
        for model in (*CLIENT_THREAD_MODELS, *ACCOUNTING_MODELS):
            scope[model] = (
                self.env[model]
                .sudo()
                .with_context(active_test=False)
                .search([("partner_id", "=", self.id)])
            )
        scope["depanssur.dossier"] |= (
            self.env["depanssur.dossier"]
            .sudo()
            .search([("subscription_id", "in", scope["depanssur.subscription"].ids)])
        )
        return scope

    def _depanssur_erasure_messages(self, scope):
        """The messages on the scope's records, and those the client wrote anywhere."""
        domain = [("author_id", "=", self.id)]
        for model, records in scope.items():
            if records:
                domain = ["|", "&", ("model", "=", model), ("res_id", "in", records.ids), *domain]
        return self.env["mail.message"].sudo().search(domain)

    def _depanssur_erase_users(self):
        """Archive the client's (portal) users and replace their login: Odoo refuses to archive a
        contact linked to an active user. Called after the Manager check of the action (or by the
        retention job), hence sudo."""
        users = (
            self.env["res.users"]
            .sudo()
            .with_context(active_test=False)
            .search([("partner_id", "=", self.id), ("share", "=", True)])
        )
        for user in users:
            user.write(
                {
                    "active": False,
                    "login": f"anonymised-user-{user.id}",
                    "signature": False,
                }
            )
        if users:
            self.env["res.users.apikeys"].sudo().search([("user_id", "in", users.ids)]).unlink()
        return users

    def _depanssur_erase_traces(self, identity, scope, messages, proofs):
        neutral = self.env._("Content removed (right to erasure).")
        env = self.env(su=True)
        # chatter: bodies replaced by a neutral line, tracking values removed
        messages = messages.exists()
        if messages:
            env["mail.tracking.value"].search([("mail_message_id", "in", messages.ids)]).unlink()
            messages.write(
                {
                    "body": neutral,
                    "subject": False,
                    "email_from": False,
                    "reply_to": False,
                    "incoming_email_to": False,
                    "incoming_email_cc": False,
                    "outgoing_email_to": False,
                }
            )
        notifications = env["mail.notification"].search(
            ["|", ("mail_message_id", "in", messages.ids), ("res_partner_id", "=", self.id)]
        )
        notifications.write(
            {"mail_email_address": False, "failure_reason": False, "sms_number": False}
        )
        # emails and SMS, queued or kept after sending: nothing more goes out to the client
        mail_domain = [
            "|",
            ("mail_message_id", "in", messages.ids),
            ("recipient_ids", "in", self.ids),
        ]
        for string in identity:
            if "@" in string:
                mail_domain = ["|", ("email_to", "ilike", string), *mail_domain]
        env["mail.mail"].search(mail_domain).unlink()
        numbers = [s for s in identity if s.startswith("+") or s[:1].isdigit()]
        env["sms.sms"].search(
            [
                "|",
                "|",
                ("partner_id", "=", self.id),
                ("mail_message_id", "in", messages.ids),
                "&",
                ("partner_id", "=", False),
                ("number", "in", numbers),
            ]
        ).unlink()
        # attachments, except the accounting documents as issued
        kept = scope["depanssur.credit.note"].pdf_attachment_id
        attachments = proofs | messages.exists().attachment_ids
        for model, records in scope.items():
            if model not in ACCOUNTING_MODELS and records:
                attachments |= env["ir.attachment"].search(
                    [("res_model", "=", model), ("res_id", "in", records.ids)]
                )
        attachments = attachments.filtered(
            lambda a: a.res_model not in ACCOUNTING_MODELS and a not in kept
        )
        attachments.unlink()
        # activities on the client's records (their summary, note and record name)
        for model, records in scope.items():
            if records:
                env["mail.activity"].with_context(active_test=False).search(
                    [("res_model", "=", model), ("res_id", "in", records.ids)]
                ).unlink()
        # free text of the client's records
        dossiers = scope["depanssur.dossier"]
        dossiers.filtered("description").write({"description": neutral})
        dossiers.filtered("nps_comment").write({"nps_comment": neutral})
        subscriptions = scope["depanssur.subscription"]
        subscriptions.filtered("termination_comment").write({"termination_comment": neutral})
        subscriptions.filtered("payment_reference").write({"payment_reference": False})
        subscriptions.suspension_ids.filtered("reason").write({"reason": neutral})
        # wizards opened on the client (transient rows, otherwise vacuumed within hours)
        env["portal.wizard.user"].search([("partner_id", "=", self.id)]).unlink()
        composer_domain = [("partner_ids", "in", self.ids)]
        for string in identity:
            composer_domain = ["|", ("body", "ilike", string), *composer_domain]
        env["mail.compose.message"].search(composer_domain).unlink()
        self._depanssur_erase_webhook_payloads(identity, scope)
        self._depanssur_erase_in_reports(identity)
        # the blacklist entries that are not (or no longer) an opt-out go; opt-outs stay
        env["mail.blacklist"].with_context(active_test=False).search(
            [("email", "in", [s for s in identity if "@" in s]), ("active", "=", False)]
        ).unlink()
        env["phone.blacklist"].with_context(active_test=False).search(
            [("number", "in", numbers), ("active", "=", False)]
        ).unlink()
        _logger.info("depanssur: traces of partner %s erased", self.id)

    def _depanssur_erase_webhook_payloads(self, identity, scope):
        """Drop the stored payloads of the webhook events about the client: those linked to its
        claim files or subscriptions, and those whose payload carries its identifiers (an event
        that could not be applied is linked to nothing)."""
        dossiers = scope["depanssur.dossier"]
        subscriptions = scope["depanssur.subscription"]
        needles = list(identity)
        needles += [f'"{ref.lower()}"' for ref in dossiers.mapped("external_id") if ref]
        needles += [f'"{ref.lower()}"' for ref in subscriptions.mapped("name") if ref]
        matches = [SQL("position(%s IN lower(payload::text)) > 0", needle) for needle in needles]
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM depanssur_webhook_event
                 WHERE payload IS NOT NULL
                   AND (dossier_id = ANY(%s) OR subscription_id = ANY(%s) OR %s)
                """,
                dossiers.ids,
                subscriptions.ids,
                SQL(" OR ").join(matches) if matches else SQL("FALSE"),
            )
        )
        events = (
            self.env["depanssur.webhook.event"]
            .sudo()
            .browse(row[0] for row in self.env.cr.fetchall())
        )
        if events:
            events.write({"payload": False})
            pending = events.filtered(lambda e: e.state in ("received", "failed"))
            pending.write(
                {
                    "state": "ignored",
                    "next_attempt_at": False,
                    "error": self.env._("Payload erased (right to erasure): not processed."),
                }
            )
        return events

    def _depanssur_erase_in_reports(self, identity):
        """Job reports (data-quality lists, digests) may name the client: replace them."""
        label = self.env._("Anonymised client #%(id)s", id=self.id)
        self.env.flush_all()
        for needle in identity:
            self.env.cr.execute(
                """
                UPDATE depanssur_job_run
                   SET message = regexp_replace(message, %s, %s, 'gi')
                 WHERE position(%s IN lower(message)) > 0
                """,
                (_regex_escape(needle), label, needle),
            )
        self.env["depanssur.job.run"].invalidate_model(["message"])


def _regex_escape(text):
    """``text`` as a literal in a PostgreSQL regular expression."""
    return "".join("\\" + c if not c.isalnum() and c != " " else c for c in text)
