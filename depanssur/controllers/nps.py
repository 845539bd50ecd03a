"""/depanssur/nps/<id>: the satisfaction question linked from the "intervention done" email."""

import hashlib
import hmac

from odoo import fields
from odoo.http import Controller, request, route


def nps_token(env, dossier_id):
    secret = env["ir.config_parameter"].sudo().get_param("database.secret")
    return hmac.new(secret.encode(), f"nps-{dossier_id}".encode(), hashlib.sha256).hexdigest()[:32]


class DepanssurNps(Controller):
    @route(
        "/depanssur/nps/<int:dossier_id>", type="http", auth="public", methods=["GET"], website=True
    )
    def nps(self, dossier_id, token="", score=None, **_kw):
        dossier = request.env["depanssur.dossier"].sudo().browse(dossier_id).exists()
        if not dossier or not hmac.compare_digest(token, nps_token(request.env, dossier_id)):
            raise request.not_found()
        recorded = False
        if score is not None and score.isdigit() and 0 <= int(score) <= 10:
            if not dossier.nps_date:
                dossier.write({"nps_score": int(score), "nps_date": fields.Datetime.now()})
            recorded = True
        return request.render(
            "depanssur.nps_page", {"dossier": dossier, "token": token, "recorded": recorded}
        )
