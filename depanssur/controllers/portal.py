import re

from odoo import fields
from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.http import request, route

from ..models.depanssur_consent import CONSENT_PURPOSES

PAGE_RE = re.compile(r"[0-9]{1,6}")  # ASCII: the pager's str.isdigit() lets "²" reach int()


class DepanssurPortal(CustomerPortal):
    """ "Mon espace": subscriptions, coverage left, claim files, consents, requests."""

    def _depanssur_subscriptions_domain(self):
        return [("partner_id", "child_of", request.env.user.commercial_partner_id.id)]

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        Subscription = request.env["depanssur.subscription"]
        if "depanssur_subscription_count" in counters:
            values["depanssur_subscription_count"] = (
                Subscription.search_count(self._depanssur_subscriptions_domain())
                if Subscription.has_access("read")
                else 0
            )
        return values

    def _depanssur_subscription(self, subscription_id, access_token=None):
        try:
            return self._document_check_access(
                "depanssur.subscription", subscription_id, access_token
            )
        except (AccessError, MissingError):
            return None

    def _depanssur_subscription_or_404(self, subscription_id):
        """The current user's subscription (sudo), or 404: a request never reaches another's."""
        subscription_sudo = self._depanssur_subscription(subscription_id)
        if subscription_sudo is None:
            raise request.not_found()
        return subscription_sudo

    @route(
        ["/my/subscriptions", "/my/subscriptions/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
    )
    def portal_my_subscriptions(self, page=1, **_kwargs):
        if not isinstance(page, int):  # ?page=… in the query string
            page = int(page) if isinstance(page, str) and PAGE_RE.fullmatch(page) else 1
        values = self._prepare_portal_layout_values()
        Subscription = request.env["depanssur.subscription"]
        domain = self._depanssur_subscriptions_domain()
        readable = Subscription.has_access("read")
        pager = portal_pager(
            url="/my/subscriptions",
            total=Subscription.search_count(domain) if readable else 0,
            page=page,
            step=self._items_per_page,
        )
        subscriptions = (
            Subscription.search(
                domain,
                order="date_start desc, id desc",
                limit=self._items_per_page,
                offset=pager["offset"],
            )
            if readable
            else Subscription
        )
        request.session["my_subscriptions_history"] = subscriptions.ids[:100]
        values.update(
            {
                "subscriptions": subscriptions,
                "pager": pager,
                "default_url": "/my/subscriptions",
                "page_name": "depanssur_subscriptions",
            }
        )
        return request.render("depanssur.portal_my_subscriptions", values)

    def _subscription_page_values(self, subscription_sudo, access_token=None, **extra):
        values = self._get_page_view_values(
            subscription_sudo, access_token, {}, "my_subscriptions_history", False
        )
        today = fields.Date.context_today(subscription_sudo)
        open_invoices = self._depanssur_open_invoices(subscription_sudo)
        values.update(
            {
                "subscription": subscription_sudo,
                "page_name": "depanssur_subscription",
                "message": None,
                "address_errors": {},
                "address_values": {},
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
                "open_invoices": open_invoices,
                "amount_due": sum(open_invoices.mapped("amount_residual")),
                "prices": request.env["depanssur.signup"]
                .sudo()
                ._signup_subscription_prices(subscription_sudo),
                "address_effective_date": subscription_sudo._address_change_effective_date(today)
                if subscription_sudo.state in ("carence", "active", "suspended")
                else False,
                **extra,
            }
        )
        return values

    def _depanssur_open_invoices(self, subscription_sudo):
        """The posted invoices of the subscription the client still has to pay, oldest first;
        not those a SEPA direct debit is about to collect (pre-notified, or in a debit order not
        sent yet): paid by card as well, they would be paid twice."""
        unpaid = subscription_sudo.invoice_ids.filtered(
            lambda m: (
                m.move_type == "out_invoice"
                and m.state == "posted"
                and m.payment_state in ("not_paid", "partial")
                and m.amount_residual > 0
                and not m.depanssur_debit_date
            )
        )
        return (unpaid - unpaid._depanssur_in_debit()).sorted(
            lambda m: (m.invoice_date_due or m.invoice_date, m.id)
        )

    @route(
        ["/my/subscriptions/<int:subscription_id>/pay"],
        type="http",
        auth="user",
        methods=["GET"],
        website=True,
    )
    def portal_pay_subscription(self, subscription_id, **_kw):
        """Pay every open invoice of a subscription at once, with Odoo's payment form (the flow
        of ``/my/invoices/overdue``, for this subscription's invoices only)."""
        subscription_sudo = self._depanssur_subscription_or_404(subscription_id)
        invoices = self._depanssur_open_invoices(subscription_sudo)
        if not invoices:
            return request.redirect(subscription_sudo.get_portal_url())
        if len(invoices) == 1 or any(invoice.payment_state == "partial" for invoice in invoices):
            # Odoo's own invoice page and its payment button, which asks for what is left to pay
            # (the form for several invoices asks for their totals)
            return request.redirect(invoices[0].get_portal_url())
        values = self._depanssur_pay_page_values(subscription_sudo, invoices)
        if values is None:  # not one client, company and currency: pay them one by one
            return request.redirect(invoices[0].get_portal_url())
        return request.render("account_payment.portal_overdue_invoices_page", values)

    def _depanssur_pay_page_values(self, subscription_sudo, invoices):
        """The values of Odoo's payment page for ``invoices`` (several, of one client, company
        and currency; else None), as ``_overdue_invoices_get_page_view_values`` makes them but
        for one change: the payment reference is the subscription's, where Odoo's takes a number
        of the company's group payment sequence, a write a GET must not do."""
        partner, company, currency = invoices.partner_id, invoices.company_id, invoices.currency_id
        if len(partner) != 1 or len(company) != 1 or len(currency) != 1:
            return None
        reference = self._depanssur_payment_reference(subscription_sudo)
        total = sum(invoices.mapped("amount_total"))
        values = {
            "payment": {
                "date": fields.Date.today(),
                "reference": reference,
                "amount": total,
                "currency": currency,
            },
            "amount": total,
        }
        values |= self._get_common_page_view_values(
            invoices_data={
                "partner": partner,
                "company": company,
                "total_amount": total,
                "currency": currency,
                "amount_residual": sum(invoices.mapped("amount_residual")),
                "payment_reference": reference,
                "landing_route": subscription_sudo.get_portal_url(),
                "transaction_route": f"/my/subscriptions/{subscription_sudo.id}/pay/transaction",
            }
        )
        values.update(
            {
                "page_name": "depanssur_subscription_pay",
                "title": request.env._("Pay my subscription"),
            }
        )
        return values

    def _depanssur_payment_reference(self, subscription_sudo):
        """The reference of a payment of several invoices of a subscription: its number (the
        payment module makes each transaction's reference unique from it)."""
        return subscription_sudo.name

    @route(
        "/my/subscriptions/<int:subscription_id>/pay/transaction",
        type="jsonrpc",
        auth="user",
    )
    def portal_pay_subscription_transaction(self, subscription_id, **kwargs):
        """The payment form's transaction: one transaction for all the open invoices. Its
        reference is the subscription's, whatever the form sends."""
        subscription_sudo = self._depanssur_subscription(subscription_id)
        invoices = subscription_sudo and self._depanssur_open_invoices(subscription_sudo)
        if not invoices:
            raise ValidationError(request.env._("Nothing to pay on this subscription."))
        # the page's own conditions: one client, company and currency, nothing partly paid
        if (
            len(invoices.partner_id) != 1
            or len(invoices.company_id) != 1
            or len(invoices.currency_id) != 1
            or (len(invoices) > 1 and any(inv.payment_state == "partial" for inv in invoices))
        ):
            raise ValidationError(request.env._("These invoices cannot be paid together."))
        kwargs.pop("payment_reference", None)
        self._validate_transaction_kwargs(kwargs)
        return self._process_transaction(
            request.env.user.partner_id.id,
            invoices.currency_id.id,
            invoices.ids,
            self._depanssur_payment_reference(subscription_sudo),
            **kwargs,
        )

    @route(["/my/subscriptions/<int:subscription_id>"], type="http", auth="public", website=True)
    def portal_my_subscription(self, subscription_id, access_token=None, message=None, **_kw):
        subscription_sudo = self._depanssur_subscription(subscription_id, access_token)
        if subscription_sudo is None:
            if request.env.user._is_public():
                return request.redirect(f"/web/login?redirect=/my/subscriptions/{subscription_id}")
            raise request.not_found()
        values = self._subscription_page_values(
            subscription_sudo, access_token, message=message if isinstance(message, str) else None
        )
        return request.render("depanssur.portal_my_subscription", values)

    @route(
        ["/my/subscriptions/<int:subscription_id>/address"],
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
        max_content_length=64 * 1024,
    )
    def portal_request_address_change(self, subscription_id, street="", zip="", city="", **_kw):  # pylint: disable=redefined-builtin  # "zip" is the form field's name
        """A move: checked first; on a problem the form comes back with the errors (400) and
        nothing is created."""
        subscription_sudo = self._depanssur_subscription_or_404(subscription_id)
        clean, problems = subscription_sudo._portal_check_address_request(street, zip, city)
        if not problems:
            try:
                subscription_sudo._portal_request_address_change(street, zip, city)
            except (UserError, ValidationError):
                problems = {"form": "refused"}
        if problems:
            values = self._subscription_page_values(
                subscription_sudo, address_errors=problems, address_values=clean
            )
            return request.render("depanssur.portal_my_subscription", values, status=400)
        return request.redirect(f"/my/subscriptions/{subscription_id}?message=address_requested")

    @route(
        ["/my/subscriptions/<int:subscription_id>/terminate"],
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
        max_content_length=64 * 1024,
    )
    def portal_request_termination(self, subscription_id, reason="", **_kw):
        subscription_sudo = self._depanssur_subscription_or_404(subscription_id)
        try:
            subscription_sudo._portal_request_termination(reason)
        except (UserError, ValidationError):
            values = self._subscription_page_values(
                subscription_sudo, message="termination_refused"
            )
            return request.render("depanssur.portal_my_subscription", values, status=400)
        return request.redirect(
            f"/my/subscriptions/{subscription_id}?message=termination_requested"
        )

    @route(["/my/consents"], type="http", auth="user", methods=["GET", "POST"], website=True)
    def portal_my_consents(self, **post):
        partner = request.env.user.partner_id
        saved = False
        Wording = request.env["depanssur.consent.wording"].sudo()
        if request.httprequest.method == "POST":
            consents = []
            for purpose, label in CONSENT_PURPOSES:
                wanted = bool(post.get(purpose))
                if (partner[f"consent_{purpose}"] == "given") != wanted:
                    # the version the page showed (carried back by the form), not the current one
                    wording = Wording._displayed(purpose, post.get(f"wording_{purpose}"))
                    consents.append(
                        {
                            "partner_id": partner.id,
                            "purpose": purpose,
                            "state": "given" if wanted else "withdrawn",
                            "source": "portal",
                            "ip_address": request.httprequest.remote_addr,
                            "wording_id": wording.id,
                            "proof_text": request.env._(
                                "Customer portal, box “%(label)s” %(state)s.",
                                label=label,
                                state=request.env._("ticked")
                                if wanted
                                else request.env._("unticked"),
                            )
                            + (f" « {wording.text} »" if wording else ""),
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
                "wordings": Wording._current_by_purpose(),
                "saved": saved,
                "page_name": "depanssur_consents",
            }
        )
        return request.render("depanssur.portal_my_consents", values)
