"""The public sign-up ("Souscrire un abonnement"): form → summary → sign-up → email confirmation.

The controller checks the request (per-IP rate limit, captcha hook, honeypot, the shape of each
answer) and calls ``depanssur.signup``, which validates the answers and decides everything else:
nothing is created before the summary is confirmed; an anonymous visitor's sign-up stays a draft
without invoice until the link emailed to the address is answered (by POST: GET only shows the
button); an existing client is never written onto. The summary carries the answers back signed, and
the form's idempotency key makes a double submit land on the same subscription.
"""

import re
import uuid

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.http import Controller, request, route

from ..models.depanssur_consent import CONSENT_PURPOSES
from ..models.depanssur_signup import (
    ADDRESS_FIELDS,
    EXPRESS_START_TEXT,
    IDENTITY_FIELDS,
    TERMS_TEXT,
    SignupError,
)
from ..rules.signup import ascii_int, earliest_start, withdrawal_deadline

FIELDS = (
    "plan_id",
    *IDENTITY_FIELDS,
    *ADDRESS_FIELDS,
    "billing_street",
    "billing_zip",
    "billing_city",
    "idempotency_key",
)
CAPTCHA_ACTION = "depanssur_signup"  # the forms' data-captcha: reCAPTCHA/Turnstile add a token
MAX_OPTIONS = 20
_KEY = re.compile(r"[0-9a-f]{32}")


class DepanssurSignup(Controller):
    def _plans(self):
        return (
            request.env["depanssur.plan"]
            .sudo()
            .search([("company_id", "=", request.env.company.id)])
        )

    def _consent_wordings(self):
        """The wording shown now for each purpose: the form carries its id back, and the
        consents record that version."""
        return request.env["depanssur.consent.wording"].sudo()._current_by_purpose()

    def _own_partner(self):
        """The signed-in portal user's partner (proof of who signs up), else an empty record."""
        user = request.env.user
        return user.partner_id if user._is_portal() else request.env["res.partner"]

    def _answers(self, post):
        """The form's answers as plain values: the request's shape, nothing decided yet."""
        answers = {name: post[name] if isinstance(post.get(name), str) else "" for name in FIELDS}
        answers["option_ids"] = request.httprequest.form.getlist("option_ids")[:MAX_OPTIONS]
        answers["consents"] = [p for p, _label in CONSENT_PURPOSES if post.get(f"consent_{p}")]
        answers["wording_ids"] = {
            p: post[f"wording_{p}"]
            for p, _label in CONSENT_PURPOSES
            if isinstance(post.get(f"wording_{p}"), str)
        }
        answers["billing_different"] = bool(post.get("billing_different"))
        answers["terms_accepted"] = bool(post.get("terms"))
        return answers

    def _form_values(self, answers):
        """The answers as the form template shows them again."""
        values = dict(answers)
        values["option_ids"] = [ascii_int(str(v)) for v in answers.get("option_ids") or []]
        return values

    def _expired(self):
        return self._render_form(
            errors={"form": request.env._("Session expired, please start again.")}, status=400
        )

    def _guard(self, values=None, captcha=True):
        """The answer refusing this POST (rate limit, captcha), or None to go on."""
        Attempt = request.env["depanssur.signup.attempt"].sudo()
        if not Attempt._check_rate_limit(request.httprequest.remote_addr):
            retry_after = Attempt._retry_after()
            response = request.render(
                "depanssur.signup_rate_limited",
                {"retry_minutes": max(retry_after // 60, 1)},
                status=429,
            )
            response.headers["Retry-After"] = str(retry_after)
            return response
        if captcha:
            # a no-op unless a captcha module (google_recaptcha, website_cf_turnstile) is set up
            try:
                request.env["ir.http"]._verify_request_recaptcha_token(CAPTCHA_ACTION)
            except (UserError, ValidationError) as error:
                return self._render_form(values, {"form": error.args[0]}, status=400)
        return None

    def _price(self, terms):
        """The monthly price TTC shown to a consumer for one plan or option."""
        partner = self._own_partner() or None
        return request.env["depanssur.signup"].sudo()._signup_price_total(terms, partner)

    def _render_form(self, values=None, errors=None, status=200):
        if not values:
            values = {"idempotency_key": uuid.uuid4().hex, "option_ids": []}
            partner = self._own_partner()
            if partner:  # a signed-in client signs up in their own name
                values.update({name: partner[name] or "" for name in IDENTITY_FIELDS})
        return request.render(
            "depanssur.signup_form",
            {
                "plans": self._plans(),
                "values": values,
                "errors": errors or {},
                "consent_wordings": self._consent_wordings(),
                "purposes": CONSENT_PURPOSES,
                "terms_text": TERMS_TEXT,
                "own_partner": self._own_partner(),
                "price_ttc": self._price,
            },
            status=status,
        )

    @route("/abonnement", type="http", auth="public", methods=["GET"], website=True, sitemap=True)
    def signup_form(self, **_kw):
        return self._render_form()

    @route("/abonnement/cgv", type="http", auth="public", methods=["GET"], website=True)
    def signup_terms(self, **_kw):
        company = request.env.company.sudo()
        return request.render("depanssur.signup_terms", {"terms": company.invoice_terms_html})

    @route("/abonnement/retractation", type="http", auth="public", methods=["GET"], website=True)
    def signup_withdrawal_form(self, **_kw):
        """The model withdrawal form (Code de la consommation, annex to art. R221-1)."""
        return request.render(
            "depanssur.signup_withdrawal_form", {"company": request.env.company.sudo()}
        )

    @route("/abonnement/recapitulatif", type="http", auth="public", methods=["POST"], website=True)
    def signup_summary(self, **post):
        answers = self._answers(post)
        if refused := self._guard(self._form_values(answers)):
            return refused
        if post.get("website"):  # honeypot: humans never see this field
            return request.make_response("", status=400)
        if not _KEY.fullmatch(answers["idempotency_key"]):
            return self._expired()
        Signup = request.env["depanssur.signup"].sudo()
        clean, errors = Signup._signup_check(answers, "web_form", self._own_partner())
        if errors:
            return self._render_form(self._form_values(answers), errors, status=400)
        plan, options = clean["plan"], clean["options"]
        today = fields.Date.context_today(Signup)
        start_now, start_later = earliest_start(today, True), earliest_start(today, False)
        return request.render(
            "depanssur.signup_summary",
            {
                "values": clean,
                "plan": plan,
                "options": options,
                "prices": Signup._signup_prices(
                    [plan, options], self._own_partner() or None, plan.company_id
                ),
                "price_ttc": self._price,
                "start": start_now,
                "carence_end": fields.Date.add(start_now, days=plan.carence_days),
                "start_later": start_later,
                "carence_end_later": fields.Date.add(start_later, days=plan.carence_days),
                "withdrawal_deadline": withdrawal_deadline(today),
                "express_text": EXPRESS_START_TEXT,
                "token": Signup._signup_sign_summary(answers),
                "own_partner": self._own_partner(),
            },
        )

    @route("/abonnement/confirmer", type="http", auth="public", methods=["POST"], website=True)
    def signup_confirm(self, token="", express_start="", **_kw):
        Signup = request.env["depanssur.signup"].sudo()
        answers = Signup._signup_read_summary(token)
        if refused := self._guard(answers and self._form_values(answers)):
            return refused
        if not answers or not _KEY.fullmatch(str(answers.get("idempotency_key"))):
            return self._expired()
        values = dict(
            answers,
            signup_key=answers["idempotency_key"],
            ip=request.httprequest.remote_addr,
            express_start=bool(express_start),
        )
        try:
            with request.env.cr.savepoint():
                subscription = Signup._signup(values, "web_form", partner=self._own_partner())
        except SignupError as error:
            return self._render_form(self._form_values(answers), error.errors, status=400)
        except (UserError, ValidationError) as error:
            return self._render_form(
                self._form_values(answers), {"form": error.args[0]}, status=400
            )
        if subscription.state == "draft":
            return request.render(
                "depanssur.signup_pending",
                {
                    "subscription": subscription,
                    "email": subscription.partner_id.email,
                    "prices": Signup._signup_subscription_prices(subscription),
                },
            )
        if subscription.state == "cancelled":
            return self._expired()
        return self._confirmation(subscription)

    @route(
        "/abonnement/valider/<int:subscription_id>",
        type="http",
        auth="public",
        methods=["GET"],
        website=True,
        sitemap=False,
    )
    def signup_validate_page(self, subscription_id, token="", **_kw):
        """The page of the emailed link: a button; a GET never changes anything."""
        subscription = (
            request.env["depanssur.signup"].sudo()._signup_from_token(subscription_id, token)
        )
        if not subscription:
            raise request.not_found()
        return request.render(
            "depanssur.signup_validate", {"subscription": subscription, "token": token}
        )

    @route(
        "/abonnement/valider/<int:subscription_id>",
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
        sitemap=False,
    )
    def signup_validate(self, subscription_id, token="", **_kw):
        """The client answers the emailed link: the sign-up becomes real."""
        if refused := self._guard(captcha=False):
            return refused
        Signup = request.env["depanssur.signup"].sudo()
        subscription = Signup._signup_from_token(subscription_id, token)
        if not subscription:
            return request.render(
                "depanssur.signup_validate", {"subscription": subscription}, status=403
            )
        if subscription.state == "cancelled":
            return request.render(
                "depanssur.signup_validate", {"subscription": subscription}, status=410
            )
        try:
            with request.env.cr.savepoint():
                Signup._signup_activate(subscription, proof="email")
        except (UserError, ValidationError) as error:
            return request.render(
                "depanssur.signup_validate",
                {"subscription": subscription, "token": token, "error": error.args[0]},
                status=409,
            )
        return self._confirmation(subscription)

    def _confirmation(self, subscription):
        invoice = subscription.invoice_ids.filtered(
            lambda m: m.state == "posted" and m.payment_state in ("not_paid", "partial")
        )[:1]
        providers = (
            request.env["payment.provider"]
            .sudo()
            .search(
                [
                    ("state", "in", ("enabled", "test")),
                    ("company_id", "=", subscription.company_id.id),
                ]
            )
        )
        pay_url = invoice.get_portal_url() if invoice and providers else False
        Signup = request.env["depanssur.signup"].sudo()
        return request.render(
            "depanssur.signup_done",
            {
                "subscription": subscription,
                "pay_url": pay_url,
                "prices": Signup._signup_subscription_prices(subscription),
                "withdrawal_deadline": withdrawal_deadline(fields.Date.context_today(subscription)),
            },
        )
