"""Pieces shared by the pages a client opens from a signed link (NPS, consent re-ask, mandate)."""

from odoo.http import request


def render_in_client_language(partner, template, values, status=200):
    """``template`` rendered in ``partner``'s language when it is installed (an anonymous
    visitor's session would otherwise choose it)."""
    lang = partner.lang
    if lang and lang in dict(request.env["res.lang"].get_installed()):
        request.update_context(lang=lang)
    return request.render(template, values, status=status)
