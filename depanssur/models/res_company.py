import logging

from odoo import fields, models

_logger = logging.getLogger(__name__)


class ResCompany(models.Model):
    _inherit = "res.company"

    depanssur_portal_responsible_id = fields.Many2one(
        "res.users",
        string="Responsible for portal requests",
        domain=[("share", "=", False)],
        help="Gets the activities of the termination and insured-home change requests that "
        "clients make on the customer portal, and of web sign-ups matching an existing client. "
        "Empty: the first active Depanssur manager.",
    )

    def _depanssur_portal_responsible(self):
        """The internal user who handles this company's portal requests: the configured one while
        active and allowed in the company, else the first active Depanssur manager of the company,
        else the administrator. Never the public user (the create_uid of web sign-ups) nor a
        portal user."""
        self.ensure_one()

        def usable(user):
            return user.active and not user.share and self in user.company_ids

        configured = self.sudo().depanssur_portal_responsible_id
        if configured and usable(configured):
            return configured
        managers = self.env.ref("depanssur.group_depanssur_manager").sudo().all_user_ids
        manager = managers.filtered(usable).sorted("id")[:1]
        if manager:
            return manager
        _logger.warning(
            "%s has no active Depanssur manager: portal requests go to the administrator", self.name
        )
        return self.env.ref("base.user_admin").sudo()

    depanssur_sepa_payment_mode_id = fields.Many2one(
        "account.payment.mode",
        string="SEPA direct debit mode",
        domain="[('payment_method_id.code', '=', 'sepa_direct_debit'), ('company_id', '=', id)]",
        help="Payment mode of the monthly debit orders (its bank journal holds the creditor's "
        "account). Empty: the company's first SEPA direct debit mode.",
    )

    def _depanssur_sepa_payment_mode(self):
        self.ensure_one()
        mode = self.sudo().depanssur_sepa_payment_mode_id
        if mode:
            return mode
        return (
            self.env["account.payment.mode"]
            .sudo()
            .search(
                [
                    ("company_id", "=", self.id),
                    ("payment_method_id.code", "=", "sepa_direct_debit"),
                ],
                limit=1,
            )
        )
