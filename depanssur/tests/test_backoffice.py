"""The back office as its users meet it: the admin's roles, menus, ribbons, credit-note lines and
their real settlement, phones formatted for people."""

import json
import logging
from datetime import date

from freezegun import freeze_time
from lxml import etree
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .test_credit_note import CreditNoteCommon

# Opens a record's form and reports the ribbon's text, the banner's and the credit-note lines'
# column headers and first row (console.log "RESULT <json>"), then "test successful".
FORM_PROBE_JS = """
(async () => {
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    for (let i = 0; i < 300 && !document.querySelector(".o_form_view .o_form_sheet"); i++) {
        await sleep(100);
    }
    await sleep(300);
    const text = (selector) =>
        [...document.querySelectorAll(selector)]
            .filter((el) => el.offsetParent !== null)
            .map((el) => el.innerText.trim());
    const result = {
        ribbons: text(".ribbon"),
        banner: text("div[name=termination_banner]"),
        headers: text(".o_field_one2many th"),
        cells: text(".o_field_one2many .o_data_row:first-child td"),
        errors: text(".o_error_dialog"),
    };
    console.log("RESULT " + JSON.stringify(result));
    console.log("test successful");
})();
"""


class ResultLogHandler(logging.Handler):
    """Keeps what the browser logged after "RESULT "."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.result = {}

    def emit(self, record):
        message = record.getMessage()
        if "RESULT " in message:
            self.result.update(json.loads(message.split("RESULT ", 1)[1]))


def _button_names(arch):
    return set(etree.fromstring(arch).xpath("//header/button/@name"))


@tagged("post_install", "-at_install")
class TestAdminRolesOverRpc(HttpCase, CreditNoteCommon):
    """The admin of a fresh install is a Depanssur Manager *and* Accounting: the view it gets
    over RPC (JSON-2, its own API key) carries the buttons of both; a Manager alone does not."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_admin = cls.env.ref("base.user_admin")
        cls.keys = {
            user.id: cls.env["res.users.apikeys"]
            .with_user(user)
            .sudo()
            ._generate(None, "depanssur test", None)
            for user in (cls.user_admin, cls.user_manager, cls.user_accounting)
        }

    def rpc(self, user, model, method, **kwargs):
        with mute_logger("odoo.http"):
            response = self.url_open(
                f"/json/2/{model}/{method}",
                json={"ids": [], "context": {}, **kwargs},
                headers={"Authorization": f"bearer {self.keys[user.id]}"},
            )
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def _form_buttons(self, user, model):
        views = self.rpc(user, model, "get_views", views=[[False, "form"]])
        return _button_names(views["views"]["form"]["arch"])

    def test_admin_is_in_depanssur_accounting(self):
        for group in ("depanssur.group_depanssur_manager", "depanssur.group_depanssur_accounting"):
            self.assertTrue(self.user_admin.has_group(group), group)
        self.assertIn(
            self.user_admin, self.env.ref("depanssur.group_depanssur_accounting").user_ids
        )

    def test_credit_note_issue_button(self):
        note_model = "depanssur.credit.note"
        self.assertTrue(
            {"action_approve", "action_issue"} <= self._form_buttons(self.user_admin, note_model)
        )
        self.assertTrue(
            {"action_approve", "action_issue"}
            <= self._form_buttons(self.user_accounting, note_model)
        )
        self.assertFalse(
            {"action_approve", "action_issue"} & self._form_buttons(self.user_manager, note_model)
        )

    def test_dunning_buttons(self):
        case_model = "depanssur.dunning.case"
        buttons = {"action_pause", "action_resume", "action_write_off"}
        self.assertEqual(buttons & self._form_buttons(self.user_admin, case_model), buttons)
        self.assertFalse(buttons & self._form_buttons(self.user_manager, case_model))

    def test_admin_issues_a_credit_note_over_rpc(self):
        note = self._note(50.0)
        note.action_submit()
        with freeze_time("2026-04-20"):
            response = self.url_open(
                "/json/2/depanssur.credit.note/action_issue",
                json={"ids": note.ids, "context": {}},
                headers={"Authorization": f"bearer {self.keys[self.user_admin.id]}"},
            )
        self.assertEqual(response.status_code, 200, response.text)
        self.env.invalidate_all()
        self.assertIn(note.state, ("issued", "refunded"))


@tagged("post_install", "-at_install")
class TestBackofficeScreens(HttpCase, CreditNoteCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if "tour_enabled" in cls.user_manager._fields:
            (cls.user_manager | cls.user_accounting).tour_enabled = False

    def _probe(self, url, user):
        """Open ``url`` in the browser as ``user``; what FORM_PROBE_JS saw."""
        handler = ResultLogHandler()
        logger = self._logger.getChild("browser")
        logger.addHandler(handler)
        try:
            self.browser_js(url, FORM_PROBE_JS, login=user.login, timeout=60)
        finally:
            logger.removeHandler(handler)
        self.assertFalse(handler.result.get("errors"))
        return handler.result

    # ------------------------------------------------------------
    # Ribbons
    # ------------------------------------------------------------

    def test_termination_scheduled_ribbon(self):
        with freeze_time("2026-01-15"):
            subscription = self._subscribe(date_start="2026-01-15")
            subscription._terminate("client_request", date(2099, 1, 14))
        form = self.env["depanssur.subscription"].get_views([(False, "form")])["views"]["form"]
        ribbons = etree.fromstring(form["arch"]).xpath("//widget[@name='web_ribbon']/@title")
        self.assertIn("Termination scheduled", ribbons)
        seen = self._probe(
            f"/odoo/action-depanssur.depanssur_subscription_action/{subscription.id}",
            self.user_manager,
        )
        self.assertEqual(seen["ribbons"], ["TERMINATION SCHEDULED"], seen)
        self.assertIn("2099", seen["banner"][0], "the last covered day, with its year")

    def test_suspended_ribbon(self):
        with freeze_time("2026-01-15"):
            subscription = self._subscribe(date_start="2026-01-15")
            subscription.with_user(self.user_manager).action_suspend(reason="test")
        seen = self._probe(
            f"/odoo/action-depanssur.depanssur_subscription_action/{subscription.id}",
            self.user_manager,
        )
        self.assertEqual(seen["ribbons"], ["SUSPENDED"], seen)
        self.assertFalse(seen["banner"])

    # ------------------------------------------------------------
    # Credit notes: the lines and the real settlement
    # ------------------------------------------------------------

    def test_credit_note_lines_show_prices_taxes_and_subtotals(self):
        note = self._note(50.0)
        seen = self._probe(
            f"/odoo/action-depanssur.depanssur_credit_note_action/{note.id}",
            self.user_accounting,
        )
        for header in ("Unit price", "Taxes", "Untaxed"):
            self.assertIn(header, seen["headers"], seen)
        cells = " ".join(seen["cells"])
        self.assertIn("50.00", cells, seen)
        self.assertIn(self.company.currency_id.symbol, cells, "amounts with their currency")
        self.assertIn("TVA 20 % test", cells, seen)

    def test_settlement_from_the_reconciliation(self):
        # against the open origin invoice: offset, not paid back
        offset = self._note(50.0)
        offset.action_submit()
        with freeze_time("2026-04-20"):
            offset.with_user(self.user_accounting).action_issue()
        self.assertEqual(offset.state, "refunded")
        self.assertEqual(offset.settlement, "offset")
        labels = dict(offset._fields["state"]._description_selection(self.env))
        self.assertEqual(labels["refunded"], "Settled")
        # a commercial gesture, not used yet
        gesture = self._note(20.0, invoice_id=False, reason="commercial_gesture")
        gesture.action_submit()
        with freeze_time("2026-04-20"):
            gesture.with_user(self.user_accounting).action_issue()
        self.assertEqual((gesture.state, gesture.settlement), ("issued", "open"))
        # then paid back to the client
        with freeze_time("2026-04-21"):
            self.env["account.payment.register"].with_context(
                active_model="account.move", active_ids=gesture.move_id.ids
            ).create({"payment_date": "2026-04-21"})._create_payments()
        gesture.invalidate_recordset(["settlement"])
        self.assertEqual(gesture.settlement, "refunded")
        self.assertFalse(self._note(10.0).settlement, "a draft has no settlement")

    # ------------------------------------------------------------
    # Phones, menus
    # ------------------------------------------------------------

    def test_phones_formatted_for_people(self):
        self.assertEqual(self.client.mobile, "+33611223344")  # stored for machines
        self.assertEqual(self.client.depanssur_mobile_display, "+33 6 11 22 33 44")
        dossier = self.env["depanssur.dossier"].create(
            {
                "subscription_id": self._subscribe(date_start="2026-01-15").id,
                "category_id": self.cat_plumbing.id,
                "incident_date": "2026-02-20",
                "declaration_date": "2026-02-20 10:00:00",
            }
        )
        self.assertEqual(dossier.partner_mobile_display, "+33 6 11 22 33 44")
        action = self.env.ref("depanssur.res_partner_action_clients")
        views = self.env["res.partner"].get_views(
            [(view.view_id.id, view.view_mode) for view in action.view_ids]
        )["views"]
        for mode in ("list", "kanban"):
            names = etree.fromstring(views[mode]["arch"]).xpath("//field/@name")
            self.assertIn("depanssur_mobile_display", names, mode)
            self.assertNotIn("mobile", names, mode)

    def test_no_single_entry_dropdown_and_depanssur_first(self):
        root = self.env.ref("depanssur.depanssur_menu_root")
        for user in (self.user_agent, self.user_accounting, self.user_manager):
            menus = self.env["ir.ui.menu"].with_user(user).load_menus(False)
            app = menus[root.id]
            for child_id in app["children"]:
                children = menus[child_id]["children"]
                self.assertNotEqual(len(children), 1, f"{menus[child_id]['name']} for {user.login}")
            # the first app of a Depanssur user is Depanssur (not Discuss)
            self.assertEqual(menus["root"]["children"][0], root.id, user.login)


@tagged("post_install", "-at_install")
class TestDemoUsersLandOnDepanssur(CreditNoteCommon):
    def test_demo_users_home_action(self):
        users = [
            self.env.ref(f"depanssur.user_demo_{role}", raise_if_not_found=False)
            for role in ("agent", "accounting", "manager")
        ]
        users = [user for user in users if user]
        if not users:
            self.skipTest("demo data not loaded")
        for user in users:
            self.assertTrue(user.action_id, user.login)
            action = self.env[user.action_id.type].browse(user.action_id.id)
            self.assertEqual(action.res_model.split(".")[0], "depanssur", user.login)
