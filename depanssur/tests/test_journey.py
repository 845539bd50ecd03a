import re

from odoo.exceptions import UserError
from odoo.tests import HttpCase, tagged

from .common import PHONE_SALE_IDENTITY, DepanssurSubscriptionCase, SignupFormMixin


@tagged("post_install", "-at_install")
class TestSignup(SignupFormMixin, HttpCase, DepanssurSubscriptionCase):
    def _data(self, csrf, key, **overrides):
        """The form filled in, with the appliances option and the marketing SMS box ticked."""
        return self._signup_answers(
            csrf,
            key,
            **{
                "option_ids": str(self.option_appliances.id),
                "consent_marketing_sms": "on",
                **overrides,
            },
        )

    def test_happy_path_and_double_submit(self):
        html, csrf, key = self._signup_form()
        self.assertIn("Essentiel test", html)
        self.assertIn("Délai de carence", html)
        self.assertNotIn('checked="checked" name="consent', html)
        response = self.url_open("/abonnement/recapitulatif", data=self._data(csrf, key))
        self.assertEqual(
            response.status_code,
            200,
            re.findall(r'invalid-feedback d-block">([^<]*)', response.text),
        )
        self.assertIn("Récapitulatif", response.text)
        # 9.90 + 4.90 per month, in the page's language (14,80 in French, 14.80 in English)
        self.assertRegex(response.text, r"14[.,]80")
        self.assertFalse(
            self.env["res.partner"].search([("email", "=", "elodie.garnier@example.fr")]),
            "nothing is created before the confirmation",
        )
        summary = response
        response = self._signup_confirm(summary, express_start="on")
        self.assertEqual(response.status_code, 200, response.text[:500])
        self.assertIn("o_depanssur_signup_pending", response.text)
        partner = self.env["res.partner"].search([("email", "=", "elodie.garnier@example.fr")])
        self.assertEqual(len(partner), 1)
        self.assertEqual((partner.mobile, partner.civility), ("+33781345678", "mrs"))
        subscription = self.env["depanssur.subscription"].search([("partner_id", "=", partner.id)])
        self.assertEqual(len(subscription), 1)
        self.assertEqual(subscription.state, "draft", "real once the email is confirmed")
        self.assertFalse(subscription.invoice_ids)
        self.assertEqual(subscription.option_line_ids.option_id, self.option_appliances)
        express = partner.depanssur_consent_ids.filtered(lambda c: c.purpose == "express_start")
        self.assertEqual(express.subscription_id, subscription)
        consents = partner.depanssur_consent_ids - express
        self.assertEqual(consents.mapped("purpose"), ["marketing_sms"], "only the ticked box")
        self.assertEqual((consents.source, consents.state), ("web_form", "given"))
        self.assertTrue(consents.ip_address and consents.proof_text)
        self.assertEqual(partner.consent_marketing_email, "none")
        # a double submit lands on the same subscription
        again = self._signup_confirm(summary, express_start="on")
        self.assertEqual(again.status_code, 200)
        self.assertIn(subscription.name, again.text)
        self.assertEqual(
            self.env["depanssur.subscription"].search_count([("partner_id", "=", partner.id)]), 1
        )
        # the emailed link, answered by POST, makes it real
        mail = self.env["mail.mail"].search(
            [("model", "=", "depanssur.subscription"), ("res_id", "=", subscription.id)]
        )
        path = re.search(r'href="[^"]*(/abonnement/valider/[^"]+)"', mail.body_html).group(1)
        page = self.url_open(path.replace("&amp;", "&"))
        self.assertEqual(page.status_code, 200)
        csrf3 = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        token3 = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
        response = self.url_open(path.split("?")[0], data={"csrf_token": csrf3, "token": token3})
        self.assertEqual(response.status_code, 200)
        self.assertIn("o_depanssur_subscription_number", response.text)
        self.env.invalidate_all()
        self.assertEqual(subscription.state, "carence")
        self.assertEqual(len(subscription.invoice_ids), 1)
        subjects = subscription.message_ids.mapped(lambda m: m.subject or m.body)
        self.assertTrue([s for s in subjects if "Bienvenue" in s], subjects)

    def test_each_validation_error(self):
        _html, csrf, key = self._signup_form()
        before = self.env["res.partner"].search_count([])
        cases = {
            "mobile": {"mobile": "12"},
            "terms": {"terms": None},
            "street": {"street": ""},
            "zip": {"zip": "6900"},
            "email": {"email": "pas-un-email"},
            "civility": {"civility": ""},
            "plan_id": {"plan_id": ""},
            "last_name": {"last_name": ""},
        }
        for field, overrides in cases.items():
            with self.subTest(field=field):
                response = self.url_open(
                    "/abonnement/recapitulatif", data=self._data(csrf, key, **overrides)
                )
                self.assertEqual(response.status_code, 400)
                self.assertIn("invalid-feedback", response.text)
        self.assertEqual(self.env["res.partner"].search_count([]), before)

    def test_csrf_tampering_and_honeypot(self):
        _html, csrf, key = self._signup_form()
        response = self.url_open("/abonnement/recapitulatif", data=self._data("bad-token", key))
        self.assertEqual(response.status_code, 400)
        response = self.url_open(
            "/abonnement/recapitulatif", data=self._data(csrf, key, website="http://spam")
        )
        self.assertEqual(response.status_code, 400)
        response = self.url_open(
            "/abonnement/confirmer", data={"csrf_token": csrf, "token": "forged.deadbeef"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(
            self.env["res.partner"].search([("email", "=", "elodie.garnier@example.fr")])
        )


@tagged("post_install", "-at_install")
class TestPortalAndWizard(HttpCase, DepanssurSubscriptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal_user = cls.user_portal
        cls.portal_user.partner_id.write(
            {"street": "9 rue Ney", "zip": "69006", "city": "Lyon", "mobile": "0699887766"}
        )
        cls.mine = cls.env["depanssur.subscription"].create(
            {
                "partner_id": cls.portal_user.partner_id.id,
                "plan_id": cls.plan_essentiel.id,
                "date_start": "2026-01-01",
            }
        )
        cls.mine.action_confirm()
        cls.other = cls.env["depanssur.subscription"].create(
            {
                "partner_id": cls.client.id,
                "plan_id": cls.plan_essentiel.id,
                "date_start": "2026-01-01",
            }
        )
        cls.other.action_confirm()

    def test_portal_isolation(self):
        Subscription = self.env["depanssur.subscription"].with_user(self.portal_user)
        self.assertEqual(Subscription.search([]), self.mine)
        self.authenticate("dp_portal", "dp_portal")
        response = self.url_open("/my/subscriptions")
        self.assertIn(self.mine.name, response.text)
        self.assertNotIn(self.other.name, response.text)
        response = self.url_open(f"/my/subscriptions/{self.mine.id}")
        self.assertIn("Couverture restante", response.text)
        response = self.url_open(f"/my/subscriptions/{self.other.id}", allow_redirects=False)
        self.assertEqual(response.status_code, 404)

    def test_portal_requests_and_consents(self):
        self.authenticate("dp_portal", "dp_portal")
        page = self.url_open(f"/my/subscriptions/{self.mine.id}").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        self.url_open(
            f"/my/subscriptions/{self.mine.id}/address",
            data={
                "csrf_token": csrf,
                "street": "1 quai Saint-Antoine",
                "zip": "69002",
                "city": "Lyon",
            },
        )
        self.assertEqual(len(self.mine.address_history_ids), 2)
        self.url_open(
            f"/my/subscriptions/{self.mine.id}/terminate",
            data={"csrf_token": csrf, "reason": "Je pars en Espagne"},
        )
        request = self.mine.activity_ids.filtered(lambda a: "Espagne" in (a.note or ""))
        self.assertEqual(len(request), 1)
        self.url_open("/my/consents", data={"csrf_token": csrf, "marketing_email": "on"})
        partner = self.portal_user.partner_id
        self.assertEqual(partner.consent_marketing_email, "given")
        self.assertEqual(partner.depanssur_consent_ids.source, "portal")
        # the page shows the current wording; the consent records its version and text
        wording = self.env["depanssur.consent.wording"]._current("marketing_email")
        self.assertEqual(partner.depanssur_consent_ids.wording_id, wording)
        self.assertIn(wording.text, partner.depanssur_consent_ids.proof_text)

    def test_sales_wizard(self):
        wizard = (
            self.env["depanssur.sale.wizard"]
            .with_user(self.user_agent)
            .create(
                {
                    "plan_id": self.plan_confort.id,
                    **PHONE_SALE_IDENTITY,
                    "consent_phone_canvassing": True,
                }
            )
        )
        self.assertAlmostEqual(wizard.monthly_amount, 14.90)
        with self.assertRaises(UserError):
            wizard.action_confirm()  # terms not accepted
        wizard.terms_accepted = True
        action = wizard.action_confirm()
        subscription = self.env["depanssur.subscription"].browse(action["res_id"])
        self.assertEqual(subscription.state, "carence")
        self.assertEqual(subscription.invoice_ids.mapped("state"), ["posted"])
        partner = subscription.partner_id
        self.assertEqual(partner.name, "Karim Haddad")
        consent = partner.depanssur_consent_ids
        self.assertEqual((consent.purpose, consent.source), ("phone_canvassing", "phone"))
        self.assertEqual(consent.user_id, self.user_agent)
        # pre-fill from an existing client
        wizard = (
            self.env["depanssur.sale.wizard"]
            .with_user(self.user_agent)
            .new({"partner_id": partner.id})
        )
        wizard._onchange_partner_id()
        self.assertEqual((wizard.last_name, wizard.city), ("Haddad", "Lyon"))
        self.assertTrue(wizard.consent_phone_canvassing)
