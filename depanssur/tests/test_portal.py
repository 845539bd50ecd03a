"""Public and portal routes as real callers meet them: an anonymous (hostile) client with its own
session, a portal user, mail scanners following links; odd digits on every POST."""

import hashlib
import hmac
import json
import re
from unittest.mock import patch

from odoo import fields, tools
from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.tests import HttpCase, tagged

from .common import DepanssurPortalCase, DepanssurSubscriptionCase

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


@tagged("post_install", "-at_install")
class TestPortalRequests(HttpCase, DepanssurPortalCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # as a web sign-up does: created in the public user's session, so create_uid is the
        # (inactive) public user
        public = cls.env.ref("base.public_user")
        cls.mine = (
            cls.env["depanssur.subscription"]
            .with_user(public)
            .sudo()
            .create(
                {
                    "partner_id": cls.portal_partner.id,
                    "plan_id": cls.plan_essentiel.id,
                    "date_start": "2026-01-01",
                }
            )
        )
        cls.mine.action_confirm()
        assert cls.mine.create_uid == public
        cls.other = cls._subscribe(cls, date_start="2026-01-01")

    def setUp(self):
        super().setUp()
        self.authenticate("dp_portal", "dp_portal")

    def _csrf(self):
        return _csrf(self.url_open(f"/my/subscriptions/{self.mine.id}").text)

    def _contacts(self):
        return self.env["res.partner"].with_context(active_test=False).search_count([])

    def _requests(self, subscription):
        self.env.invalidate_all()
        return subscription.activity_ids

    def test_termination_goes_to_the_configured_responsible(self):
        self.company.depanssur_portal_responsible_id = self.user_agent
        state = self.mine.state
        response = self.url_open(
            f"/my/subscriptions/{self.mine.id}/terminate",
            data={"csrf_token": self._csrf(), "reason": "Je pars en Espagne\x00"},
            allow_redirects=False,
        )
        self.assertIn(response.status_code, (302, 303))
        activity = self._requests(self.mine)
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.user_agent)
        self.assertIn("Je pars en Espagne", activity.note)
        self.assertEqual(self.mine.state, state, "a request, not a termination")

    def test_termination_defaults_to_an_active_manager(self):
        self.assertFalse(self.company.depanssur_portal_responsible_id)
        self.url_open(
            f"/my/subscriptions/{self.mine.id}/terminate",
            data={"csrf_token": self._csrf(), "reason": ""},
        )
        user = self._requests(self.mine).user_id
        self.assertEqual(len(user), 1)
        self.assertTrue(user.active)
        self.assertFalse(user.share)
        self.assertTrue(user.has_group("depanssur.group_depanssur_manager"))
        self.assertNotEqual(user, self.env.ref("base.public_user"))
        # an archived responsible is replaced by an active manager, never left unseen
        self.company.depanssur_portal_responsible_id = self.user_agent
        self.user_agent.active = False
        self.assertEqual(self.company._depanssur_portal_responsible(), user)

    def test_address_change_is_validated_before_anything_is_created(self):
        csrf = self._csrf()
        valid = {"street": "1 quai Saint-Antoine", "zip": "69002", "city": "Lyon"}
        invalid = [{"zip": odd} for odd in ODD_NUMBERS if odd] + [
            {"zip": "6900"},
            {"zip": "00123"},
            {"street": ""},
            {"city": "  "},
            {"street": "x" * 200},
            {"street": "1 rue\x00Ney"},
            # the home insured today
            {"street": "9 rue Ney", "zip": "69006", "city": "LYON"},
        ]
        contacts = self._contacts()
        history = self.mine.address_history_ids
        for overrides in invalid:
            with self.subTest(**overrides):
                response = self.url_open(
                    f"/my/subscriptions/{self.mine.id}/address",
                    data={"csrf_token": csrf, **valid, **overrides},
                )
                self.assertEqual(response.status_code, 400)
                self.assertIn("o_depanssur_address_error", response.text)
        self.assertEqual(self._contacts(), contacts, "no contact created on invalid input")
        self.assertEqual(self.mine.address_history_ids, history)
        self.assertFalse(self._requests(self.mine))

        self.company.depanssur_portal_responsible_id = self.user_agent
        response = self.url_open(
            f"/my/subscriptions/{self.mine.id}/address",
            data={"csrf_token": csrf, **valid},
            allow_redirects=False,
        )
        self.assertIn(response.status_code, (302, 303))
        self.assertEqual(self._contacts(), contacts + 1)
        self.assertEqual(len(self.mine.address_history_ids), 2)
        new_home = self.mine.address_history_ids.address_id - history.address_id
        self.assertEqual(
            (new_home.parent_id, new_home.zip, new_home.country_id),
            (self.portal_partner, "69002", self.fr),
        )
        self.assertEqual(self._requests(self.mine).user_id, self.user_agent)
        # the same move asked again reuses the contact
        self.url_open(
            f"/my/subscriptions/{self.mine.id}/address", data={"csrf_token": csrf, **valid}
        )
        self.assertEqual(self._contacts(), contacts + 1)

    def test_address_change_of_a_subscription_not_running(self):
        draft = self.env["depanssur.subscription"].create(
            {
                "partner_id": self.portal_partner.id,
                "plan_id": self.plan_confort.id,
                "date_start": "2026-01-01",
            }
        )
        contacts = self._contacts()
        response = self.url_open(
            f"/my/subscriptions/{draft.id}/address",
            data={
                "csrf_token": self._csrf(),
                "street": "1 quai Saint-Antoine",
                "zip": "69002",
                "city": "Lyon",
            },
        )
        self.assertEqual(response.status_code, 400)
        response = self.url_open(
            f"/my/subscriptions/{draft.id}/terminate",
            data={"csrf_token": self._csrf(), "reason": "x"},
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self._contacts(), contacts)
        self.assertFalse(self._requests(draft))

    def test_another_clients_subscription_is_out_of_reach(self):
        csrf = self._csrf()
        contacts = self._contacts()
        self.assertEqual(self.url_open(f"/my/subscriptions/{self.other.id}").status_code, 404)
        for action, data in (
            ("address", {"street": "1 quai Saint-Antoine", "zip": "69002", "city": "Lyon"}),
            ("terminate", {"reason": "hostile"}),
        ):
            with self.subTest(action=action):
                response = self.url_open(
                    f"/my/subscriptions/{self.other.id}/{action}", data={"csrf_token": csrf, **data}
                )
                self.assertEqual(response.status_code, 404)
        self.assertEqual(self._contacts(), contacts)
        self.assertFalse(self._requests(self.other))
        self.assertEqual(len(self.other.address_history_ids), 1)
        # odd ids in the path: 404, never 500
        for path in ("-1", "0", "٩٩٩٩٩٩٩", "²", "99999999999999999999999999"):
            with self.subTest(path=path):
                for url in (f"/my/subscriptions/{path}", f"/my/subscriptions/{path}/terminate"):
                    data = {"csrf_token": csrf} if url.endswith("terminate") else None
                    self.assertEqual(self.url_open(url, data=data).status_code, 404)
        # an anonymous visitor is sent to the login page
        self.authenticate(None, None)
        response = self.url_open(f"/my/subscriptions/{self.mine.id}", allow_redirects=False)
        self.assertIn(response.status_code, (302, 303))
        self.assertIn("/web/login", response.headers["Location"])

    def test_subscriptions_list_is_paged(self):
        drafts = self.env["depanssur.subscription"].create(
            [
                {
                    "partner_id": self.portal_partner.id,
                    "plan_id": self.plan_essentiel.id,
                    "date_start": f"2026-02-0{day}",
                }
                for day in range(1, 6)
            ]
        )
        mine = drafts | self.mine
        with patch.object(CustomerPortal, "_items_per_page", 4):
            first = self.url_open("/my/subscriptions")
            second = self.url_open("/my/subscriptions/page/2")
            beyond = self.url_open("/my/subscriptions/page/9")
            odd = [self.url_open(f"/my/subscriptions?page={quote}") for quote in ODD_NUMBERS]
        for response in (first, second, beyond, *odd):
            self.assertEqual(response.status_code, 200)
        self.assertIn('href="/my/subscriptions/page/2"', first.text)
        on_first = {s for s in mine if s.name in first.text}
        on_second = {s for s in mine if s.name in second.text}
        self.assertEqual((len(on_first), len(on_second)), (4, 2))
        self.assertEqual(on_first | on_second, set(mine))
        for response in (first, second):
            self.assertNotIn(self.other.name, response.text)
        self.assertEqual({s for s in mine if s.name in beyond.text}, on_second)
        # the home page counts only the portal user's subscriptions
        counters = self.make_jsonrpc_request(
            "/my/counters", {"counters": ["depanssur_subscription_count"]}
        )
        self.assertEqual(counters["depanssur_subscription_count"], len(mine))


@tagged("post_install", "-at_install")
class TestCreditNotePdfOddIds(HttpCase, DepanssurSubscriptionCase):
    def test_odd_ids_are_not_found(self):
        self.authenticate("dp_agent", "dp_agent")
        for path in ("-1", "0", "٩٩٩٩٩٩٩", "²", "99999999999999999999999999"):
            with self.subTest(path=path):
                response = self.url_open(f"/depanssur/credit_note/{path}/pdf")
                self.assertEqual(response.status_code, 404)


@tagged("post_install", "-at_install")
class TestPortalOnAPhone(HttpCase, DepanssurPortalCase):
    """The subscription page as a client meets it: one total due and one "Pay" action for the
    open invoices, prices TTC, a page title."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        vat20 = cls.env["account.tax"].create(
            {
                "name": "TVA 20 % (test)",
                "amount": 20.0,
                "amount_type": "percent",
                "type_tax_use": "sale",
                "company_id": cls.company.id,
            }
        )
        cls.plan_essentiel.product_id.taxes_id = vat20
        cls.mine = cls._subscribe(cls, partner=cls.portal_partner, date_start="2026-01-01")
        # three months invoiced, none paid
        cls.mine._invoice_due_periods(fields.Date.to_date("2026-03-15"))
        cls.other = cls._subscribe(cls, date_start="2026-01-01")
        cls.other._invoice_due_periods(fields.Date.to_date("2026-02-15"))

    def setUp(self):
        super().setUp()
        self.authenticate("dp_portal", "dp_portal")

    def test_one_total_due_and_one_pay_action(self):
        invoices = self.mine.invoice_ids
        self.assertEqual(len(invoices), 3)
        self.assertEqual(invoices.mapped("amount_total"), [11.88] * 3)
        page = self.url_open(f"/my/subscriptions/{self.mine.id}")
        self.assertEqual(page.status_code, 200)
        self.assertEqual(page.text.count("o_depanssur_pay_all"), 1)
        self.assertNotIn(">Payer<", page.text)
        due = re.search(r"o_depanssur_amount_due.*?<strong[^>]*>(.*?)</strong>", page.text, re.S)
        self.assertRegex(due.group(1), r"35[.,]64")
        self.assertRegex(page.text, r"o_depanssur_monthly_price.*?11[.,]88", "the price TTC")
        title = re.search(r"<title>(.*?)</title>", page.text, re.S).group(1).strip()
        self.assertEqual(title, self.mine.name)
        # one payment page for the three invoices, with Odoo's payment form
        pay = self.url_open(f"/my/subscriptions/{self.mine.id}/pay")
        self.assertEqual(pay.status_code, 200)
        self.assertIn("o_portal_wrap", pay.text)
        self.assertRegex(pay.text, r"35[.,]64")
        # paid: no amount due any more, no button
        for invoice in invoices:
            self.env["account.payment.register"].with_context(
                active_model="account.move", active_ids=invoice.ids
            ).create({})._create_payments()
        page = self.url_open(f"/my/subscriptions/{self.mine.id}")
        self.assertNotIn("o_depanssur_pay_all", page.text)
        self.assertEqual(
            self.url_open(
                f"/my/subscriptions/{self.mine.id}/pay", allow_redirects=False
            ).status_code,
            303,
        )

    def test_another_clients_invoices_cannot_be_paid_here(self):
        self.assertEqual(self.url_open(f"/my/subscriptions/{self.other.id}/pay").status_code, 404)
        transactions = self.env["payment.transaction"].search_count([])
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"provider_id": 1, "payment_method_id": 1, "flow": "direct"},
        }
        answer = self.url_open(
            f"/my/subscriptions/{self.other.id}/pay/transaction",
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(answer.status_code, 200)
        self.assertIn("error", answer.json())
        self.assertEqual(self.env["payment.transaction"].search_count([]), transactions)

    def test_page_titles_are_set(self):
        for url in (
            "/my",
            "/my/subscriptions",
            "/my/consents",
            f"/my/subscriptions/{self.mine.id}",
        ):
            with self.subTest(url):
                page = self.url_open(url)
                self.assertEqual(page.status_code, 200)
                title = re.search(r"<title>(.*?)</title>", page.text, re.S).group(1).strip()
                self.assertNotEqual(title, "Odoo")


@tagged("post_install", "-at_install")
class TestPagesOnAPhone(HttpCase, DepanssurSubscriptionCase):
    """In a 390×844 browser, the sign-up and the portal pages never scroll sideways."""

    browser_size = "390x844"
    touch_enabled = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        partner = cls.user_portal.partner_id
        partner.write({"street": "9 rue Ney", "zip": "69006", "city": "Lyon"})
        cls.mine = cls._subscribe(cls, partner=partner, date_start="2026-01-01")
        cls.mine._invoice_due_periods(fields.Date.to_date("2026-03-15"))

    def _check_width(self, url, login=None):
        code = """
            const width = document.documentElement.scrollWidth;
            if (width > 390) {
                console.error(`${location.pathname} is ${width} px wide on a 390 px screen`);
            } else {
                console.log("test successful");
            }
        """
        self.browser_js(url, code, ready="document.readyState === 'complete'", login=login)

    def test_pages_fit_a_390_px_screen(self):
        self._check_width("/abonnement")
        self._check_width("/abonnement/retractation")
        for url in (
            "/my",
            "/my/subscriptions",
            f"/my/subscriptions/{self.mine.id}",
            "/my/consents",
        ):
            with self.subTest(url):
                self._check_width(url, login="dp_portal")
