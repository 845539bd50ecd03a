from odoo import api, fields, models, tools
from odoo.exceptions import ConcurrencyError, LockError, UserError
from odoo.tools import consteq

REASK_TOKEN_SCOPE = "depanssur-consent-reask"


class DepanssurConsentRequest(models.Model):
    """A client asked again for a consent after its wording changed (the re-ask campaign).

    The email carries a signed link to a page whose buttons post the answer; opening the link
    records nothing. The answer is recorded as a consent on the request's wording version.
    """

    _name = "depanssur.consent.request"
    _description = "RGPD consent re-ask"
    _order = "id desc"
    _rec_name = "wording_id"

    partner_id = fields.Many2one(
        "res.partner", string="Client", required=True, index=True, ondelete="restrict"
    )
    wording_id = fields.Many2one(
        "depanssur.consent.wording",
        required=True,
        index=True,
        ondelete="restrict",
    )
    purpose = fields.Selection(related="wording_id.purpose", store=True)
    state = fields.Selection(
        [("sent", "Sent"), ("given", "Agreed"), ("withdrawn", "Declined")],
        required=True,
        default="sent",
        readonly=True,
    )
    date_answered = fields.Datetime(string="Answered on", readonly=True)
    consent_id = fields.Many2one("depanssur.consent", string="Consent recorded", readonly=True)

    _partner_wording_uniq = models.UniqueIndex("(partner_id, wording_id)")

    def write(self, vals):
        if not self.env.su:
            raise UserError(self.env._("A re-ask is answered by the client only."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_answered(self):
        if self.filtered("consent_id"):
            raise UserError(self.env._("An answered re-ask is part of the consent proof."))

    # ------------------------------------------------------------
    # Signed link
    # ------------------------------------------------------------

    def _reask_token(self):
        """The proof that a visitor of the re-ask page received this request's email."""
        self.ensure_one()
        return tools.hmac(self.env(su=True), REASK_TOKEN_SCOPE, self.id)

    def _reask_check_token(self, token):
        self.ensure_one()
        # bytes: compare_digest refuses non-ASCII str, and a hostile link may carry any text
        return isinstance(token, str) and consteq(token.encode(), self._reask_token().encode())

    def _reask_url(self):
        """The signed link of the re-ask page (controllers/consent.py)."""
        self.ensure_one()
        return f"{self.get_base_url()}/depanssur/consent/{self.id}?token={self._reask_token()}"

    # ------------------------------------------------------------
    # Business
    # ------------------------------------------------------------

    def _send(self):
        """Queue the re-ask email of each request, in its client's language."""
        template = self.env.ref("depanssur.mail_template_consent_reask").sudo()
        for request in self:
            template.send_mail(request.id)
            request.partner_id._message_log(
                body=self.env._(
                    "Consent asked again by email: %(wording)s.",
                    wording=request.wording_id.display_name,
                )
            )

    def _reask_answer(self, agree, ip_address):
        """Record the client's answer once, as a consent on the request's wording; returns
        False when an answer was already there. Refused once a newer wording is current.

        A double click posts twice at once: the second request finds the row locked by the
        first and asks Odoo to replay it (``ConcurrencyError``, see ``odoo.service.model.
        retrying``); replayed after the first committed, it finds the answer there."""
        self.ensure_one()
        try:
            self.lock_for_update()
        except LockError:
            raise ConcurrencyError("a consent re-ask is being answered") from None
        if self.state != "sent":
            return False
        wording = self.wording_id
        if not wording.is_current:
            raise UserError(
                self.env._("This question is out of date: a newer wording has replaced it.")
            )
        if self.partner_id.depanssur_anonymized:
            raise UserError(self.env._("This client's data was erased."))
        answer = self.env._("I agree") if agree else self.env._("I refuse")
        consent = (
            self.env["depanssur.consent"]
            .sudo()
            .create(
                {
                    "partner_id": self.partner_id.id,
                    "purpose": wording.purpose,
                    "state": "given" if agree else "withdrawn",
                    "source": "reask",
                    "wording_id": wording.id,
                    "ip_address": ip_address,
                    "user_id": self.env.ref("base.user_root").id,
                    "proof_text": self.env._(
                        "“%(text)s” (version %(version)s): button “%(answer)s” posted from "
                        "the signed link of the re-ask email.",
                        text=wording.text,
                        version=wording.version,
                        answer=answer,
                    ),
                }
            )
        )
        self.sudo().write(
            {
                "state": consent.state,
                "date_answered": fields.Datetime.now(),
                "consent_id": consent.id,
            }
        )
        return True
