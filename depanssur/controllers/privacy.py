"""Right of access: the client's data as one archive (JSON + PDF summary).

Both routes are GETs without side effects (nothing recorded, only a server log line): the portal
one exports the logged-in client's own data and takes no identifier; the back-office one exports
a client for an agent, the model deciding who may.
"""

from odoo.exceptions import AccessError, UserError
from odoo.http import Controller, content_disposition, request, route


class DepanssurPrivacy(Controller):
    def _zip_response(self, partner):
        filename, content = partner._depanssur_privacy_export()
        return request.make_response(
            content,
            headers=[
                ("Content-Type", "application/zip"),
                ("Content-Disposition", content_disposition(filename)),
                ("Cache-Control", "no-store"),
            ],
        )

    @route("/my/privacy/export", type="http", auth="user", methods=["GET"], website=True)
    def portal_privacy_export(self, **_kw):
        return self._zip_response(request.env.user.partner_id)

    @route("/depanssur/privacy/export/<int:partner_id>", type="http", auth="user", methods=["GET"])
    def backoffice_privacy_export(self, partner_id, **_kw):
        partner = request.env["res.partner"].browse(partner_id).exists()
        if not partner:
            raise request.not_found()
        try:
            return self._zip_response(partner)
        except (AccessError, UserError):
            return request.make_json_response({"error": "forbidden"}, status=403)
