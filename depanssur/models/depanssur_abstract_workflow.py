import contextvars

from odoo import api, models
from odoo.addons.base.models.ir_model import MODULE_UNINSTALL_FLAG
from odoo.exceptions import AccessError, UserError

from ..rules import workflow

# The (model, id) pairs that a workflow method of this addon is writing right now. A Python
# context variable, not an Odoo context key: an RPC caller can put any key in the context, but it
# reaches neither this variable nor the private methods that set it.
_WORKFLOW_WRITES = contextvars.ContextVar("depanssur_workflow_writes", default=frozenset())


def check_no_forced_unlink(records):
    """Odoo skips the ``@api.ondelete(at_uninstall=False)`` guards when the context carries its
    uninstall flag, a key any RPC caller can set: only the superuser (an uninstall) may."""
    if records.env.context.get(MODULE_UNINSTALL_FLAG) and not records.env.su:
        raise AccessError(
            records.env._("Records are deleted this way only while uninstalling a module.")
        )


class DepanssurWorkflowMixin(models.AbstractModel):
    """Every state change goes through ``_change_state``, checked against the model's pure
    transition table (``_depanssur_workflow``, from ``rules.workflow``); the views use computed
    booleans fed by the same table.

    The fields of ``_depanssur_workflow_fields`` (the state and what goes with it) are written
    only by the workflow (``_change_state``, ``_depanssur_write``): a direct ``write`` or a
    ``create`` setting them is refused, whatever the context says; the only bypass is
    ``env.su``. Who may run a transition is checked by the actions themselves
    (``_depanssur_check_group``)."""

    _name = "depanssur.workflow.mixin"
    _description = "Depanssur constrained workflow"
    _depanssur_workflow = {}
    _depanssur_workflow_fields = frozenset({"state"})

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            self._depanssur_check_workflow_create(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and not self._depanssur_in_workflow():
            guarded = sorted(self._depanssur_workflow_fields & vals.keys())
            if guarded:
                self._depanssur_raise_guarded(guarded[0])
        return super().write(vals)

    def unlink(self):
        check_no_forced_unlink(self)
        return super().unlink()

    def _depanssur_check_workflow_create(self, vals_list):
        """A new record starts where the workflow starts: the guarded fields keep their defaults
        (given in the values or as ``default_<field>`` context keys)."""
        guarded = self._depanssur_workflow_fields
        context_defaults = {
            key.removeprefix("default_"): value
            for key, value in self.env.context.items()
            if key.startswith("default_") and key.removeprefix("default_") in guarded
        }
        for vals in [context_defaults, *vals_list]:
            for name in sorted(guarded & vals.keys()):
                field = self._fields[name]
                initial = field.default(self) if field.default else False
                if (vals[name] or False) != (initial or False):
                    self._depanssur_raise_guarded(name)

    def _depanssur_raise_guarded(self, name):
        raise UserError(
            self.env._(
                "%(model)s: “%(field)s” changes only through its actions.",
                model=self.env["ir.model"]._get(self._name).name,
                field=self._fields[name]._description_string(self.env),
            )
        )

    def _depanssur_in_workflow(self):
        """Whether a workflow method is writing every record of ``self`` right now."""
        writing = _WORKFLOW_WRITES.get()
        return all((self._name, record_id) in writing for record_id in self._ids)

    def _depanssur_write(self, vals):
        """Write ``vals`` as the workflow does, guarded fields included. Private on purpose: the
        callers check the transition and the user's groups first. Access rights and record
        rules still apply (this is the user's own write, not a sudo)."""
        token = _WORKFLOW_WRITES.set(
            _WORKFLOW_WRITES.get() | {(self._name, record_id) for record_id in self.ids}
        )
        try:
            return self.write(vals)
        finally:
            _WORKFLOW_WRITES.reset(token)

    def _depanssur_check_group(self, group_xmlid, message):
        """Raise ``AccessError(message)`` unless the user is in ``group_xmlid`` (or superuser).
        Decided by the user's groups, never by a context key."""
        if not self.env.su and not self.env.user.has_group(group_xmlid):
            raise AccessError(message)

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
        return self._depanssur_write(dict(extra_vals, state=new_state))
