import logging

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

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
    # what French law wants printed on invoices and credit notes beside SIREN and VAT number
    # (Code de commerce R123-237, CGI art. 242 nonies A)
    depanssur_legal_form = fields.Char(
        string="Legal form", help="Printed on credit notes, e.g. SAS, SARL, SA."
    )
    depanssur_share_capital = fields.Monetary(
        string="Share capital", currency_field="currency_id", help="Printed on credit notes."
    )
    depanssur_rcs = fields.Char(
        string="Trade register (RCS)",
        help="The RCS registration printed on credit notes, e.g. RCS Lyon 912 345 675.",
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

    depanssur_sepa_max_debits = fields.Integer(
        string="Debits per bank file",
        default=10000,
        help="A collection date's debits are split into debit orders of at most this many, each "
        "with its own pain.008 file (banks take several files a day; a smaller file is built with "
        "less memory). 0: one order per collection date, whatever its size.",
    )

    @api.constrains("depanssur_sepa_max_debits")
    def _check_depanssur_sepa_max_debits(self):
        if any(company.depanssur_sepa_max_debits < 0 for company in self):
            raise ValidationError(
                self.env._("The number of debits per bank file cannot be negative.")
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
                    # a debit order needs its bank journal (the creditor's account)
                    ("bank_account_link", "=", "fixed"),
                    ("fixed_journal_id", "!=", False),
                ],
                limit=1,
            )
        )

    def _depanssur_missing_legal_mentions(self):
        """The labels of the legal mentions this company cannot print on an invoice or a credit
        note (French law: name, address, SIREN/SIRET, RCS, legal form, share capital, VAT
        number)."""
        self.ensure_one()
        company = self.sudo()
        checks = [
            (company.name, self.env._("company name")),
            (
                company.street and company.zip and company.city,
                self.env._("address (street, zip, city)"),
            ),
            (company.company_registry, self.env._("SIREN/SIRET (Company ID)")),
            (company.depanssur_rcs, self.env._("trade register (RCS)")),
            (company.depanssur_legal_form, self.env._("legal form")),
            (company.depanssur_share_capital > 0, self.env._("share capital")),
            (company.vat, self.env._("VAT number")),
        ]
        return [label for present, label in checks if not present]

    def _depanssur_check_legal_mentions(self):
        for company in self:
            missing = company._depanssur_missing_legal_mentions()
            if missing:
                raise UserError(
                    self.env._(
                        "%(company)s cannot issue a credit note: its %(missing)s must be printed "
                        "on it. Fill them in the company settings.",
                        company=company.name,
                        missing=", ".join(missing),
                    )
                )

    def _depanssur_demo_french_company(self):
        """Demo data: make this company the French business Depanssur is (legal data, France,
        the French chart of accounts, so EUR and its taxes). Loading a chart on a company with
        entries replaces them, as Odoo's own demo loading does: call it before any invoice."""
        france = self.env.ref("base.fr")
        for company in self:
            company.write(
                {
                    "name": "Depanssur SAS",
                    "street": "10 quai Perrache",
                    "zip": "69002",
                    "city": "Lyon",
                    "country_id": france.id,
                    "phone": "+33 4 78 00 00 00",
                    "email": "contact@depanssur.example.fr",
                    "company_registry": "91234567500017",
                    "vat": "FR65912345675",
                    "depanssur_rcs": "RCS Lyon 912 345 675",
                    "depanssur_legal_form": "SAS",
                    "depanssur_share_capital": 50000,
                }
            )
            if company.chart_template != "fr":
                self.env["account.chart.template"].try_loading("fr", company, install_demo=True)
