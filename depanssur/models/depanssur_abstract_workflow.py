from odoo import models
from odoo.exceptions import UserError

from ..rules import workflow


class DepanssurWorkflowMixin(models.AbstractModel):
    """Every state change goes through ``_change_state``, checked against the model's pure
    transition table (``_depanssur_workflow``, from ``rules.workflow``); the views use computed
    booleans fed by the same table, and a direct ``write`` of the state is refused."""

    _name = "depanssur.workflow.mixin"
    _description = "Depanssur constrained workflow"
    _depanssur_workflow = {}

    def _change_state(self, new_state, **extra_vals):
        labels = dict(self._fields["state"]._description_selection(self.env))
        for record in self:
            try:
                workflow.check_transition(self._depanssur_workflow, record.state, new_state)
            except workflow.TransitionError:
                raise UserError(
                    self.env._(
                        "%(name)s cannot go from “%(from)s” to “%(to)s”.",
                        name=record.display_name,
                        **{"from": labels[record.state], "to": labels[new_state]},
                    )
                ) from None
        return self.with_context(depanssur_state_change=True).write(
            dict(extra_vals, state=new_state)
        )
