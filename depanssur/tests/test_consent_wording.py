"""Consent wording versions: a consent records the wording it was given on; a new wording made
current stops the marketing based on older consents until the client answers the re-ask email,
whose signed link opens a page that records nothing until one of its buttons is posted."""

import hashlib
import importlib.util
import re
from datetime import timedelta
from unittest.mock import patch

from odoo import fields, tools
from odoo.exceptions import AccessError, LockError, UserError
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger
from odoo.tools.misc import file_path

from ..models.depanssur_consent_request import REASK_TOKEN_SCOPE
from ..models.depanssur_dossier import NPS_TOKEN_SCOPE
from .common import WEB_SIGNUP_IDENTITY, DepanssurSubscriptionCase, SignupFormMixin, csrf_of
from .test_security import HOSTILE_CONTEXT, RpcGuardsCase

NEW_TEXT = "J'accepte de recevoir par email les offres sélectionnées des partenaires de Depanssur."


class ConsentWordingCommon(DepanssurSubscriptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Wording = cls.env["depanssur.consent.wording"]
        cls.v1 = cls.Wording._current("partner_offers")
        cls.env["depanssur.consent"].create(
            {
                "partner_id": cls.client.id,
                "purpose": "partner_offers",
                "state": "given",
                "source": "web_form",
                "date": "2026-01-10 10:00:00",
            }
        )

    def _new_version(self, text=NEW_TEXT):
        wording = self.Wording.with_user(self.user_manager).create(
            {"purpose": "partner_offers", "text": text}
        )
        wording.action_make_current()
        return wording

    def _offers_sent(self, subscription):
        return subscription._depanssur_notify("subscription.offer")["email"]


@tagged("post_install", "-at_install")
class TestConsentWording(SignupFormMixin, HttpCase, ConsentWordingCommon):
    def _reask_mail(self, request):
        mail = (
            self.env["mail.mail"]
            .sudo()
            .search([("model", "=", request._name), ("res_id", "=", request.id)])
        )
        self.assertEqual(len(mail), 1)
        return mail

    def _link(self, request):
        body = self._reask_mail(request).body_html
        url = re.search(r'href="([^"]*/depanssur/consent/[^"]+)"', body).group(1)
        return url.replace("&amp;", "&").split("/depanssur/", 1)[1]

    def _page(self, path):
        response = self.url_open(f"/depanssur/{path}")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
        return response, csrf and csrf.group(1)

    def _reasked(self):
        """A new version, its re-ask campaign, the client's page opened from the email:
        ``(wording, request, token, csrf)``."""
        v2 = self._new_version()
        v2.with_user(self.user_manager).action_reask()
        request = v2.request_ids
        path = self._link(request)
        _response, csrf = self._page(path)
        return v2, request, re.search(r"token=([^&]+)", path).group(1), csrf

    def _post(self, request, token, answer, csrf):
        return self.url_open(
            f"/depanssur/consent/{request.id}/answer",
            data={"csrf_token": csrf, "token": token, "answer": answer},
        )

    def test_consent_records_the_current_wording(self):
        consent = self.client.depanssur_consent_ids
        self.assertEqual(consent.wording_id, self.v1)
        self.assertEqual((self.v1.version, self.v1.is_current), (1, True))
        self.assertEqual(consent.wording_sha256, hashlib.sha256(self.v1.text.encode()).hexdigest())
        self.assertEqual(len(self.v1.sha256), 64)
        # a wording is a proof: never edited, never deleted once shown
        with self.assertRaises(UserError):
            self.v1.with_user(self.user_manager).write({"text": "autre chose"})
        with self.assertRaises(UserError):
            self.v1.with_user(self.user_manager).unlink()
        # the sign-up form shows the current wording, and records it
        v2 = self._new_version()
        self.assertEqual(v2.version, 2)
        self.assertFalse(self.v1.is_current)
        html = self.url_open("/abonnement").text
        self.assertIn("sélectionnées des partenaires", html)
        self.assertEqual(self.Wording._current("partner_offers"), v2)

    def _shown_id(self, html, purpose="partner_offers"):
        return re.search(rf'name="wording_{purpose}" value="([^"]+)"', html).group(1)

    def _offers_consent(self, partner):
        self.env.invalidate_all()
        return partner.depanssur_consent_ids.filtered(lambda c: c.purpose == "partner_offers")

    def test_consent_records_the_wording_shown_not_the_current(self):
        """A newer wording made current between the page and its POST: the consent records the
        version the person read and ticked (the RGPD proof), which then counts as an older one
        (the re-ask campaign will ask again)."""
        # the portal's choices page
        self.authenticate("dp_portal", "dp_portal")
        partner = self.user_portal.partner_id
        page = self.url_open("/my/consents")
        self.assertEqual(self._shown_id(page.text), str(self.v1.id))
        v2 = self._new_version()
        response = self.url_open(
            "/my/consents",
            data={
                "csrf_token": csrf_of(page.text),
                "partner_offers": "on",
                "wording_partner_offers": self._shown_id(page.text),
            },
        )
        self.assertEqual(response.status_code, 200)
        consent = self._offers_consent(partner)
        self.assertEqual((consent.state, consent.wording_id), ("given", self.v1))
        self.assertIn(self.v1.text, consent.proof_text)
        self.assertNotIn(NEW_TEXT, consent.proof_text)
        self.assertEqual(partner.consent_partner_offers, "outdated")
        # the public sign-up: the form shows v2, v3 is current when the summary is confirmed
        self.logout()
        html, csrf, key = self._signup_form()
        self.assertEqual(self._shown_id(html), str(v2.id))
        answers = self._signup_answers(
            csrf, key, consent_partner_offers="on", wording_partner_offers=self._shown_id(html)
        )
        summary = self.url_open("/abonnement/recapitulatif", data=answers)
        self.assertEqual(summary.status_code, 200)
        self._new_version("Version 3 du texte des offres partenaires.")
        self.assertEqual(self._signup_confirm(summary, express_start="on").status_code, 200)
        client = self.env["res.partner"].search([("email", "=", WEB_SIGNUP_IDENTITY["email"])])
        consent = self._offers_consent(client)
        self.assertEqual((consent.state, consent.wording_id), ("given", v2))
        self.assertIn(NEW_TEXT, consent.proof_text)
        self.assertEqual(client.consent_partner_offers, "outdated")

    def test_a_forged_wording_id_records_the_current_one(self):
        current = self.Wording._current("partner_offers")
        never_shown = self.Wording.with_user(self.user_manager).create(
            {"purpose": "partner_offers", "text": "Jamais affiché."}
        )
        email = self.Wording._current("marketing_email")
        for forged in ("x", "-1", "0", "²", str(never_shown.id), str(email.id), [1], None, True):
            with self.subTest(forged=forged):
                self.assertEqual(self.Wording._displayed("partner_offers", forged), current)
        self.assertEqual(self.Wording._displayed("partner_offers", str(current.id)), current)

    def test_a_version_replaced_long_ago_records_the_current_one(self):
        """The id of a version replaced more than a form's lifetime ago: no form being posted
        now showed it, the current one is recorded."""
        v2 = self._new_version()
        self.assertEqual(self.Wording._displayed("partner_offers", str(self.v1.id)), self.v1)
        now = fields.Datetime.now()
        self.v1.sudo().date_current = now - timedelta(days=30)
        v2.sudo().date_current = now - timedelta(hours=23)
        self.assertEqual(self.Wording._displayed("partner_offers", str(self.v1.id)), self.v1)
        v2.sudo().date_current = now - timedelta(hours=25)
        self.assertEqual(self.Wording._displayed("partner_offers", str(self.v1.id)), v2)

    def test_changed_wording_stops_marketing_until_reasked_by_post(self):
        subscription = self._subscribe()
        self.assertEqual(self.client.consent_partner_offers, "given")
        self.assertEqual(self._offers_sent(subscription), 1)

        v2 = self._new_version()
        self.assertEqual(self.client.consent_partner_offers, "outdated")
        self.assertFalse(self.client._depanssur_marketing_allowed("partner_offers"))
        self.assertEqual(self._offers_sent(subscription), 0, "older consent: nothing sent")
        self.assertTrue(
            subscription.message_ids.filtered(lambda m: "older wording" in (m.body or ""))
        )
        # other purposes keep their consents
        self.assertEqual(self.client.consent_marketing_email, "none")

        # the re-ask campaign: one signed email per affected client
        v2.with_user(self.user_manager).action_reask()
        request = v2.request_ids
        self.assertEqual((request.partner_id, request.state), (self.client, "sent"))
        mail = self._reask_mail(request)
        self.assertEqual(mail.recipient_ids, self.client)
        self.assertIn("Donner ma réponse", mail.body_html)
        with self.assertRaisesRegex(UserError, "No client"):
            v2.with_user(self.user_manager).action_reask()  # already asked: nobody left

        # opening the link (a mail scanner, the client) records nothing
        path = self._link(request)
        consents = self.client.depanssur_consent_ids
        response, csrf = self._page(path)
        self.assertEqual(response.status_code, 200)
        self.assertIn("sélectionnées des partenaires", response.text)
        self.assertTrue(csrf)
        self.env.invalidate_all()
        self.assertEqual(self.client.depanssur_consent_ids, consents)
        self.assertEqual(request.state, "sent")
        self.assertEqual(self._offers_sent(subscription), 0)

        # the button posted: agreement on the new version, with its proof
        token = re.search(r"token=([^&]+)", path).group(1)
        response = self._post(request, token, "yes", csrf)
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.assertIn("accord est enregistré", response.text)
        self.env.invalidate_all()
        new = self.client.depanssur_consent_ids - consents
        self.assertEqual(len(new), 1)
        self.assertEqual(
            (new.state, new.source, new.wording_id, new.purpose),
            ("given", "reask", v2, "partner_offers"),
        )
        self.assertTrue(new.ip_address and new.date)
        self.assertIn(NEW_TEXT, new.proof_text)
        self.assertEqual((request.state, request.consent_id), ("given", new))
        self.assertEqual(self.client.consent_partner_offers, "given")
        self.assertEqual(self._offers_sent(subscription), 1, "asked again: sends resume")

        # another answer changes nothing: the first one stays, and the page says so
        response = self._post(request, token, "no", csrf)
        self.assertEqual(response.status_code, 409)
        self.assertIn("o_depanssur_reask_answered", response.text)
        self.assertIn("accord est enregistré", response.text)
        self.env.invalidate_all()
        self.assertEqual(self.client.depanssur_consent_ids - consents, new)
        self.assertEqual((request.state, request.consent_id), ("given", new))

    def _alert(self, response):
        return re.search(r'<p class="alert[^"]*">(.*?)</p>', response.text, re.S).group(1)

    def test_double_click_answers_as_the_first_click(self):
        """The second POST of a double click, even while the first holds the row: the same
        page as the first, nothing recorded twice; another answer afterwards stays refused."""
        _v2, request, token, csrf = self._reasked()
        before = self.env["depanssur.consent"].search_count([])
        first = self._post(request, token, "no", csrf)
        self.assertEqual(first.status_code, 200)
        self.assertIn("refus est enregistré", self._alert(first))
        self.env.invalidate_all()
        self.assertEqual(self.env["depanssur.consent"].search_count([]), before + 1)
        answered = (request.state, request.consent_id, request.date_answered)
        self.assertEqual(answered[0], "withdrawn")
        # the second click arrives while the first holds the lock: replayed once it committed
        Request = self.registry["depanssur.consent.request"]
        lock = Request.lock_for_update
        calls = []

        def locked_by_the_first_click(records, **kwargs):
            calls.append(records.ids)
            if len(calls) == 1:
                raise LockError("Cannot grab a lock on records")
            return lock(records, **kwargs)

        with patch.object(Request, "lock_for_update", locked_by_the_first_click):
            second = self._post(request, token, "no", csrf)
        self.assertEqual(len(calls), 2, "the second click was replayed")
        # and a plain second click, after the first
        third = self._post(request, token, "no", csrf)
        for response in (second, third):
            self.assertEqual(response.status_code, 200)
            self.assertEqual(self._alert(response), self._alert(first))
        self.env.invalidate_all()
        self.assertEqual(self.env["depanssur.consent"].search_count([]), before + 1)
        self.assertEqual((request.state, request.consent_id, request.date_answered), answered)
        # changing one's mind on the same link is refused: the first answer stays
        other = self._post(request, token, "yes", csrf)
        self.assertEqual(other.status_code, 409)
        self.assertIn("o_depanssur_reask_answered", other.text)
        self.env.invalidate_all()
        self.assertEqual(self.env["depanssur.consent"].search_count([]), before + 1)
        self.assertEqual(self.client.consent_partner_offers, "withdrawn")

    def test_refusal_recorded_on_the_new_version(self):
        v2, request, token, csrf = self._reasked()
        self.assertEqual(self._post(request, token, "no", csrf).status_code, 200)
        self.env.invalidate_all()
        self.assertEqual(request.consent_id.state, "withdrawn")
        self.assertEqual(request.consent_id.wording_id, v2)
        self.assertEqual(self.client.consent_partner_offers, "withdrawn")

    def test_hostile_links_answer_4xx(self):
        """Forged, other client's, other scope's tokens; bad answers; an outdated question:
        always a 4xx, never a 500, nothing recorded."""
        other = self.env["res.partner"].create(
            {"name": "Paul Autre", "email": "paul.autre@example.fr", "depanssur_client": True}
        )
        self.env["depanssur.consent"].create(
            {"partner_id": other.id, "purpose": "partner_offers", "state": "given"}
        )
        v2 = self._new_version()
        v2.with_user(self.user_manager).action_reask()
        mine = v2.request_ids.filtered(lambda r: r.partner_id == self.client)
        theirs = v2.request_ids - mine
        self.assertTrue(mine and theirs)
        good, csrf = self._page(self._link(mine))
        self.assertEqual(good.status_code, 200)
        count = self.env["depanssur.consent"].search_count([])
        env_su = self.env(su=True)
        forged = {
            "forged": "0" * 64,
            "other client's": theirs._reask_token(),
            "other scope": tools.hmac(env_su, NPS_TOKEN_SCOPE, mine.id),
            "empty": "",
            "non-ASCII": "é" * 10,
        }
        with mute_logger("odoo.http", "odoo.addons.depanssur.controllers.consent"):
            for label, token in forged.items():
                response = self.url_open(f"/depanssur/consent/{mine.id}?token={token}")
                self.assertEqual(response.status_code, 404, label)
                response = self._post(mine, token, "yes", csrf)
                self.assertEqual(response.status_code, 404, label)
            # a real token on an unknown request; a list where a string is expected
            token = tools.hmac(env_su, REASK_TOKEN_SCOPE, 999999999)
            self.assertEqual(
                self.url_open(f"/depanssur/consent/999999999?token={token}").status_code, 404
            )
            response = self.url_open(
                f"/depanssur/consent/{mine.id}/answer",
                data=[("csrf_token", csrf), ("token", "a"), ("token", "b"), ("answer", "yes")],
            )
            self.assertEqual(response.status_code, 404)
            # no CSRF token: refused before anything is read
            response = self.url_open(
                f"/depanssur/consent/{mine.id}/answer",
                data={"token": mine._reask_token(), "answer": "yes"},
            )
            self.assertEqual(response.status_code, 400)
            # a bad answer
            response = self._post(mine, mine._reask_token(), "maybe", csrf)
            self.assertEqual(response.status_code, 400)
            # a GET on the answer route
            response = self.url_open(
                f"/depanssur/consent/{mine.id}/answer?token={mine._reask_token()}&answer=yes"
            )
            self.assertIn(response.status_code, (404, 405))
            # a newer wording replaced the one asked about
            self._new_version("Version 3 du texte des offres partenaires.")
            response = self._post(mine, mine._reask_token(), "yes", csrf)
            self.assertEqual(response.status_code, 410)
        self.assertEqual(self.env["depanssur.consent"].search_count([]), count)
        self.assertEqual(mine.state, "sent")


@tagged("post_install", "-at_install")
class TestConsentWordingRpc(RpcGuardsCase, ConsentWordingCommon):
    WORDING = "depanssur.consent.wording"

    def test_campaign_and_versions_for_managers_only(self):
        agent, manager = self.user_agent, self.user_manager
        v2 = self.Wording.create({"purpose": "partner_offers", "text": NEW_TEXT})
        # an agent can neither make a version current, nor send the campaign, nor write one
        self.assertRefused(self.rpc(agent, self.WORDING, "action_make_current", [v2.id]))
        self.assertRefused(
            self.rpc(agent, self.WORDING, "write", [v2.id], vals={"is_current": True})
        )
        self.assertRefused(
            self.rpc(
                agent, self.WORDING, "create", vals_list=[{"purpose": "marketing_sms", "text": "x"}]
            )
        )
        self.assertEqual(self.db_row(v2, "is_current"), (False,))
        # nor a manager by writing the flag or the text directly
        self.assertRefused(
            self.rpc(manager, self.WORDING, "write", [v2.id], vals={"is_current": True})
        )
        self.assertRefused(self.rpc(manager, self.WORDING, "write", [v2.id], vals={"text": "y"}))
        self.assertEqual(self.db_row(v2, "is_current", "text"), (False, NEW_TEXT))
        self.assertDone(self.rpc(manager, self.WORDING, "action_make_current", [v2.id]))
        self.assertEqual(self.db_row(self.v1, "is_current"), (False,))
        # the campaign: refused to an agent (hostile context included), done by a manager
        self.assertRefused(self.rpc(agent, self.WORDING, "action_reask", [v2.id]))
        self.assertRefused(
            self.rpc(self.user_portal, self.WORDING, "action_reask", [v2.id], context={})
        )
        self.assertFalse(self.db_row(v2, "request_ids")[0])
        self.assertDone(self.rpc(manager, self.WORDING, "action_reask", [v2.id]))
        self.assertEqual(self.db_row(v2, "request_ids")[0].partner_id, self.client)
        # requests are answered by the client only
        request = v2.request_ids
        self.assertRefused(
            self.rpc(
                manager, "depanssur.consent.request", "write", [request.id], vals={"state": "given"}
            )
        )
        self.assertRefused(
            self.rpc(
                agent,
                "depanssur.consent.request",
                "_reask_answer",
                [request.id],
                agree=True,
                ip_address="1.2.3.4",
                context=HOSTILE_CONTEXT,
            )
        )
        self.assertEqual(self.db_row(request, "state"), ("sent",))
        with self.assertRaises(AccessError):
            self.Wording.with_user(self.user_internal).search([])


@tagged("post_install", "-at_install")
class TestConsentWordingMigration(ConsentWordingCommon):
    def test_migration_points_older_consents_to_version_1(self):
        """19.0.1.2.0: consents recorded before versioning were given on the texts shown until
        then, which become version 1."""
        consent = self.client.depanssur_consent_ids
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE depanssur_consent SET wording_id = NULL, wording_sha256 = NULL WHERE id = %s",
            [consent.id],
        )
        self.env.invalidate_all()
        self.assertFalse(consent.wording_id)
        self.assertEqual(self.client.consent_partner_offers, "outdated", "no version: no proof")
        path = file_path("depanssur/migrations/19.0.1.2.0/post-migration.py")
        spec = importlib.util.spec_from_file_location("depanssur_migration_19_0_1_2_0", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.migrate(self.env.cr, "19.0.1.1.0")
        self.env.invalidate_all()
        self.assertEqual(consent.wording_id, self.v1)
        self.assertEqual(consent.wording_sha256, self.v1.sha256)
        self.assertEqual(self.client.consent_partner_offers, "given")
        self.assertEqual(
            self.Wording.search_count([("purpose", "=", "partner_offers")]), 1, "no twin version"
        )
