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

from odoo import fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL, html2plaintext

from ..tools import privacy_export

_logger = logging.getLogger(__name__)

# models whose records belong to one client (through ``partner_id``) and carry a chatter
CLIENT_THREAD_MODELS = (
    "depanssur.subscription",
    "depanssur.dossier",
    "depanssur.credit.note",
    "depanssur.dunning.case",
    "account.banking.mandate",
)
# accounting documents: their chatter is scrubbed, their attachments are kept as issued
ACCOUNTING_MODELS = ("account.move",)


def _regex_escape(text):
    """``text`` as a literal in a PostgreSQL regular expression."""
    return "".join("\\" + c if not c.isalnum() and c != " " else c for c in text)


# what the right-of-access export holds, per model: the fields exported (technical names)
EXPORT_FIELDS = {
    "res.partner": (
        "name",
        "civility",
        "first_name",
        "last_name",
        "email",
        "phone",
        "mobile",
        "street",
        "street2",
        "zip",
        "city",
        "country_id",
        "lang",
        "type",
        "create_date",
    ),
    "depanssur.consent": (
        "purpose",
        "channel",
        "state",
        "date",
        "source",
        "proof_text",
        "proof_attachment_id",
        "ip_address",
        "user_id",
        "wording_version",
        "wording_sha256",
    ),
    "depanssur.subscription": (
        "name",
        "plan_id",
        "state",
        "date_start",
        "carence_end_date",
        "risk_address_id",
        "billing_period",
        "monthly_amount",
        "termination_reason",
        "termination_date",
        "termination_comment",
    ),
    "depanssur.dossier": (
        "name",
        "subscription_id",
        "category_id",
        "incident_date",
        "declaration_date",
        "channel",
        "state",
        "description",
        "decision",
        "decision_reason",
        "final_cost",
        "covered_amount",
        "client_share",
        "scheduled_date",
        "done_date",
        "nps_score",
        "nps_comment",
        "nps_date",
    ),
    "account.move": (
        "name",
        "move_type",
        "invoice_date",
        "invoice_date_due",
        "amount_untaxed",
        "amount_tax",
        "amount_total",
        "amount_residual",
        "payment_state",
        "currency_id",
    ),
    "mail.message": ("date", "model", "res_id", "message_type", "author_id", "subject", "body"),
    "account.banking.mandate": (
        "unique_mandate_reference",
        "state",
        "signature_date",
        "depanssur_iban_masked",
        "depanssur_holder",
        "depanssur_channel",
        "depanssur_signed_at",
        "depanssur_signed_ip",
    ),
}


# Erasure and right of access kept in their own file, apart from the client fields of
# res_partner.py (hence the exception to consider-merging-classes-inherited on _inherit).
class ResPartner(models.Model):
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

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
        result = super()._depanssur_anonymize()
        self._depanssur_erase_traces(identity, scope, messages, proofs)
        return result

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
        self._depanssur_erase_sepa(scope)
        # the blacklist entries that are not (or no longer) an opt-out go; opt-outs stay
        env["mail.blacklist"].with_context(active_test=False).search(
            [("email", "in", [s for s in identity if "@" in s]), ("active", "=", False)]
        ).unlink()
        env["phone.blacklist"].with_context(active_test=False).search(
            [("number", "in", numbers), ("active", "=", False)]
        ).unlink()
        _logger.info("depanssur: traces of partner %s erased", self.id)

    def _depanssur_erase_sepa(self, scope):
        """The client's SEPA mandates can no longer be used (kept, cancelled, as the debits
        made under them are kept), without the IP they were signed from; the bank accounts no
        payment nor mandate refers to are deleted, the others lose their holder's name."""
        env = self.env(su=True)
        mandates = scope["account.banking.mandate"]
        mandates.filtered(lambda mandate: mandate.state in ("draft", "valid")).cancel()
        mandates.write({"depanssur_signed_ip": False})
        banks = (
            env["res.partner.bank"]
            .with_context(active_test=False)
            .search([("partner_id", "=", self.id)])
        )
        used = mandates.partner_bank_id | (
            env["account.payment"].search([("partner_bank_id", "in", banks.ids)]).partner_bank_id
        )
        (banks - used).unlink()
        (banks & used).write({"acc_holder_name": False})

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

    def _depanssur_check_privacy_export(self):
        """An agent exports any client; a portal user only their own data."""
        self.ensure_one()
        user = self.env.user
        if self.env.su or user.has_group("depanssur.group_depanssur_agent"):
            return
        if user.share and user.partner_id.commercial_partner_id == self.commercial_partner_id:
            return
        raise AccessError(self.env._("You cannot export the data of this client."))

    def _depanssur_export_values(self, records, fnames):
        values = []
        for record in records:
            row = {}
            for fname in fnames:
                field = record._fields.get(fname)
                if field is None:
                    continue
                value = record[fname]
                if fname == "body":
                    value = html2plaintext(value or "")
                elif field.type in ("many2one", "selection"):
                    value = field.convert_to_export(value, record) or None
                elif field.type in ("date", "datetime"):
                    value = field.to_string(value) if value else None
                elif field.type == "boolean" or value is not False:
                    pass
                else:
                    value = None
                row[fname] = value
            values.append(row)
        return values

    def _depanssur_privacy_data(self):
        """Everything held about the client, as plain data: identity (and its contacts),
        consents with their history and proofs, subscriptions, claim files, invoices and credit
        notes, messages."""
        self.ensure_one()
        partner = self.commercial_partner_id.sudo().with_context(active_test=False)
        scope = partner._depanssur_erasure_scope()
        contacts = partner.child_ids
        scope["res.partner"] |= contacts
        # invoices addressed to a billing contact belong to the client too
        scope["account.move"] = (
            self.env["account.move"].sudo().search([("commercial_partner_id", "=", partner.id)])
        )
        moves = scope["account.move"].filtered(
            lambda m: m.move_type in ("out_invoice", "out_refund") and m.state == "posted"
        )
        messages = partner._depanssur_erasure_messages(scope).filtered(
            lambda m: html2plaintext(m.body or "").strip()
        )
        export = partner._depanssur_export_values
        return {
            "generated_at": fields.Datetime.to_string(fields.Datetime.now()),
            "controller": partner.company_id.name or self.env.company.name,
            "identity": export(partner, EXPORT_FIELDS["res.partner"])[0],
            "contacts": export(contacts, EXPORT_FIELDS["res.partner"]),
            "consents": export(
                partner.depanssur_consent_ids.sorted("date"), EXPORT_FIELDS["depanssur.consent"]
            ),
            "subscriptions": export(
                scope["depanssur.subscription"], EXPORT_FIELDS["depanssur.subscription"]
            ),
            "claim_files": export(scope["depanssur.dossier"], EXPORT_FIELDS["depanssur.dossier"]),
            "invoices": export(
                moves.filtered(lambda m: m.move_type == "out_invoice"),
                EXPORT_FIELDS["account.move"],
            ),
            "credit_notes": export(
                moves.filtered(lambda m: m.move_type == "out_refund"),
                EXPORT_FIELDS["account.move"],
            ),
            "sepa_mandates": export(
                scope["account.banking.mandate"], EXPORT_FIELDS["account.banking.mandate"]
            ),
            "messages": export(messages.sorted("date"), EXPORT_FIELDS["mail.message"]),
        }

    def _depanssur_privacy_export(self):
        """(file name, zip bytes): the JSON of ``_depanssur_privacy_data`` and a PDF summary."""
        self.ensure_one()
        self._depanssur_check_privacy_export()
        data = self._depanssur_privacy_data()
        headings = [
            ("identity", self.env._("Identity")),
            ("contacts", self.env._("Addresses and contacts")),
            ("consents", self.env._("Consents (history and proofs)")),
            ("subscriptions", self.env._("Subscriptions")),
            ("claim_files", self.env._("Claim files")),
            ("invoices", self.env._("Invoices")),
            ("credit_notes", self.env._("Credit notes")),
            ("sepa_mandates", self.env._("SEPA direct debit mandates")),
            ("messages", self.env._("Messages")),
        ]
        models_of = {
            "identity": "res.partner",
            "contacts": "res.partner",
            "consents": "depanssur.consent",
            "subscriptions": "depanssur.subscription",
            "claim_files": "depanssur.dossier",
            "invoices": "account.move",
            "credit_notes": "account.move",
            "sepa_mandates": "account.banking.mandate",
            "messages": "mail.message",
        }
        sections = []
        for key, heading in headings:
            fields_ = self.env[models_of[key]]._fields
            records = data[key] if isinstance(data[key], list) else [data[key]]
            labelled = [
                {
                    fields_[f].get_description(self.env)["string"]: v
                    for f, v in record.items()
                    if v not in (None, "", False)
                }
                for record in records
            ]
            sections.append((heading, labelled, self.env._("None.")))
        pdf = privacy_export.render_pdf(
            self.env._("Your personal data held by %(company)s", company=data["controller"]),
            self.env._(
                "Copy of the personal data held about you on %(date)s (right of access, "
                "RGPD art. 15). The file data.json in the same archive holds the same data "
                "in a machine-readable form.",
                date=data["generated_at"],
            ),
            sections,
        )
        content = privacy_export.build_archive("data.json", data, "summary.pdf", pdf)
        _logger.info("depanssur: data of partner %s exported by user %s", self.id, self.env.uid)
        return f"rgpd-export-{self.commercial_partner_id.id}.zip", content

    def action_depanssur_export_data(self):
        """Right of access from the client form: download the archive (nothing recorded)."""
        self.ensure_one()
        self._depanssur_check_privacy_export()
        return {
            "type": "ir.actions.act_url",
            "url": f"/depanssur/privacy/export/{self.id}",
            "target": "download",
        }
