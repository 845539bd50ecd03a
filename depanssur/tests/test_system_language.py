"""What a scheduled job or a webhook's processing writes is in the client's language (on the
client's records) or the company's (on its own traces), never in the technical user's.

A standard database: English everywhere, the cron's user (OdooBot) in English; French activated
for one client and for the company, as a French installation has them."""

from datetime import date

from freezegun import freeze_time
from odoo.addons.base.tests.test_ir_cron import CronMixinCase
from odoo.tests import tagged

from .common import DepanssurSubscriptionCase, activate_french
from .queue_common import run_queued_jobs


@tagged("post_install", "-at_install")
class TestSystemWritesInClientLanguage(CronMixinCase, DepanssurSubscriptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_french(cls.env)
        # the technical users stay English: only the client and the company are French
        (cls.env.ref("base.user_root") | cls.env.ref("base.user_admin")).lang = "en_US"
        cls.client.lang = "fr_FR"
        cls.company.partner_id.lang = "fr_FR"
        cls.english = cls.env["res.partner"].create(
            {
                "depanssur_client": True,
                "civility": "mrs",
                "first_name": "Jane",
                "last_name": "Smith",
                "email": "jane.smith@example.com",
                "lang": "en_US",
                "street": "1 rue de la Paix",
                "zip": "75002",
                "city": "Paris",
                "country_id": cls.fr.id,
            }
        )
        cls.webhook_cron = cls.env.ref("depanssur.ir_cron_depanssur_webhook_process")
        cls.daily = cls.env.ref("depanssur.ir_cron_depanssur_daily")

    def _trigger(self, cron, day):
        """Run ``cron`` through Odoo's cron runner on ``day``, and the jobs it enqueues through
        queue_job's runner path, until the run has nothing more to do."""
        self.assertEqual(cron.user_id.lang, "en_US")
        for _attempt in range(40):
            with freeze_time(f"{day} 10:00:00"), self.enter_registry_test_mode():
                result = cron.method_direct_trigger()
            self.assertIs(result, True, f"the cron runner reported an error: {result}")
            self.env.invalidate_all()
            with freeze_time(f"{day} 10:00:00"):
                if not run_queued_jobs(self):
                    return
            self.env.invalidate_all()
        self.fail("the run never finished")

    def _other_home(self, partner):
        """Another client like ``partner`` (same language and civility), elsewhere."""
        return partner.copy({"street": "8 rue Neuve", "zip": "69001", "city": "Lyon"})

    def _event(self, webhook_id, event_type, data, occurred_at="2026-01-05 06:00:00"):
        return self.env["depanssur.webhook.event"].create(
            {
                "webhook_id": webhook_id,
                "event_type": event_type,
                "occurred_at": occurred_at,
                "payload": {"data": data},
            }
        )

    def _bodies(self, record):
        text = " | ".join(str(body) for body in record.message_ids.mapped("body"))
        return text.replace("&nbsp;", " ").replace("\xa0", " ").replace("&#39;", "'")

    def _tracked_states(self, record):
        values = record.message_ids.tracking_value_ids.filtered(
            lambda v: v.field_id.name == "state"
        )
        return set(values.mapped("new_value_char"))

    def test_webhooks_write_in_the_client_language(self):
        with freeze_time("2025-06-01"):  # past the waiting period: the claims are covered
            french = self._subscribe(date_start="2025-06-01")
            english = self._subscribe(partner=self.english, date_start="2025-06-01")
        events = self.env["depanssur.webhook.event"]
        for subscription in (french, english):
            events |= self._event(
                f"msg_lang_pay_{subscription.id}",
                "payment.failed",
                {
                    "subscription": subscription.name,
                    "amount": "9.90",
                    "currency": "EUR",
                    "reason": "insufficient_funds",
                },
            )
            events |= self._event(
                f"msg_lang_created_{subscription.id}",
                "dossier.created",
                {
                    "external_id": f"EXT-LANG-{subscription.id}",
                    "subscription": subscription.name,
                    "category": self.cat_plumbing.code,
                    "incident_date": "2026-01-04",
                },
            )
            events |= self._event(
                f"msg_lang_scheduled_{subscription.id}",
                "dossier.status_changed",
                {"external_id": f"EXT-LANG-{subscription.id}", "status": "scheduled"},
                occurred_at="2026-01-05 07:00:00",
            )
        unknown = self._event("msg_lang_unknown", "parcel.delivered", {})
        self._trigger(self.webhook_cron, date(2026, 1, 5))
        self.assertEqual(set(events.mapped("state")), {"processed"}, events.mapped("error"))

        # amounts in the client's format; the wording from fr.po (the strings this change adds
        # are French once the lead regenerates depanssur.pot, which Odoo merges the .po with)
        french_env = self.env(context=dict(self.env.context, lang="fr_FR"))
        expected = french_env._(
            "Payment failed (%(amount)s): %(reason)s",
            amount="9,90 €",
            reason=french_env._("insufficient funds"),
        )
        self.assertIn(expected.replace("\xa0", " "), self._bodies(french))
        self.assertIn("Payment failed (9.90 €): insufficient funds", self._bodies(english))
        french_case = self.env["depanssur.dunning.case"].search(
            [("subscription_id", "=", french.id)]
        )
        self.assertIn("Dossier de relance ouvert.", self._bodies(french_case))

        dossiers = self.env["depanssur.dossier"].search(
            [("external_id", "in", [f"EXT-LANG-{french.id}", f"EXT-LANG-{english.id}"])]
        )
        french_dossier = dossiers.filtered(lambda d: d.subscription_id == french)
        english_dossier = dossiers - french_dossier
        self.assertEqual(french_dossier.state, "scheduled")
        self.assertIn("Intervention planifiée", self._tracked_states(french_dossier))
        self.assertNotIn("Intervention scheduled", self._tracked_states(french_dossier))
        self.assertIn("Intervention scheduled", self._tracked_states(english_dossier))

        # the event's own note: the company's language
        self.assertEqual(unknown.state, "ignored")
        self.assertIn("Type d'événement inconnu", unknown.error)

    def test_daily_run_writes_in_the_client_language(self):
        with freeze_time("2026-01-02"):
            french = self._subscribe(date_start="2026-01-01")
            english = self._subscribe(partner=self.english, date_start="2026-01-01")
            (french | english)._terminate("client_request", date(2026, 1, 31))
            billed = self._subscribe(partner=self._other_home(self.client), date_start="2026-01-01")
            billed_english = self._subscribe(
                partner=self._other_home(self.english), date_start="2026-01-01"
            )
        self._trigger(self.daily, date(2026, 2, 1))
        self.assertEqual((french.state, english.state), ("terminated", "terminated"))
        self.assertIn("Résilié", self._tracked_states(french))
        self.assertNotIn("Terminated", self._tracked_states(french))
        self.assertIn("Terminated", self._tracked_states(english))
        # the invoices made by the run name the client with their civility in their language
        self.assertEqual(
            set(billed.invoice_ids.mapped("invoice_partner_display_name")),
            {"Mme Sophie Lefèvre"},
        )
        self.assertEqual(
            set(billed_english.invoice_ids.mapped("invoice_partner_display_name")),
            {"Mrs. Jane Smith"},
        )
        # the run's traces are the company's: in French
        traces = self.env["depanssur.job.run"].search([("run_date", "=", "2026-02-01")])
        french_env = self.env(context=dict(self.env.context, lang="fr_FR"))
        self.assertIn(french_env._("Effective terminations"), traces.mapped("name"))

    def test_consent_note_in_the_client_language(self):
        """Recorded by the system (a webhook, the sign-up's public user): the client's words."""
        consents = self.env["depanssur.consent"].create(
            [
                {"partner_id": partner.id, "purpose": "marketing_email", "state": "withdrawn"}
                for partner in (self.client, self.english)
            ]
        )
        self.assertEqual(len(consents), 2)
        self.assertIn(
            "Consentement enregistré : Emails commerciaux (Retiré)", self._bodies(self.client)
        )
        self.assertIn("Consent recorded: Marketing emails (Withdrawn)", self._bodies(self.english))

    def test_a_person_writes_in_their_own_language(self):
        """An agent acting by hand writes the chatter in their own language (Odoo's way)."""
        self.user_agent.lang = "en_US"
        self.env["depanssur.consent"].with_user(self.user_agent).create(
            {"partner_id": self.client.id, "purpose": "marketing_email", "state": "withdrawn"}
        )
        self.assertIn("Consent recorded: Marketing emails (Withdrawn)", self._bodies(self.client))
