from datetime import date, timedelta

from freezegun import freeze_time
from odoo.addons.base.tests.test_ir_cron import CronMixinCase
from odoo.addons.sms.tests.common import SMSCase
from odoo.tests import tagged

from .common import DepanssurSubscriptionCase, activate_french


@tagged("post_install", "-at_install")
class TestJobsAndNotifications(CronMixinCase, SMSCase, DepanssurSubscriptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_french(cls.env)  # a standard database has English only
        cls.client.lang = "fr_FR"
        cls.Jobs = cls.env["depanssur.jobs"]

    def _subjects(self, record):
        return [m.subject or "" for m in record.message_ids]

    def test_daily_run_twice_same_result(self):
        with freeze_time("2026-01-01"), self.mockSMSGateway():
            subscription = self._subscribe(date_start="2026-01-01")
        self.assertEqual(subscription.state, "carence")
        with freeze_time("2026-01-31"), self.mockSMSGateway():
            runs = self.Jobs._cron_daily(date(2026, 1, 31))
        self.assertEqual(subscription.state, "active")
        self.assertTrue(all(run.state == "done" for run in runs), runs.mapped("message"))
        counts = {run.name: run.record_count for run in runs}
        self.assertEqual(counts["End of waiting periods"], 1)
        self.assertEqual(len(subscription.invoice_ids), 1)
        self.assertIn("Vous êtes couvert(e) — " + subscription.name, self._subjects(subscription))
        snapshot = (
            len(subscription.invoice_ids),
            len(subscription.message_ids),
            subscription.state,
            len(subscription.usage_ids),
        )
        with freeze_time("2026-01-31"), self.mockSMSGateway():
            runs = self.Jobs._cron_daily(date(2026, 1, 31))
        counts = {run.name: run.record_count for run in runs}
        self.assertEqual(counts["End of waiting periods"], 0)
        self.assertEqual(counts["Invoicing"], 0)
        self.assertEqual(
            snapshot,
            (
                len(subscription.invoice_ids),
                len(subscription.message_ids),
                subscription.state,
                len(subscription.usage_ids),
            ),
        )

    def test_cap_alerts_once(self):
        subscription = self._subscribe(date_start="2026-01-01")
        subscription._consume_coverage(date(2026, 3, 1), "plan", 500)  # 500/600 > 80 %
        self.Jobs._cron_cap_alerts(date(2026, 3, 2))
        self.Jobs._cron_cap_alerts(date(2026, 3, 3))
        subjects = self._subjects(subscription)
        self.assertEqual(subjects.count("Vous avez utilisé 80 % de votre plafond annuel"), 1)
        subscription._consume_coverage(date(2026, 3, 5), "plan", 100)
        self.Jobs._cron_cap_alerts(date(2026, 3, 6))
        self.Jobs._cron_cap_alerts(date(2026, 3, 7))
        self.assertEqual(
            self._subjects(subscription).count(f"Plafond annuel atteint — {subscription.name}"), 1
        )

    def test_cap_alerts_due_are_the_rule_in_sql(self):
        """The daily run lists the counters due for an alert in SQL (the book's counters are not
        loaded): the same ones as the rule each batch re-checks, at the 80 % and 100 % edges."""
        day = date(2026, 3, 2)
        amount_only = self.plan_essentiel.copy({"yearly_cap_count": 0})
        count_only = self.plan_essentiel.copy({"yearly_cap_amount": 0, "yearly_cap_count": 5})
        both = self.plan_essentiel  # 600 EUR, 2 interventions
        cases = [
            # plan, interventions, amount, alerts sent (80 %, cap), alert due
            (both, 0, 479.99, (False, False), None),
            (both, 0, 480, (False, False), "cap_80"),
            (both, 1, 0, (False, False), None),
            (both, 2, 0, (False, False), "cap_reached"),
            (both, 0, 600, (False, False), "cap_reached"),
            (both, 0, 600, (True, True), None),
            (both, 0, 480, (True, False), None),
            (both, 0, 600, (True, False), "cap_reached"),
            (amount_only, 5, 0, (False, False), None),
            (amount_only, 0, 480, (False, False), "cap_80"),
            (count_only, 4, 0, (False, False), "cap_80"),
            (count_only, 3, 1000, (False, False), None),
            (count_only, 5, 0, (True, True), None),
        ]
        homes = iter(
            self.env["res.partner"].create(
                [
                    {
                        "name": f"Client {index}",
                        "street": f"{index} rue",
                        "zip": "69001",
                        "city": "Lyon",
                    }
                    for index in range(len(cases) + 2)
                ]
            )
        )
        expected = self.env["depanssur.subscription.usage"]
        usages = self.env["depanssur.subscription.usage"]
        for plan, count, amount, (sent_80, sent_cap), alert in cases:
            subscription = self._subscribe(next(homes), plan, date_start="2026-01-01")
            usage = subscription._ensure_usage(day)
            usage.write(
                {
                    "interventions_used": count,
                    "amount_consumed": amount,
                    "alert_80_sent": sent_80,
                    "alert_cap_sent": sent_cap,
                }
            )
            usages |= usage
            if alert:
                expected |= usage
            self.assertEqual(self.Jobs._cap_alert_due(usage), alert, (plan.name, count, amount))
        # a counter at its cap whose subscription has ended, an option's counter: no alert
        ended = self._subscribe(next(homes), date_start="2026-01-01")
        ended._ensure_usage(day).amount_consumed = 600
        ended._change_state("terminated", next_billing_date=False)
        with_option = self._subscribe(next(homes), date_start="2026-01-01")
        with_option._ensure_usage(day, self.option_appliances).amount_consumed = 500
        due = self.Jobs._cap_alerts_due(day)
        self.assertEqual(due.filtered(lambda u: u in usages | ended.usage_ids), expected)
        self.assertFalse(due & (ended | with_option).usage_ids)

    def test_anniversary_notice_and_reset(self):
        subscription = self._subscribe(date_start="2026-01-15")
        self.Jobs._cron_anniversary_notices(date(2026, 12, 16))
        self.Jobs._cron_anniversary_notices(date(2026, 12, 16))
        notices = [s for s in self._subjects(subscription) if s.startswith("Renouvellement")]
        self.assertEqual(len(notices), 1)
        body = subscription.message_ids.filtered(lambda m: (m.subject or "").startswith("Renouv"))
        self.assertIn("15/01/2027", body.body)

    def test_anniversary_notice_of_a_leap_day_subscription(self):
        subscription = self._subscribe(date_start="2024-02-29")
        for offset in range(40):  # every day from 15 January to 23 February 2027
            self.Jobs._cron_anniversary_notices(date(2027, 1, 15) + timedelta(days=offset))
        notices = [s for s in self._subjects(subscription) if s.startswith("Renouvellement")]
        self.assertEqual(len(notices), 1, "once, whatever day the 29th of February falls on")

    def test_batch_notification_reaches_each_client_only(self):
        self.env["res.lang"]._activate_lang("en_US")
        other = self.env["res.partner"].create(
            {
                "name": "John Smith",
                "email": "john.smith@example.com",
                "lang": "en_US",
                "street": "1 rue",
                "zip": "69001",
                "city": "Lyon",
            }
        )
        first = self._subscribe(date_start="2026-01-15")
        second = self._subscribe(partner=other, date_start="2026-01-15")
        (first | second)._notify_event("anniversary")  # one composer for both
        for subscription, client in ((first, self.client), (second, other)):
            message = subscription.message_ids.filtered(
                lambda m: (
                    m.subtype_id == self.env.ref("mail.mt_comment") and "15/01/2027" in str(m.body)
                )
            )
            self.assertEqual(len(message), 1)
            self.assertEqual(message.partner_ids, client, "only its own client")
            mail = self.env["mail.mail"].sudo().search([("mail_message_id", "=", message.id)])
            self.assertEqual(mail.recipient_ids, client)
            self.assertEqual(mail.state, "outgoing", "queued, never sent inline")

    def test_templates_render_in_french(self):
        with freeze_time("2026-01-15"):
            subscription = self._subscribe(date_start="2026-01-15")
        welcome = subscription.message_ids.filtered(
            lambda m: (m.subject or "").startswith("Bienvenue")
        )
        self.assertEqual(len(welcome), 1)
        self.assertIn("14/02/2026", welcome.body)  # carence end
        self.assertIn("9,90", welcome.body)  # amounts the French way
        self.assertIn(self.client, welcome.partner_ids)
        dossier = self.env["depanssur.dossier"].create(
            {
                "subscription_id": subscription.id,
                "category_id": self.cat_plumbing.id,
                "incident_date": "2026-01-20",
                "declaration_date": "2026-01-20 10:00:00",
                "estimated_cost": 150,
            }
        )
        with self.mockSMSGateway():
            dossier.action_qualify()
        decision = dossier.message_ids.filtered(lambda m: (m.subject or "").startswith("Prise en"))
        self.assertIn("Délai de carence", decision.body)
        self.assertTrue(self._queued_sms("+33611223344", "non pris en charge"))
        # every template renders for a realistic record, in French
        for template in self.env["mail.template"].search(
            [("model", "=", "depanssur.subscription")]
        ):
            rendered = template._render_field("body_html", subscription.ids, compute_lang=True)[
                subscription.id
            ]
            self.assertIn("Bonjour", rendered, template.name)
        for template in self.env["sms.template"].search([("model", "=", "depanssur.dossier")]):
            body = template._render_field("body", dossier.ids)[dossier.id]
            self.assertLessEqual(len(body), 306, template.name)  # at most two GSM segments
            self.assertIn(dossier.company_id.name, body)

    def test_consent_and_blacklist_rules(self):
        subscription = self._subscribe()
        # marketing blocked without consent, transactional sent
        subscription._depanssur_notify("subscription.offer")
        self.assertFalse([s for s in self._subjects(subscription) if "partenaires" in s])
        self.env["depanssur.consent"].create(
            {"partner_id": self.client.id, "purpose": "partner_offers", "state": "given"}
        )
        subscription._depanssur_notify("subscription.offer")
        self.assertTrue([s for s in self._subjects(subscription) if "partenaires" in s])
        # blacklists are marketing opt-outs: marketing stops, contract messages still go out
        self.env["mail.blacklist"].sudo()._add(self.client.email)
        self.client.invalidate_recordset()
        before = len(subscription.message_ids)
        subscription._depanssur_notify("subscription.offer")
        # written by the system (no person acting): in the client's language
        self.assertTrue(
            subscription.message_ids.filtered(lambda m: "liste noire" in (m.body or ""))
        )
        self.env["phone.blacklist"].sudo()._add(["+33611223344"])
        with self.mockSMSGateway():
            subscription.with_user(self.user_manager).action_suspend(reason="test")
        self.assertTrue(self._queued_sms("+33611223344", "suspendue"))
        self.assertTrue(
            [
                m
                for m in subscription.message_ids[: len(subscription.message_ids) - before]
                if (m.subject or "").startswith("Suspension")
            ]
        )

    def test_weekly_run_detractors_digest_quality(self):
        subscription = self._subscribe(date_start="2026-01-01")
        dossier = self.env["depanssur.dossier"].create(
            {
                "subscription_id": subscription.id,
                "category_id": self.cat_plumbing.id,
                "incident_date": "2026-02-01",
                "declaration_date": "2026-02-01 10:00:00",
                "state": "done",
                "nps_score": 3,
                "nps_comment": "Technicien en retard",
                "nps_date": "2026-02-05 10:00:00",
            }
        )
        bad = self.env["res.partner"].create(
            {"name": "Sans consentement", "street": "2 rue", "zip": "69001", "city": "Lyon"}
        )
        self._subscribe(partner=bad, date_start="2026-01-01")
        self.env.cr.execute("UPDATE res_partner SET phone = '12' WHERE id = %s", (bad.id,))
        bad.invalidate_recordset()
        with freeze_time("2026-02-09"):
            runs = self.Jobs._cron_weekly(date(2026, 2, 9))
            self.Jobs._cron_weekly(date(2026, 2, 9))
        self.assertTrue(all(run.state == "done" for run in runs), runs.mapped("message"))
        activities = dossier.activity_ids
        self.assertEqual(len(activities), 1, "one call-back per detractor, even run twice")
        quality = runs.filtered(lambda r: r.name == "Data quality report")
        self.assertIn("Sans consentement", quality.message)
        digest = self.env["mail.mail"].search([("subject", "like", "weekly digest")], limit=1)
        self.assertTrue(digest)
        self.assertIn("Technicien en retard", digest.body_html)
        self.assertEqual(
            self.env["depanssur.kpi.snapshot"].search_count([("date", "=", "2026-02-09")]),
            len(self.env["res.company"].search([])),
        )

    def test_rgpd_retention(self):
        old = self.env["res.partner"].create(
            {
                "name": "Ancien Client",
                "email": "ancien@example.fr",
                "street": "1 rue",
                "zip": "69001",
                "city": "Lyon",
            }
        )
        with freeze_time("2022-01-01"):
            subscription = self._subscribe(partner=old, date_start="2022-01-01")
        with freeze_time("2022-06-01"):
            subscription._terminate("client_request", date(2022, 5, 31))
        self.Jobs._cron_rgpd_retention(date(2025, 5, 31))
        self.assertFalse(old.depanssur_anonymized, "not yet 3 years")
        self.Jobs._cron_rgpd_retention(date(2025, 6, 2))
        self.assertTrue(old.with_context(active_test=False).depanssur_anonymized)
        self.assertFalse(old.email)

    def test_crons_exist(self):
        for xmlid in (
            "ir_cron_depanssur_daily",
            "ir_cron_depanssur_weekly",
            "ir_cron_depanssur_webhook_process",
        ):
            cron = self.env.ref(f"depanssur.{xmlid}")
            self.assertTrue(cron.active)
        with self.capture_triggers("depanssur.ir_cron_depanssur_webhook_process") as capture:
            self.env.ref("depanssur.ir_cron_depanssur_webhook_process")._trigger()
        self.assertEqual(len(capture.records), 1)
