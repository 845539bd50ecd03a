"""The public sign-up as a hostile anonymous client sees it (HttpCase, no session but the one the
form page opens, the CSRF token read from the page as a browser would), and the phone sale through
the same model method."""

import html
import json
import re
from datetime import UTC, date, datetime, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError
from odoo.fields import Command
from odoo.tests import HttpCase, tagged

from ..models.depanssur_consent import CONSENT_PURPOSES
from ..models.depanssur_signup import EXPRESS_START_TEXT
from .common import (
    PHONE_SALE_IDENTITY,
    SIGNUP_REQUIRED_FIELDS,
    DepanssurSubscriptionCase,
    SignupFormMixin,
    activate_french,
    csrf_of,
    signed_webhook_headers,
)

LINK = re.compile(r"/abonnement/valider/(\d+)\?token=([0-9a-f]+)")


class SignupClientMixin(SignupFormMixin):
    """A browser on the sign-up pages."""

    def url_open(self, *args, **kwargs):
        response = super().url_open(*args, **kwargs)
        self.env.invalidate_all()  # the request wrote through the same cursor
        return response

    def _form(self):
        _html, csrf, key = self._signup_form()
        return csrf, key

    def _answers(self, csrf, key, **overrides):
        """The form filled in, with the appliances option."""
        return self._signup_answers(
            csrf, key, **{"option_ids": str(self.option_appliances.id), **overrides}
        )

    def _sign_up(self, express_start="on", **overrides):
        """Form → summary → confirmation (asking, by default, for coverage to start before the
        end of the withdrawal period); returns the last response."""
        csrf, key = self._form()
        summary = self.url_open(
            "/abonnement/recapitulatif", data=self._answers(csrf, key, **overrides)
        )
        self.assertEqual(
            summary.status_code,
            200,
            re.findall(r'invalid-feedback d-block">([^<]*)', summary.text),
        )
        extra = {"express_start": express_start} if express_start else {}
        return self._signup_confirm(summary, **extra)

    def _signup_of(self, email):
        partner = self.env["res.partner"].search(
            [("email", "=", email), ("create_date", "!=", False)], order="id desc", limit=1
        )
        return self.env["depanssur.subscription"].search([("partner_id", "=", partner.id)])

    def _confirm_link(self, subscription):
        mail = self.env["mail.mail"].search(
            [("model", "=", "depanssur.subscription"), ("res_id", "=", subscription.id)]
        )
        links = [LINK.search(m.body_html or "") for m in mail]
        links = [link for link in links if link]
        self.assertEqual(len(links), 1, "one confirmation email with its link")
        self.assertEqual(int(links[0].group(1)), subscription.id)
        return f"/abonnement/valider/{subscription.id}", links[0].group(2)

    def _marketing(self, partner):
        """The partner's consents to marketing (not the contract requests)."""
        purposes = [purpose for purpose, _label in CONSENT_PURPOSES]
        return partner.depanssur_consent_ids.filtered(lambda c: c.purpose in purposes)

    def _moves(self, subscription):
        return self.env["account.move"].search(
            [("depanssur_subscription_id", "=", subscription.id)]
        )


@tagged("post_install", "-at_install")
class TestSignupHostile(SignupClientMixin, HttpCase, DepanssurSubscriptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Consent = cls.env["depanssur.consent"]
        # the existing client: SMS offers accepted, email offers refused (address blacklisted)
        Consent.create(
            [
                {"partner_id": cls.client.id, "purpose": "marketing_sms", "state": "given"},
                {"partner_id": cls.client.id, "purpose": "marketing_email", "state": "withdrawn"},
            ]
        )
        cls.client_subscription = cls._subscribe_cls(cls.client)
        # a portal user: a client with a login, who refused SMS offers (number blacklisted)
        cls.portal_partner = cls.user_portal.partner_id
        cls.portal_partner.write(
            {
                "first_name": "Paul",
                "last_name": "Portal",
                "email": "paul.portal@example.fr",
                "mobile": "06 99 88 77 66",
                "street": "9 rue Ney",
                "zip": "69006",
                "city": "Lyon",
                "country_id": cls.fr.id,
            }
        )
        Consent.create(
            [
                {"partner_id": cls.portal_partner.id, "purpose": "marketing_sms", "state": "given"},
                {
                    "partner_id": cls.portal_partner.id,
                    "purpose": "marketing_sms",
                    "state": "withdrawn",
                    "date": "2030-01-01 00:00:00",
                },
            ]
        )

    @classmethod
    def _subscribe_cls(cls, partner):
        subscription = cls.env["depanssur.subscription"].create(
            {"partner_id": partner.id, "plan_id": cls.plan_essentiel.id, "date_start": "2026-01-01"}
        )
        subscription.action_confirm()
        return subscription

    def _snapshot(self, partner):
        """Everything of ``partner`` a sign-up must leave alone."""
        self.env.invalidate_all()
        fields = ["name", "first_name", "last_name", "civility", "email", "mobile", "phone"]
        fields += ["lang", "street", "zip", "city", "child_ids", "user_ids"]
        users = partner.user_ids
        return {
            "partner": partner.read(fields)[0],
            "users": users.read(["login", "email", "partner_id"]),
            "consents": partner.depanssur_consent_ids.ids,
            "status": [partner[f"consent_{p}"] for p, _label in CONSENT_PURPOSES],
            "subscriptions": self.env["depanssur.subscription"]
            .search([("partner_id", "child_of", partner.id)])
            .read(["state", "invoice_ids"]),
            "moves": self.env["account.move"].search([("partner_id", "child_of", partner.id)]).ids,
            "email_blacklisted": bool(
                self.env["mail.blacklist"].search(
                    [("email", "=", partner.email_normalized), ("active", "=", True)]
                )
            ),
            "number_blacklisted": bool(
                self.env["phone.blacklist"].search(
                    [("number", "=", partner.mobile), ("active", "=", True)]
                )
            ),
        }

    def _assert_flagged(self, subscription, existing):
        todo = self.env.ref("mail.mail_activity_data_todo")
        activity = subscription.activity_ids.filtered(lambda a: a.activity_type_id == todo)
        self.assertEqual(len(activity), 1, "the match is flagged for an agent")
        self.assertIn(f'data-oe-id="{existing.id}"', activity.note)
        self.assertTrue(activity.user_id.active and not activity.user_id.share)
        return activity

    def test_existing_client_email_changes_nothing_of_theirs(self):
        self.assertTrue(self._snapshot(self.client)["email_blacklisted"])
        before = self._snapshot(self.client)
        response = self._sign_up(
            email="SOPHIE.LEFEVRE@example.fr",
            first_name="Mallory",
            last_name="Attaquante",
            mobile="07 81 34 56 79",
            consent_marketing_email="on",  # email offers the client refused
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("o_depanssur_signup_pending", response.text)
        self.assertEqual(self._snapshot(self.client), before)
        subscription = self.env["depanssur.subscription"].search(
            [("partner_id.last_name", "=", "Attaquante")]
        )
        self.assertEqual(len(subscription), 1)
        partner = subscription.partner_id
        self.assertNotEqual(partner, self.client)
        self.assertEqual((partner.name, partner.mobile), ("Mallory Attaquante", "+33781345679"))
        self.assertEqual(subscription.state, "draft")
        self.assertFalse(self._moves(subscription), "no accounting document before confirmation")
        self._assert_flagged(subscription, self.client)
        self.assertEqual(partner.consent_marketing_email, "given")
        self.assertEqual(self._marketing(partner).mapped("state"), ["given"])

    def test_portal_user_mobile_changes_nothing_of_theirs(self):
        before = self._snapshot(self.portal_partner)
        self.assertTrue(before["number_blacklisted"])
        self.assertEqual(self.user_portal.email, "paul.portal@example.fr")
        response = self._sign_up(
            email="mallory@example.com",
            mobile="+33 6 99 88 77 66",
            consent_marketing_sms="on",
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self._snapshot(self.portal_partner), before)
        self.assertEqual(
            (self.user_portal.login, self.user_portal.email),
            ("dp_portal", "paul.portal@example.fr"),
        )
        subscription = self._signup_of("mallory@example.com")
        self.assertEqual(subscription.partner_id.mobile, "+33699887766")
        self._assert_flagged(subscription, self.portal_partner)
        # the attacker confirms their own address: the subscription is theirs, still nothing of
        # the portal user's changes
        path, token = self._confirm_link(subscription)
        page = self.url_open(f"{path}?token={token}")
        self.url_open(path, data={"csrf_token": csrf_of(page.text), "token": token})
        self.assertEqual(subscription.state, "carence")
        self.assertEqual(self._snapshot(self.portal_partner), before)

    def test_duplicate_goes_to_the_responsible_setting(self):
        self.company.depanssur_portal_responsible_id = self.user_agent
        self._sign_up(email="sophie.lefevre@example.fr", mobile="06 11 22 33 44")
        subscription = self._signup_of("sophie.lefevre@example.fr").filtered(
            lambda s: s.partner_id != self.client
        )
        activity = self._assert_flagged(subscription, self.client)
        self.assertEqual(activity.user_id, self.user_agent)

    def test_unticked_boxes_record_nothing(self):
        self._sign_up(email="nobox@example.fr")
        partner = self._signup_of("nobox@example.fr").partner_id
        self.assertFalse(self._marketing(partner), "unticked means not given, not withdrawn")
        self._sign_up(email="onebox@example.fr", consent_phone_canvassing="on")
        consent = self._marketing(self._signup_of("onebox@example.fr").partner_id)
        self.assertEqual((consent.purpose, consent.state), ("phone_canvassing", "given"))
        self.assertEqual((consent.source, consent.ip_address), ("web_form", "127.0.0.1"))
        self.assertIn("case cochée", consent.proof_text)

    def test_confirmation_by_post_with_the_signed_link(self):
        self._sign_up()
        subscription = self._signup_of("elodie.garnier@example.fr")
        self.assertEqual(subscription.state, "draft")
        self.assertFalse(self._moves(subscription))
        path, token = self._confirm_link(subscription)
        # a GET (mail scanners follow links) shows a button and changes nothing
        page = self.url_open(f"{path}?token={token}")
        self.assertEqual(page.status_code, 200)
        self.assertIn(f'action="{path}"', page.text)
        self.assertEqual(subscription.state, "draft")
        self.assertFalse(self._moves(subscription))
        self.assertEqual(self.url_open(f"{path}?token={'0' * 64}").status_code, 404)
        self.assertEqual(self.url_open(f"{path}?token=").status_code, 404)
        csrf = csrf_of(page.text)
        for bad in ("0" * 64, "", "é", token[:-1]):
            response = self.url_open(path, data={"csrf_token": csrf, "token": bad})
            self.assertEqual(response.status_code, 403, bad)
        # another sign-up's token does not open this one
        other = f"/abonnement/valider/{self.client_subscription.id}"
        response = self.url_open(other, data={"csrf_token": csrf, "token": token})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(subscription.state, "draft")
        self.assertFalse(self._moves(subscription))
        response = self.url_open(path, data={"csrf_token": csrf, "token": token})
        self.assertEqual(response.status_code, 200)
        self.assertIn(subscription.name, response.text)
        self.assertEqual(subscription.state, "carence")
        invoice = self._moves(subscription)
        self.assertEqual((len(invoice), invoice.state), (1, "posted"))
        self.assertAlmostEqual(invoice.amount_untaxed, 14.80)
        # answering twice is harmless
        again = self.url_open(path, data={"csrf_token": csrf, "token": token})
        self.assertEqual(again.status_code, 200)
        self.assertEqual(len(self._moves(subscription)), 1)

    def test_first_payment_confirms_the_sign_up(self):
        secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        self.env["depanssur.webhook.secret"].create({"name": "current", "secret": secret})
        self._sign_up()
        subscription = self._signup_of("elodie.garnier@example.fr")
        self.assertEqual(subscription.state, "draft")
        body = json.dumps(
            {
                "type": "payment.succeeded",
                "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "data": {"subscription": subscription.name, "amount": "14.80", "currency": "EUR"},
            }
        )
        headers = signed_webhook_headers(secret, body)
        cron = self.env.ref("depanssur.ir_cron_depanssur_webhook_process")
        with patch.object(type(cron), "_trigger"):
            response = self.url_open("/depanssur/webhook", data=body, headers=headers)
        self.assertIn(response.status_code, (200, 202), response.text)
        self.env["depanssur.webhook.event"]._cron_process()
        self.assertEqual(subscription.state, "carence")
        self.assertEqual(self._moves(subscription).mapped("state"), ["posted"])

    def test_flood_from_one_ip_gets_429(self):
        csrf, key = self._form()
        limit = self.env["depanssur.signup.attempt"]._rate_limit_settings()[0]
        for _attempt in range(limit):
            response = self.url_open(
                "/abonnement/recapitulatif", data=self._answers(csrf, key, zip="0")
            )
            self.assertEqual(response.status_code, 400)
        response = self.url_open("/abonnement/recapitulatif", data=self._answers(csrf, key))
        self.assertEqual(response.status_code, 429)
        self.assertIn("o_depanssur_rate_limited", response.text)
        self.assertTrue(int(response.headers["Retry-After"]) > 0)
        response = self.url_open("/abonnement/confirmer", data={"csrf_token": csrf, "token": "x"})
        self.assertEqual(response.status_code, 429)
        self.assertFalse(
            self.env["res.partner"].search([("email", "=", "elodie.garnier@example.fr")])
        )

    def test_odd_input_gets_a_field_error_never_a_500(self):
        self.env["ir.config_parameter"].set_param("depanssur.signup_rate_limit", "1000")
        csrf, key = self._form()
        before = self.env["res.partner"].search_count([])
        cases = {
            # every required field left empty, one at a time
            **{f"empty {name}": {name: ""} for name in SIGNUP_REQUIRED_FIELDS},
            "no terms": {"terms": None},
            # "²".isdigit() is True in Python
            "² plan": {"plan_id": "²"},
            "² option": {"option_ids": "²"},
            "² zip": {"zip": "6900²"},
            "arabic zip": {"zip": "٦٩٠٠٦"},
            "² billing zip": {
                "billing_different": "on",
                "billing_street": "1 rue X",
                "billing_zip": "²²²²²",
                "billing_city": "Lyon",
            },
            "huge plan": {"plan_id": "99999999999999999999"},
            "negative option": {"option_ids": "-1"},
            "unknown option": {"option_ids": "2147483647"},
            "bad civility": {"civility": "dr"},
            "NUL in street": {"street": "1 rue\x00 Ney"},
            "overlong first name": {"first_name": "x" * 5000},
            "overlong last name": {"last_name": "x" * 101},
            "overlong email": {"email": "a" * 300 + "@example.fr"},
            "overlong mobile": {"mobile": "0" * 5000},
            "overlong street": {"street": "x" * 201},
            "overlong city": {"city": "x" * 101},
            "bad mobile": {"mobile": "06²"},
        }
        for label, overrides in cases.items():
            with self.subTest(label):
                response = self.url_open(
                    "/abonnement/recapitulatif", data=self._answers(csrf, key, **overrides)
                )
                self.assertEqual(response.status_code, 400, label)
                self.assertIn("invalid-feedback", response.text)
        for key_value in ("", "x" * 5000, "../../etc"):
            response = self.url_open(
                "/abonnement/recapitulatif", data=self._answers(csrf, key_value)
            )
            self.assertEqual(response.status_code, 400)
        for token in ("", "x", "é" * 10, "AAAA", "x" * 10000, "AQ" + "A" * 60):
            response = self.url_open(
                "/abonnement/confirmer", data={"csrf_token": csrf, "token": token}
            )
            self.assertEqual(response.status_code, 400, token[:10])
        huge = "/abonnement/valider/99999999999999999999"
        self.assertEqual(self.url_open(f"{huge}?token=x").status_code, 404)
        response = self.url_open(huge, data={"csrf_token": csrf, "token": "x"})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.env["res.partner"].search_count([]), before)

    def test_signed_in_client_signs_up_for_themselves(self):
        self.authenticate("dp_portal", "dp_portal")
        csrf, key = self._form()
        before = self._snapshot(self.portal_partner)["partner"]
        summary = self.url_open(
            "/abonnement/recapitulatif",
            data=self._answers(
                csrf,
                key,
                first_name="Someone",
                last_name="Else",
                email="else@example.com",
                street="5 quai Perrache",
                zip="69002",
            ),
        )
        self.assertEqual(summary.status_code, 200)
        response = self._signup_confirm(summary, express_start="on")
        self.assertEqual(response.status_code, 200)
        subscription = self.env["depanssur.subscription"].search(
            [("partner_id", "=", self.portal_partner.id)]
        )
        self.assertEqual(subscription.state, "carence", "a signed-in client is proof enough")
        self.assertEqual(self._moves(subscription).mapped("state"), ["posted"])
        self.assertEqual(subscription.risk_address_id.parent_id, self.portal_partner)
        self.assertEqual(subscription.risk_address_id.street, "5 quai Perrache")
        after = self._snapshot(self.portal_partner)["partner"]
        after["child_ids"] = [
            c for c in after["child_ids"] if c not in subscription.risk_address_id.ids
        ]
        self.assertEqual(after, before, "the form's name and email are not written on the client")

    def test_unconfirmed_sign_ups_expire(self):
        self._sign_up()
        subscription = self._signup_of("elodie.garnier@example.fr")
        path, token = self._confirm_link(subscription)
        self.env.cr.execute(
            "UPDATE depanssur_subscription SET create_date = now() - interval '31 days' "
            "WHERE id = %s",
            (subscription.id,),
        )
        self.env.invalidate_all()
        self.env["depanssur.signup"]._gc_unconfirmed_signups()
        self.assertEqual(subscription.state, "cancelled")
        page = self.url_open(f"{path}?token={token}")
        self.assertEqual(page.status_code, 200)
        self.assertNotIn(f'action="{path}"', page.text, "no button on a cancelled sign-up")
        csrf, _key = self._form()
        response = self.url_open(path, data={"csrf_token": csrf, "token": token})
        self.assertEqual(response.status_code, 410)
        self.assertEqual(subscription.state, "cancelled")
        self.assertFalse(self._moves(subscription))
        # the rate-limit counter keeps a day of attempts
        Attempt = self.env["depanssur.signup.attempt"]
        self.assertTrue(Attempt.search_count([("ip", "=", "127.0.0.1")]))
        self.env.cr.execute("UPDATE depanssur_signup_attempt SET date = now() - interval '2 days'")
        Attempt._gc_old_attempts()
        self.assertFalse(Attempt.search_count([]))

    def test_model_refuses_a_foreign_partner_on_the_web(self):
        Signup = self.env["depanssur.signup"]
        with self.assertRaises(AccessError):
            Signup.with_user(self.user_portal)._signup({}, "web_form", partner=self.client)
        with self.assertRaises(AccessError):
            Signup.with_user(self.user_portal)._signup({}, "phone")


@tagged("post_install", "-at_install")
class TestSignupConsumer(SignupClientMixin, HttpCase, DepanssurSubscriptionCase):
    """What French consumer law asks of the web sign-up: prices TTC, the 14-day right of
    withdrawal with the express request to start before it ends; and a form usable on a phone."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vat20 = cls.env["account.tax"].create(
            {
                "name": "TVA 20 % (test)",
                "amount": 20.0,
                "amount_type": "percent",
                "type_tax_use": "sale",
                "company_id": cls.company.id,
            }
        )

    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].set_param("depanssur.signup_rate_limit", "1000")

    def _tax_the_products(self):
        products = self.plan_essentiel.product_id | self.option_appliances.product_id
        products.write({"taxes_id": [Command.set(self.vat20.ids)]})

    def _summary(self, **overrides):
        csrf, key = self._form()
        return self.url_open(
            "/abonnement/recapitulatif", data=self._answers(csrf, key, **overrides)
        )

    def _cell(self, html, css_class):
        """The text of the summary cell with ``css_class`` (an amount), spaces normalised."""
        match = re.search(rf'class="{css_class}"[^>]*>(.*?)</td>', html, re.S)
        self.assertTrue(match, css_class)
        return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).replace("\xa0", " ").split())

    def test_prices_are_shown_ttc_with_a_20_percent_tax(self):
        self._tax_the_products()
        form = self.url_open("/abonnement").text
        # 9.90 HT → 11.88 TTC, 4.90 HT → 5.88 TTC, in the page's language (, or .)
        self.assertRegex(form, r"11[.,]88")
        self.assertRegex(form, r"5[.,]88")
        self.assertNotRegex(form, r"9[.,]90")
        summary = self._summary()
        self.assertEqual(summary.status_code, 200)
        self.assertRegex(self._cell(summary.text, "o_depanssur_untaxed"), r"14[.,]80")
        self.assertRegex(self._cell(summary.text, "o_depanssur_tax"), r"2[.,]96")
        self.assertRegex(self._cell(summary.text, "o_depanssur_total"), r"17[.,]76")
        # what the summary announced is what the first invoice charges
        self._sign_up()
        subscription = self._signup_of("elodie.garnier@example.fr")
        path, token = self._confirm_link(subscription)
        page = self.url_open(f"{path}?token={token}")
        done = self.url_open(path, data={"csrf_token": csrf_of(page.text), "token": token})
        self.assertEqual(done.status_code, 200)
        self.assertRegex(done.text, r"17[.,]76")
        invoice = self._moves(subscription)
        self.assertEqual((invoice.amount_untaxed, invoice.amount_total), (14.80, 17.76))
        prices = self.env["depanssur.signup"]._signup_subscription_prices(subscription)
        self.assertEqual((prices["untaxed"], prices["tax"], prices["total"]), (14.80, 2.96, 17.76))

    def test_french_client_emails_say_ttc(self):
        activate_french(self.env)
        self._tax_the_products()
        self._sign_up()
        subscription = self._signup_of("elodie.garnier@example.fr")
        self.assertEqual(subscription.partner_id.lang, "fr_FR")
        path, token = self._confirm_link(subscription)
        page = self.url_open(f"{path}?token={token}")
        self.url_open(path, data={"csrf_token": csrf_of(page.text), "token": token})
        welcome = subscription.message_ids.filtered(lambda m: "Bienvenue" in (m.subject or ""))
        self.assertEqual(len(welcome), 1)
        self.assertIn("17,76", welcome.body)
        self.assertIn("TTC", welcome.body)
        self.assertNotIn(" HT", welcome.body)

    def test_without_tax_ttc_is_ht(self):
        summary = self._summary()
        self.assertEqual(summary.status_code, 200)
        for css_class in ("o_depanssur_untaxed", "o_depanssur_total"):
            self.assertRegex(self._cell(summary.text, css_class), r"14[.,]80")
        self.assertRegex(self._cell(summary.text, "o_depanssur_tax"), r"0[.,]00")

    def test_withdrawal_information_and_express_request_recorded_with_its_proof(self):
        summary = self._summary()
        self.assertIn("o_depanssur_withdrawal", summary.text)
        self.assertIn('href="/abonnement/retractation"', summary.text)
        self.assertIn('name="express_start"', summary.text)
        self.assertNotIn('name="express_start" checked', summary.text, "never ticked in advance")
        model_form = self.url_open("/abonnement/retractation")
        self.assertEqual(model_form.status_code, 200)
        self.assertIn("o_depanssur_withdrawal_form", model_form.text)
        self.assertIn(self.company.name, model_form.text)
        response = self._sign_up(express_start="on")
        self.assertEqual(response.status_code, 200)
        self.assertIn("o_depanssur_next_steps", response.text)
        self.assertIn("/abonnement/retractation", response.text)
        subscription = self._signup_of("elodie.garnier@example.fr")
        consent = subscription.partner_id.depanssur_consent_ids.filtered(
            lambda c: c.purpose == "express_start"
        )
        self.assertEqual(len(consent), 1)
        self.assertEqual(
            (consent.state, consent.source, consent.ip_address, consent.subscription_id),
            ("given", "web_form", "127.0.0.1", subscription),
        )
        self.assertIn(EXPRESS_START_TEXT, consent.proof_text)
        self.assertTrue(consent.date)
        self.assertTrue(self.env["depanssur.signup"]._signup_express_start(subscription))
        path, token = self._confirm_link(subscription)
        page = self.url_open(f"{path}?token={token}")
        self.url_open(path, data={"csrf_token": csrf_of(page.text), "token": token})
        today = self._visitor_today()
        self.assertEqual((subscription.state, subscription.date_start), ("carence", today))
        self.assertEqual(len(self._moves(subscription)), 1, "invoiced from today")

    def _visitor_today(self):
        """The day as the public pages count it: the visitor's (public user's) time zone, not
        the test user's (Europe/Brussels with demo data: a day ahead from 23:00 UTC)."""
        public = self.env.ref("base.public_user")
        return fields.Date.context_today(self.env["depanssur.signup"].with_user(public))

    def test_without_express_request_coverage_waits_for_day_15(self):
        today = self._visitor_today()
        summary = self._summary()
        later = (today + timedelta(days=15)).strftime("%d/%m/%Y")
        self.assertIn(later, summary.text)
        response = self._sign_up(express_start=None)
        self.assertEqual(response.status_code, 200)
        subscription = self._signup_of("elodie.garnier@example.fr")
        self.assertFalse(
            subscription.partner_id.depanssur_consent_ids.filtered(
                lambda c: c.purpose == "express_start"
            )
        )
        self.assertFalse(self.env["depanssur.signup"]._signup_express_start(subscription))
        self.assertEqual(subscription.date_start, today + timedelta(days=15))
        path, token = self._confirm_link(subscription)
        page = self.url_open(f"{path}?token={token}")
        self.url_open(path, data={"csrf_token": csrf_of(page.text), "token": token})
        self.assertEqual(subscription.state, "carence")
        self.assertEqual(subscription.date_start, today + timedelta(days=15))
        self.assertEqual(subscription.option_line_ids.date_start, today + timedelta(days=15))
        self.assertEqual(
            subscription.carence_end_date,
            today + timedelta(days=15 + self.plan_essentiel.carence_days),
        )
        self.assertFalse(self._moves(subscription), "nothing invoiced inside the withdrawal period")

    def test_express_request_on_the_phone(self):
        Signup = self.env["depanssur.signup"].with_user(self.user_agent)
        values = {
            "plan_id": str(self.plan_essentiel.id),
            "last_name": "Haddad",
            "street": "3 rue Royale",
            "zip": "69001",
            "city": "Lyon",
            "terms_accepted": True,
        }
        today = fields.Date.context_today(Signup)
        waiting = Signup._signup(dict(values, express_start=False), "phone")
        self.assertEqual(waiting.date_start, today + timedelta(days=15))
        at_once = Signup._signup(dict(values, last_name="Morel", express_start=True), "phone")
        self.assertEqual(at_once.date_start, today)
        consent = at_once.partner_id.depanssur_consent_ids
        self.assertEqual((consent.purpose, consent.user_id), ("express_start", self.user_agent))
        # an agent's chosen start is kept when the question is not asked
        chosen = Signup._signup(dict(values, last_name="Roux", date_start="2030-05-01"), "phone")
        self.assertEqual(str(chosen.date_start), "2030-05-01")

    def test_each_empty_field_answers_its_field_error(self):
        messages = self.env["depanssur.signup"]._signup_messages("web_form")
        cases = {name: ({name: ""}, name) for name in SIGNUP_REQUIRED_FIELDS}
        cases["terms"] = ({"terms": None}, "terms")
        for billing in ("billing_street", "billing_zip", "billing_city"):
            answers = {
                "billing_different": "on",
                "billing_street": "2 allée Vrillonnette",
                "billing_zip": "69007",
                "billing_city": "Lyon",
            }
            answers[billing] = ""
            cases[billing] = (answers, "billing")
        for label, (overrides, key) in cases.items():
            with self.subTest(label):
                response = self._summary(**overrides)
                self.assertEqual(response.status_code, 400, label)
                feedback = re.findall(r'invalid-feedback d-block">([^<]*)<', response.text)
                self.assertIn(html.escape(messages[key], quote=False), feedback, label)
        # nothing to confirm: still a form error, not a 500
        response = self.url_open("/abonnement/confirmer", data={"csrf_token": self._form()[0]})
        self.assertEqual(response.status_code, 400)

    def test_email_needs_a_domain_with_a_dot(self):
        message = self.env["depanssur.signup"]._signup_messages("web_form")["email"]
        for bad in (
            "x@exemple",
            "x@exemple.",
            "x@.fr",
            "x",
            "a@b@c.fr",
            "x @exemple.fr",
            "x@exemple.f",
        ):
            with self.subTest(bad):
                response = self._summary(email=bad)
                self.assertEqual(response.status_code, 400, bad)
                self.assertIn(html.escape(message, quote=False), response.text)
        self.assertEqual(self._summary(email="x@exemple.fr").status_code, 200)
        self.assertEqual(self._summary(email=" Elodie.G+abo@Exemple.FR ").status_code, 200)

    def test_form_fits_a_phone_keyboard(self):
        form = self.url_open("/abonnement").text

        def tag(name):
            return re.search(rf'<input [^>]*name="{name}"[^>]*>', form).group(0)

        self.assertIn('inputmode="numeric"', tag("zip"))
        self.assertIn('autocomplete="postal-code"', tag("zip"))
        self.assertIn('inputmode="numeric"', tag("billing_zip"))
        self.assertIn('type="tel"', tag("mobile"))
        self.assertIn('type="email"', tag("email"))
        # the billing address only on demand
        billing = re.search(r'<div id="o_depanssur_billing_fields" class="([^"]+)"', form).group(1)
        self.assertIn("collapse", billing.split())
        self.assertNotIn("show", billing.split())
        self.assertIn('data-bs-target="#o_depanssur_billing_fields"', tag("billing_different"))


@tagged("post_install", "-at_install")
class TestSaleWizardSignup(DepanssurSubscriptionCase):
    """The phone sale goes through the same ``depanssur.signup._signup``."""

    def _wizard(self, **vals):
        return (
            self.env["depanssur.sale.wizard"]
            .with_user(self.user_agent)
            .create(
                {
                    "plan_id": self.plan_confort.id,
                    **PHONE_SALE_IDENTITY,
                    "terms_accepted": True,
                    **vals,
                }
            )
        )

    def test_same_method_as_the_web(self):
        calls = []
        Signup = type(self.env["depanssur.signup"])
        original = Signup._signup

        def spy(model, values, channel, partner=None):
            calls.append(channel)
            return original(model, values, channel, partner=partner)

        with patch.object(Signup, "_signup", spy):
            self._wizard().action_confirm()
        self.assertEqual(calls, ["phone"])

    def test_matching_client_is_not_written_onto(self):
        name, email = self.client.name, self.client.email
        wizard = self._wizard(email="sophie.lefevre@example.fr", first_name="Karima")
        self.assertEqual(wizard.matching_partner_id, self.client)
        action = wizard.action_confirm()
        subscription = self.env["depanssur.subscription"].browse(action["res_id"])
        self.assertNotEqual(subscription.partner_id, self.client)
        self.assertEqual((self.client.name, self.client.email), (name, email))
        self.assertEqual(subscription.state, "carence", "an agent on the phone is a witness")
        self.assertIn(f'data-oe-id="{self.client.id}"', subscription.activity_ids.note)

    def test_client_picked_by_the_agent(self):
        self.env["depanssur.consent"].create(
            {"partner_id": self.client.id, "purpose": "marketing_sms", "state": "given"}
        )
        wizard = self._wizard(partner_id=self.client.id, first_name="Other", street="8 rue Neuve")
        wizard.consent_marketing_sms = False  # the client says no on the phone
        action = wizard.action_confirm()
        subscription = self.env["depanssur.subscription"].browse(action["res_id"])
        self.assertEqual(subscription.partner_id, self.client)
        self.assertEqual(self.client.first_name, "Sophie", "the client's details are kept")
        self.assertEqual(subscription.risk_address_id.parent_id, self.client)
        self.assertEqual(subscription.risk_address_id.street, "8 rue Neuve")
        self.assertEqual(self.client.consent_marketing_sms, "withdrawn")
        withdrawal = self.client.depanssur_consent_ids.filtered(lambda c: c.state == "withdrawn")
        self.assertEqual((withdrawal.source, withdrawal.user_id), ("phone", self.user_agent))
        self.assertFalse(subscription.activity_ids)


@tagged("post_install", "-at_install")
class TestSignupDay(DepanssurSubscriptionCase):
    """A sign-up's "today" is the run's day (``date`` in the context), as for every other
    method of the product, not the server's clock."""

    def test_signup_takes_the_day_of_the_context(self):
        Signup = self.env["depanssur.signup"].with_user(self.user_agent)
        values = {
            "plan_id": str(self.plan_essentiel.id),
            "last_name": "Haddad",
            "street": "3 rue Royale",
            "zip": "69001",
            "city": "Lyon",
            "terms_accepted": True,
        }
        day = date(2025, 3, 10)
        self.assertNotEqual(day, fields.Date.context_today(Signup))
        Signup = Signup.with_context(date=fields.Date.to_string(day))
        waiting = Signup._signup(dict(values, express_start=False), "phone")
        self.assertEqual(waiting.date_start, day + timedelta(days=15))
        at_once = Signup._signup(dict(values, last_name="Morel", express_start=True), "phone")
        self.assertEqual(at_once.date_start, day)
        # the web form starts on the run's day (at the express request) or after the 14 days
        for express, start in ((True, day), (False, day + timedelta(days=15))):
            clean, _errors = Signup._signup_check(dict(values, express_start=express), "web_form")
            self.assertEqual(clean["date_start"], start)
