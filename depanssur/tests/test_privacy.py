"""Right to erasure as a data-protection request meets it: a client who signed up on the web, got
a portal account, emails and SMS, declared a claim and answered the NPS, is erased; then every
text, varchar and json column of the database is searched for their name, email, phone and
address."""

import io
import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time
from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.fields import Command
from odoo.tests import HttpCase, tagged
from odoo.tools import SQL
from pypdf import PdfReader

from .common import DepanssurSubscriptionCase, SignupFormMixin, signed_webhook_headers

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# an identity no other record of a standard database (demo data included) can carry
FIRST_NAME = "Zéphyrine"
LAST_NAME = "Quaxwellobrink"
EMAIL = "zephyrine.qxw7k@example.org"
MOBILE = "07 49 81 27 36"
STREET = "17 impasse Vrillonnette"
# what the scan looks for (ILIKE, so case does not matter): name parts, the email's local
# part, the phone as E.164 / national / spaced, the street
NEEDLES = ("Quaxwellobrink", "Zéphyrine", "qxw7k", "749812736", "49 81 27 36", "Vrillonnette")
# where the identity may stay: accounting documents as issued, and the opt-out lists
ALLOWED_TABLES = {"account_move", "account_move_line", "mail_blacklist", "phone_blacklist"}


@tagged("post_install", "-at_install")
class TestErasure(SignupFormMixin, HttpCase, DepanssurSubscriptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["depanssur.webhook.secret"].create({"name": "current", "secret": SECRET})

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def _sign_up(self):
        _html, csrf, key = self._signup_form()
        data = self._signup_answers(
            csrf,
            key,
            first_name=FIRST_NAME,
            last_name=LAST_NAME,
            email=EMAIL,
            mobile=MOBILE,
            street=STREET,
            zip="69007",
            billing_different="on",
            billing_street="2 allée Vrillonnette",
            billing_zip="69007",
            billing_city="Lyon",
            consent_marketing_sms="on",  # marketing email left unticked: not given
        )
        response = self.url_open("/abonnement/recapitulatif", data=data)
        self.assertEqual(response.status_code, 200)
        # coverage asked to start at once (else it waits for the end of the withdrawal period)
        response = self._signup_confirm(response, express_start="on")
        self.assertEqual(response.status_code, 200)
        return self.env["res.partner"].search([("email", "=", EMAIL)])

    def _webhook(self, event_type, data):
        body = json.dumps(
            {"type": event_type, "occurred_at": datetime.now(UTC).isoformat(), "data": data}
        )
        headers = signed_webhook_headers(SECRET, body)
        msg_id = headers["webhook-id"]
        with patch.object(
            type(self.env.ref("depanssur.ir_cron_depanssur_webhook_process")), "_trigger"
        ):
            response = self.url_open("/depanssur/webhook", data=body.encode(), headers=headers)
        self.assertEqual(response.status_code, 202, response.text)
        return self.env["depanssur.webhook.event"].search([("webhook_id", "=", msg_id)])

    def _scan(self):
        """{(table, column)} of every text, varchar and json(b) column holding one of the
        needles. One query per table (an OR over its columns, ILIKE), only on tables with
        rows: on 2 cores the whole database is scanned in a few seconds."""
        self.env.flush_all()
        cr = self.env.cr
        cr.execute(
            """
            SELECT c.table_name, array_agg(c.column_name::text ORDER BY c.column_name)
              FROM information_schema.columns c
              JOIN information_schema.tables t
                ON t.table_schema = c.table_schema AND t.table_name = c.table_name
             WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
               AND c.data_type IN ('text', 'character varying', 'json', 'jsonb')
             GROUP BY c.table_name
            """
        )
        patterns = [f"%{needle}%" for needle in NEEDLES]
        found = set()
        for table, columns in cr.fetchall():
            cr.execute(SQL("SELECT EXISTS (SELECT 1 FROM %s)", SQL.identifier(table)))
            if not cr.fetchone()[0]:
                continue
            checks = [
                SQL("bool_or(%s::text ILIKE ANY(%s))", SQL.identifier(column), patterns)
                for column in columns
            ]
            cr.execute(SQL("SELECT %s FROM %s", SQL(", ").join(checks), SQL.identifier(table)))
            for column, hit in zip(columns, cr.fetchone(), strict=True):
                if hit:
                    found.add((table, column))
        return found

    # ------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------

    def test_erasure_leaves_the_client_only_in_accounting_and_opt_outs(self):
        client = self._sign_up()
        self.assertEqual(len(client), 1)
        subscription = client.depanssur_subscription_ids
        # the client answers the confirmation link: the subscription starts, its invoice is posted
        self.env["depanssur.signup"]._signup_activate(subscription, "email")
        self.assertTrue(subscription.invoice_ids)
        # later the client withdraws the marketing emails (an opt-out the erasure must keep)
        self.env["depanssur.consent"].create(
            {
                "partner_id": client.id,
                "purpose": "marketing_email",
                "state": "withdrawn",
                "source": "portal",
                "proof_text": f"{FIRST_NAME} unticked the box on the portal",
            }
        )
        # a portal account, as the web sign-ups get (invitation email included)
        wizard = (
            self.env["portal.wizard"]
            .with_context(active_model="res.partner", active_ids=client.ids)
            .create({})
        )
        wizard.user_ids.action_grant_access()
        portal_user = client.user_ids
        self.assertTrue(portal_user and portal_user.share)
        # a claim declared with free text naming the client, its NPS comment, and an event that
        # could not be applied (unknown subscription) but carries the client's email
        today = fields.Date.to_string(fields.Date.today())
        claim = self._webhook(
            "dossier.created",
            {
                "external_id": "DEP-QXW-1",
                "subscription": subscription.name,
                "category": "plumbing",
                "incident_date": today,
                "description": f"Fuite chez Mme {LAST_NAME}, {STREET}, rappeler au {MOBILE}",
            },
        )
        lost = self._webhook(
            "dossier.created",
            {
                "external_id": "DEP-QXW-2",
                "subscription": "ABO/0000/UNKNOWN",
                "category": "plumbing",
                "incident_date": today,
                "description": f"Client {EMAIL}",
            },
        )
        self.env["depanssur.webhook.event"]._cron_process()
        dossier = claim.dossier_id
        self.assertTrue(dossier)
        nps = self._webhook(
            "nps.responded",
            {"external_id": "DEP-QXW-1", "score": 4, "comment": f"{FIRST_NAME}: trop long"},
        )
        self.env["depanssur.webhook.event"]._cron_process()
        self.assertEqual((claim.state, nps.state, lost.state), ("processed", "processed", "failed"))
        self.assertIn(FIRST_NAME, dossier.nps_comment)
        # emails and SMS: some sent and kept, some still queued
        mails = self.env["mail.mail"].sudo().search([("recipient_ids", "in", client.ids)])
        sms = self.env["sms.sms"].sudo().search([("partner_id", "=", client.id)])
        self.assertTrue(mails and sms)
        mails[:1].write({"state": "sent", "auto_delete": False})
        sms[:1].write({"state": "sent", "to_delete": False})
        before = {table for table, _column in self._scan()}
        for table in (
            "res_partner",
            "res_users",
            "mail_message",
            "mail_mail",
            "sms_sms",
            "depanssur_dossier",
            "depanssur_webhook_event",
        ):
            self.assertIn(table, before, "the scan sees the client before the erasure")

        # refused while the subscription runs, then while money is owed
        Manager = client.with_user(self.user_manager)
        with self.assertRaisesRegex(UserError, "open subscriptions"):
            Manager.action_depanssur_anonymize()
        invoice = subscription.invoice_ids
        with freeze_time(fields.Date.today() + timedelta(days=3)):
            subscription._terminate("client_request", fields.Date.today() - timedelta(days=1))
        self.assertEqual(subscription.state, "terminated")
        with self.assertRaisesRegex(UserError, "not paid"):
            Manager.action_depanssur_anonymize()
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({})._create_payments()
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))

        Manager.action_depanssur_anonymize()

        client = client.with_context(active_test=False)
        self.assertTrue(client.depanssur_anonymized)
        self.assertFalse(client.active)
        self.assertFalse(portal_user.active)
        self.assertNotIn(EMAIL, portal_user.login)
        self.assertEqual(invoice.state, "posted", "accounting documents stay as issued")
        self.assertEqual(invoice.commercial_partner_id, client)
        self.assertFalse(claim.payload or lost.payload or nps.payload)
        self.assertEqual(claim.state, "processed", "the event's metadata stays")
        self.assertEqual(lost.state, "ignored", "a payload erased is not retried")
        self.assertTrue(
            self.env["mail.blacklist"].search([("email", "=", EMAIL)]),
            "the opt-out of the marketing emails is kept",
        )
        remaining = self._scan()
        self.assertFalse(
            {(table, column) for table, column in remaining if table not in ALLOWED_TABLES},
            "the client is still found outside accounting and the opt-out lists",
        )

    def test_erasure_refused_to_agents_and_for_employees(self):
        with self.assertRaises(UserError):
            self.client.with_user(self.user_agent).action_depanssur_anonymize()
        employee_partner = self.user_internal.partner_id
        with self.assertRaisesRegex(UserError, "internal user"):
            employee_partner.with_user(self.user_manager).action_depanssur_anonymize()
        self.assertTrue(self.user_internal.active)


@tagged("post_install", "-at_install")
class TestWebhookPayloadRetention(DepanssurSubscriptionCase):
    def _event(self, state, days_ago):
        now = fields.Datetime.now()
        return self.env["depanssur.webhook.event"].create(
            {
                "webhook_id": f"msg_{uuid.uuid4().hex}",
                "event_type": "nps.responded",
                "occurred_at": now - timedelta(days=days_ago),
                "received_at": now - timedelta(days=days_ago),
                "processed_at": now - timedelta(days=days_ago)
                if state in ("processed", "ignored")
                else False,
                "state": state,
                "payload": {"data": {"external_id": "DEP-1", "comment": "Très bien, Mme Martin"}},
            }
        )

    def _autovacuum(self):
        """Odoo's daily auto-vacuum, through the cron runner as the scheduler runs it."""
        cron = self.env.ref("base.autovacuum_job")
        with self.enter_registry_test_mode():
            result = cron.method_direct_trigger()
        self.assertIs(result, True, result)
        self.env.invalidate_all()

    def test_payloads_dropped_after_the_configured_days(self):
        old = self._event("processed", 100)
        old_ignored = self._event("ignored", 100)
        month = self._event("processed", 40)
        recent = self._event("processed", 10)
        old_failed = self._event("failed", 100)
        old_received = self._event("received", 100)
        self._autovacuum()  # default: 90 days
        self.assertFalse(old.payload or old_ignored.payload)
        self.assertEqual(
            (old.state, old.event_type, old.webhook_id[:4]), ("processed", "nps.responded", "msg_")
        )
        self.assertTrue(old.processed_at and old.occurred_at, "the metadata stays")
        for event in (month, recent, old_failed, old_received):
            self.assertTrue(event.payload, "recent, failed and pending events keep their payload")
        self.env["ir.config_parameter"].sudo().set_param("depanssur.webhook_payload_days", 30)
        self._autovacuum()
        self.assertFalse(month.payload)
        self.assertTrue(recent.payload and old_failed.payload and old_received.payload)


@tagged("post_install", "-at_install")
class TestRightOfAccess(HttpCase, DepanssurSubscriptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client_user = (
            cls.env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                {
                    "login": "qxw_client",
                    "password": "qxw_client",
                    "partner_id": cls.client.id,
                    "group_ids": [Command.set([cls.env.ref("base.group_portal").id])],
                }
            )
        )
        cls.env["depanssur.consent"].create(
            [
                {
                    "partner_id": cls.client.id,
                    "purpose": "marketing_sms",
                    "state": "given",
                    "source": "web_form",
                    "date": "2026-01-10 10:00:00",
                    "proof_text": "J'accepte de recevoir les offres par SMS — case cochée",
                    "proof_attachment_id": cls.env["ir.attachment"]
                    .create({"name": "preuve-formulaire-qxw.png", "raw": b"proof"})
                    .id,
                    "ip_address": "198.51.100.4",
                },
                {
                    "partner_id": cls.client.id,
                    "purpose": "marketing_sms",
                    "state": "withdrawn",
                    "source": "portal",
                    "date": "2026-02-10 10:00:00",
                },
            ]
        )
        cls.subscription = cls._subscribe(cls, date_start="2026-01-15")
        cls.dossier = (
            cls.env["depanssur.dossier"]
            .with_context(depanssur_state_change=True)
            .create(
                {
                    "subscription_id": cls.subscription.id,
                    "category_id": cls.cat_plumbing.id,
                    "incident_date": "2026-03-01",
                    "description": "Fuite sous l'évier de la cuisine",
                }
            )
        )
        invoice = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": cls.client.id,
                "invoice_line_ids": [
                    Command.create({"name": "Abonnement", "quantity": 1, "price_unit": 9.9})
                ],
            }
        )
        invoice.action_post()
        cls.invoice = invoice
        cls.refund = invoice._reverse_moves(cancel=True)
        cls.client.message_post(body="Appel de Mme Lefèvre : question sur sa couverture")

    def _open(self, response):
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.assertEqual(response.headers["Content-Type"], "application/zip")
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        self.assertEqual(sorted(archive.namelist()), ["data.json", "summary.pdf"])
        data = json.loads(archive.read("data.json"))
        pdf = PdfReader(io.BytesIO(archive.read("summary.pdf")))
        text = "\n".join(page.extract_text() for page in pdf.pages)
        return data, text

    def test_portal_download_holds_every_record_type(self):
        self.authenticate("qxw_client", "qxw_client")
        data, text = self._open(self.url_open("/my/privacy/export"))
        self.assertEqual(data["identity"]["email"], "sophie.lefevre@example.fr")
        for key in (
            "consents",
            "subscriptions",
            "claim_files",
            "invoices",
            "credit_notes",
            "messages",
        ):
            self.assertTrue(data[key], f"{key} is in the export")
        self.assertEqual(len(data["consents"]), 2, "the whole consent history")
        self.assertIn("case cochée", data["consents"][0]["proof_text"])
        self.assertEqual(data["consents"][0]["proof_attachment_id"], "preuve-formulaire-qxw.png")
        self.assertEqual(data["consents"][1]["state"], "Withdrawn")
        sms_wording = self.env["depanssur.consent.wording"]._current("marketing_sms")
        self.assertEqual(data["consents"][0]["wording_version"], sms_wording.version)
        self.assertEqual(data["consents"][0]["wording_sha256"], sms_wording.sha256)
        self.assertEqual(data["subscriptions"][0]["name"], self.subscription.name)
        self.assertEqual(data["claim_files"][0]["description"], self.dossier.description)
        self.assertEqual(data["invoices"][0]["name"], self.invoice.name)
        self.assertEqual(data["credit_notes"][0]["name"], self.refund.name)
        self.assertTrue(any("question sur sa couverture" in m["body"] for m in data["messages"]))
        for expected in (
            "Sophie Lefèvre",
            self.subscription.name,
            self.dossier.name,
            self.invoice.name,
            self.refund.name,
            "Fuite sous",
            "question sur sa couverture",
            "preuve-formulaire-qxw.png",
        ):
            self.assertIn(expected, text)

    def test_portal_download_is_the_users_own_data_only(self):
        # another portal client gets their own (empty) file, never this client's
        self.authenticate("dp_portal", "dp_portal")
        data, text = self._open(self.url_open("/my/privacy/export?partner_id=%s" % self.client.id))
        self.assertNotEqual(data["identity"]["email"], "sophie.lefevre@example.fr")
        self.assertFalse(data["subscriptions"] or data["invoices"])
        self.assertNotIn("Lefèvre", text)
        response = self.url_open(f"/depanssur/privacy/export/{self.client.id}")
        self.assertEqual(response.status_code, 403)
        # an anonymous visitor is sent to the login page, nothing is exported
        self.logout()
        response = self.url_open("/my/privacy/export", allow_redirects=False)
        self.assertIn(response.status_code, (302, 303))
        self.assertIn("/web/login", response.headers["Location"])

    def test_backoffice_export_for_agents_only(self):
        action = self.client.with_user(self.user_agent).action_depanssur_export_data()
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.authenticate("dp_agent", "dp_agent")
        data, _text = self._open(self.url_open(action["url"]))
        self.assertEqual(data["identity"]["name"], "Sophie Lefèvre")
        self.authenticate("dp_internal", "dp_internal")
        self.assertEqual(self.url_open(action["url"]).status_code, 403)
        self.assertEqual(self.url_open("/depanssur/privacy/export/0").status_code, 404)
        with self.assertRaises(AccessError):
            self.client.with_user(self.user_internal).action_depanssur_export_data()
