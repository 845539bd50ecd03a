from markupsafe import Markup
from odoo import api, models
from odoo.exceptions import ValidationError

from ..rules import signup as signup_rules


def sepa_mandate_text(env):
    """The mandate text the client accepts, in ``env``'s language (recorded with the sign-up)."""
    return env._(
        "By signing this mandate form, you authorise the creditor to send instructions to your "
        "bank to debit your account and your bank to debit your account in accordance with the "
        "instructions from the creditor. You are entitled to a refund from your bank under the "
        "terms and conditions of your agreement with your bank. A refund must be claimed within "
        "8 weeks starting from the date on which your account was debited."
    )


class DepanssurSignup(models.AbstractModel):
    """The sign-up offers "Prélèvement SEPA": IBAN, holder and the mandate text accepted on the
    web (recorded with the IP and the time, the mandate PDF emailed); on the phone the mandate is
    sent for electronic signature and the subscription is debited once it is signed."""

    _inherit = "depanssur.signup"

    @api.model
    def _signup_check(self, values, channel, partner=None):
        clean, errors = super()._signup_check(values, channel, partner)
        method = values.get("payment_method") or "card"
        if method not in ("card", "sepa"):
            errors["payment_method"] = self.env._("Choose a payment method.")
            method = "card"
        clean["payment_method"] = method
        if method == "sepa":
            iban = signup_rules.clean_text(values.get("iban"))
            holder = signup_rules.clean_text(values.get("iban_holder"))
            if not holder and channel == "phone":  # the agent leaves it empty: the client's name
                holder = (
                    partner.name
                    if partner
                    else " ".join(filter(None, (clean.get("first_name"), clean.get("last_name"))))
                )
            try:
                clean["iban"] = self.env["account.banking.mandate"]._depanssur_check_iban(iban)
            except ValidationError as error:
                errors["iban"] = error.args[0]
            if not holder:
                errors["iban_holder"] = self.env._("Enter the account holder's name.")
            clean["iban_holder"] = holder
            clean["sepa_accepted"] = bool(values.get("sepa_accepted"))
            if channel == "web_form" and not clean["sepa_accepted"]:
                errors["sepa_accepted"] = self.env._(
                    "You must accept the SEPA direct debit mandate to pay by direct debit."
                )
        return clean, errors

    @api.model
    def _signup(self, values, channel, partner=None):
        key = channel == "web_form" and signup_rules.clean_text(values.get("signup_key"))
        if key and self.env["depanssur.subscription"].sudo().search_count(
            [("signup_key", "=", key)], limit=1
        ):
            # the same sign-up posted again: the subscription it made is returned untouched (no
            # mandate written onto a record the caller has not proved it owns)
            return super()._signup(values, channel, partner)
        subscription = super()._signup(values, channel, partner)
        if values.get("payment_method") != "sepa" or subscription.payment_method == "sepa":
            return subscription  # paid by card, or a double submit of the same sign-up
        # checked by super() already (a bad answer raised): the clean values
        clean, _errors = self._signup_check(values, channel, partner)
        web = channel == "web_form"
        Mandate = self.env["account.banking.mandate"]
        mandate = Mandate.with_company(subscription.company_id)._depanssur_create_for(
            subscription.partner_id,
            clean["iban"],
            clean["iban_holder"],
            "web" if web else "esign",
            signed=web,
            ip=signup_rules.clean_text(values.get("ip")) or False,
        )
        subscription.sudo()._depanssur_set_payment_method("sepa", mandate)
        if web:
            # the accepted text, the IP and the time, like a consent
            writer = subscription._depanssur_writer_env()
            subscription.message_post(
                body=Markup("<p>%s</p>")
                % writer._(
                    "SEPA mandate %(ref)s accepted on the website (IP %(ip)s): “%(text)s”",
                    ref=mandate.unique_mandate_reference,
                    ip=mandate.depanssur_signed_ip or "-",
                    text=sepa_mandate_text(writer),
                )
            )
            template = self.env.ref("depanssur.mail_template_sepa_mandate_signed")
            template.sudo().send_mail(mandate.id)
        else:
            subscription._depanssur_send_mandate_for_signature()
        return subscription
