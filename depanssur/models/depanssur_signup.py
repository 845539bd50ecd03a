import hmac
import logging
from datetime import timedelta

from markupsafe import Markup
from odoo import api, fields, models, tools
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.tools.mail import single_email_re

from ..rules import signup as signup_rules
from .depanssur_consent import CONSENT_PURPOSES, CONTRACT_PURPOSES

_logger = logging.getLogger(__name__)

# The wording shown on the public form: recorded word for word as the proof of each answer.
TERMS_TEXT = (
    "J'ai lu et j'accepte les conditions générales de vente et la notice d'information "
    "de l'abonnement dépannage."
)
# the first version of each wording (depanssur.consent.wording); the forms show the current one
CONSENT_TEXTS = {
    "marketing_email": "J'accepte de recevoir les offres de Depanssur par email.",
    "marketing_sms": "J'accepte de recevoir les offres de Depanssur par SMS.",
    "phone_canvassing": "J'accepte d'être contacté(e) par téléphone pour des offres.",
    "partner_offers": "J'accepte de recevoir les offres des partenaires de Depanssur.",
}
# The express request (Code de la consommation, art. L221-25), recorded word for word as its proof.
EXPRESS_START_TEXT = (
    "Je demande expressément que ma couverture commence avant la fin du délai de rétractation "
    "de 14 jours. Si je me rétracte ensuite, je paierai la part de l'abonnement correspondant "
    "à la période couverte jusqu'à ma rétractation."
)
CHANNELS = ("web_form", "phone")
CONFIRM_SCOPE = "depanssur-signup-confirm"
SUMMARY_SCOPE = "depanssur-signup-summary"
SUMMARY_HOURS = 2  # the summary page's signed answers expire after this
PENDING_DAYS = 30  # an unconfirmed web sign-up is cancelled after this
IDENTITY_FIELDS = ("civility", "first_name", "last_name", "email", "mobile")
ADDRESS_FIELDS = ("street", "zip", "city")  # the risk address (the home covered)


class SignupError(ValidationError):
    """A ``ValidationError`` that also says which field each message is about (``errors``)."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__("\n".join(dict.fromkeys(errors.values())))


class DepanssurSignup(models.AbstractModel):
    """Sign up a client: the one way the web form and the phone sale create a subscription.

    An existing client is never written onto: a sign-up creates its own client (and flags a
    client with the same email or mobile for an agent to review), unless the caller proved who
    they are (a signed-in portal user signing up for themselves) or an agent explicitly chose the
    client on the phone. A web sign-up by an anonymous visitor stays a draft, with no invoice,
    until the client confirms the email address (signed link) or a first payment arrives.
    """

    _name = "depanssur.signup"
    _description = "Depanssur sign-up"

    # ------------------------------------------------------------
    # Validation
    # ------------------------------------------------------------

    @api.model
    def _signup_required_fields(self, channel, partner):
        home = set(ADDRESS_FIELDS)
        if partner:
            return home
        if channel == "phone":
            return home | {"last_name"}
        return home | set(IDENTITY_FIELDS)

    @api.model
    def _signup_messages(self, channel):
        return {
            "plan_id": self.env._("Choose a plan."),
            "option_ids": self.env._("This option is not available with the chosen plan."),
            "civility": self.env._("Tell us your civility."),
            "first_name": self.env._("Enter your first name."),
            "last_name": self.env._("Enter your last name."),
            "email": self.env._("Invalid email address."),
            "mobile": self.env._("Invalid mobile number (e.g. 06 12 34 56 78)."),
            "street": self.env._("Enter the address of the home to cover."),
            "zip": self.env._("Invalid zip code (5 digits)."),
            "city": self.env._("Enter the city."),
            "billing": self.env._("Incomplete billing address."),
            "billing_period": self.env._("Choose a billing period."),
            "date_start": self.env._("Choose a start date."),
            "terms": self.env._("The client must accept the terms and conditions.")
            if channel == "phone"
            else self.env._("You must accept the terms and conditions to subscribe."),
            "too_long": self.env._("This field is too long."),
            "invalid_chars": self.env._("This field contains characters that are not allowed."),
        }

    @api.model
    def _signup_check(self, values, channel, partner=None):
        """``(clean values, {field: message})`` for the answers ``values`` of a sign-up.

        ``values`` holds strings as typed (``plan_id``, ``civility``, ``first_name``,
        ``last_name``, ``email``, ``mobile``, ``street``, ``zip``, ``city``, ``billing_*``),
        ``option_ids`` (ids), ``consents`` ({purpose: bool} or the list of ticked purposes),
        ``billing_different``, ``terms_accepted``, and optionally ``billing_period``,
        ``date_start``, ``signup_key`` and ``ip``. Nothing is written.
        """
        messages = self._signup_messages(channel)
        text = {
            name: signup_rules.clean_text(values.get(name)) for name in signup_rules.MAX_LENGTHS
        }
        if partner:  # an existing client keeps its identity: what was typed is not used
            text.update(dict.fromkeys(IDENTITY_FIELDS, ""))
        required = self._signup_required_fields(channel, partner)
        billing_different = bool(values.get("billing_different"))
        if billing_different:
            required = required | {"billing_street", "billing_zip", "billing_city"}
        errors = {}
        for name, code in signup_rules.check(text, required).items():
            key = "billing" if name.startswith("billing_") else name
            if code in ("too_long", "invalid_chars"):
                errors.setdefault(key, messages[code])
            else:
                errors.setdefault(key, messages[key])
        plan_id = signup_rules.ascii_int(str(values.get("plan_id") or ""))
        plan = self.env["depanssur.plan"]
        if plan_id:
            plan = plan.search([("id", "=", plan_id), ("company_id", "=", self.env.company.id)])
        if not plan:
            errors["plan_id"] = messages["plan_id"]
        raw_options = values.get("option_ids") or []
        option_ids = [signup_rules.ascii_int(str(value)) for value in raw_options]
        options = self.env["depanssur.option"].search([("id", "in", [i for i in option_ids if i])])
        if len(options) != len(set(option_ids)) or (plan and options - plan.allowed_option_ids):
            errors["option_ids"] = messages["option_ids"]
        if text["civility"] and text["civility"] not in ("mr", "mrs"):
            errors["civility"] = messages["civility"]
        if "email" not in errors and text["email"] and not self._signup_email_ok(text["email"]):
            errors["email"] = messages["email"]
        if "mobile" not in errors and text["mobile"]:
            try:
                text["mobile"] = self.env["res.partner"]._depanssur_normalize_phone(text["mobile"])
            except ValidationError:
                errors["mobile"] = messages["mobile"]
        # the web sells monthly, from today; an agent may choose
        web = channel == "web_form"
        billing_period = "monthly" if web else values.get("billing_period") or "monthly"
        if billing_period not in ("monthly", "yearly"):
            errors["billing_period"] = messages["billing_period"]
        # the right of withdrawal: coverage starts at once only at the consumer's express request
        # (asked on the web summary; on the phone only when the caller says what was answered)
        express_start = (
            bool(values.get("express_start")) if web or "express_start" in values else None
        )
        # the run's day, as everywhere in the product ("date" in the context, else the clock)
        today = self.env["depanssur.subscription"]._today()
        try:
            date_start = (not web and fields.Date.to_date(values.get("date_start"))) or today
        except (ValueError, TypeError):
            date_start = None
            errors["date_start"] = messages["date_start"]
        if date_start and express_start is not None:
            date_start = max(date_start, signup_rules.earliest_start(today, express_start))
        if not values.get("terms_accepted"):
            errors["terms"] = messages["terms"]
        consents = values.get("consents") or {}
        if isinstance(consents, (list, tuple)):
            consents = dict.fromkeys(consents, True)
        purposes = dict(CONSENT_PURPOSES)
        clean = dict(
            text,
            plan=plan,
            options=options,
            billing_different=billing_different,
            billing_period=billing_period,
            date_start=date_start,
            consents={p: bool(answer) for p, answer in consents.items() if p in purposes},
            wording_ids={
                p: wording_id
                for p, wording_id in (
                    values.get("wording_ids") if isinstance(values.get("wording_ids"), dict) else {}
                ).items()
                if p in purposes
            },
            terms_accepted=bool(values.get("terms_accepted")),
            express_start=express_start,
            signup_key=(web and signup_rules.clean_text(values.get("signup_key"))) or False,
            ip=signup_rules.clean_text(values.get("ip")) or False,
        )
        return clean, errors

    @api.model
    def _signup_email_ok(self, email):
        """An address mail can reach: one address, and a domain with a dot ("x@exemple" is not)."""
        email = email.strip()
        return bool(single_email_re.match(email) and tools.email_normalize(email))

    # ------------------------------------------------------------
    # Prices shown to consumers: TTC (taxes of the invoiced products)
    # ------------------------------------------------------------

    @api.model
    def _signup_prices(self, terms_list, partner=None, company=None):
        """The monthly price of plans/options ``terms_list`` (records of ``depanssur.plan`` or
        ``depanssur.option``) as the invoice will compute it: ``{"untaxed", "tax", "total",
        "currency"}``, with the products' sale taxes of ``company`` mapped by the fiscal position
        of ``partner`` (no tax under a chart without taxes: total = untaxed)."""
        company = company or self.env.company
        currency = company.currency_id
        Position = self.env["account.fiscal.position"].sudo().with_company(company)
        position = Position._get_fiscal_position(partner) if partner else Position
        untaxed = total = 0.0
        for terms in terms_list:
            for record in terms:
                product = record.sudo().product_id
                taxes = product.taxes_id._filter_taxes_by_company(company)
                if position:
                    taxes = position.map_tax(taxes)
                amounts = taxes.compute_all(
                    record.monthly_price, currency=currency, product=product, partner=partner
                )
                untaxed += amounts["total_excluded"]
                total += amounts["total_included"]
        untaxed, total = currency.round(untaxed), currency.round(total)
        return {
            "untaxed": untaxed,
            "tax": currency.round(total - untaxed),
            "total": total,
            "currency": currency,
        }

    @api.model
    def _signup_price_total(self, terms, partner=None):
        """The monthly price TTC of one plan or option."""
        return self._signup_prices([terms], partner, terms.company_id or None)["total"]

    @api.model
    def _signup_subscription_prices(self, subscription):
        """The current monthly price of ``subscription`` (plan + running options), TTC for its
        invoiced client, as ``_signup_prices``."""
        subscription = subscription.sudo()
        # a subscription starting later (withdrawal period): its options of the first day
        day = max(subscription._today(), subscription.date_start or subscription._today())
        options = subscription.option_line_ids.filtered(
            lambda line: line._is_active_on(day)
        ).option_id
        return self._signup_prices(
            [subscription.plan_id, options],
            subscription.partner_invoice_id or subscription.partner_id,
            subscription.company_id,
        )

    @api.model
    def _signup_check_access(self, channel, partner):
        """The phone channel is for agents; on the web, a partner is only ever the signed-in
        portal user's own (that is the proof of who they are)."""
        if channel not in CHANNELS:
            raise UserError(self.env._("Unknown sign-up channel %(channel)s.", channel=channel))
        user = self.env.user
        if channel == "phone":
            if not (self.env.su or user.has_group("depanssur.group_depanssur_agent")):
                raise AccessError(self.env._("Only a Depanssur agent can sell on the phone."))
        elif partner and (partner != user.partner_id or not user._is_portal()):
            raise AccessError(self.env._("A web sign-up can only be for the signed-in client."))

    # ------------------------------------------------------------
    # Sign-up
    # ------------------------------------------------------------

    @api.model
    def _signup(self, values, channel, partner=None):
        """Sign up a client and return the subscription (see ``_signup_check`` for ``values``).

        ``channel`` is ``web_form`` (the public form: call it with ``sudo()``) or ``phone`` (an
        agent). ``partner`` is the existing client to attach the subscription to: the agent's
        explicit choice on the phone, or the signed-in portal user's own partner on the web;
        its name, email, mobile and address are never changed. Without it, a new client is
        created, even when one with the same email or mobile exists (an agent is asked to review
        the match). Raises ``SignupError`` (a ``ValidationError``) on a bad answer.
        """
        partner = partner or self.env["res.partner"]
        self._signup_check_access(channel, partner)
        clean, errors = self._signup_check(values, channel, partner)
        if errors:
            raise SignupError(errors)
        Subscription = self.env["depanssur.subscription"]
        if clean["signup_key"]:
            existing = Subscription.search([("signup_key", "=", clean["signup_key"])], limit=1)
            if existing:  # a double submit: the same subscription, nothing created twice
                return existing
        Partner = self.env["res.partner"]
        matches = Partner
        if partner:
            home = self._signup_home(partner, clean)
        else:
            matches = self._signup_matches(clean["email"], clean["mobile"])
            partner = Partner.create(self._signup_partner_vals(clean))
            home = partner
        billing = Partner
        if clean["billing_different"]:
            billing = Partner.create(
                {
                    "parent_id": partner.id,
                    "type": "invoice",
                    "name": clean["billing_street"],
                    "street": clean["billing_street"],
                    "zip": clean["billing_zip"],
                    "city": clean["billing_city"],
                    "country_id": self.env.ref("base.fr").id,
                }
            )
        proven = channel == "phone" or partner == self.env.user.partner_id
        self._signup_consents(partner, clean, channel, proven)
        plan, today = clean["plan"], clean["date_start"]
        subscription_vals = {
            "partner_id": partner.id,
            "risk_address_id": home.id,
            "plan_id": plan.id,
            "billing_period": clean["billing_period"],
            "date_start": today,
            "signup_key": clean["signup_key"],
            "option_line_ids": [
                Command.create({"option_id": option.id, "date_start": today})
                for option in clean["options"]
            ],
        }
        if billing:
            subscription_vals["partner_invoice_id"] = billing.id
        # the public user never follows what it creates
        subscription = Subscription.with_context(
            mail_create_nosubscribe=channel == "web_form"
        ).create(subscription_vals)
        if channel == "web_form":
            body = self.env._(
                "Subscribed on the website (IP %(ip)s). Terms accepted: “%(terms)s”",
                ip=clean["ip"] or "-",
                terms=TERMS_TEXT,
            )
        else:
            body = self.env._("Sold on the phone by %(agent)s.", agent=self.env.user.name)
        subscription.message_post(body=body)
        if clean["express_start"] is not None:
            self._signup_record_express_start(subscription, clean, channel)
        if matches:
            self._signup_flag_duplicate(subscription, matches)
        if proven:
            self._signup_activate(subscription, proof=channel)
        else:
            self._signup_send_confirmation(subscription)
        return subscription

    @api.model
    def _signup_record_express_start(self, subscription, clean, channel):
        """Record the answer to the express request like a consent, with its proof."""
        if not clean["express_start"]:
            subscription._message_log(
                body=self.env._(
                    "No request to start before the end of the withdrawal period: coverage "
                    "cannot start before %(date)s.",
                    date=subscription.date_start.strftime("%d/%m/%Y"),
                )
            )
            return self.env["depanssur.consent"]
        vals = {
            "partner_id": subscription.partner_id.id,
            "subscription_id": subscription.id,
            "purpose": CONTRACT_PURPOSES[0][0],
            "state": "given",
            "source": channel,
        }
        if channel == "web_form":
            vals.update(
                ip_address=clean["ip"],
                proof_text=f"{EXPRESS_START_TEXT} — case cochée ({subscription.name})",
                user_id=self.env.ref("base.user_root").id,
            )
        else:
            vals["proof_text"] = self.env._(
                "%(text)s — requested on the phone to %(agent)s (%(subscription)s).",
                text=EXPRESS_START_TEXT,
                agent=self.env.user.name,
                subscription=subscription.name,
            )
        return self.env["depanssur.consent"].create(vals)

    @api.model
    def _signup_express_start(self, subscription):
        """Whether the client asked for coverage to start before the end of the withdrawal
        period (a given ``express_start`` consent on this subscription)."""
        return bool(
            self.env["depanssur.consent"]
            .sudo()
            .search_count(
                [
                    ("subscription_id", "=", subscription.id),
                    ("purpose", "=", "express_start"),
                    ("state", "=", "given"),
                ],
                limit=1,
            )
        )

    @api.model
    def _signup_partner_vals(self, clean):
        lang = "fr_FR" if self.env["res.lang"]._lang_get("fr_FR") else self.env.lang
        vals = {name: clean[name] for name in IDENTITY_FIELDS if clean[name]}
        return dict(
            vals,
            street=clean["street"],
            zip=clean["zip"],
            city=clean["city"],
            country_id=self.env.ref("base.fr").id,
            lang=lang,
            # Depanssur's rules (a valid mobile in E.164, the civility in the name) from now on
            depanssur_client=True,
        )

    @api.model
    def _signup_matches(self, email, mobile):
        """The existing clients with this email or this mobile (whoever may read them)."""
        Partner = self.env["res.partner"].sudo()
        matches = Partner
        if email:
            matches |= Partner._depanssur_find_client(email=email)
        if mobile:
            matches |= Partner._depanssur_find_client(phone=mobile)
        return matches.with_env(self.env)

    @api.model
    def _signup_home(self, partner, clean):
        """The insured home of an existing client: the client's address or one of its addresses
        when it is the same, else a new address under the client (nothing existing is edited)."""

        def key(address):
            return tuple(
                " ".join((value or "").casefold().split())
                for value in (address["street"], address["zip"], address["city"])
            )

        wanted = key(clean)
        candidates = partner | partner.child_ids.filtered(lambda c: c.type in ("other", "delivery"))
        for candidate in candidates:
            if key(candidate) == wanted:
                return candidate
        return self.env["res.partner"].create(
            {
                "parent_id": partner.id,
                "type": "other",
                "name": clean["street"],
                "street": clean["street"],
                "zip": clean["zip"],
                "city": clean["city"],
                "country_id": self.env.ref("base.fr").id,
            }
        )

    @api.model
    def _signup_consents(self, partner, clean, channel, proven):
        """Record the answers that change something. A ticked box is "given"; an unticked box on
        the web is "not given": a web sign-up never records a withdrawal. On the phone, an agent
        records the client's "no" as a withdrawal of a consent given earlier."""
        agent = self.env.user
        Wording = self.env["depanssur.consent.wording"]
        consents = []
        for purpose, label in CONSENT_PURPOSES:
            if purpose not in clean["consents"]:
                continue
            wanted = clean["consents"][purpose]
            current = partner[f"consent_{purpose}"]
            if wanted == (current == "given"):
                continue
            if not wanted and (channel != "phone" or current not in ("given", "outdated")):
                continue
            vals = {
                "partner_id": partner.id,
                "purpose": purpose,
                "state": "given" if wanted else "withdrawn",
                "source": channel,
            }
            if channel == "web_form":
                # the version the form showed (carried back by the form), not the current one
                wording = Wording._displayed(purpose, clean.get("wording_ids", {}).get(purpose))
                vals.update(
                    ip_address=clean["ip"],
                    proof_text=f"{wording.text} — case cochée",
                    wording_id=wording.id,
                    user_id=self.env.ref("base.user_root").id,
                )
            else:
                vals.update(
                    user_id=agent.id,
                    proof_text=self.env._(
                        "%(label)s: answer “%(answer)s” given on the phone to %(agent)s.",
                        label=label,
                        answer=self.env._("yes") if wanted else self.env._("no"),
                        agent=agent.name,
                    ),
                )
            consents.append(vals)
        if consents:
            # an unproven sign-up never lifts an opt-out held on an address or a number
            self.env["depanssur.consent"].with_context(
                depanssur_consent_keep_blacklist=not proven
            ).create(consents)

    @api.model
    def _signup_responsible(self):
        """Who reviews sign-ups matching an existing client: the company's responsible for
        requests coming from the public side (portal requests, sign-ups), see
        ``res.company._depanssur_portal_responsible``."""
        return self.env.company._depanssur_portal_responsible()

    @api.model
    def _signup_flag_duplicate(self, subscription, matches):
        partner = subscription.partner_id
        clients = Markup(", ").join(
            Markup('<a href="#" data-oe-model="res.partner" data-oe-id="%s">%s</a>')
            % (match.id, match.display_name)
            for match in matches
        )
        # the translated sentence is trusted, the names are escaped by Markup's %
        sentence = Markup(
            self.env._(
                "This sign-up has the email or mobile of the existing client %(clients)s. The new "
                "client %(new)s was created without changing anything of theirs: check who signed "
                "up and merge the clients if they are the same person."
            )
        )
        subscription.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=self.env._("Possible duplicate: review/merge"),
            note=Markup("<p>%s</p>")
            % (sentence % {"clients": clients, "new": partner.display_name}),
            user_id=self._signup_responsible().id,
        )

    # ------------------------------------------------------------
    # Confirmation: the email link or the first payment makes it real
    # ------------------------------------------------------------

    @api.model
    def _signup_confirm_token(self, subscription_id):
        return tools.hmac(self.env(su=True), CONFIRM_SCOPE, subscription_id)

    @api.model
    def _signup_confirm_url(self, subscription):
        token = self._signup_confirm_token(subscription.id)
        return f"{subscription.get_base_url()}/abonnement/valider/{subscription.id}?token={token}"

    @api.model
    def _signup_from_token(self, subscription_id, token):
        """The web sign-up whose confirmation link carries ``token``, or an empty recordset."""
        Subscription = self.env["depanssur.subscription"]
        if not (isinstance(subscription_id, int) and isinstance(token, str) and token):
            return Subscription
        expected = self._signup_confirm_token(subscription_id)
        if not hmac.compare_digest(expected.encode(), token.encode()):
            return Subscription
        return Subscription.browse(subscription_id).exists().filtered("signup_key")

    @api.model
    def _signup_send_confirmation(self, subscription):
        template = self.env.ref("depanssur.mail_template_signup_confirm")
        template.with_context(signup_confirm_url=self._signup_confirm_url(subscription)).send_mail(
            subscription.id
        )
        subscription._message_log(
            body=subscription._depanssur_writer_env()._(
                "Waiting for the client to confirm the sign-up: link sent to %(email)s.",
                email=subscription.partner_id.email,
            )
        )

    @api.model
    def _signup_activate(self, subscription, proof):
        """Make a sign-up real: confirm the subscription and post its first invoice.

        ``proof`` says why: ``email`` (the link was answered), ``payment``, ``phone`` (an agent)
        or ``web_form`` (a signed-in client). Does nothing on a subscription that is no longer a
        draft; a pending web sign-up starts on the day it is confirmed.
        """
        subscription.ensure_one()
        if subscription.state != "draft":
            return False
        today = subscription._today()
        if proof in ("email", "payment"):
            # the contract is concluded now: waiting periods count from the confirmation (or
            # from the end of the withdrawal period), for the plan and the options
            start = signup_rules.earliest_start(today, self._signup_express_start(subscription))
            if subscription.date_start < start:
                lines = subscription.option_line_ids.filtered(
                    lambda line: line.date_start < start and not line.date_end
                )
                lines.write({"date_start": start})
                subscription.write({"date_start": start})
        subscription.action_confirm()
        subscription._invoice_due_periods(today)
        if proof == "email":
            subscription.message_post(
                body=subscription._depanssur_writer_env()._(
                    "Sign-up confirmed by the client's email."
                )
            )
        elif proof == "payment":
            subscription.message_post(
                body=subscription._depanssur_writer_env()._("Sign-up confirmed by a first payment.")
            )
        return True

    @api.model
    def _signup_sign_summary(self, answers):
        """The answers of the summary page, signed so that they come back unchanged."""
        return tools.hash_sign(
            self.env(su=True), SUMMARY_SCOPE, answers, expiration_hours=SUMMARY_HOURS
        )

    @api.model
    def _signup_read_summary(self, token):
        """The answers signed by ``_signup_sign_summary``, or None (forged, expired, garbled)."""
        if not isinstance(token, str) or not token:
            return None
        try:
            answers = tools.verify_hash_signed(self.env(su=True), SUMMARY_SCOPE, token)
        except (ValueError, TypeError, IndexError):
            return None
        return answers if isinstance(answers, dict) else None

    @api.autovacuum
    def _gc_unconfirmed_signups(self):
        """Cancel the web sign-ups never confirmed after ``PENDING_DAYS`` days."""
        limit = fields.Datetime.now() - timedelta(days=PENDING_DAYS)
        stale = (
            self.env["depanssur.subscription"]
            .sudo()
            .search(
                [("state", "=", "draft"), ("signup_key", "!=", False), ("create_date", "<", limit)]
            )
        )
        for subscription in stale:
            subscription.action_cancel()
            # a mandate accepted on the never-confirmed sign-up is not kept usable either
            mandate = subscription.mandate_id
            if mandate and mandate.state in ("draft", "valid"):
                others = mandate.depanssur_subscription_ids - subscription
                if not others.filtered(lambda other: other.state != "cancelled"):
                    mandate.cancel()
            subscription._message_log(
                body=subscription._depanssur_writer_env()._(
                    "Sign-up never confirmed by the client: cancelled."
                )
            )
        if stale:
            _logger.info("depanssur: %s unconfirmed sign-ups cancelled", len(stale))
