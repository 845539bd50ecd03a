import hashlib
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..rules.signup import ascii_int
from .depanssur_consent import CONSENT_PURPOSES
from .depanssur_signup import CONSENT_TEXTS

# how long a form may stay open in a browser: a version replaced longer ago than this cannot have
# been the one a form being posted now showed
FORM_HOURS = 24


class DepanssurConsentWording(models.Model):
    """One version of the wording shown to a client when a consent is asked for one purpose.

    Versions are never edited: a new wording is a new version, which a manager makes current.
    Consents point to the version they were given on; a consent given on an older version no
    longer allows marketing until the client is asked again (``action_reask``).
    """

    _name = "depanssur.consent.wording"
    _description = "RGPD consent wording"
    _order = "purpose, version desc"

    purpose = fields.Selection(CONSENT_PURPOSES, required=True, index=True)
    version = fields.Integer(readonly=True, copy=False, help="1, 2, ... per purpose.")
    text = fields.Text(required=True, help="The exact wording shown to the client.")
    sha256 = fields.Char(
        string="SHA-256",
        compute="_compute_sha256",
        store=True,
        help="Fingerprint of the wording: proves which text a consent was given on.",
    )
    is_current = fields.Boolean(string="Current", readonly=True, copy=False, index=True)
    date_current = fields.Datetime(string="Current since", readonly=True, copy=False)
    consent_ids = fields.One2many("depanssur.consent", "wording_id", string="Consents")
    request_ids = fields.One2many("depanssur.consent.request", "wording_id", string="Re-asks")
    consent_count = fields.Integer(compute="_compute_counts", string="Consents given")
    request_count = fields.Integer(compute="_compute_counts", string="Re-asks sent")

    _version_uniq = models.UniqueIndex("(purpose, version)")
    _current_uniq = models.UniqueIndex("(purpose) WHERE is_current")

    @api.depends("text")
    def _compute_sha256(self):
        for wording in self:
            wording.sha256 = hashlib.sha256((wording.text or "").encode()).hexdigest()

    def _compute_counts(self):
        consents = dict(
            self.env["depanssur.consent"]._read_group(
                [("wording_id", "in", self.ids), ("state", "=", "given")],
                ["wording_id"],
                ["__count"],
            )
        )
        reasks = dict(
            self.env["depanssur.consent.request"]._read_group(
                [("wording_id", "in", self.ids)], ["wording_id"], ["__count"]
            )
        )
        for wording in self:
            wording.consent_count = consents.get(wording, 0)
            wording.request_count = reasks.get(wording, 0)

    @api.depends("purpose", "version")
    def _compute_display_name(self):
        labels = dict(self._fields["purpose"]._description_selection(self.env))
        for wording in self:
            wording.display_name = self.env._(
                "%(purpose)s, version %(version)s",
                purpose=labels.get(wording.purpose, ""),
                version=wording.version,
            )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("is_current") and not self.env.su:
                raise UserError(self.env._("Make a wording current with its button."))
        # numbered per purpose, in creation order (the unique index refuses a concurrent twin)
        last = dict(self.sudo()._read_group([], ["purpose"], ["version:max"]))
        for vals in vals_list:
            purpose = vals.get("purpose")
            last[purpose] = last.get(purpose, 0) + 1
            vals["version"] = last[purpose]
            if vals.get("is_current"):
                vals.setdefault("date_current", fields.Datetime.now())
        return super().create(vals_list)

    def write(self, vals):
        # a wording that consents point to is a proof: it never changes; only the current flag
        # moves, through action_make_current
        if set(vals) - {"is_current", "date_current"} or not self.env.su:
            raise UserError(
                self.env._(
                    "A consent wording is never edited: create a new version and make it current."
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        if self.filtered(lambda w: w.is_current or w.date_current or w.consent_ids):
            raise UserError(self.env._("A wording that was shown to clients is kept as proof."))

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------

    def _check_manager(self):
        if not (self.env.su or self.env.user.has_group("depanssur.group_depanssur_manager")):
            raise UserError(self.env._("Only a Depanssur manager can do this."))

    def action_make_current(self):
        """This version becomes the one shown from now on; consents given on older versions stop
        allowing marketing until the client is asked again."""
        self._check_manager()
        for wording in self:
            if wording.is_current:
                continue
            others = self.sudo().search(
                [("purpose", "=", wording.purpose), ("is_current", "=", True)]
            )
            others.sudo().write({"is_current": False})
            self.env.flush_all()  # the unique index: the old current goes first
            wording.sudo().write({"is_current": True, "date_current": fields.Datetime.now()})
        return True

    def action_reask(self):
        """Queue the re-ask email (signed links) to every client whose consent for this purpose
        was given on an older wording and who was not asked about this version yet."""
        self._check_manager()
        self.ensure_one()
        if not self.is_current:
            raise UserError(self.env._("Only the current wording can be asked again."))
        partners = self._reask_partners()
        if not partners:
            raise UserError(self.env._("No client gave this consent on an older wording."))
        requests = (
            self.env["depanssur.consent.request"]
            .sudo()
            .create([{"partner_id": p.id, "wording_id": self.id} for p in partners])
        )
        requests._send()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._(
                    "%(count)s clients will be asked again.", count=len(requests)
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def action_open_requests(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "depanssur.depanssur_consent_request_action"
        )
        action["domain"] = [("wording_id", "=", self.id)]
        return action

    # ------------------------------------------------------------
    # Business
    # ------------------------------------------------------------

    @api.model
    def _current(self, purpose):
        """The wording shown now for ``purpose`` (empty if none was ever made current)."""
        current = self.sudo().search([("purpose", "=", purpose), ("is_current", "=", True)])
        return current.with_env(self.env)

    @api.model
    def _displayed(self, purpose, wording_id):
        """The wording a form showed for ``purpose``, from the id the form carried back
        (``wording_<purpose>``): the proof of a consent is the text the person read and ticked,
        even when a newer version became current between the page and its POST (the consent,
        on an older version, then waits for the re-ask like any other). The current one when
        the id is missing, is not a version of ``purpose`` ever shown, or names a version
        replaced more than ``FORM_HOURS`` ago (no form still open showed it)."""
        shown = None
        if isinstance(wording_id, str):
            shown = ascii_int(wording_id)
        elif isinstance(wording_id, int) and not isinstance(wording_id, bool):
            shown = wording_id
        if shown:
            wording = self.sudo().search(
                [("id", "=", shown), ("purpose", "=", purpose), ("date_current", "!=", False)]
            )
            if wording and not wording.is_current:
                newer = self.sudo().search(
                    [
                        ("purpose", "=", purpose),
                        ("id", "!=", wording.id),
                        ("date_current", ">=", wording.date_current),
                    ],
                    order="date_current, id",
                    limit=1,
                )
                limit = fields.Datetime.now() - timedelta(hours=FORM_HOURS)
                if newer and newer.date_current < limit:
                    wording = None  # replaced before any form still open was shown
            if wording:
                return wording.with_env(self.env)
        return self._current(purpose)

    @api.model
    def _install_first_versions(self):
        """Version 1 of every purpose without a current wording: the texts the forms showed
        before wordings were versioned (install and migration)."""
        current = self._current_by_purpose()
        self.sudo().create(
            [
                {"purpose": purpose, "text": text, "is_current": True}
                for purpose, text in CONSENT_TEXTS.items()
                if purpose not in current
            ]
        )

    @api.model
    def _current_by_purpose(self):
        return {w.purpose: w for w in self.sudo().search([("is_current", "=", True)])}

    def _reask_partners(self):
        """Clients whose latest answer for this purpose is "given" on an older version, with an
        email that may be written to, not already asked about this version."""
        self.ensure_one()
        consents = (
            self.env["depanssur.consent"]
            .sudo()
            .search([("purpose", "=", self.purpose), ("wording_id", "!=", self.id)])
        )
        asked = self.request_ids.partner_id
        partners = (consents.partner_id - asked).filtered(
            lambda p: (
                p.active
                and not p.depanssur_anonymized
                and p.email_normalized
                and not p.is_blacklisted
            )
        )
        return partners.filtered(lambda p: p[f"consent_{self.purpose}"] == "outdated")
