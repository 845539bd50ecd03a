import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)

CONSENT_PURPOSES = [
    ("marketing_email", "Marketing emails"),
    ("marketing_sms", "Marketing SMS"),
    ("phone_canvassing", "Phone canvassing"),
    ("partner_offers", "Partner offers"),
]
# requests tied to one contract, recorded with the same proof (never shown among the marketing
# choices of the forms and of the portal)
CONTRACT_PURPOSES = [
    ("express_start", "Coverage before the end of the withdrawal period"),
]
CONSENT_CHANNELS = [
    ("email", "Email"),
    ("sms", "SMS"),
    ("phone", "Phone"),
    ("post", "Post"),
]
CONSENT_SOURCES = [
    ("web_form", "Web form"),
    ("phone", "Phone"),
    ("paper", "Paper"),
    ("webhook", "Webhook"),
    ("portal", "Customer portal"),
    ("reask", "Re-ask email"),
]
DEFAULT_CHANNEL = {
    "marketing_email": "email",
    "marketing_sms": "sms",
    "phone_canvassing": "phone",
    "partner_offers": "email",
    "express_start": "email",
}


class DepanssurConsent(models.Model):
    """One RGPD consent event: given or withdrawn, for one purpose, with its proof.

    The history is append-only: a withdrawal is a new record; records are never edited or deleted
    (only scrubbed by the right-to-erasure anonymisation).
    """

    _name = "depanssur.consent"
    _description = "RGPD consent"
    _order = "date desc, id desc"
    _rec_name = "purpose"

    partner_id = fields.Many2one(
        "res.partner", string="Client", required=True, index=True, ondelete="restrict"
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    purpose = fields.Selection(CONSENT_PURPOSES + CONTRACT_PURPOSES, required=True)
    subscription_id = fields.Many2one(
        "depanssur.subscription",
        index="btree_not_null",
        ondelete="set null",
        help="The contract a contract request (such as the express start) is about.",
    )
    channel = fields.Selection(
        CONSENT_CHANNELS,
        required=True,
        compute="_compute_channel",
        store=True,
        readonly=False,
        precompute=True,
    )
    state = fields.Selection(
        [("given", "Given"), ("withdrawn", "Withdrawn")],
        string="Consent",
        required=True,
        default="given",
    )
    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    source = fields.Selection(CONSENT_SOURCES, required=True, default="phone")
    proof_text = fields.Text(
        string="Proof",
        help="What the client was shown or said (wording of the checkbox, call summary...).",
    )
    proof_attachment_id = fields.Many2one("ir.attachment", string="Proof document")
    ip_address = fields.Char(string="IP address")
    wording_id = fields.Many2one(
        "depanssur.consent.wording",
        index=True,
        ondelete="restrict",
        help="The version of the wording shown when the consent was asked (the current one "
        "unless said otherwise).",
    )
    wording_version = fields.Integer(related="wording_id.version", string="Version")
    wording_sha256 = fields.Char(related="wording_id.sha256", string="Wording SHA-256", store=True)
    user_id = fields.Many2one(
        "res.users", string="Recorded by", required=True, default=lambda self: self.env.user
    )

    @api.depends("purpose")
    def _compute_channel(self):
        for consent in self:
            consent.channel = DEFAULT_CHANNEL.get(consent.purpose, consent.channel or "email")

    @api.model_create_multi
    def create(self, vals_list):
        current = self.env["depanssur.consent.wording"]._current_by_purpose()
        for vals in vals_list:
            if not vals.get("wording_id") and vals.get("purpose") in current:
                vals["wording_id"] = current[vals["purpose"]].id
        consents = super().create(vals_list)
        consents._sync_blacklists()
        for partner, partner_consents in consents.grouped("partner_id").items():
            env = partner._depanssur_writer_env()
            purposes = dict(self._fields["purpose"]._description_selection(env))
            states = dict(self._fields["state"]._description_selection(env))
            partner._message_log(
                body=env._(
                    "Consent recorded: %(lines)s",
                    lines=", ".join(
                        f"{purposes[c.purpose]} ({states[c.state]})" for c in partner_consents
                    ),
                )
            )
        return consents

    def write(self, vals):
        # only the RGPD anonymisation (superuser) scrubs proofs: a context key alone is not enough
        if not (self.env.su and self.env.context.get("depanssur_anonymize")):
            raise UserError(
                self.env._(
                    "Consents are an append-only history: record a new consent or withdrawal "
                    "instead of editing an existing one."
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(
            self.env._("Consents cannot be deleted: they are the proof required by the RGPD.")
        )

    def _sync_blacklists(self):
        """A withdrawn marketing SMS/email consent blacklists the number/address; a new consent
        lifts it. Transactional messages ignore these blacklists only where Odoo allows it."""
        for consent in self.sorted("date"):
            partner = consent.partner_id
            keep = self.env.context.get("depanssur_consent_keep_blacklist")
            if keep and consent.state == "given":
                continue  # an unproven sign-up (public form) never lifts an opt-out
            if consent.purpose == "marketing_sms":
                numbers = list(
                    {partner._phone_format(number=n) for n in (partner.mobile, partner.phone) if n}
                    - {False}
                )
                if not numbers:
                    continue
                blacklist = self.env["phone.blacklist"].sudo()
                if consent.state == "withdrawn":
                    blacklist._add(numbers, message=self.env._("Marketing SMS consent withdrawn"))
                else:
                    blacklist._remove(numbers, message=self.env._("Marketing SMS consent given"))
            elif consent.purpose == "marketing_email" and partner.email_normalized:
                blacklist = self.env["mail.blacklist"].sudo()
                if consent.state == "withdrawn":
                    blacklist._add(
                        partner.email_normalized,
                        message=self.env._("Marketing email consent withdrawn"),
                    )
                else:
                    blacklist._remove(
                        partner.email_normalized,
                        message=self.env._("Marketing email consent given"),
                    )
