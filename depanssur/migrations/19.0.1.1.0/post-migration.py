"""19.0.1.0.0 → 19.0.1.1.0: first and last name are derived from the full name.

In 19.0.1.0.0 only the contacts Depanssur's forms had written carried a first and last name; the
other contacts of the database had none. The parts are now computed from Odoo's ``name`` for
every person: the parts that still spell the name are kept, the others are split from it. The
full names themselves are not touched. ``depanssur_client`` is a new stored field, computed by
Odoo when its column is created (a contact with a subscription is a client).
"""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    partners = env["res.partner"].with_context(active_test=False)
    persons = partners.search([("is_company", "=", False), ("type", "=", "contact")], order="id")
    for fname in ("first_name", "last_name"):
        env.add_to_compute(partners._fields[fname], persons)
    env.flush_all()
