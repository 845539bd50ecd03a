from odoo import api, fields, models
from odoo.exceptions import UserError

from ..models.depanssur_abstract_notify import MUTED, notifications
from ..models.depanssur_dossier import DECISION_REASONS, DECISIONS


class DepanssurDossierDecisionWizard(models.TransientModel):
    """ "Decide coverage": shows the decision the rules give before anything is written or sent;
    a refusal is confirmed with the reason the client will read, and sending it can be held."""

    _name = "depanssur.dossier.decision.wizard"
    _description = "Decide the coverage of a claim file"

    dossier_id = fields.Many2one("depanssur.dossier", required=True, readonly=True)
    currency_id = fields.Many2one(related="dossier_id.currency_id")
    decision = fields.Selection(DECISIONS, compute="_compute_preview")
    shown_decision = fields.Selection(
        DECISIONS, help="The decision shown when the wizard opened (the one confirmed)."
    )
    rule_reason = fields.Selection(
        DECISION_REASONS, string="Reason from the coverage rules", compute="_compute_preview"
    )
    covered_amount = fields.Monetary(compute="_compute_preview")
    franchise_amount = fields.Monetary(string="Franchise", compute="_compute_preview")
    client_share = fields.Monetary(compute="_compute_preview")
    decision_reason = fields.Selection(
        DECISION_REASONS,
        string="Reason given to the client",
        help="Stated in the email sent to the client; the reason from the rules by default.",
    )
    comment = fields.Text(string="Internal note")
    notify_client = fields.Boolean(
        string="Send the decision to the client",
        default=True,
        help="Email and SMS of the decision. Untick to tell the client yourself.",
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        dossier = self.env["depanssur.dossier"].browse(
            values.get("dossier_id") or self.env.context.get("active_id")
        )
        if dossier:
            values["dossier_id"] = dossier.id
            preview = self._preview(dossier)
            values["shown_decision"] = preview.status
            values["decision_reason"] = preview.reason or False
        return values

    @api.model
    def _preview(self, dossier):
        """The decision ``dossier._decide()`` would store now (nothing written)."""
        cost = dossier.final_cost if dossier.has_final_cost else dossier.estimated_cost
        return dossier.subscription_id._coverage_decision(
            dossier.incident_date, dossier.category_id.code, dossier.risk_address_id, cost
        )

    @api.depends("dossier_id")
    def _compute_preview(self):
        for wizard in self:
            dossier = wizard.dossier_id._origin
            decision = self._preview(dossier) if dossier else None
            wizard.update(
                {
                    "decision": decision.status if decision else False,
                    "rule_reason": (decision.reason or False) if decision else False,
                    "covered_amount": float(decision.covered_amount) if decision else 0.0,
                    "franchise_amount": float(decision.franchise) if decision else 0.0,
                    "client_share": float(decision.client_share) if decision else 0.0,
                }
            )

    def action_confirm(self):
        self.ensure_one()
        dossier = self.dossier_id
        if not dossier.is_qualify_allowed:
            raise UserError(self.env._("The coverage of this claim file is already decided."))
        with notifications(MUTED):  # the client hears of the decision below, once
            dossier.action_qualify()
        if self.shown_decision and dossier.decision != self.shown_decision:
            # the file or its subscription changed since the wizard opened: nothing is kept
            raise UserError(
                self.env._("The claim file changed meanwhile: open the decision again.")
            )
        if (
            dossier.decision == "not_covered"
            and self.decision_reason
            and self.decision_reason != dossier.decision_reason
        ):
            reasons = dict(self._fields["decision_reason"]._description_selection(self.env))
            dossier._message_log(
                body=self.env._(
                    "Reason given to the client changed by %(user)s: %(old)s → %(new)s.",
                    user=self.env.user.name,
                    old=reasons.get(dossier.decision_reason, "–"),
                    new=reasons[self.decision_reason],
                )
            )
            dossier.write({"decision_reason": self.decision_reason})
        if self.comment:
            dossier._message_log(body=self.comment)
        if self.notify_client:
            dossier._notify_event("decision")
        else:
            dossier._message_log(
                body=self.env._(
                    "Decision not sent to the client (%(user)s will tell them).",
                    user=self.env.user.name,
                )
            )
        return {"type": "ir.actions.act_window_close"}
