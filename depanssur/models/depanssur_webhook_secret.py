import base64
import secrets

from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError

from ..rules import webhook_signature


class DepanssurWebhookSecret(models.Model):
    """Signing secrets shared with Depanssur's tool; several may be active during a rotation."""

    _name = "depanssur.webhook.secret"
    _description = "Webhook signing secret"
    _order = "create_date desc, id desc"

    name = fields.Char(required=True, default="Depanssur")
    secret = fields.Char(
        required=True,
        groups="base.group_system",
        copy=False,
        default=lambda self: "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
        help="whsec_ followed by base64: give it to Depanssur's tool, never by email.",
    )
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)

    @api.constrains("secret")
    def _check_secret(self):
        for record in self.sudo():
            try:
                webhook_signature.parse_secret(record.secret)
            except ValueError as error:
                raise ValidationError(
                    self.env._("Invalid webhook secret: %s", str(error))
                ) from None

    @api.model
    def _active_secrets(self):
        """The active secrets, cached per worker (the accept path runs no query for them)."""
        return list(self._active_secrets_cached())

    @api.model
    @tools.ormcache()
    def _active_secrets_cached(self):
        return tuple(self.sudo().search([("active", "=", True)]).mapped("secret"))

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()
