import json
import logging
from datetime import date

from freezegun import freeze_time
from lxml import etree
from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tests import Form, HttpCase, tagged
from odoo.tools.safe_eval import safe_eval

from .common import DepanssurSubscriptionCase

# Odoo's own crawler (web/static/src/webclient/clickbot): opens the app, then every menu of it,
# every view of each menu's action and every filter of each view; it stops on the first error
# dialog, and any console error fails browser_js.
CLICK_EVERYWHERE = (
    "odoo.loader.modules.get('@web/webclient/clickbot/clickbot_loader')"
    ".startClickEverywhere('depanssur.depanssur_menu_root');"
)
CLICKBOT_DONE = "clickbot test succeeded"

# Opens the action of each menu in turn (no view switch, no filter): the admin's quicker pass.
OPEN_ACTIONS_JS = """
(async () => {
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    const { action } = odoo.__WOWL_DEBUG__.root.env.services;
    try {
        for (const [xmlid, actionId] of %(actions)s) {
            await action.doAction(actionId, { clearBreadcrumbs: true });
            await sleep(250);
            const error = document.querySelector(".o_error_dialog");
            if (error) {
                throw new Error(`${xmlid}: ${error.innerText}`);
            }
            console.log(`Testing menu ${xmlid}`);
            document.querySelector(".modal .btn-close")?.click();
        }
        console.log("test successful");
    } catch (error) {
        console.error(error.message);
    }
})();
"""

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
        """{xmlid: action id} of the Depanssur menus ``user`` sees that open an action."""
        menus = self.env["ir.ui.menu"].with_user(user).load_menus(False)
        root = next(
            menu
            for key, menu in menus.items()
            if key != "root" and menu["xmlid"] == "depanssur.depanssur_menu_root"
        )
        found, todo = {}, list(root["children"])
        while todo:
            menu = menus[todo.pop()]
            if menu["action_id"]:
                found[menu["xmlid"]] = menu["action_id"]
            todo.extend(menu["children"])
        return found

    def _click_everywhere(self, user, crawl=True):
        """Every Depanssur menu of ``user`` opened: by Odoo's crawler (views and filters
        included), or with ``crawl=False`` by opening each menu's action in turn."""
        expected = self._menus_with_action(user)
        self.assertTrue(expected)
        handler = MenuLogHandler()
        browser_logger = self._logger.getChild("browser")
        browser_logger.addHandler(handler)
        try:
            if crawl:
                code, success_signal = CLICK_EVERYWHERE, CLICKBOT_DONE
            else:
                actions = json.dumps(sorted(expected.items()))
                code, success_signal = OPEN_ACTIONS_JS % {"actions": actions}, "test successful"
            self.browser_js(
                "/odoo",
                code,
                "odoo.isReady === true",
                login=user.login,
                timeout=180,
                success_signal=success_signal,
            )
        finally:
            browser_logger.removeHandler(handler)
        self.assertFalse(
            set(expected) - handler.menus, f"menus of {user.login} not opened in the browser"
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

    # Odoo's crawler (views and filters) as the Agent (the fewest rights) and the Manager (the
    # most menus); Accounting and the admin see the same views: each of their menus is opened.
    def test_menus_accounting(self):
        tested = self._click_everywhere(self.user_accounting, crawl=False)
        self.assertIn("depanssur.depanssur_dunning_case_menu", tested)

    def test_menus_manager(self):
        tested = self._click_everywhere(self.user_manager)
        self.assertIn("depanssur.depanssur_kpi_snapshot_menu", tested)

    def test_menus_admin(self):
        tested = self._click_everywhere(self.user_admin, crawl=False)
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


@tagged("post_install", "-at_install")
class TestAgentFlows(DepanssurSubscriptionCase):
    """Claim files have an owner and "My claim files"; a subscription is found by its client."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with freeze_time("2026-01-15"):
            cls.subscription = subscription_with_option(cls)

    def _dossier_values(self, **vals):
        return {
            "subscription_id": self.subscription.id,
            "category_id": self.cat_plumbing.id,
            "incident_date": "2026-03-01",
            "declaration_date": "2026-03-01 10:00:00",
            "estimated_cost": 180,
            **vals,
        }

    def test_owner_and_my_claim_files(self):
        Dossier = self.env["depanssur.dossier"]
        mine = Dossier.with_user(self.user_agent).create(self._dossier_values())
        self.assertEqual(mine.user_id, self.user_agent)
        theirs = Dossier.with_user(self.user_manager).create(self._dossier_values())
        self.assertEqual(theirs.user_id, self.user_manager)
        # created by a webhook (sudo) or a job (OdooBot): nobody's file until an agent takes it
        self.assertFalse(
            Dossier.with_user(self.user_manager).sudo().create(self._dossier_values()).user_id
        )
        self.assertFalse(
            Dossier.with_user(self.env.ref("base.user_root")).create(self._dossier_values()).user_id
        )
        arch = etree.fromstring(Dossier.get_view(view_type="search")["arch"])
        [my_filter] = arch.xpath("//filter[@name='my_dossiers']")
        as_agent = Dossier.with_user(self.user_agent)
        domain = safe_eval(my_filter.get("domain"), {"uid": self.user_agent.id})
        self.assertEqual(as_agent.search(domain), mine)
        mine.with_user(self.user_agent).write({"user_id": self.user_manager.id})
        self.assertFalse(as_agent.search(domain))

    def test_subscription_found_by_client(self):
        other = self.env["res.partner"].create(
            {
                "name": "Zoé Quéméner",
                "email": "zoe.quemener@example.fr",
                "phone": "+33699887766",
                "street": "4 quai Saint-Antoine",
                "zip": "69002",
                "city": "Lyon",
                "country_id": self.fr.id,
            }
        )
        self._subscribe(partner=other, risk_address_id=other.id)
        Subscription = self.env["depanssur.subscription"].with_user(self.user_agent)
        for term in (
            self.subscription.name,
            "Lefèvre",
            "sophie.lefevre@example",
            "+33611223344",
            "06 11 22 33 44",
            "0611223344",
        ):
            with self.subTest(term=term):
                found = [sid for sid, _name in Subscription.name_search(term)]
                self.assertEqual(found, self.subscription.ids)
        other_subscription = Subscription.search([("partner_id", "=", other.id)])
        for term in ("Quéméner", "zoe.quemener", "06 99 88 77 66"):
            with self.subTest(term=term):
                found = [sid for sid, _name in Subscription.name_search(term)]
                self.assertEqual(found, other_subscription.ids)
        shown = Subscription.with_context(depanssur_subscription_show_client=True).browse(
            self.subscription.id
        )
        self.assertEqual(shown.display_name, f"{self.subscription.name} – Sophie Lefèvre")
        self.assertEqual(
            Subscription.browse(self.subscription.id).display_name, self.subscription.name
        )

    def test_no_create_where_a_subscription_is_picked(self):
        for model in ("depanssur.dossier", "depanssur.credit.note"):
            with self.subTest(model=model):
                arch = etree.fromstring(self.env[model].get_view(view_type="form")["arch"])
                [field] = arch.xpath("//field[@name='subscription_id']")
                self.assertTrue(safe_eval(field.get("options", "{}")).get("no_create"))


@tagged("post_install", "-at_install")
class TestDecisionWizard(DepanssurSubscriptionCase):
    """ "Decide coverage" shows the decision first; a refusal reaches the client only once an
    agent confirms it, with the reason they chose."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with freeze_time("2026-01-15"):
            cls.subscription = subscription_with_option(cls)

    def _dossier(self, **vals):
        return (
            self.env["depanssur.dossier"]
            .with_user(self.user_agent)
            .create(
                {
                    "subscription_id": self.subscription.id,
                    "category_id": self.cat_plumbing.id,
                    "incident_date": "2026-03-01",
                    "declaration_date": "2026-03-01 10:00:00",
                    "estimated_cost": 180,
                    **vals,
                }
            )
        )

    def _form(self, dossier):
        return Form(
            self.env["depanssur.dossier.decision.wizard"]
            .with_user(self.user_agent)
            .with_context(active_model="depanssur.dossier", active_id=dossier.id)
        )

    @staticmethod
    def _decision_emails(dossier):
        return dossier.message_ids.filtered(lambda m: (m.subject or "").startswith("Prise en"))

    @freeze_time("2026-03-02")
    def test_covered_confirmed(self):
        dossier = self._dossier()
        form = self._form(dossier)
        self.assertEqual((form.decision, form.covered_amount), ("covered", 180))
        self.assertEqual(dossier.state, "declared")  # nothing written by opening it
        form.save().action_confirm()
        self.assertEqual((dossier.state, dossier.decision), ("qualified", "covered"))
        self.assertTrue(self._decision_emails(dossier))

    @freeze_time("2026-03-02")
    def test_refusal_with_the_reason_chosen(self):
        dossier = self._dossier(category_id=self.cat_heating.id)
        form = self._form(dossier)
        self.assertEqual((form.decision, form.decision_reason), ("not_covered", "category"))
        form.decision_reason = "address"
        form.comment = "Le client appelle pour sa résidence secondaire."
        self.assertFalse(self._decision_emails(dossier))
        form.save().action_confirm()
        self.assertEqual((dossier.state, dossier.decision_reason), ("refused", "address"))
        [email] = self._decision_emails(dossier)
        self.assertIn(
            "Not the insured home", str(email.body) + str(dossier.message_ids.mapped("body"))
        )
        self.assertTrue(self._queued_sms("+33611223344", "non pris en charge"))

    @freeze_time("2026-03-02")
    def test_refusal_held_back(self):
        dossier = self._dossier(category_id=self.cat_heating.id)
        form = self._form(dossier)
        form.notify_client = False
        form.save().action_confirm()
        self.assertEqual(dossier.state, "refused")
        self.assertFalse(self._decision_emails(dossier))
        self.assertFalse(self._queued_sms("+33611223344", "non pris en charge"))

    @freeze_time("2026-03-02")
    def test_changed_since_opened(self):
        dossier = self._dossier()
        wizard = self._form(dossier).save()
        dossier.write({"category_id": self.cat_heating.id})
        with self.assertRaises(UserError):
            wizard.action_confirm()
        self.assertEqual(dossier.state, "declared")
        self.assertFalse(self._decision_emails(dossier))


@tagged("post_install", "-at_install")
class TestDemoUsers(HttpCase):
    """The demo's user per role (README) logs in with its password and has its role."""

    def test_demo_users(self):
        if not self.env.ref("depanssur.user_demo_agent", raise_if_not_found=False):
            self.skipTest("installed without demo data")
        roles = {
            "agent": "depanssur.group_depanssur_agent",
            "accounting": "depanssur.group_depanssur_accounting",
            "manager": "depanssur.group_depanssur_manager",
            "client": "base.group_portal",
        }
        for login, group in roles.items():
            with self.subTest(login=login):
                session = self.authenticate(login, login)
                user = self.env["res.users"].browse(session.uid)
                self.assertEqual(user.login, login)
                self.assertTrue(user.has_group(group))
        self.assertFalse(self.env.ref("depanssur.user_demo_manager").has_group("base.group_system"))
        martin = self.env.ref("depanssur.subscription_demo_martin")
        response = self.url_open("/my/subscriptions")  # as the last one: the portal client
        self.assertEqual(response.status_code, 200)
        self.assertIn(martin.name, response.text)
