from odoo import fields
from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.http import request, route

from ..models.depanssur_consent import CONSENT_PURPOSES


class DepanssurPortal(CustomerPortal):
    """ "Mon espace": subscriptions, coverage left, claim files, consents, requests."""

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        Subscription = request.env["depanssur.subscription"]
        if "depanssur_subscription_count" in counters:
            values["depanssur_subscription_count"] = (
                Subscription.search_count([]) if Subscription.has_access("read") else 0
            )
        return values

    def _depanssur_subscription(self, subscription_id, access_token=None):
        try:
            return self._document_check_access(
                "depanssur.subscription", subscription_id, access_token
            )
        except (AccessError, MissingError):
            return None

    @route(["/my/subscriptions"], type="http", auth="user", website=True)
    def portal_my_subscriptions(self, **_kwargs):
        values = self._prepare_portal_layout_values()
        subscriptions = request.env["depanssur.subscription"].search([], order="date_start desc")
        values.update({"subscriptions": subscriptions, "page_name": "depanssur_subscriptions"})
        return request.render("depanssur.portal_my_subscriptions", values)

    @route(["/my/subscriptions/<int:subscription_id>"], type="http", auth="public", website=True)
    def portal_my_subscription(self, subscription_id, access_token=None, message=None, **_kw):
        subscription_sudo = self._depanssur_subscription(subscription_id, access_token)
        if subscription_sudo is None:
            return request.redirect("/my")
        values = self._get_page_view_values(
            subscription_sudo, access_token, {}, "my_subscriptions_history", False
        )
        today = fields.Date.context_today(subscription_sudo)
        values.update(
            {
                "subscription": subscription_sudo,
                "page_name": "depanssur_subscription",
                "message": message,
                "dossiers": subscription_sudo.dossier_ids,
                "invoices": subscription_sudo.invoice_ids.filtered(
                    lambda m: m.state == "posted"
                ).sorted("invoice_date", reverse=True),
                "credit_notes": request.env["account.move"]
                .sudo()
                .search(
                    [
                        ("move_type", "=", "out_refund"),
                        ("state", "=", "posted"),
                        "|",
                        ("reversed_entry_id.depanssur_subscription_id", "=", subscription_sudo.id),
                        ("depanssur_credit_note_id.subscription_id", "=", subscription_sudo.id),
                    ]
                ),
                "address_effective_date": subscription_sudo._address_change_effective_date(today)
                if subscription_sudo.state in ("carence", "active", "suspended")
                else False,
            }
        )
        return request.render("depanssur.portal_my_subscription", values)

    @route(
        ["/my/subscriptions/<int:subscription_id>/address"],
        type="http",
        auth="user",
        methods=["POST"],
    )
    def portal_request_address_change(self, subscription_id, street="", zip="", city="", **_kw):
        subscription_sudo = self._depanssur_subscription(subscription_id)
        if subscription_sudo is None:
            return request.redirect("/my")
        if not (street.strip() and zip.strip() and city.strip()):
            return request.redirect(
                f"/my/subscriptions/{subscription_id}?message=address_incomplete"
            )
        address = (
            request.env["res.partner"]
            .sudo()
            .create(
                {
                    "parent_id": subscription_sudo.partner_id.id,
                    "type": "other",
                    "name": street.strip(),
                    "street": street.strip(),
                    "zip": zip.strip(),
                    "city": city.strip(),
                    "country_id": request.env.ref("base.fr").id,
                }
            )
        )
        try:
            subscription_sudo._request_address_change(address)
        except (UserError, ValidationError):
            return request.redirect(f"/my/subscriptions/{subscription_id}?message=address_refused")
        return request.redirect(f"/my/subscriptions/{subscription_id}?message=address_requested")

    @route(
        ["/my/subscriptions/<int:subscription_id>/terminate"],
        type="http",
        auth="user",
        methods=["POST"],
    )
    def portal_request_termination(self, subscription_id, reason="", **_kw):
        subscription_sudo = self._depanssur_subscription(subscription_id)
        if subscription_sudo is None:
            return request.redirect("/my")
        subscription_sudo.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=request.env._("Termination requested by the client"),
            note=reason[:2000],
            user_id=subscription_sudo.create_uid.id or request.env.ref("base.user_admin").id,
        )
        subscription_sudo.message_post(
            body=request.env._(
                "Termination requested from the customer portal: %(reason)s",
                reason=reason[:2000] or "-",
            ),
            author_id=request.env.user.partner_id.id,
        )
        return request.redirect(
            f"/my/subscriptions/{subscription_id}?message=termination_requested"
        )

    @route(["/my/consents"], type="http", auth="user", methods=["GET", "POST"], website=True)
    def portal_my_consents(self, **post):
        partner = request.env.user.partner_id
        saved = False
        if request.httprequest.method == "POST":
            consents = []
            for purpose, label in CONSENT_PURPOSES:
                wanted = bool(post.get(purpose))
                if (partner[f"consent_{purpose}"] == "given") != wanted:
                    consents.append(
                        {
                            "partner_id": partner.id,
                            "purpose": purpose,
                            "state": "given" if wanted else "withdrawn",
                            "source": "portal",
                            "ip_address": request.httprequest.remote_addr,
                            "proof_text": request.env._(
                                "Customer portal, box “%(label)s” %(state)s.",
                                label=label,
                                state=request.env._("ticked")
                                if wanted
                                else request.env._("unticked"),
                            ),
                        }
                    )
            if consents:
                request.env["depanssur.consent"].sudo().create(consents)
                template = request.env.ref("depanssur.mail_template_consent_changed")
                partner.sudo().message_post_with_source(
                    template, subtype_xmlid="mail.mt_comment", partner_ids=partner.ids
                )
            saved = True
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "partner": partner.sudo(),
                "purposes": CONSENT_PURPOSES,
                "saved": saved,
                "page_name": "depanssur_consents",
            }
        )
        return request.render("depanssur.portal_my_consents", values)
