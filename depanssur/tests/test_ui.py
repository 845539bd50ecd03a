from odoo.tests import HttpCase, tagged

from .common import DepanssurSubscriptionCase

WAIT_FOR = """
(async () => {
    for (let i = 0; i < 200; i++) {
        if (document.querySelector(%r)) {
            console.log('test successful');
            return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    console.error('%s did not render');
})();
"""


@tagged("post_install", "-at_install")
class TestUi(HttpCase, DepanssurSubscriptionCase):
    """The back-office screens open in a real (headless) browser without a client error.

    Skipped by Odoo when no Chrome/Chromium is installed."""

    def _open(self, url, selector):
        self.browser_js(url, WAIT_FOR % (selector, selector), login="admin", timeout=120)

    def test_partner_form_renders(self):
        self._open(f"/odoo/contacts/{self.client.id}", ".o_form_view div[name=civility]")

    def test_subscription_form_and_dashboard_render(self):
        subscription = self._subscribe()
        self.env["depanssur.kpi.snapshot"]._cron_snapshot()
        self._open(
            f"/odoo/action-depanssur.depanssur_subscription_action/{subscription.id}",
            ".o_form_view .o_statusbar_status",
        )
        self._open("/odoo/action-depanssur.depanssur_kpi_snapshot_action", ".o_kanban_record")
