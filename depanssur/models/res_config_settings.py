from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    depanssur_retention_years = fields.Integer(
        string="RGPD retention (years)",
        config_parameter="depanssur.retention_years",
        default=3,
        help="Clients terminated for longer than this, with settled accounting, are anonymised.",
    )
