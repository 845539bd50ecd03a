from odoo.exceptions import AccessError, MissingError
from odoo.http import Controller, request, route


class DepanssurCreditNoteController(Controller):
    @route("/depanssur/credit_note/<int:note_id>/pdf", type="http", auth="user", methods=["GET"])
    def credit_note_pdf(self, note_id, download=False, **_kwargs):
        """The legal PDF of a credit note, for users allowed to read it."""
        # exists(): the id comes from the path (0, negative, Arabic-Indic digits… all parse)
        note = request.env["depanssur.credit.note"].browse(note_id).exists()
        try:
            note.ensure_one()
            note.check_access("read")
        except (AccessError, MissingError, ValueError):
            raise request.not_found() from None
        if note.pdf_attachment_id:
            content = note.pdf_attachment_id.sudo().raw
        else:
            content = note._render_pdf()
        disposition = "attachment" if download else "inline"
        return request.make_response(
            content,
            headers=[
                ("Content-Type", "application/pdf"),
                ("Content-Disposition", f'{disposition}; filename="{note._pdf_filename()}"'),
                ("Content-Length", str(len(content))),
            ],
        )
