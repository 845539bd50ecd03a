"""/depanssur/nps/<id>: the satisfaction question linked from the "intervention done" email.

Opening the link records nothing (mail scanners follow links): it shows the question and a form;
the answer is posted from that form, with the session's CSRF token and the link's token as proof.
"""

import logging
import re

from odoo.http import Controller, request, route

from .common import render_in_client_language

_logger = logging.getLogger(__name__)

SCORE_RE = re.compile(r"10|[0-9]")  # ASCII only: "²".isdigit() is true but int("²") fails


class DepanssurNps(Controller):
    def _nps_dossier_sudo(self, dossier_id, token):
        """The claim file whose link this is, or 404 (unknown file or wrong token alike)."""
        dossier_sudo = request.env["depanssur.dossier"].sudo().browse(dossier_id).exists()
        if not dossier_sudo or not dossier_sudo._nps_check_token(token):
            _logger.info("NPS page: refused token for claim file %s", dossier_id)
            raise request.not_found()
        return dossier_sudo

    def _nps_render(self, dossier_sudo, token, error=False, status=200):
        return render_in_client_language(
            dossier_sudo.partner_id,
            "depanssur.nps_page",
            {"dossier": dossier_sudo, "token": token, "error": error},
            status=status,
        )

    @route(
        "/depanssur/nps/<int:dossier_id>",
        type="http",
        auth="public",
        methods=["GET"],
        website=True,
        sitemap=False,
    )
    def nps_page(self, dossier_id, token="", **_kw):
        """The question and its form; a GET never records anything."""
        return self._nps_render(self._nps_dossier_sudo(dossier_id, token), token)

    @route(
        "/depanssur/nps/<int:dossier_id>/answer",
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
        sitemap=False,
        max_content_length=64 * 1024,
    )
    def nps_answer(self, dossier_id, token="", score="", comment="", **_kw):
        """The answer posted from the page: recorded once, the first answer stays."""
        dossier_sudo = self._nps_dossier_sudo(dossier_id, token)
        if not isinstance(score, str) or not SCORE_RE.fullmatch(score):
            return self._nps_render(dossier_sudo, token, error=True, status=400)
        comment = comment if isinstance(comment, str) else ""
        dossier_sudo._nps_answer(int(score), comment)
        return self._nps_render(dossier_sudo, token)
