import logging
from datetime import date

from freezegun import freeze_time
from odoo.fields import Command
from odoo.tests import Form, HttpCase, tagged

from .common import DepanssurSubscriptionCase

# Odoo's own crawler (web/static/src/webclient/clickbot): opens the app, then every menu of it,
# every view of each menu's action and every filter of each view; it stops on the first error
# dialog, and any console error fails browser_js.
CLICK_EVERYWHERE = (
    "odoo.loader.modules.get('@web/webclient/clickbot/clickbot_loader')"
    ".startClickEverywhere('depanssur.depanssur_menu_root');"
)
CLICKBOT_DONE = "clickbot test succeeded"

# Opens "Change plan / options" from a subscription form, removes the option, applies.
CHANGE_WIZARD_JS = """
(async () => {
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    async function waitFor(selector, gone = false) {
        for (let i = 0; i < 300; i++) {
            const error = document.querySelector(".o_error_dialog");
            if (error) {
                throw new Error(`error dialog: ${error.innerText}`);
            }
            const element = document.querySelector(selector);
            if (gone ? !element : element) {
                return element;
            }
            await sleep(100);
        }
        throw new Error(`${selector} ${gone ? "still shown" : "did not render"}`);
    }
    try {
        (await waitFor('.o_form_view .o_statusbar_buttons button[name="%(action_id)s"]')).click();
        const tag = await waitFor(".modal .o_field_widget[name=option_ids] .o_tag");
        tag.querySelector(".o_delete").click();
        (await waitFor(".modal footer button[name=action_apply]")).click();
        await waitFor(".modal .o_form_view", true);
        console.log("test successful");
    } catch (error) {
        console.error(error.message);
    }
})();
"""


class MenuLogHandler(logging.Handler):
    """Collects the xmlids of the menus the crawler logs ("Testing menu <name> <xmlid>")."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.menus = set()

    def emit(self, record):
        message = record.getMessage()
        if "Testing menu " in message:
            self.menus.add(message.rsplit(" ", 1)[-1])


def subscription_with_option(case):
    """A confirmed Essentiel subscription started on 2026-01-15 with the appliances option."""
    subscription = case.env["depanssur.subscription"].create(
        {
            "partner_id": case.client.id,
            "plan_id": case.plan_essentiel.id,
            "date_start": "2026-01-15",
            "option_line_ids": [
                Command.create({"option_id": case.option_appliances.id, "date_start": "2026-01-15"})
            ],
        }
    )
    subscription.action_confirm()
    return subscription


@tagged("post_install", "-at_install")
class TestUiMenus(HttpCase, DepanssurSubscriptionCase):
    """Every Depanssur menu opens, as each role, in a real (headless) browser, without an error
    dialog or a console error. Skipped by Odoo when no Chromium/Chrome is installed."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_admin = cls.env.ref("base.user_admin")
        users = cls.user_agent | cls.user_manager | cls.user_accounting | cls.user_admin
        if "tour_enabled" in users._fields:
            users.tour_enabled = False
        # records in the lists: a subscription with an option, a claim file, a KPI snapshot
        cls.subscription = subscription_with_option(cls)
        cls.env["depanssur.dossier"].create(
            {
                "subscription_id": cls.subscription.id,
                "category_id": cls.cat_plumbing.id,
                "incident_date": "2026-02-20",
                "declaration_date": "2026-02-20 10:00:00",
                "estimated_cost": 180.0,
            }
        )
        cls.env["depanssur.kpi.snapshot"]._cron_snapshot()

    def _menus_with_action(self, user):
        """xmlids of the Depanssur menus ``user`` sees that open an action."""
        menus = self.env["ir.ui.menu"].with_user(user).load_menus(False)
        root = next(
            menu
            for key, menu in menus.items()
            if key != "root" and menu["xmlid"] == "depanssur.depanssur_menu_root"
        )
        found, todo = set(), list(root["children"])
        while todo:
            menu = menus[todo.pop()]
            if menu["action_id"]:
                found.add(menu["xmlid"])
            todo.extend(menu["children"])
        return found

    def _click_everywhere(self, user):
        expected = self._menus_with_action(user)
        self.assertTrue(expected)
        handler = MenuLogHandler()
        browser_logger = self._logger.getChild("browser")
        browser_logger.addHandler(handler)
        try:
            self.browser_js(
                "/odoo",
                CLICK_EVERYWHERE,
                "odoo.isReady === true",
                login=user.login,
                timeout=180,
                success_signal=CLICKBOT_DONE,
            )
        finally:
            browser_logger.removeHandler(handler)
        self.assertFalse(
            expected - handler.menus, f"menus of {user.login} not opened by the crawler"
        )
        return handler.menus

    def test_change_wizard_in_browser(self):
        """The wizard opens on a subscription with an option and applies its removal."""
        action = self.env.ref("depanssur.depanssur_subscription_change_wizard_action")
        self.browser_js(
            f"/odoo/action-depanssur.depanssur_subscription_action/{self.subscription.id}",
            CHANGE_WIZARD_JS % {"action_id": action.id},
            login=self.user_agent.login,
            timeout=60,
        )
        self.env.invalidate_all()
        self.assertTrue(self.subscription.option_line_ids.date_end)
        self.assertTrue(self.subscription.pending_change_date)

    def test_menus_agent(self):
        tested = self._click_everywhere(self.user_agent)
        self.assertIn("depanssur.res_partner_menu_clients", tested)
        self.assertNotIn("depanssur.depanssur_credit_note_menu", tested)

    def test_menus_accounting(self):
        tested = self._click_everywhere(self.user_accounting)
        self.assertIn("depanssur.depanssur_dunning_case_menu", tested)

    def test_menus_manager(self):
        tested = self._click_everywhere(self.user_manager)
        self.assertIn("depanssur.depanssur_kpi_snapshot_menu", tested)

    def test_menus_admin(self):
        tested = self._click_everywhere(self.user_admin)
        self.assertIn("depanssur.depanssur_webhook_secret_menu", tested)


@tagged("post_install", "-at_install")
class TestWizardForms(DepanssurSubscriptionCase):
    """Each wizard opens (defaults and onchange as the web client runs them) and saves on a
    subscription with an option, as the lowest role that uses it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with freeze_time("2026-01-15"):
            cls.subscription = subscription_with_option(cls)
        cls.new_home = cls.env["res.partner"].create(
            {
                "parent_id": cls.client.id,
                "type": "other",
                "street": "8 rue Mercière",
                "zip": "69002",
                "city": "Lyon",
                "country_id": cls.fr.id,
            }
        )

    def _wizard_form(self, model, user=None):
        wizard = self.env[model].with_user(user or self.user_agent)
        return Form(
            wizard.with_context(
                active_model="depanssur.subscription",
                active_id=self.subscription.id,
                active_ids=self.subscription.ids,
            )
        )

    @freeze_time("2026-03-10")
    def test_change_plan_and_options(self):
        form = self._wizard_form("depanssur.subscription.change.wizard")
        self.assertEqual(form.plan_id, self.plan_essentiel)
        self.assertEqual(form.option_ids[:], self.option_appliances)
        self.assertEqual(form.kind, "none")
        form.plan_id = self.plan_confort
        self.assertEqual(form.kind, "upgrade")
        form.save().action_apply()
        self.assertEqual(self.subscription.plan_id, self.plan_confort)
        self.assertEqual(
            self.subscription.option_line_ids.filtered(lambda line: not line.date_end).option_id,
            self.option_appliances,
        )

    @freeze_time("2026-03-10")
    def test_change_removes_an_option(self):
        form = self._wizard_form("depanssur.subscription.change.wizard")
        form.option_ids.remove(id=self.option_appliances.id)
        self.assertEqual(form.kind, "downgrade")
        form.save().action_apply()
        self.assertTrue(self.subscription.option_line_ids.date_end)

    @freeze_time("2026-03-10")
    def test_change_insured_home(self):
        form = self._wizard_form("depanssur.address.change.wizard")
        self.assertEqual(form.current_address_id, self.client)
        form.address_id = self.new_home
        self.assertTrue(form.effective_date)
        wizard = form.save()
        wizard.action_apply()
        self.assertEqual(self.subscription._address_on(wizard.effective_date), self.new_home)

    @freeze_time("2026-03-10")
    def test_terminate(self):
        form = self._wizard_form("depanssur.terminate.wizard")
        form.termination_date = date(2026, 3, 31)
        form.comment = "Moving in with family"
        form.save().action_apply()
        self.assertEqual(self.subscription.termination_date, date(2026, 3, 31))

    @freeze_time("2026-03-10")
    def test_sale_with_an_option(self):
        form = Form(self.env["depanssur.sale.wizard"].with_user(self.user_agent))
        form.first_name = "Paul"
        form.last_name = "Girard"
        form.email = "paul.girard@example.fr"
        form.street = "12 rue de la République"
        form.zip = "69001"
        form.city = "Lyon"
        form.plan_id = self.plan_confort
        form.option_ids.add(self.option_appliances)
        form.terms_accepted = True
        action = form.save().action_confirm()
        subscription = self.env["depanssur.subscription"].browse(action["res_id"])
        self.assertEqual(subscription.option_line_ids.option_id, self.option_appliances)
