from odoo import fields, models
from odoo.exceptions import UserError

from .account_journal import AVOIR_PREFIX


class AccountMove(models.Model):
    _inherit = "account.move"

    depanssur_subscription_id = fields.Many2one(
        "depanssur.subscription", string="Subscription", index="btree_not_null", copy=False
    )
    depanssur_period_start = fields.Date(string="Billed period start", copy=False)
    depanssur_period_end = fields.Date(string="Billed period end", copy=False)
    depanssur_invoice_kind = fields.Selection(
        [("period", "Billing period"), ("prorata", "Upgrade prorata")],
        string="Subscription invoice kind",
        copy=False,
    )

    depanssur_credit_note_id = fields.Many2one(
        "depanssur.credit.note", string="Depanssur credit note", copy=False, index="btree_not_null"
    )
    depanssur_debit_date = fields.Date(
        string="To debit on",
        copy=False,
        index="btree_not_null",
        help="Collection date pre-notified to the client; emptied once the invoice is in a "
        "debit order, set again when a returned debit is re-presented.",
    )
    depanssur_sepa_return_ids = fields.One2many(
        "depanssur.sepa.return", "invoice_id", string="Bank returns"
    )

    _depanssur_period_unique = models.UniqueIndex(
        "(depanssur_subscription_id, depanssur_period_start) "
        "WHERE depanssur_invoice_kind = 'period' AND move_type = 'out_invoice' "
        "AND state != 'cancel'",
        "This subscription period is already invoiced.",
    )

    def _check_depanssur_credit_note_frozen(self):
        """The posted refund of an issued Depanssur credit note is the avoir itself: it is not
        reset to draft nor cancelled behind the credit note's back (superuser excepted)."""
        if self.env.su:
            return
        issued = self.filtered(
            lambda move: move.depanssur_credit_note_id.state in ("issued", "refunded")
        )
        if issued:
            raise UserError(
                self.env._(
                    "%(moves)s is the accounting side of the issued credit note %(notes)s: it "
                    "cannot be reset to draft or cancelled.",
                    moves=", ".join(issued.mapped("display_name")),
                    notes=", ".join(issued.depanssur_credit_note_id.mapped("display_name")),
                )
            )

    def button_draft(self):
        self._check_depanssur_credit_note_frozen()
        return super().button_draft()

    def button_cancel(self):
        self._check_depanssur_credit_note_frozen()
        return super().button_cancel()

    def _invoice_paid_hook(self):
        """A subscription invoice that becomes paid closes its dunning case at once, which lifts
        the suspension for non-payment the case caused (whoever records the payment: the
        payment wizard, an online payment, a bank reconciliation)."""
        result = super()._invoice_paid_hook()
        invoices = self.filtered(
            lambda move: move.move_type == "out_invoice" and move.depanssur_subscription_id
        )
        if invoices:
            # the accountant recording the payment need not have any Depanssur right
            self.env["depanssur.dunning.case"].sudo()._close_paid_invoices(invoices)
        return result

    # ------------------------------------------------------------
    # SEPA direct debit: when the debit is due, what the bank returned
    # ------------------------------------------------------------

    def _depanssur_send_prenotification(self):
        """The invoice email of a SEPA subscriber: amount and debit date, at least the agreed
        number of days before the debit (one batch composer for all the invoices)."""
        invoices = self.filtered(
            lambda move: move.partner_id.email_normalized and move.depanssur_debit_date
        )
        if not invoices:
            return 0
        template = self.env.ref("depanssur.mail_template_sepa_prenotification")
        composer = (
            self.env["mail.compose.message"]
            .sudo()
            .with_context(
                default_composition_mode="comment",
                default_model="account.move",
                default_res_ids=invoices.ids,
                default_template_id=template.id,
                mail_notify_force_send=False,
            )
            .create(
                {
                    "message_type": "notification",
                    "subtype_id": self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_comment"),
                }
            )
        )
        composer._action_send_mail()
        return len(invoices)

    def _depanssur_in_debit(self):
        """The invoices of ``self`` waiting in a debit order not sent to the bank yet (one
        search for all of them)."""
        if not self:
            return self
        lines = self.env["account.payment.line"].search(
            [
                ("move_line_id.move_id", "in", self.ids),
                ("order_id.state", "in", ("draft", "open", "generated")),
            ]
        )
        return self & lines.move_line_id.move_id

    # A Depanssur credit note is its posted refund: one number, one PDF
    # ------------------------------------------------------------

    def _depanssur_avoir_numbered(self):
        self.ensure_one()
        return self.move_type == "out_refund" and self.journal_id.depanssur_avoir_numbering

    def _get_starting_sequence(self):
        """AV/<year>/00000 for the credit notes of a journal numbered so (else Odoo's R<code>)."""
        starting_sequence = super()._get_starting_sequence()
        if self._depanssur_avoir_numbered():
            # "RINV/2026/00000" -> "AV/2026/00000"
            return AVOIR_PREFIX + starting_sequence[starting_sequence.index("/") :]
        return starting_sequence

    def _get_last_sequence_domain(self, relaxed=False):
        """Continue the AV/ numbering only (a journal numbered so later keeps its older R… credit
        notes out of it)."""
        where_string, param = super()._get_last_sequence_domain(relaxed=relaxed)
        if self._depanssur_avoir_numbered():
            where_string += " AND sequence_prefix LIKE %(depanssur_avoir_prefix)s "
            param["depanssur_avoir_prefix"] = f"{AVOIR_PREFIX}/%"
        return where_string, param

    def _depanssur_is_credit_note_document(self):
        """Whether this move's document is a Depanssur credit note's legal PDF."""
        self.ensure_one()
        note = self.sudo().depanssur_credit_note_id
        return (
            self.move_type == "out_refund"
            and self.state == "posted"
            and note.state in ("issued", "refunded")
            and note.name == self.name
        )

    def _depanssur_credit_note_pdf(self):
        """The legal PDF of the Depanssur credit note this move is (the stored one once issued)."""
        self.ensure_one()
        note = self.sudo().depanssur_credit_note_id
        attachment = note.pdf_attachment_id or self.sudo().invoice_pdf_report_id
        return attachment.raw if attachment else note._render_pdf()

    def _get_report_base_filename(self):
        if len(self) == 1 and self._depanssur_is_credit_note_document():
            return self.sudo().depanssur_credit_note_id._pdf_filename().removesuffix(".pdf")
        return super()._get_report_base_filename()

    def _get_invoice_report_filename(self, extension="pdf", report=None):
        if self._depanssur_is_credit_note_document():
            return f"{self._get_report_base_filename()}.{extension}"
        return super()._get_invoice_report_filename(extension=extension, report=report)
