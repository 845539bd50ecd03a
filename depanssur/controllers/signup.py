"""The public sign-up ("Souscrire un abonnement"): form → summary → confirmation.

Nothing is created before the confirmation. The summary carries the validated answers back in a
signed token (HMAC with the database secret), so they cannot be altered in between; the form's
idempotency key makes a double submit land on the same subscription.
"""

import base64
import hashlib
import hmac
import json
import re
import uuid

from odoo import fields
from odoo.exceptions import ValidationError
from odoo.fields import Command
from odoo.http import Controller, request, route
from odoo.tools import email_normalize

from ..models.depanssur_consent import CONSENT_PURPOSES

TERMS_TEXT = (
    "J'ai lu et j'accepte les conditions générales de vente et la notice d'information "
    "de l'abonnement dépannage."
)
CONSENT_TEXTS = {
    "marketing_email": "J'accepte de recevoir les offres de Depanssur par email.",
    "marketing_sms": "J'accepte de recevoir les offres de Depanssur par SMS.",
    "phone_canvassing": "J'accepte d'être contacté(e) par téléphone pour des offres.",
    "partner_offers": "J'accepte de recevoir les offres des partenaires de Depanssur.",
}
FIELDS = (
    "plan_id",
    "civility",
    "first_name",
    "last_name",
    "email",
    "mobile",
    "street",
    "zip",
    "city",
    "billing_street",
    "billing_zip",
    "billing_city",
    "idempotency_key",
)


class DepanssurSignup(Controller):
    def _plans(self):
        return request.env["depanssur.plan"].sudo().search([])

    def _sign(self, payload):
        secret = request.env["ir.config_parameter"].sudo().get_param("database.secret")
        raw = json.dumps(payload, sort_keys=True).encode()
        digest = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        return base64.urlsafe_b64encode(raw).decode() + "." + digest

    def _unsign(self, token):
        secret = request.env["ir.config_parameter"].sudo().get_param("database.secret")
        try:
            raw_b64, digest = token.rsplit(".", 1)
            raw = base64.urlsafe_b64decode(raw_b64.encode())
        except (ValueError, TypeError):
            return None
        expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, digest):
            return None
        return json.loads(raw)

    def _validate(self, post, option_ids):
        """(clean values, errors by field) — every message in French, next to its field."""
        env = request.env
        _ = env._
        errors = {}
        values = {name: (post.get(name) or "").strip() for name in FIELDS}
        plan = (
            env["depanssur.plan"]
            .sudo()
            .browse(int(values["plan_id"]) if values["plan_id"].isdigit() else 0)
            .exists()
        )
        if not plan:
            errors["plan_id"] = _("Choose a plan.")
        options = env["depanssur.option"].sudo().browse(option_ids).exists()
        if plan and options - plan.allowed_option_ids:
            errors["option_ids"] = _("This option is not available with the chosen plan.")
        if values["civility"] not in ("mr", "mrs"):
            errors["civility"] = _("Tell us your civility.")
        for name, label in (
            ("first_name", _("Enter your first name.")),
            ("last_name", _("Enter your last name.")),
        ):
            if not values[name]:
                errors[name] = label
            elif len(values[name]) > 100:
                errors[name] = _("This field is too long.")
        if not email_normalize(values["email"]):
            errors["email"] = _("Invalid email address.")
        try:
            values["mobile"] = env["res.partner"]._depanssur_normalize_phone(values["mobile"])
        except (ValidationError, AttributeError):
            errors["mobile"] = _("Invalid mobile number (e.g. 06 12 34 56 78).")
        if not values["street"]:
            errors["street"] = _("Enter the address of the home to cover.")
        if not re.fullmatch(r"\d{5}", values["zip"]):
            errors["zip"] = _("Invalid zip code (5 digits).")
        if not values["city"]:
            errors["city"] = _("Enter the city.")
        billing_ok = (
            values["billing_street"]
            and values["billing_city"]
            and re.fullmatch(r"\d{5}", values["billing_zip"])
        )
        if post.get("billing_different") and not billing_ok:
            errors["billing"] = _("Incomplete billing address.")
        if not post.get("terms"):
            errors["terms"] = _("You must accept the terms and conditions to subscribe.")
        values["option_ids"] = options.ids
        values["billing_different"] = bool(post.get("billing_different"))
        values["consents"] = [p for p, _label in CONSENT_PURPOSES if post.get(f"consent_{p}")]
        return values, errors, plan, options

    def _render_form(self, values=None, errors=None, status=200):
        return request.render(
            "depanssur.signup_form",
            {
                "plans": self._plans(),
                "values": values or {"idempotency_key": uuid.uuid4().hex, "option_ids": []},
                "errors": errors or {},
                "consent_texts": CONSENT_TEXTS,
                "purposes": CONSENT_PURPOSES,
                "terms_text": TERMS_TEXT,
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

    @route("/abonnement/recapitulatif", type="http", auth="public", methods=["POST"], website=True)
    def signup_summary(self, **post):
        if post.get("website"):  # honeypot: humans never see this field
            return request.make_response("", status=400)
        option_ids = [int(v) for v in request.httprequest.form.getlist("option_ids") if v.isdigit()]
        values, errors, plan, options = self._validate(post, option_ids)
        if errors:
            return self._render_form(values, errors, status=400)
        today = fields.Date.context_today(plan)
        return request.render(
            "depanssur.signup_summary",
            {
                "values": values,
                "plan": plan,
                "options": options,
                "monthly": plan.monthly_price + sum(options.mapped("monthly_price")),
                "start": today,
                "carence_end": fields.Date.add(today, days=plan.carence_days),
                "token": self._sign(values),
                "consent_texts": CONSENT_TEXTS,
            },
        )

    @route("/abonnement/confirmer", type="http", auth="public", methods=["POST"], website=True)
    def signup_confirm(self, token="", **_kw):
        values = self._unsign(token)
        if not values:
            return self._render_form(
                errors={"form": request.env._("Session expired, please start again.")}, status=400
            )
        env = request.env
        Subscription = env["depanssur.subscription"].sudo()
        existing = Subscription.search([("signup_key", "=", values["idempotency_key"])], limit=1)
        if existing:  # a double submit: the same subscription, nothing created twice
            return self._confirmation(existing)
        post = dict(values, terms="1", **{f"consent_{p}": "1" for p in values["consents"]})
        _values, errors, plan, options = self._validate(post, values["option_ids"])
        if errors:
            return self._render_form(values, errors, status=400)
        Partner = env["res.partner"].sudo()
        partner = Partner._depanssur_find_client(values["email"], values["mobile"])
        identity = {
            "civility": values["civility"],
            "first_name": values["first_name"],
            "last_name": values["last_name"],
            "email": values["email"],
            "mobile": values["mobile"],
            "street": values["street"],
            "zip": values["zip"],
            "city": values["city"],
            "country_id": env.ref("base.fr").id,
            "lang": "fr_FR" if env["res.lang"]._lang_get("fr_FR") else env.lang,
        }
        if partner:
            partner.write({k: v for k, v in identity.items() if k not in ("street", "zip", "city")})
            home = Partner.create(
                {
                    "parent_id": partner.id,
                    "type": "other",
                    "name": values["street"],
                    **{k: identity[k] for k in ("street", "zip", "city", "country_id")},
                }
            )
        else:
            partner = Partner.create(identity)
            home = partner
        if values["billing_different"]:
            Partner.create(
                {
                    "parent_id": partner.id,
                    "type": "invoice",
                    "name": values["billing_street"],
                    "street": values["billing_street"],
                    "zip": values["billing_zip"],
                    "city": values["billing_city"],
                    "country_id": env.ref("base.fr").id,
                }
            )
        now = fields.Datetime.now()
        ip = request.httprequest.remote_addr
        consents = [
            {
                "partner_id": partner.id,
                "purpose": purpose,
                "state": "given" if purpose in values["consents"] else "withdrawn",
                "source": "web_form",
                "date": now,
                "ip_address": ip,
                "proof_text": f"{CONSENT_TEXTS[purpose]} — "
                + ("case cochée" if purpose in values["consents"] else "case non cochée"),
                "user_id": env.ref("base.user_root").id,
            }
            for purpose, _label in CONSENT_PURPOSES
        ]
        env["depanssur.consent"].sudo().create(consents)
        today = fields.Date.context_today(partner)
        subscription = Subscription.create(
            {
                "partner_id": partner.id,
                "risk_address_id": home.id,
                "plan_id": plan.id,
                "date_start": today,
                "signup_key": values["idempotency_key"],
                "option_line_ids": [
                    Command.create({"option_id": option.id, "date_start": today})
                    for option in options
                ],
            }
        )
        subscription.message_post(
            body=env._(
                "Subscribed on the website (IP %(ip)s). Terms accepted: “%(terms)s”",
                ip=ip,
                terms=TERMS_TEXT,
            )
        )
        subscription.action_confirm()
        subscription._invoice_due_periods(today)
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
        return request.render(
            "depanssur.signup_done", {"subscription": subscription, "pay_url": pay_url}
        )
