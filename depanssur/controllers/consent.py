"""/depanssur/consent/<id>: the question of the re-ask email, after a consent wording changed.

Opening the link records nothing (mail scanners follow links): it shows the new wording and two
buttons; the answer is posted from that page, with the session's CSRF token and the link's token
as proof. A wrong token, another request's token or another scope's token all answer 404.
"""

import logging

from odoo.exceptions import UserError
from odoo.http import Controller, request, route

from .common import render_in_client_language

_logger = logging.getLogger(__name__)

ANSWERS = {"yes": True, "no": False}


class DepanssurConsentReask(Controller):
    def _reask_request_sudo(self, request_id, token):
        """The re-ask whose link this is, or 404 (unknown request or wrong token alike)."""
        reask_sudo = request.env["depanssur.consent.request"].sudo().browse(request_id).exists()
        if not reask_sudo or not reask_sudo._reask_check_token(token):
            _logger.info("Consent re-ask page: refused token for request %s", request_id)
            raise request.not_found()
        return reask_sudo

    def _reask_render(self, reask_sudo, token, error=False, status=200):
        return render_in_client_language(
            reask_sudo.partner_id,
            "depanssur.consent_reask_page",
            {"reask": reask_sudo, "token": token, "error": error},
            status=status,
        )

    @route(
        "/depanssur/consent/<int:request_id>",
        type="http",
        auth="public",
        methods=["GET"],
        website=True,
        sitemap=False,
    )
    def consent_reask_page(self, request_id, token="", **_kw):
        """The new wording and its two buttons; a GET never records anything."""
        return self._reask_render(self._reask_request_sudo(request_id, token), token)

    @route(
        "/depanssur/consent/<int:request_id>/answer",
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
        sitemap=False,
        max_content_length=16 * 1024,
    )
    def consent_reask_answer(self, request_id, token="", answer="", **_kw):
        """The answer posted from the page: recorded once, the first answer stays. The same
        answer posted again (a double click) gets the same page; another one is refused (409)."""
        reask_sudo = self._reask_request_sudo(request_id, token)
        if not isinstance(answer, str) or answer not in ANSWERS:
            return self._reask_render(reask_sudo, token, error="answer", status=400)
        try:
            recorded = reask_sudo._reask_answer(ANSWERS[answer], request.httprequest.remote_addr)
        except UserError:
            # a newer wording replaced this one, or the client was erased meanwhile
            return self._reask_render(reask_sudo, token, error="outdated", status=410)
        if not recorded and reask_sudo.state != ("given" if ANSWERS[answer] else "withdrawn"):
            return self._reask_render(reask_sudo, token, error="answered", status=409)
        return self._reask_render(reask_sudo, token)
