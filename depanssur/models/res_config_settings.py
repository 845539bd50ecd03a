from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    depanssur_retention_years = fields.Integer(
        string="RGPD retention (years)",
        config_parameter="depanssur.retention_years",
        default=3,
        help="Clients terminated for longer than this, with settled accounting, are anonymised.",
    )
    depanssur_webhook_payload_days = fields.Integer(
        string="Webhook payload retention (days)",
        config_parameter="depanssur.webhook_payload_days",
        default=90,
        help="The payload of a processed webhook event is dropped after this many days; the "
        "event itself (type, dates, state, claim file) is kept.",
    )
    depanssur_credit_note_threshold = fields.Float(
        string="Credit note approval threshold",
        config_parameter="depanssur.credit_note_threshold",
        default=100.0,
        help="Credit notes above this total (incl. VAT) need an approval by Accounting.",
    )
    depanssur_webhook_max_kb = fields.Integer(
        string="Webhook size limit (KB)",
        config_parameter="depanssur.webhook_max_kb",
        default=256,
    )
    depanssur_webhook_tolerance = fields.Integer(
        string="Webhook timestamp tolerance (s)",
        config_parameter="depanssur.webhook_tolerance",
        default=300,
    )
    depanssur_address_cutoff_days = fields.Integer(
        string="Address change cut-off (days)",
        config_parameter="depanssur.address_cutoff_days",
        default=10,
        help="A change of insured home requested fewer days than this before the next billing "
        "period starts takes effect one period later.",
    )
    depanssur_portal_responsible_id = fields.Many2one(
        related="company_id.depanssur_portal_responsible_id", readonly=False
    )
    depanssur_sepa_payment_mode_id = fields.Many2one(
        related="company_id.depanssur_sepa_payment_mode_id",
        readonly=False,
        # the modes the debit orders can use (``res.company._depanssur_sepa_payment_mode``)
        domain="[('payment_method_id.code', '=', 'sepa_direct_debit'), "
        "('company_id', '=', company_id), ('bank_account_link', '=', 'fixed'), "
        "('fixed_journal_id', '!=', False)]",
    )
    depanssur_sepa_max_debits = fields.Integer(
        related="company_id.depanssur_sepa_max_debits", readonly=False
    )

    def action_depanssur_generate_sample_year(self):
        """Settings > Depanssur > Demonstration: the sample year (administrators, demo
        databases only: checked by the generator)."""
        return self.env["depanssur.sample.year"].action_generate()
