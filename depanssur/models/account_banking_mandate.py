import hmac

from odoo import api, fields, models, tools
from odoo.addons.base_iban.models.res_partner_bank import normalize_iban, validate_iban
from odoo.exceptions import UserError, ValidationError

from ..rules import sepa

SIGN_SCOPE = "depanssur-mandate-sign"
MANDATE_CHANNELS = [
    ("web", "Web sign-up"),
    ("esign", "Electronic signature (link)"),
    ("paper", "Paper form"),
]


class AccountBankingMandate(models.Model):
    """The OCA SEPA mandate, with what Depanssur records of how the client signed it."""

    _inherit = "account.banking.mandate"

    # A portal user reads their own mandates (record rule) with the masked IBAN only: the bank
    # account's name is the whole IBAN, and the scan of a paper mandate shows it too.
    partner_bank_id = fields.Many2one(groups="base.group_user")
    scan = fields.Binary(groups="base.group_user")

    depanssur_channel = fields.Selection(
        MANDATE_CHANNELS, string="Signature channel", tracking=True, copy=False
    )
    depanssur_signed_ip = fields.Char(string="Signed from IP", readonly=True, copy=False)
    depanssur_signed_at = fields.Datetime(string="Signed at", readonly=True, copy=False)
    depanssur_unusable_reason = fields.Char(
        string="Unusable because",
        readonly=True,
        copy=False,
        help="Bank return that made this mandate unusable (closed account, revoked mandate).",
    )
    depanssur_iban_masked = fields.Char(string="IBAN", compute="_compute_depanssur_iban_masked")
    depanssur_holder = fields.Char(
        string="Account holder", compute="_compute_depanssur_iban_masked"
    )
    depanssur_subscription_ids = fields.One2many(
        "depanssur.subscription", "mandate_id", string="Subscriptions"
    )

    @api.depends("partner_bank_id.acc_number", "partner_bank_id.acc_holder_name")
    def _compute_depanssur_iban_masked(self):
        # the masked number is what the client and the agents see: the bank account itself
        # stays behind its own access rights
        for mandate in self:
            bank = mandate.sudo().partner_bank_id
            mandate.depanssur_iban_masked = sepa.mask_iban(bank.acc_number or "")
            mandate.depanssur_holder = bank.acc_holder_name or bank.partner_id.name or ""

    # ------------------------------------------------------------
    # Creation from a sign-up or an agent
    # ------------------------------------------------------------

    @api.model
    def _depanssur_check_iban(self, iban):
        """The normalised IBAN, or a ValidationError saying what is wrong with it."""
        compact = normalize_iban(iban or "")
        try:
            validate_iban(compact)
        except ValidationError as error:
            raise ValidationError(
                # never the number itself: the message is logged, and a mistyped IBAN is
                # usually one character away from the real one
                self.env._(
                    "The IBAN %(iban)s is not valid: %(reason)s",
                    iban=sepa.mask_iban(compact),
                    reason=error,
                )
            ) from None
        return compact

    @api.model
    def _depanssur_create_for(self, partner, iban, holder, channel, signed=False, ip=None):
        """A SEPA recurrent mandate of ``partner`` on ``iban`` (the bank account is reused when
        the client already has it). Valid at once when ``signed`` (the client accepted the mandate
        text on the sign-up form), otherwise draft until the client signs the link."""
        compact = self._depanssur_check_iban(iban)
        holder = (holder or "").strip()
        if not holder:
            raise ValidationError(self.env._("The account holder's name is required."))
        company = self.env.company
        Bank = self.env["res.partner.bank"].sudo()
        bank = Bank.search(
            [("partner_id", "=", partner.id), ("sanitized_acc_number", "=", compact)], limit=1
        )
        if not bank:
            bank = Bank.create(
                {
                    "partner_id": partner.id,
                    "acc_number": compact,
                    "acc_holder_name": holder,
                    "company_id": company.id,
                }
            )
        vals = {
            "format": "sepa",
            "type": "recurrent",
            "recurrent_sequence_type": "first",
            "scheme": "CORE",
            "partner_bank_id": bank.id,
            "company_id": company.id,
            "depanssur_channel": channel,
        }
        if signed:
            vals.update(
                {
                    "state": "valid",
                    "signature_date": fields.Date.context_today(self),
                    "depanssur_signed_ip": ip,
                    "depanssur_signed_at": fields.Datetime.now(),
                }
            )
        return self.sudo().create(vals)

    # ------------------------------------------------------------
    # Electronic signature by a signed link (phone sale)
    # ------------------------------------------------------------

    def _depanssur_sign_token(self):
        self.ensure_one()
        return tools.hmac(self.env(su=True), SIGN_SCOPE, self.id)

    def _depanssur_sign_url(self):
        self.ensure_one()
        return f"{self.get_base_url()}/mandat/signer/{self.id}?token={self._depanssur_sign_token()}"

    @api.model
    def _depanssur_from_sign_token(self, mandate_id, token):
        """The draft mandate the link ``token`` was made for, or an empty recordset."""
        if not (isinstance(mandate_id, int) and isinstance(token, str) and token):
            return self.browse()
        expected = self.browse(mandate_id)._depanssur_sign_token()
        if not hmac.compare_digest(expected.encode(), token.encode()):
            return self.browse()
        return self.sudo().browse(mandate_id).exists()

    def _depanssur_sign(self, ip):
        """The client signs the mandate (POST of the signed page): valid from today; the
        subscriptions waiting for it are collected by debit from now on."""
        self.ensure_one()
        mandate = self.sudo()
        if mandate.state != "draft":
            raise UserError(self.env._("This mandate is no longer waiting for a signature."))
        mandate.write(
            {
                "state": "valid",
                "signature_date": fields.Date.context_today(self),
                "depanssur_signed_ip": ip,
                "depanssur_signed_at": fields.Datetime.now(),
            }
        )
        # signed by the client on the public page: the notes in their language
        mandate.message_post(
            body=mandate.partner_id._depanssur_writer_env()._(
                "Mandate signed online from %(ip)s.", ip=ip or "-"
            ),
        )
        for subscription in mandate.depanssur_subscription_ids:
            subscription.message_post(
                body=subscription._depanssur_writer_env()._(
                    "SEPA mandate %(ref)s signed: the subscription is collected by direct debit.",
                    ref=mandate.unique_mandate_reference,
                )
            )
        return True

    def _depanssur_mark_unusable(self, reason):
        """A bank return says this mandate cannot be debited any more."""
        for mandate in self.sudo().filtered(lambda m: m.state in ("draft", "valid")):
            mandate.write({"state": "cancel", "depanssur_unusable_reason": reason})
            mandate.message_post(
                body=mandate.partner_id._depanssur_writer_env()._(
                    "Mandate made unusable by a bank return: %(reason)s", reason=reason
                )
            )
