import io
from collections import OrderedDict

from odoo import models


class IrActionsReport(models.Model):
    _inherit = "ir.actions.report"

    def _pre_render_qweb_pdf(self, report_ref, res_ids=None, data=None):
        """The document of a Depanssur credit note's accounting move is the credit note's own
        legal PDF, whatever invoice report is asked for (the Print button, the print menu, the
        send wizard, the portal): Odoo's invoice PDF is never produced for these moves."""
        if isinstance(res_ids, int):
            res_ids = [res_ids]
        if not res_ids or not self._is_invoice_report(report_ref):
            return super()._pre_render_qweb_pdf(report_ref, res_ids=res_ids, data=data)
        moves = self.env["account.move"].browse(res_ids)
        ours = moves.filtered(lambda move: move._depanssur_is_credit_note_document())
        if not ours:
            return super()._pre_render_qweb_pdf(report_ref, res_ids=res_ids, data=data)
        others = moves - ours
        other_streams = {}
        if others:
            other_streams, report_type = super()._pre_render_qweb_pdf(
                report_ref, res_ids=others.ids, data=data
            )
            if report_type != "pdf":  # Odoo renders HTML instead of PDF in tests
                return other_streams, report_type
        streams = OrderedDict()
        for move in moves:
            if move.id in streams:
                continue
            if move in ours:
                streams[move.id] = {
                    "stream": io.BytesIO(move._depanssur_credit_note_pdf()),
                    "attachment": None,
                }
            else:
                streams[move.id] = other_streams[move.id]
        return streams, "pdf"
