"""19.0.1.1.0 → 19.0.1.2.0: consents record the version of the wording they were given on.

Version 1 of every purpose's wording is the text the sign-up form showed until now; the consents
recorded before versioning were given on it, so they point to it (and stay valid until a manager
makes a new version current).
"""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["depanssur.consent.wording"]._install_first_versions()
    env.flush_all()
    cr.execute(
        """
        UPDATE depanssur_consent c
           SET wording_id = w.id, wording_sha256 = w.sha256
          FROM depanssur_consent_wording w
         WHERE c.wording_id IS NULL AND w.purpose = c.purpose AND w.is_current
        """
    )
