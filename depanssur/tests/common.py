import re
import time
import uuid
from datetime import UTC, datetime

from odoo.fields import Command
from odoo.tests import TransactionCase, new_test_user
from standardwebhooks.webhooks import Webhook

# What a consumer types in the public sign-up form, and an agent in the phone sale wizard
WEB_SIGNUP_IDENTITY = {
    "civility": "mrs",
    "first_name": "Élodie",
    "last_name": "Garnier",
    "email": "elodie.garnier@example.fr",
    "mobile": "07 81 34 56 78",
    "street": "14 rue Garibaldi",
    "zip": "69006",
    "city": "Lyon",
}
PHONE_SALE_IDENTITY = {
    "civility": "mr",
    "first_name": "Karim",
    "last_name": "Haddad",
    "email": "karim.haddad@example.fr",
    "mobile": "06 55 44 33 22",
    "street": "3 rue Paul Bert",
    "zip": "69003",
    "city": "Lyon",
}
# the sign-up form's required fields, each with its own error message
SIGNUP_REQUIRED_FIELDS = ("plan_id", *WEB_SIGNUP_IDENTITY)

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_IDEMPOTENCY_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
_SUMMARY_TOKEN = re.compile(r'name="token" value="([^"]+)"')


class DepanssurCase(TransactionCase):
    """One test user per role, a French client, fixed references used across the suite."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        # the legal mentions printed on credit notes (issuing refuses without them)
        set_legal_mentions(cls.company)
        cls.fr = cls.env.ref("base.fr")
        cls.user_agent = new_test_user(
            cls.env, login="dp_agent", groups="depanssur.group_depanssur_agent", name="Alice Agent"
        )
        cls.user_manager = new_test_user(
            cls.env,
            login="dp_manager",
            groups="depanssur.group_depanssur_manager",
            name="Marc Manager",
        )
        cls.user_accounting = new_test_user(
            cls.env,
            login="dp_accounting",
            groups="depanssur.group_depanssur_accounting",
            name="Annie Accounting",
        )
        cls.user_portal = new_test_user(cls.env, login="dp_portal", groups="base.group_portal")
        cls.user_internal = new_test_user(cls.env, login="dp_internal", groups="base.group_user")
        cls.client = cls.env["res.partner"].create(
            {
                "depanssur_client": True,
                "civility": "mrs",
                "first_name": "Sophie",
                "last_name": "Lefèvre",
                "email": "sophie.lefevre@example.fr",
                "mobile": "06 11 22 33 44",
                "street": "3 place Bellecour",
                "zip": "69002",
                "city": "Lyon",
                "country_id": cls.fr.id,
            }
        )


class DepanssurSubscriptionCase(DepanssurCase):
    """A small catalogue (values from the issue) and a helper to sell a subscription."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ref = cls.env.ref
        cls.cat_plumbing = ref("depanssur.category_plumbing")
        cls.cat_electricity = ref("depanssur.category_electricity")
        cls.cat_locksmith = ref("depanssur.category_locksmith")
        cls.cat_heating = ref("depanssur.category_heating")
        cls.cat_appliances = ref("depanssur.category_appliances")
        cls.option_appliances = cls.env["depanssur.option"].create(
            {
                "name": "Électroménager test",
                "monthly_price": 4.90,
                "category_ids": [Command.link(cls.cat_appliances.id)],
                "carence_days": 60,
                "franchise": 30,
                "cap_per_intervention": 250,
                "yearly_cap_amount": 500,
                "yearly_cap_count": 2,
            }
        )
        cls.plan_essentiel = cls.env["depanssur.plan"].create(
            {
                "name": "Essentiel test",
                "monthly_price": 9.90,
                "category_ids": [
                    Command.link(cls.cat_plumbing.id),
                    Command.link(cls.cat_electricity.id),
                ],
                "carence_days": 30,
                "franchise": 0,
                "cap_per_intervention": 300,
                "yearly_cap_amount": 600,
                "yearly_cap_count": 2,
                "allowed_option_ids": [Command.link(cls.option_appliances.id)],
            }
        )
        cls.plan_confort = cls.env["depanssur.plan"].create(
            {
                "name": "Confort test",
                "monthly_price": 14.90,
                "category_ids": [
                    Command.link(cls.cat_plumbing.id),
                    Command.link(cls.cat_electricity.id),
                    Command.link(cls.cat_locksmith.id),
                    Command.link(cls.cat_heating.id),
                ],
                "carence_days": 30,
                "franchise": 0,
                "cap_per_intervention": 500,
                "yearly_cap_amount": 1200,
                "yearly_cap_count": 3,
                "allowed_option_ids": [Command.link(cls.option_appliances.id)],
            }
        )
        # plans and options are sold without VAT in the tests, so amounts are easy to read
        products = (cls.plan_essentiel | cls.plan_confort).product_id
        (products | cls.option_appliances.product_id).write({"taxes_id": [Command.clear()]})

    def _queued_sms(self, number, content=""):
        """SMS waiting in Odoo's queue (the jobs never send synchronously)."""
        return (
            self.env["sms.sms"]
            .sudo()
            .search(
                [("number", "=", number), ("state", "=", "outgoing"), ("body", "ilike", content)]
            )
        )

    def _subscribe(self, partner=None, plan=None, date_start="2026-01-15", confirm=True, **vals):
        subscription = self.env["depanssur.subscription"].create(
            {
                "partner_id": (partner or self.client).id,
                "plan_id": (plan or self.plan_essentiel).id,
                "date_start": date_start,
                **vals,
            }
        )
        if confirm:
            subscription.action_confirm()
        return subscription


def csrf_of(html):
    """The CSRF token of the form in ``html``, read as a browser would."""
    return _CSRF.search(html).group(1)


def signed_webhook_headers(secret, body):
    """The headers of a webhook delivery of ``body`` (text) signed with ``secret`` now, as the
    payment platform sends it (Standard Webhooks); ``webhook-id`` is a new message id."""
    msg_id = f"msg_{uuid.uuid4().hex}"
    when = datetime.fromtimestamp(int(time.time()), tz=UTC)
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body),
    }


class SignupFormMixin:
    """A browser on the public sign-up pages (an ``HttpCase`` on ``DepanssurSubscriptionCase``):
    the form, its answers, the summary, the confirmation."""

    def _signup_form(self):
        """GET /abonnement: ``(html, csrf token, idempotency key)``."""
        response = self.url_open("/abonnement")
        self.assertEqual(response.status_code, 200)
        html = response.text
        return html, csrf_of(html), _IDEMPOTENCY_KEY.search(html).group(1)

    def _signup_answers(self, csrf, key, **overrides):
        """The form's fields as a consumer fills them (Essentiel, ``WEB_SIGNUP_IDENTITY``, the
        terms accepted); ``overrides`` change them, a ``None`` leaves a field out."""
        data = {
            "csrf_token": csrf,
            "idempotency_key": key,
            "plan_id": str(self.plan_essentiel.id),
            **WEB_SIGNUP_IDENTITY,
            "terms": "on",
            **overrides,
        }
        return {name: value for name, value in data.items() if value is not None}

    def _signup_confirm(self, summary, **fields):
        """POST the summary page ``summary`` (a response) with its signed answers."""
        data = {
            "csrf_token": csrf_of(summary.text),
            "token": _SUMMARY_TOKEN.search(summary.text).group(1),
            **fields,
        }
        return self.url_open("/abonnement/confirmer", data=data)


PORTAL_HOME = {"street": "9 rue Ney", "zip": "69006", "city": "Lyon"}


class DepanssurPortalCase(DepanssurSubscriptionCase):
    """The portal user ``dp_portal`` as a client living at ``PORTAL_HOME``, in France."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal_partner = cls.user_portal.partner_id
        cls.portal_partner.write({**PORTAL_HOME, "country_id": cls.fr.id})


def activate_french(env, modules=("depanssur",)):
    """French for a test on a standard (en_US) database: the language activated and the
    translations of ``modules`` loaded, as installing French from the settings would."""
    env["res.lang"]._activate_lang("fr_FR")
    env["ir.module.module"]._load_module_terms(list(modules), ["fr_FR"], overwrite=True)


LEGAL_MENTIONS = {
    "street": "10 quai Perrache",
    "zip": "69002",
    "city": "Lyon",
    "company_registry": "91234567500017",
    "vat": "FR65912345675",
    "depanssur_rcs": "RCS Lyon 912 345 675",
    "depanssur_legal_form": "SAS",
    "depanssur_share_capital": 50000,
}


def set_legal_mentions(company):
    """Fill what a company must print on its invoices and credit notes (SIRET, RCS, legal form,
    share capital, VAT number, address)."""
    company.write(LEGAL_MENTIONS)


def french_company(env, name="Depanssur Test SAS"):
    """A French company as production has it: France, the French chart of accounts (EUR, TVA
    20 % as its sale tax, its sales journal), its legal mentions. For tests on a standard
    (en_US, generic chart) database."""
    company = env["res.company"].create({"name": name, "country_id": env.ref("base.fr").id})
    env["account.chart.template"].try_loading("fr", company, install_demo=False)
    set_legal_mentions(company)
    return company
