"""19.0.1.2.0 → 19.0.1.3.0: a collection date's debits are split into orders of at most the
company's "Debits per bank file" (parts 1, 2, ...).

The draft orders built so far are part 1 of their date (the new column's default); the unique
index that allowed one draft order per company and date gives way to one per part.
"""

from odoo.tools import sql


def migrate(cr, version):
    if not version:
        return
    name = "account_payment_order_depanssur_one_draft_per_date"
    sql.drop_index(cr, name, "account_payment_order")
    # and its reflection (``ir.model.constraint``): the module no longer declares it
    cr.execute(
        "DELETE FROM ir_model_data WHERE model = 'ir.model.constraint' AND res_id IN "
        "(SELECT id FROM ir_model_constraint WHERE name = %s)",
        (name,),
    )
    cr.execute("DELETE FROM ir_model_constraint WHERE name = %s", (name,))
