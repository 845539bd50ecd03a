"""Public and portal routes as real callers meet them: an anonymous (hostile) client with its own
session, a portal user, mail scanners following links; odd digits on every POST."""

import hashlib
import hmac
import re

from odoo import tools
from odoo.tests import HttpCase, tagged

from .common import DepanssurSubscriptionCase

# str.isdigit() is true for the first ones, int() refuses some and accepts others
ODD_NUMBERS = [
    "²",
    "¹²",
    "٣",  # Arabic-Indic 3: int() gives 3
    "٦٩٠٠٢",
    "６９００２",  # fullwidth
    "-1",
    "+9",
    "1e3",
    "9.0",
    " 9 ",
    "0x9",
    "99999999999999999999999999",
    "\x00",
    "",
]


def _csrf(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@tagged("post_install", "-at_install")
class TestNpsPage(HttpCase, DepanssurSubscriptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        subscription = cls._subscribe(cls)
        Dossier = cls.env["depanssur.dossier"]
        cls.dossier, cls.other_dossier = Dossier.create(
            [
                {
                    "subscription_id": subscription.id,
                    "category_id": category.id,
                    "incident_date": "2026-01-20",
                    "declaration_date": "2026-01-20 10:00:00",
                }
                for category in (cls.cat_plumbing, cls.cat_electricity)
            ]
        )

    def _page(self, dossier=None, token=None):
        dossier = dossier or self.dossier
        token = dossier._nps_token() if token is None else token
        return self.url_open(f"/depanssur/nps/{dossier.id}", params={"token": token})

    def _answer(self, data, dossier=None, csrf=True):
        """POST from the page, with the CSRF token of this client's session."""
        dossier = dossier or self.dossier
        if csrf:
            self._csrf_token = getattr(self, "_csrf_token", None) or _csrf(self._page(dossier).text)
            data = {"csrf_token": self._csrf_token, **data}
        return self.url_open(f"/depanssur/nps/{dossier.id}/answer", data=data)

    def _assert_nothing_recorded(self):
        self.env.invalidate_all()
        self.assertFalse(self.dossier.nps_date)
        self.assertFalse(self.dossier.nps_comment)

    def test_email_links_to_the_page_with_a_scoped_token(self):
        template = self.env.ref("depanssur.mail_template_intervention_done")
        body = template._render_field("body_html", self.dossier.ids)[self.dossier.id]
        self.assertIn(self.dossier._nps_url(), body)
        token = tools.hmac(self.env(su=True), "depanssur-nps", self.dossier.id)
        self.assertEqual(self.dossier._nps_token(), token)
        self.assertTrue(
            self.dossier._nps_url().endswith(f"/depanssur/nps/{self.dossier.id}?token={token}")
        )
        self.assertNotEqual(self.dossier._nps_token(), self.other_dossier._nps_token())

    def test_get_records_nothing(self):
        """Mail scanners open the link, with or without a score: the page only shows the form."""
        url = self.dossier._nps_url().replace(self.dossier.get_base_url(), "")
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200)
        self.assertIn('name="score"', response.text)
        self.assertIn(f'action="/depanssur/nps/{self.dossier.id}/answer"', response.text)
        for query in ("&score=9", "&score=10&comment=spam", "&score=²"):
            self.assertEqual(self.url_open(url + query).status_code, 200)
        self.assertEqual(self.opener.head(self.base_url() + url, timeout=10).status_code, 200)
        self._assert_nothing_recorded()
        # the answer route takes no GET
        response = self.url_open(
            f"/depanssur/nps/{self.dossier.id}/answer",
            params={"token": self.dossier._nps_token(), "score": "9"},
        )
        self.assertEqual(response.status_code, 405)
        self._assert_nothing_recorded()

    def test_bad_tokens_are_refused_and_record_nothing(self):
        secret = self.env["ir.config_parameter"].sudo().get_param("database.secret")
        legacy = hmac.new(
            secret.encode(), f"nps-{self.dossier.id}".encode(), hashlib.sha256
        ).hexdigest()[:32]
        bad_tokens = {
            "forged": "forged",
            "empty": "",
            "non-ascii": "²" * 64,
            "nul": "\x00",
            "other scope": tools.hmac(self.env(su=True), "depanssur-other", self.dossier.id),
            "other claim file": self.other_dossier._nps_token(),
            "unscoped legacy": legacy,
            "truncated": self.dossier._nps_token()[:-1],
        }
        csrf = _csrf(self._page().text)
        for label, token in bad_tokens.items():
            with self.subTest(token=label):
                self.assertEqual(self._page(token=token).status_code, 404)
                response = self.url_open(
                    f"/depanssur/nps/{self.dossier.id}/answer",
                    data={"csrf_token": csrf, "token": token, "score": "9"},
                )
                self.assertEqual(response.status_code, 404)
        # unknown or odd claim file ids
        for path in ("0", "-1", "99999999", "٩٩٩٩٩٩٩", "²"):
            with self.subTest(path=path):
                response = self.url_open(
                    f"/depanssur/nps/{path}/answer",
                    data={"csrf_token": csrf, "token": self.dossier._nps_token(), "score": "9"},
                )
                self.assertEqual(response.status_code, 404)
        # the right token without the session's CSRF token
        response = self._answer({"token": self.dossier._nps_token(), "score": "9"}, csrf=False)
        self.assertEqual(response.status_code, 400)
        self._assert_nothing_recorded()

    def test_odd_scores_are_refused(self):
        for score in [*ODD_NUMBERS, "11", "100", "010"]:
            with self.subTest(score=score):
                response = self._answer({"token": self.dossier._nps_token(), "score": score})
                self.assertEqual(response.status_code, 400)
                self.assertIn('name="score"', response.text)
        self._assert_nothing_recorded()

    def test_good_answer_recorded_once(self):
        token = self.dossier._nps_token()
        response = self._answer({"token": token, "score": "9", "comment": "Très bien\x00 "})
        self.assertEqual(response.status_code, 200)
        self.assertNotIn('name="score"', response.text)
        self.env.invalidate_all()
        self.assertEqual((self.dossier.nps_score, self.dossier.nps_comment), (9, "Très bien"))
        answered_on = self.dossier.nps_date
        self.assertTrue(answered_on)
        # a second answer (back button, double click, replay) changes nothing
        response = self._answer({"token": token, "score": "2", "comment": "finalement non"})
        self.assertEqual(response.status_code, 200)
        self.env.invalidate_all()
        self.assertEqual(
            (self.dossier.nps_score, self.dossier.nps_comment, self.dossier.nps_date),
            (9, "Très bien", answered_on),
        )
        self.assertFalse(self.other_dossier.nps_date)

    def test_zero_is_an_answer(self):
        response = self._answer({"token": self.dossier._nps_token(), "score": "0"})
        self.assertEqual(response.status_code, 200)
        self.env.invalidate_all()
        self.assertEqual(self.dossier.nps_score, 0)
        self.assertTrue(self.dossier.nps_date)
