"""/mandat/signer/<id>: the SEPA mandate sent for electronic signature (phone sale).

Opening the link signs nothing (mail scanners follow links): it shows the mandate and a form; the
signature is posted from that form, with the session's CSRF token and the link's token as proof.
"""

import logging

from odoo.exceptions import UserError
from odoo.http import Controller, request, route

from .common import render_in_client_language

_logger = logging.getLogger(__name__)


class DepanssurMandate(Controller):
    def _mandate_sudo(self, mandate_id, token):
        """The mandate this link was made for, or 404 (unknown mandate or wrong token alike)."""
        mandate_sudo = request.env["account.banking.mandate"]._depanssur_from_sign_token(
            mandate_id, token
        )
        if not mandate_sudo:
            _logger.info("Mandate page: refused token for mandate %s", mandate_id)
            raise request.not_found()
        return mandate_sudo

    def _render(self, mandate_sudo, token, error=False, status=200):
        return render_in_client_language(
            mandate_sudo.partner_id,
            "depanssur.mandate_sign_page",
            {"mandate": mandate_sudo, "token": token, "error": error},
            status=status,
        )

    @route(
        "/mandat/signer/<int:mandate_id>",
        type="http",
        auth="public",
        methods=["GET"],
        website=True,
        sitemap=False,
    )
    def mandate_page(self, mandate_id, token="", **_kw):
        """The mandate and its form; a GET never signs anything."""
        return self._render(self._mandate_sudo(mandate_id, token), token)

    @route(
        "/mandat/signer/<int:mandate_id>/signer",
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
        sitemap=False,
        max_content_length=16 * 1024,
    )
    def mandate_sign(self, mandate_id, token="", accept="", **_kw):
        """The signature posted from the page, with the mandate text accepted."""
        mandate_sudo = self._mandate_sudo(mandate_id, token)
        if accept != "1":
            return self._render(mandate_sudo, token, error=True, status=400)
        try:
            mandate_sudo._depanssur_sign(request.httprequest.remote_addr)
        except UserError:
            return self._render(mandate_sudo, token, status=409)
        return self._render(mandate_sudo, token)
