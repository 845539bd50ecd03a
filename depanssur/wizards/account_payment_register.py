import contextlib
import contextvars

from odoo import models

# Set by the sample-year generator only (a Python context variable: no RPC caller or other app
# can switch Odoo's reconciliation path through a context key)
_RECONCILE_IN_BATCH = contextvars.ContextVar("depanssur_reconcile_in_batch", default=False)


@contextlib.contextmanager
def reconcile_in_batch():
    """Within: the payment wizard reconciles its payments in one plan (see below)."""
    token = _RECONCILE_IN_BATCH.set(True)
    try:
        yield
    finally:
        _RECONCILE_IN_BATCH.reset(token)


class AccountPaymentRegister(models.TransientModel):
    _inherit = "account.payment.register"

    def _reconcile_payments(self, to_process, edit_mode=False):
        """Within ``reconcile_in_batch()`` (many invoices paid at once, one payment each, as the
        sample year does): the same matches as Odoo's, made in one
        reconciliation plan instead of one reconciliation per payment (each of which makes Odoo
        look again for the payments of the invoices it touched)."""
        if not _RECONCILE_IN_BATCH.get() or edit_mode or any("rate" in vals for vals in to_process):
            return super()._reconcile_payments(to_process, edit_mode=edit_mode)
        valid_types = self.env["account.payment"]._get_valid_payment_account_types()
        plan = []
        for vals in to_process:
            payment_lines = vals["payment"].move_id.line_ids.filtered(
                lambda line: (
                    line.parent_state == "posted"
                    and line.account_type in valid_types
                    and not line.reconciled
                )
            )
            for account in payment_lines.account_id:
                plan.append(
                    (payment_lines + vals["to_reconcile"]).filtered(
                        lambda line, account=account: (
                            line.account_id == account and not line.reconciled
                        )
                    )
                )
        self.env["account.move.line"]._reconcile_plan(plan)
        for vals in to_process:
            vals["to_reconcile"].move_id.matched_payment_ids += vals["payment"]
        return None
