import logging

from odoo import api, fields, models, tools
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain

from ..rules.person_name import join_name, split_name
from .batching import written_by_system
from .depanssur_consent import CONSENT_PURPOSES

_logger = logging.getLogger(__name__)

CONSENT_STATUS = [
    ("none", "Not asked"),
    ("given", "Given"),
    ("outdated", "To ask again"),
    ("withdrawn", "Withdrawn"),
]
PHONE_FIELDS = ("phone", "mobile")


class ResPartner(models.Model):
    _inherit = "res.partner"

    depanssur_client = fields.Boolean(
        string="Depanssur client",
        compute="_compute_depanssur_client",
        store=True,
        readonly=False,
        copy=False,
        help="A client of Depanssur: set by Depanssur's own forms (sign-up, phone sale, the "
        "Clients menu) and by a first subscription. Depanssur's rules (phones in E.164, "
        "refused when invalid; civility before the name) apply to clients only: other "
        "contacts keep Odoo's behaviour.",
    )
    civility = fields.Selection(
        [("mr", "Mr."), ("mrs", "Mrs.")],
        tracking=True,
        help="Civilité: M. or Mme, used in letters, emails and SMS.",
    )
    # Derived from the full name (Odoo's `name`, which every other module reads and writes) when
    # not given; Depanssur's forms give them and the full name is rebuilt from them.
    first_name = fields.Char(compute="_compute_name_parts", store=True, readonly=False)
    last_name = fields.Char(compute="_compute_name_parts", store=True, readonly=False)
    mobile = fields.Char(
        tracking=True,
        index="btree_not_null",
        help="Mobile number, in E.164 (+33...) when valid; a client's must be valid.",
    )
    depanssur_phone_display = fields.Char(
        string="Phone (formatted)", compute="_compute_depanssur_phone_display"
    )
    depanssur_mobile_display = fields.Char(
        string="Mobile (formatted)", compute="_compute_depanssur_phone_display"
    )
    # Indexed: clients are found by email or phone (sign-up, webhooks, agents), and Odoo's mail
    # composer looks the author up by email for every message; at 100k clients a scan costs ~35 ms
    email_normalized = fields.Char(index="btree_not_null")
    phone = fields.Char(index="btree_not_null")
    phone_sanitized = fields.Char(index="btree_not_null")
    depanssur_consent_ids = fields.One2many(
        "depanssur.consent", "partner_id", string="Consent history", readonly=True
    )
    consent_marketing_email = fields.Selection(
        CONSENT_STATUS, string="Marketing emails", compute="_compute_consent_status"
    )
    consent_marketing_sms = fields.Selection(
        CONSENT_STATUS, string="Marketing SMS", compute="_compute_consent_status"
    )
    consent_phone_canvassing = fields.Selection(
        CONSENT_STATUS, string="Phone canvassing", compute="_compute_consent_status"
    )
    consent_partner_offers = fields.Selection(
        CONSENT_STATUS, string="Partner offers", compute="_compute_consent_status"
    )
    depanssur_subscription_ids = fields.One2many(
        "depanssur.subscription", "partner_id", string="Subscriptions"
    )
    depanssur_subscription_count = fields.Integer(
        compute="_compute_depanssur_subscription_count", string="Subscription count"
    )
    depanssur_dossier_count = fields.Integer(
        compute="_compute_depanssur_dossier_count", string="Claim file count"
    )
    depanssur_anonymized = fields.Boolean(string="Anonymised", readonly=True, copy=False)
    depanssur_anonymized_date = fields.Datetime(string="Anonymised on", readonly=True, copy=False)

    @api.depends("depanssur_subscription_ids")
    def _compute_depanssur_client(self):
        for partner in self:
            partner.depanssur_client = partner.depanssur_client or bool(
                partner.depanssur_subscription_ids
            )

    @api.depends("name", "is_company", "type", "depanssur_anonymized")
    def _compute_name_parts(self):
        for partner in self:
            # a person; not an address (invoice, delivery, other: named after a place or nothing)
            if partner.is_company or partner.type != "contact" or partner.depanssur_anonymized:
                first, last = "", ""
            else:
                first, last = split_name(partner.name, (partner.first_name, partner.last_name))
            partner.first_name = first or False
            partner.last_name = last or False

    @api.depends("phone", "mobile", "country_id")
    def _compute_depanssur_phone_display(self):
        """The numbers as people read them ("+33 6 12 34 56 78"); stored in E.164, which is for
        machines (SMS, look-ups). A number that does not parse is shown as typed."""
        for partner in self:
            for fname in PHONE_FIELDS:
                number = partner[fname]
                formatted = number and partner._phone_format(
                    number=number, country=partner.country_id, force_format="INTERNATIONAL"
                )
                partner[f"depanssur_{fname}_display"] = formatted or number or False

    @api.depends(
        "depanssur_consent_ids.state",
        "depanssur_consent_ids.date",
        "depanssur_consent_ids.wording_id.is_current",
    )
    def _compute_consent_status(self):
        """The latest answer per purpose; a "given" on a wording that is no longer the current
        one is "outdated": it allows no marketing until the client is asked again."""
        current = self.env["depanssur.consent.wording"]._current_by_purpose()
        for partner in self:
            latest = {}
            # newest first: the first seen per purpose wins
            history = partner.depanssur_consent_ids.sorted(
                lambda c: (c.date, c.id or 0), reverse=True
            )
            for consent in history:
                latest.setdefault(consent.purpose, consent)
            for purpose, _label in CONSENT_PURPOSES:
                consent = latest.get(purpose)
                status = consent.state if consent else "none"
                if (
                    status == "given"
                    and purpose in current
                    and consent.wording_id != current[purpose]
                ):
                    status = "outdated"
                partner[f"consent_{purpose}"] = status

    def _depanssur_marketing_allowed(self, purpose):
        """Whether marketing for ``purpose`` may go to this client: the latest answer is "given"
        on the wording shown now (a consent on an older wording waits for the re-ask)."""
        self.ensure_one()
        return self[f"consent_{purpose}"] == "given"

    def _compute_depanssur_subscription_count(self):
        counts = dict(
            self.env["depanssur.subscription"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            partner.depanssur_subscription_count = counts.get(partner, 0)

    def _compute_depanssur_dossier_count(self):
        counts = dict(
            self.env["depanssur.dossier"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            partner.depanssur_dossier_count = counts.get(partner, 0)

    def action_depanssur_open_dossiers(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("depanssur.depanssur_dossier_action")
        action["domain"] = [("partner_id", "=", self.id)]
        return action

    def _depanssur_lang(self):
        """The language of this client: theirs, else their company's."""
        self.ensure_one()
        company = self.company_id or self.env.company
        return self.lang or company.partner_id.lang or self.env.lang

    def _depanssur_writer_env(self):
        """The environment of the notes the system (a job, a webhook) writes on this contact:
        in the contact's language; a person acting writes in their own."""
        self.ensure_one()
        if not written_by_system(self.env):
            return self.env
        return self.with_context(lang=self._depanssur_lang()).env

    @api.depends("civility", "is_company", "depanssur_client")
    @api.depends_context("lang")
    def _compute_display_name(self):
        res = super()._compute_display_name()
        labels = dict(self._fields["civility"]._description_selection(self.env))
        for partner in self:
            if (
                partner.depanssur_client
                and partner.civility
                and not partner.is_company
                and partner.display_name
            ):
                partner.display_name = f"{labels[partner.civility]} {partner.display_name}"
        return res

    @api.onchange("first_name", "last_name")
    def _onchange_first_last_name(self):
        if not self.is_company and (self.first_name or self.last_name):
            self.name = join_name(self.first_name, self.last_name)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._depanssur_prepare_vals(vals)
        return super().create(vals_list)

    def write(self, vals):
        if self.env.su and self.env.context.get("depanssur_anonymize"):
            return super().write(vals)
        if len(self) > 1 and any(f in vals for f in ("first_name", "last_name", *PHONE_FIELDS)):
            # the country used for phones, the name parts and being a client differ per partner
            for partner in self:
                partner.write(dict(vals))
            return True
        self._depanssur_prepare_vals(vals, partner=self[:1])
        return super().write(vals)

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    @api.model
    def _depanssur_full_name(self, first_name, last_name):
        return join_name(first_name, last_name)

    def _depanssur_prepare_vals(self, vals, partner=None):
        """Build the name from first/last name and format the phones, in place.

        A Depanssur client's phones are normalised to E.164 or refused; another contact's
        ``phone`` is left as Odoo keeps it and its ``mobile`` is formatted when valid, kept as
        typed otherwise (Odoo's own policy in ``phone_validation``).
        """
        partner = partner or self.browse()
        is_company = vals.get("is_company", partner.is_company if partner else False)
        if not is_company and ("first_name" in vals or "last_name" in vals):
            first = vals.get("first_name", partner.first_name if partner else False)
            last = vals.get("last_name", partner.last_name if partner else False)
            full_name = join_name(first, last)
            if full_name:
                vals["name"] = full_name
        country = partner.country_id if partner else self.env["res.country"]
        if vals.get("country_id"):
            country = self.env["res.country"].browse(vals["country_id"])
        if partner:
            client = vals.get("depanssur_client", partner.depanssur_client)
        else:
            client = vals.get("depanssur_client", self.env.context.get("default_depanssur_client"))
        for fname in PHONE_FIELDS:
            if not vals.get(fname) or not isinstance(vals[fname], str):
                continue
            if client:
                vals[fname] = self._depanssur_normalize_phone(vals[fname], country=country)
            elif fname == "mobile":
                vals[fname] = self._depanssur_format_phone(vals[fname], country=country)

    def _depanssur_normalize_phone(self, number, country=None):
        """Return ``number`` in E.164, France by default, or raise a clear ValidationError.

        Depanssur's rule for its clients and its own entry points (sign-up, phone sale,
        look-ups); see :meth:`_depanssur_format_phone` for everything else.
        """
        country = country or (self.country_id if len(self) == 1 else None)
        country = country or self.env.ref("base.fr")
        try:
            formatted = self.env["res.partner"]._phone_format(
                number=number.strip(), country=country, force_format="E164", raise_exception=True
            )
        except UserError:
            formatted = False
        if not formatted:
            raise ValidationError(
                self.env._(
                    "The phone number “%(number)s” is not valid (%(country)s). "
                    "Enter it as 06 12 34 56 78 or with its international prefix "
                    "(+33 6 12 34 56 78).",
                    number=number,
                    country=country.name,
                )
            )
        return formatted

    def _depanssur_format_phone(self, number, country=None):
        """``number`` in E.164 when it is valid, else as typed (never refused).

        The country is the given one, else the partner's, else the company's, as Odoo's
        ``_phone_format`` guesses it.
        """
        country = country or (self.country_id if len(self) == 1 else None)
        formatted = self.env["res.partner"]._phone_format(
            number=number.strip(), country=country or False, force_format="E164"
        )
        return formatted or number

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------

    def action_depanssur_record_consent(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Record a consent"),
            "res_model": "depanssur.consent",
            "view_mode": "form",
            "views": [(self.env.ref("depanssur.depanssur_consent_view_form").id, "form")],
            "target": "new",
            "context": {"default_partner_id": self.id, "default_source": "phone"},
        }

    def action_depanssur_open_subscriptions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "depanssur.depanssur_subscription_action"
        )
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action

    @api.model
    def _depanssur_find_client(self, email=None, phone=None):
        """The existing client with this email or phone (normalised), if any."""
        domain = []
        if email and (normalized := tools.email_normalize(email)):
            domain.append([("email_normalized", "=", normalized)])
        if phone:
            try:
                number = self._depanssur_normalize_phone(phone)
            except ValidationError:
                number = None
            if number:
                # phone_sanitized: Odoo's E.164 copy of a contact's number, however it was typed
                domain.append(
                    Domain("mobile", "=", number)
                    | Domain("phone", "=", number)
                    | Domain("phone_sanitized", "=", number)
                )
        if not domain:
            return self.browse()
        return self.search(
            Domain.OR(domain) & Domain("is_company", "=", False), order="id", limit=1
        )

    def _depanssur_erasure_blockers(self):
        """Reasons why the partner cannot be anonymised yet (extended by the other models)."""
        self.ensure_one()
        blockers = []
        running = (
            self.env["depanssur.subscription"]
            .sudo()
            .search(
                [
                    ("partner_id", "child_of", self.commercial_partner_id.id),
                    ("state", "in", ("draft", "carence", "active", "suspended")),
                ]
            )
        )
        if running:
            blockers.append(
                self.env._("open subscriptions %(names)s", names=", ".join(running.mapped("name")))
            )
        return blockers

    def action_depanssur_anonymize(self):
        """Right to erasure: scrub identity, contact data and free text; keep accounting intact."""
        if not self.env.user.has_group("depanssur.group_depanssur_manager"):
            raise UserError(self.env._("Only a Depanssur manager can anonymise a client."))
        for partner in self:
            if partner.depanssur_anonymized:
                raise UserError(
                    self.env._("%(name)s is already anonymised.", name=partner.display_name)
                )
            blockers = partner._depanssur_erasure_blockers()
            if blockers:
                raise UserError(
                    self.env._(
                        "%(name)s cannot be anonymised: %(reasons)s",
                        name=partner.display_name,
                        reasons="; ".join(blockers),
                    )
                )
        for partner in self:
            partner._depanssur_anonymize()
        return True

    def _depanssur_anonymize_values(self):
        self.ensure_one()
        return {
            "name": self.env._("Anonymised client #%(id)s", id=self.id),
            "first_name": False,
            "last_name": False,
            "civility": False,
            "email": False,
            "phone": False,
            "mobile": False,
            "street": False,
            "street2": False,
            "city": False,
            "website": False,
            "function": False,
            "comment": False,
            "ref": False,
            "vat": False,
            "image_1920": False,
            "active": False,
            "depanssur_anonymized": True,
            "depanssur_anonymized_date": fields.Datetime.now(),
        }

    def _depanssur_anonymize(self):
        self.ensure_one()
        user = self.env.user
        scrubbed = self.sudo().with_context(depanssur_anonymize=True, tracking_disable=True)
        scrubbed.depanssur_consent_ids.write(
            {"proof_text": False, "ip_address": False, "proof_attachment_id": False}
        )
        children = self.with_context(active_test=False).child_ids  # archived homes included
        for child in children.filtered(lambda c: not c.depanssur_anonymized):
            child._depanssur_anonymize()
        scrubbed.write(self._depanssur_anonymize_values())
        self._message_log(
            body=self._depanssur_writer_env()._(
                "Client anonymised (right to erasure) by %(user)s.", user=user.name
            )
        )
        _logger.info("depanssur: partner %s anonymised by user %s", self.id, user.id)
