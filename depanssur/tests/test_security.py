from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import DepanssurCase


@tagged("post_install", "-at_install")
class TestSecurity(DepanssurCase):
    def test_groups_hierarchy(self):
        self.assertTrue(self.user_manager.has_group("depanssur.group_depanssur_agent"))
        self.assertTrue(self.user_accounting.has_group("depanssur.group_depanssur_agent"))
        self.assertFalse(self.user_agent.has_group("depanssur.group_depanssur_manager"))

    def test_portal_reads_no_consent(self):
        consent = self.env["depanssur.consent"].create(
            {"partner_id": self.client.id, "purpose": "marketing_email"}
        )
        with self.assertRaises(AccessError):
            consent.with_user(self.user_portal).read(["purpose"])
        with self.assertRaises(AccessError):
            self.env["depanssur.consent"].with_user(self.user_internal).search([])

    def test_consent_company_rule(self):
        other = self.env["res.company"].create({"name": "Depanssur Belgique"})
        consent = self.env["depanssur.consent"].create(
            {"partner_id": self.client.id, "purpose": "marketing_email", "company_id": other.id}
        )
        visible = (
            self.env["depanssur.consent"]
            .with_user(self.user_agent)
            .search([("id", "=", consent.id)])
        )
        self.assertFalse(visible)
