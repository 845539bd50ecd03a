import logging

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tools import float_compare

from ..rules import workflow
from .depanssur_abstract_workflow import check_no_forced_unlink

_logger = logging.getLogger(__name__)

REASONS = [
    ("termination_prorata", "Termination prorata"),
    ("plan_change", "Plan change adjustment"),
    ("billing_error", "Billing error"),
    ("duplicate_payment", "Duplicate payment"),
    ("commercial_gesture", "Commercial gesture"),
    ("write_off", "Unpaid write-off"),
    ("other", "Other"),
]
ISSUED_STATES = ("issued", "refunded")
# what stays writable on a note that left draft: its chatter and activities
CHATTER_FIELD_PREFIXES = ("message_", "activity_")


class DepanssurCreditNote(models.Model):
    """A credit note ("avoir") prepared in the back office, approved, then issued as a posted
    Odoo customer credit note (``out_refund``) with its legal PDF."""

    _name = "depanssur.credit.note"
    _inherit = [
        "mail.thread",
        "mail.activity.mixin",
        "depanssur.notify.mixin",
        "depanssur.workflow.mixin",
    ]
    _description = "Credit note"
    _order = "id desc"
    _check_company_auto = True
    _depanssur_workflow = workflow.CREDIT_NOTE
    _depanssur_workflow_fields = frozenset(
        {"state", "name", "issue_date", "approved_by_id", "move_id", "pdf_attachment_id"}
    )

    name = fields.Char(string="Number", readonly=True, copy=False, default="/", index=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    partner_id = fields.Many2one(
        "res.partner", string="Client", required=True, tracking=True, check_company=True
    )
    subscription_id = fields.Many2one(
        "depanssur.subscription", tracking=True, check_company=True, index="btree_not_null"
    )
    invoice_id = fields.Many2one(
        "account.move",
        string="Origin invoice",
        tracking=True,
        check_company=True,
        domain="[('move_type', '=', 'out_invoice'), ('state', '=', 'posted'), "
        "('commercial_partner_id', '=', partner_id)]",
    )
    reason = fields.Selection(REASONS, required=True, tracking=True)
    reason_text = fields.Text(string="Reason details")
    line_ids = fields.One2many("depanssur.credit.note.line", "credit_note_id", string="Lines")
    amount_untaxed = fields.Monetary(compute="_compute_amounts", store=True)
    amount_tax = fields.Monetary(compute="_compute_amounts", store=True)
    amount_total = fields.Monetary(compute="_compute_amounts", store=True)
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("to_approve", "To approve"),
            ("approved", "Approved"),
            ("issued", "Issued"),
            ("refunded", "Settled"),
            ("cancelled", "Cancelled"),
        ],
        default="draft",
        required=True,
        readonly=True,
        copy=False,
        tracking=True,
        index=True,
    )
    issue_date = fields.Date(readonly=True, copy=False)
    approved_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    move_id = fields.Many2one(
        "account.move", string="Accounting credit note", readonly=True, copy=False
    )
    pdf_attachment_id = fields.Many2one("ir.attachment", readonly=True, copy=False)
    settlement = fields.Selection(
        [
            ("open", "Not used yet"),
            ("partial", "Partly used"),
            ("offset", "Offset against an invoice"),
            ("refunded", "Refunded to the client"),
        ],
        compute="_compute_settlement",
        help="How the issued credit note was used, from its reconciliation in accounting: "
        "deducted from an invoice of the client, paid back to the client, or not yet.",
    )
    is_submit_allowed = fields.Boolean(compute="_compute_allowed_transitions")
    is_approve_allowed = fields.Boolean(compute="_compute_allowed_transitions")
    is_issue_allowed = fields.Boolean(compute="_compute_allowed_transitions")
    is_cancel_allowed = fields.Boolean(compute="_compute_allowed_transitions")

    @api.depends("move_id.payment_state", "move_id.amount_residual")
    def _compute_settlement(self):
        for note in self:
            move = note.move_id.sudo()
            if not move or move.state != "posted":
                note.settlement = False
                continue
            receivable = move.line_ids.filtered(
                lambda line: line.account_id.account_type == "asset_receivable"
            )
            counterparts = receivable.matched_debit_ids.debit_move_id.move_id
            if not counterparts:
                note.settlement = "open"
            elif not move.currency_id.is_zero(move.amount_residual):
                note.settlement = "partial"
            elif all(other.move_type == "out_invoice" for other in counterparts):
                note.settlement = "offset"
            else:
                note.settlement = "refunded"

    @api.depends("line_ids.price_subtotal", "line_ids.price_tax")
    def _compute_amounts(self):
        for note in self:
            note.amount_untaxed = sum(note.line_ids.mapped("price_subtotal"))
            note.amount_tax = sum(note.line_ids.mapped("price_tax"))
            note.amount_total = note.amount_untaxed + note.amount_tax

    @api.depends("state")
    def _compute_allowed_transitions(self):
        for note in self:
            targets = workflow.allowed_targets(workflow.CREDIT_NOTE, note.state)
            note.is_submit_allowed = note.state == "draft"
            note.is_approve_allowed = note.state == "to_approve"
            note.is_issue_allowed = "issued" in targets
            note.is_cancel_allowed = "cancelled" in targets

    @api.constrains("invoice_id", "reason")
    def _check_origin_invoice(self):
        for note in self:
            if not note.invoice_id and note.reason != "commercial_gesture":
                raise ValidationError(
                    self.env._("An origin invoice is required, except for a commercial gesture.")
                )
            if note.invoice_id and note.invoice_id.commercial_partner_id != (
                note.partner_id.commercial_partner_id
            ):
                raise ValidationError(self.env._("The origin invoice belongs to another client."))

    @api.constrains("reason", "reason_text")
    def _check_reason_text(self):
        for note in self:
            if note.reason == "other" and not (note.reason_text or "").strip():
                raise ValidationError(self.env._("Explain the reason of the credit note."))

    def _message_track(self, fields_iter, initial_values_dict):
        # written by a job or a webhook: the tracked values in the client's language
        return self._depanssur_track_in_client_lang(
            lambda records, *args: super(DepanssurCreditNote, records)._message_track(*args),  # noqa: UP008
            fields_iter,
            initial_values_dict,
        )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            vals["name"] = "/"
        return super().create(vals_list)

    def write(self, vals):
        if any(not name.startswith(CHATTER_FIELD_PREFIXES) for name in vals):
            self._check_editable()
        return super().write(vals)

    def _check_editable(self):
        """An issued credit note is frozen for everyone (as a posted accounting entry); the
        content of a note that left draft changes only through the workflow."""
        if self._depanssur_in_workflow():
            return
        if any(note.state in ISSUED_STATES for note in self):
            raise UserError(self.env._("An issued credit note cannot be modified."))
        if not self.env.su and any(note.state != "draft" for note in self):
            raise UserError(
                self.env._("Only a draft credit note can be modified; cancel it and draft another.")
            )

    @api.ondelete(at_uninstall=False)
    def _unlink_only_draft(self):
        if any(note.state not in ("draft", "cancelled") or note.name != "/" for note in self):
            raise UserError(self.env._("Only draft credit notes can be deleted."))

    # ------------------------------------------------------------
    # Workflow
    # ------------------------------------------------------------

    def _check_accounting(self):
        self._depanssur_check_group(
            "depanssur.group_depanssur_accounting",
            self.env._("Only Depanssur accounting can approve or issue credit notes."),
        )

    @api.model
    def _approval_threshold(self):
        return float(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("depanssur.credit_note_threshold", 100.0)
        )

    def _creditable_amount(self):
        """What can still be credited on the origin invoice: its total minus the credit notes
        already issued (or approved, so they cannot pass the cap together) on it."""
        self.ensure_one()
        invoice = self.invoice_id
        if not invoice:
            return None
        others = self.search(
            [
                ("invoice_id", "=", invoice.id),
                ("id", "!=", self.id),
                ("state", "in", ("approved", "issued", "refunded")),
            ]
        )
        refunded = invoice.reversal_move_ids.filtered(
            lambda m: m.state == "posted" and m not in others.move_id
        )
        return (
            invoice.amount_total
            - sum(others.mapped("amount_total"))
            - sum(refunded.mapped("amount_total"))
        )

    def _check_amounts(self):
        for note in self:
            if not note.line_ids or note.currency_id.compare_amounts(note.amount_total, 0) <= 0:
                raise UserError(self.env._("A credit note needs lines with a positive total."))
            creditable = note._creditable_amount()
            if (
                creditable is not None
                and note.currency_id.compare_amounts(note.amount_total, creditable) > 0
            ):
                raise UserError(
                    self.env._(
                        "The credit note (%(total)s) exceeds what remains creditable on %(invoice)s"
                        " (%(left)s).",
                        total=note.amount_total,
                        invoice=note.invoice_id.name,
                        left=creditable,
                    )
                )

    def action_submit(self):
        """Draft → approved, or to approve when the total is above the threshold."""
        self._check_amounts()
        threshold = self._approval_threshold()
        for note in self:
            if float_compare(note.amount_total, threshold, precision_digits=2) > 0:
                note._change_state("to_approve")
                note.activity_schedule(
                    "mail.mail_activity_data_todo",
                    summary=self.env._("Approve credit note"),
                    user_id=note._approver().id,
                )
            else:
                note._change_state("approved", approved_by_id=self.env.user.id)
        return True

    def _approver(self):
        """Who gets the approval activity: the first active Depanssur Accounting user of the
        note's company (the submitter cannot approve above the threshold), else the submitter."""
        self.ensure_one()
        accountants = (
            self.env.ref("depanssur.group_depanssur_accounting")
            .sudo()
            .all_user_ids.filtered(
                lambda user: user.active and not user.share and self.company_id in user.company_ids
            )
        )
        return accountants.sorted("id")[:1] or self.env.user

    def action_approve(self):
        self._check_accounting()
        self._check_amounts()
        self._change_state("approved", approved_by_id=self.env.user.id)
        self.activity_feedback(["mail.mail_activity_data_todo"])
        return True

    def action_cancel(self):
        self._change_state("cancelled")
        return True

    def action_issue(self):
        """Post the accounting credit note (its number, AV/<year>/<n>, is the credit note's:
        the gapless refund numbering of the sales journal), reconcile, PDF, email."""
        self._check_accounting()
        self._check_amounts()
        for note in self:
            if note.state != "approved":
                note._change_state("issued")  # raises the proper transition error
        self.company_id._depanssur_check_legal_mentions()
        for note in self:
            move = note.sudo()._create_accounting_move(fields.Date.context_today(self))
            note._change_state(
                "issued", name=move.name, issue_date=move.invoice_date, move_id=move.id
            )
            note._attach_pdf()
            note._send_issued_email()
        self._sync_refunded()
        return True

    def _prepare_move_lines(self):
        return [
            Command.create(
                {
                    "name": line.name,
                    "quantity": line.quantity,
                    "price_unit": line.price_unit,
                    "tax_ids": [Command.set(line.tax_ids.ids)],
                    "product_id": line.product_id.id,
                }
            )
            for line in self.line_ids
        ]

    def _create_accounting_move(self, issue_date):
        """The posted out_refund that is this credit note, numbered on posting."""
        self.ensure_one()
        values = {
            "ref": self.with_context(lang=self._client_lang())._reason_label(),
            "invoice_date": issue_date,
            "date": issue_date,
            "depanssur_credit_note_id": self.id,
        }
        if self.invoice_id:
            # Odoo's reversal machinery: links reversed_entry_id, journal, partner, fiscal position
            move = self.invoice_id._reverse_moves([values])
            move.write(
                {
                    "invoice_line_ids": [Command.delete(line.id) for line in move.invoice_line_ids]
                    + self._prepare_move_lines()
                }
            )
        else:
            move = self.env["account.move"].create(
                dict(
                    values,
                    move_type="out_refund",
                    partner_id=self.partner_id.id,
                    company_id=self.company_id.id,
                    invoice_line_ids=self._prepare_move_lines(),
                )
            )
        move.journal_id._depanssur_enable_avoir_numbering()
        move.action_post()
        invoice = self.invoice_id
        # not an invoice waiting in a debit order not yet sent to the bank: the bank would still
        # debit its full amount (the note then stays open, to be refunded or offset later)
        if (
            invoice
            and invoice.payment_state in ("not_paid", "partial")
            and not invoice._depanssur_in_debit()
        ):
            receivable = (move | invoice).line_ids.filtered(
                lambda line: (
                    line.account_id.account_type == "asset_receivable" and not line.reconciled
                )
            )
            receivable.reconcile()
        return move

    def _sync_refunded(self):
        """Issued → refunded once the accounting credit note is paid (refund or reconciliation)."""
        paid = self.filtered(
            lambda n: n.state == "issued" and n.move_id.payment_state in ("paid", "in_payment")
        )
        paid._change_state("refunded")
        return paid

    @api.model
    def _cron_sync_refunded(self):
        return self.search([("state", "=", "issued")])._sync_refunded()

    # ------------------------------------------------------------
    # PDF and email
    # ------------------------------------------------------------

    def _reason_label(self):
        """The reason in the current language, with its details."""
        self.ensure_one()
        reason = dict(self._fields["reason"]._description_selection(self.env))[self.reason]
        if self.reason_text:
            reason = f"{reason} — {self.reason_text}"
        return reason

    def _client_lang(self):
        """The language of the client's documents: theirs, else the company's."""
        self.ensure_one()
        return self.partner_id.lang or self.company_id.partner_id.lang or self.env.lang

    def _pdf_document(self):
        """The pure renderer's input (rules.credit_note_pdf) built from this credit note, in
        the client's language (whoever prints or issues it)."""
        self.ensure_one()
        return self.with_context(lang=self._client_lang())._prepare_pdf_document()

    def _prepare_pdf_document(self):
        self.ensure_one()
        from ..rules import credit_note_pdf as pdf

        company = self.company_id
        partner = self.partner_id

        def party(record, company_record=None):
            lines = [
                record.street,
                record.street2,
                " ".join(filter(None, [record.zip, record.city])),
            ]
            if record.country_id and record.country_id.code != "FR":
                lines.append(record.country_id.name)
            legal = {}
            if company_record:
                legal = {
                    "siren": company_record.company_registry or "",
                    "legal_form": company_record.depanssur_legal_form or "",
                    "rcs": company_record.depanssur_rcs or "",
                    "capital": pdf.format_amount_fr(
                        pdf.Decimal(str(company_record.depanssur_share_capital)),
                        company_record.currency_id.symbol or "€",
                    )
                    if company_record.depanssur_share_capital
                    else "",
                }
            return pdf.Party(
                name=record.name or "",
                address_lines=[line for line in lines if line],
                vat=record.vat or "",
                email=record.email or "",
                phone=record.phone or "",
                **legal,
            )

        lines = [
            pdf.CreditNoteLine(
                description=line.name,
                quantity=pdf.Decimal(str(line.quantity)),
                unit_price=pdf.Decimal(str(line.price_unit)),
                vat_rate=pdf.Decimal(str(sum(line.tax_ids.mapped("amount")))),
                untaxed=pdf.Decimal(str(line.price_subtotal)),
                tax=pdf.Decimal(str(line.price_tax)),
            )
            for line in self.line_ids
        ]
        reason = self._reason_label()
        return pdf.CreditNoteDocument(
            number=self.name if self.name != "/" else self.env._("DRAFT"),
            date=self.issue_date or fields.Date.context_today(self),
            seller=party(company.partner_id, company),
            client=party(partner.commercial_partner_id if partner.parent_id else partner),
            origin_number=self.invoice_id.name or "",
            origin_date=self.invoice_id.invoice_date,
            reason=reason,
            lines=lines,
            total_untaxed=pdf.Decimal(str(self.amount_untaxed)),
            total_tax=pdf.Decimal(str(self.amount_tax)),
            total=pdf.Decimal(str(self.amount_total)),
            currency_symbol=self.currency_id.symbol or "€",
            legal_footer=pdf.html_to_text(company.report_footer),
            labels=self._pdf_labels(),
        )

    def _pdf_labels(self):
        """The printed words in the current language (see rules.credit_note_pdf.LABELS)."""
        return {
            "title": self.env._("CREDIT NOTE"),
            "number": self.env._("No."),
            "date": self.env._("Date:"),
            "origin": self.env._("Credit note on invoice %(number)s of %(date)s"),
            "no_origin": self.env._("Commercial credit note, without an original invoice"),
            "reason": self.env._("Reason:"),
            "client": self.env._("CLIENT"),
            "siren": self.env._("SIREN/SIRET:"),
            "vat": self.env._("VAT number:"),
            "phone": self.env._("Phone:"),
            "capital": self.env._("%(form)s with a share capital of %(capital)s"),
            "description": self.env._("Description"),
            "quantity": self.env._("Qty"),
            "unit_price": self.env._("Unit price excl. VAT"),
            "vat_rate": self.env._("VAT rate"),
            "untaxed": self.env._("Amount excl. VAT"),
            "tax": self.env._("VAT"),
            "summary_rate": self.env._("VAT rate"),
            "summary_base": self.env._("Base excl. VAT"),
            "summary_tax": self.env._("VAT"),
            "total_untaxed": self.env._("Total excl. VAT"),
            "total_tax": self.env._("Total VAT"),
            "total": self.env._("Credit note total incl. VAT"),
            "notice": self.env._(
                "This credit note is deducted from the amounts you owe, or refunded to you if "
                "they are already paid."
            ),
            "page": self.env._("Page %(page)s / %(total)s"),
        }

    def _render_pdf(self):
        from ..rules import credit_note_pdf as pdf

        return pdf.render(self._pdf_document())

    def _pdf_filename(self):
        return "Avoir-%s.pdf" % (self.name or "brouillon").replace("/", "-")

    def _attach_pdf(self):
        """The legal PDF, rendered once: in the credit note's chatter (and its email) and as the
        document of its accounting move (Odoo's print, send and portal download use it)."""
        for note in self:
            content = note._render_pdf()
            filename = note._pdf_filename()
            values = {"name": filename, "raw": content, "mimetype": "application/pdf"}
            attachment = self.env["ir.attachment"].create(
                dict(values, res_model=note._name, res_id=note.id)
            )
            # the accounting move's document (a Binary field's attachment: readable as the move)
            self.env["ir.attachment"].sudo().create(
                dict(
                    values,
                    res_model="account.move",
                    res_id=note.move_id.id,
                    res_field="invoice_pdf_report_file",
                )
            )
            note.move_id.invalidate_recordset(["invoice_pdf_report_id", "invoice_pdf_report_file"])
            note._depanssur_write({"pdf_attachment_id": attachment.id})
            note.message_post(
                body=note._depanssur_writer_env()._(
                    "Credit note %(number)s issued.", number=note.name
                ),
                attachment_ids=attachment.ids,
            )

    def _send_issued_email(self):
        for note in self:
            note._depanssur_notify("credit_note.issued", attachments=note.pdf_attachment_id)

    def action_print_pdf(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": f"/depanssur/credit_note/{self.id}/pdf",
            "target": "new",
        }


class DepanssurCreditNoteLine(models.Model):
    _name = "depanssur.credit.note.line"
    _description = "Credit note line"
    _order = "sequence, id"

    credit_note_id = fields.Many2one(
        "depanssur.credit.note", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="credit_note_id.company_id", store=True)
    currency_id = fields.Many2one(related="credit_note_id.currency_id")
    sequence = fields.Integer(default=10)
    product_id = fields.Many2one("product.product")
    name = fields.Text(string="Description", required=True)
    quantity = fields.Float(default=1.0, digits="Product Unit")
    price_unit = fields.Float(string="Unit price", digits="Product Price")
    tax_ids = fields.Many2many(
        "account.tax",
        string="Taxes",
        domain="[('type_tax_use', '=', 'sale'), ('company_id', 'parent_of', company_id)]",
    )
    price_subtotal = fields.Monetary(compute="_compute_amounts", store=True, string="Untaxed")
    price_tax = fields.Monetary(compute="_compute_amounts", store=True, string="Tax")
    price_total = fields.Monetary(compute="_compute_amounts", store=True, string="Total")

    _positive = models.Constraint(
        "CHECK (quantity > 0 AND price_unit >= 0)",
        "Credit note lines need a positive quantity and a non-negative price.",
    )

    @api.depends("quantity", "price_unit", "tax_ids")
    def _compute_amounts(self):
        for line in self:
            currency = line.currency_id or self.env.company.currency_id
            taxes = line.tax_ids.compute_all(
                line.price_unit, currency=currency, quantity=line.quantity
            )
            line.price_subtotal = taxes["total_excluded"]
            line.price_total = taxes["total_included"]
            line.price_tax = taxes["total_included"] - taxes["total_excluded"]

    @api.model_create_multi
    def create(self, vals_list):
        self.env["depanssur.credit.note"].browse(
            [vals["credit_note_id"] for vals in vals_list if vals.get("credit_note_id")]
        )._check_editable()
        return super().create(vals_list)

    def write(self, vals):
        notes = self.credit_note_id
        if vals.get("credit_note_id"):
            notes |= notes.browse(vals["credit_note_id"])
        notes._check_editable()
        return super().write(vals)

    def unlink(self):
        check_no_forced_unlink(self)
        return super().unlink()

    @api.ondelete(at_uninstall=False)
    def _unlink_only_draft(self):
        self.credit_note_id._check_editable()
