import xmlrpc.client
from datetime import date

from odoo.exceptions import AccessError, UserError
from odoo.fields import Command
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from .common import DepanssurCase
from .test_credit_note import CreditNoteCommon

# Every context key that ever switched a guard off in this addon, plus Odoo's own keys an RPC
# caller might hope to abuse (``_force_unlink`` makes Odoo skip the at_uninstall=False guards).
HOSTILE_CONTEXT = {
    "depanssur_state_change": True,
    "depanssur_system": True,
    "depanssur_subscription_change": True,
    "depanssur_skip_threshold": True,
    "depanssur_anonymize": True,
    "depanssur_no_notify": True,
    "depanssur_notify_queue": [],
    "_force_unlink": True,
    "active_test": False,
    "tracking_disable": True,
    "mail_notrack": True,
    "mail_create_nolog": True,
    "install_mode": True,
}
REFUSED = ("odoo.exceptions.UserError", "odoo.exceptions.AccessError")


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

    def test_consent_history_not_rewritten_with_the_anonymisation_key(self):
        consent = self.env["depanssur.consent"].create(
            {"partner_id": self.client.id, "purpose": "marketing_email", "proof_text": "web form"}
        )
        with self.assertRaises(UserError):
            consent.with_user(self.user_manager).with_context(depanssur_anonymize=True).write(
                {"proof_text": "rewritten"}
            )
        self.assertEqual(consent.proof_text, "web form")


@tagged("post_install", "-at_install")
class TestMultiCompanyRules(CreditNoteCommon):
    """Every company-dependent model has a company rule: a user of company B sees none of company
    A's records, a user of company A sees them (so the rule, not the data, makes the difference)."""

    def test_company_b_sees_nothing_of_company_a(self):
        company_b = self.env["res.company"].create({"name": "Depanssur Belgique"})
        b_user = {
            "company_id": company_b.id,
            "company_ids": [Command.set(company_b.ids)],
        }
        manager_b = new_test_user(
            self.env,
            login="dp_manager_b",
            groups="depanssur.group_depanssur_manager,depanssur.group_depanssur_accounting",
            **b_user,
        )
        admin_b = new_test_user(self.env, login="dp_admin_b", groups="base.group_system", **b_user)
        admin_a = new_test_user(self.env, login="dp_admin_a", groups="base.group_system")
        manager_a = new_test_user(
            self.env,
            login="dp_manager_a",
            groups="depanssur.group_depanssur_manager,depanssur.group_depanssur_accounting",
        )
        # company A's records, one (at least) of every company-dependent model
        subscription = self._subscribe(date_start="2026-01-01")
        self.env["depanssur.subscription.option"].create(
            {
                "subscription_id": subscription.id,
                "option_id": self.option_appliances.id,
                "date_start": "2026-01-01",
            }
        )
        self.env["depanssur.subscription"]._cron_invoice_due(date(2026, 1, 1))
        subscription.action_suspend(reason="test", day=date(2026, 2, 1))
        self.env["depanssur.consent"].create(
            {"partner_id": self.client.id, "purpose": "marketing_email"}
        )
        self.env["depanssur.dossier"].create(
            {
                "subscription_id": subscription.id,
                "category_id": self.cat_plumbing.id,
                "incident_date": "2026-02-02",
                "declaration_date": "2026-02-02 09:00:00",
                "estimated_cost": 100,
            }
        )
        case = self.env["depanssur.dunning.case"]._open_for(
            subscription, subscription.invoice_ids[:1], date(2026, 2, 1)
        )
        self.env["depanssur.dunning.action"].create(
            {
                "case_id": case.id,
                "level_id": self.env.ref("depanssur.dunning_level_d0").id,
                "date": "2026-02-01",
            }
        )
        self.env["depanssur.webhook.event"].create(
            {
                "webhook_id": "msg_company_a",
                "event_type": "dossier.created",
                "occurred_at": "2026-02-01 10:00:00",
                "company_id": self.company.id,
            }
        )
        self.env["depanssur.webhook.secret"].create({"name": "company A"})
        self.env["depanssur.kpi.snapshot"].create(
            {"date": "2026-02-01", "company_id": self.company.id}
        )
        self._note(10.0)
        self.env.flush_all()
        own = [("company_id", "=", self.company.id)]
        models = {
            "depanssur.subscription": (manager_a, manager_b),
            "depanssur.subscription.option": (manager_a, manager_b),
            "depanssur.subscription.address": (manager_a, manager_b),
            "depanssur.subscription.suspension": (manager_a, manager_b),
            "depanssur.subscription.usage": (manager_a, manager_b),
            "depanssur.subscription.plan.period": (manager_a, manager_b),
            "depanssur.dossier": (manager_a, manager_b),
            "depanssur.credit.note": (manager_a, manager_b),
            "depanssur.credit.note.line": (manager_a, manager_b),
            "depanssur.dunning.case": (manager_a, manager_b),
            "depanssur.dunning.action": (manager_a, manager_b),
            "depanssur.webhook.event": (manager_a, manager_b),
            "depanssur.webhook.secret": (admin_a, admin_b),
            "depanssur.kpi.snapshot": (manager_a, manager_b),
            "depanssur.report.dossier": (manager_a, manager_b),
            "depanssur.report.premium": (manager_a, manager_b),
            "depanssur.plan": (manager_a, manager_b),
            "depanssur.option": (manager_a, manager_b),
            "depanssur.consent": (manager_a, manager_b),
        }
        for model, (user_a, user_b) in models.items():
            with self.subTest(model=model):
                records = self.env[model].with_context(active_test=False).search(own)
                self.assertTrue(records, f"no {model} record of company A to hide")
                self.assertEqual(
                    self.env[model].with_user(user_a).with_context(active_test=False).search(own),
                    records.with_user(user_a),
                )
                self.assertFalse(
                    self.env[model].with_user(user_b).with_context(active_test=False).search(own)
                )

    def test_every_company_dependent_model_has_a_rule(self):
        """Any model of the addon with a stored company field has a company rule."""
        rules = self.env["ir.rule"].sudo().search([("model_id.model", "=like", "depanssur.%")])
        ruled = {rule.model_id.model for rule in rules if "company_ids" in rule.domain_force}
        missing = {
            name
            for name, model in self.env.registry.items()
            if name.startswith("depanssur.")
            and not model._abstract
            and not model._transient
            and "company_id" in model._fields
            and model._fields["company_id"].store
        } - ruled
        self.assertFalse(missing)


class RpcGuardsCase(HttpCase, CreditNoteCommon):
    """Calls over Odoo 19's JSON-2 API (``/json/2/<model>/<method>``, the way an integration
    talks to Odoo), as users of each group with their own API key, the hostile context keys
    injected. Each refused call leaves the database as it was (re-read after the call)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.keys = {
            user.id: cls.env["res.users.apikeys"]
            .with_user(user)
            .sudo()
            ._generate(None, "depanssur test", None)
            for user in (cls.user_agent, cls.user_manager, cls.user_accounting, cls.user_portal)
        }

    def rpc(self, user, model, method, ids=(), context=None, **kwargs):
        """POST /json/2/<model>/<method> as ``user``; the response (status, JSON body)."""
        context = HOSTILE_CONTEXT if context is None else context
        with mute_logger("odoo.http"):
            return self.url_open(
                f"/json/2/{model}/{method}",
                json={"ids": list(ids), "context": context, **kwargs},
                headers={"Authorization": f"bearer {self.keys[user.id]}"},
            )

    def assertRefused(self, response, names=REFUSED):
        self.assertIn(response.status_code, (403, 422), response.text)
        self.assertIn(response.json()["name"], names)

    def assertDone(self, response):
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def db_row(self, record, *fields):
        """The values in the database (not the cache) after the calls."""
        self.env.invalidate_all()
        return tuple(record[name] for name in fields)


@tagged("post_install", "-at_install")
class TestRpcCreditNoteGuards(RpcGuardsCase):
    NOTE = "depanssur.credit.note"
    LINE = "depanssur.credit.note.line"

    def _issued(self):
        # a commercial gesture: nothing reconciles it, so it stays "issued"
        note = self._note(50.0, invoice_id=False, reason="commercial_gesture")
        note.action_submit()
        note.with_user(self.user_accounting).action_issue()
        self.assertEqual((note.state, note.move_id.state), ("issued", "posted"))
        return note

    def test_agent_cannot_self_approve_above_the_threshold(self):
        note = self._note(150.0)  # 180 incl. VAT > 100
        agent = self.user_agent
        self.assertRefused(
            self.rpc(agent, self.NOTE, "write", [note.id], vals={"state": "approved"})
        )
        self.assertRefused(
            self.rpc(agent, self.NOTE, "write", [note.id], vals={"approved_by_id": agent.id})
        )
        self.assertRefused(self.rpc(agent, self.NOTE, "action_approve", [note.id]))
        self.assertEqual(
            self.db_row(note, "state", "approved_by_id"), ("draft", self.env["res.users"])
        )
        self.assertDone(self.rpc(agent, self.NOTE, "action_submit", [note.id]))
        self.assertEqual(self.db_row(note, "state")[0], "to_approve")
        self.assertRefused(
            self.rpc(agent, self.NOTE, "write", [note.id], vals={"state": "approved"})
        )
        self.assertRefused(self.rpc(agent, self.NOTE, "action_approve", [note.id]))
        self.assertRefused(self.rpc(agent, self.NOTE, "action_issue", [note.id]))
        self.assertEqual(
            self.db_row(note, "state", "approved_by_id"), ("to_approve", self.env["res.users"])
        )
        # nor born approved, in the values or through a default_ context key
        vals = {"partner_id": self.client.id, "reason": "commercial_gesture"}
        count = self.env[self.NOTE].search_count([])
        self.assertRefused(
            self.rpc(agent, self.NOTE, "create", vals_list=[dict(vals, state="approved")])
        )
        self.assertRefused(
            self.rpc(
                agent,
                self.NOTE,
                "create",
                vals_list=[vals],
                context=dict(HOSTILE_CONTEXT, default_state="approved"),
            )
        )
        self.assertEqual(self.env[self.NOTE].search_count([]), count)
        # the legitimate path: Accounting approves, then issues
        self.assertDone(self.rpc(self.user_accounting, self.NOTE, "action_approve", [note.id]))
        self.assertDone(self.rpc(self.user_accounting, self.NOTE, "action_issue", [note.id]))
        self.assertEqual(self.db_row(note, "approved_by_id")[0], self.user_accounting)
        self.assertIn(self.db_row(note, "state")[0], ("issued", "refunded"))

    def test_agent_self_approval_over_xmlrpc(self):
        """The same refusal for a classic XML-RPC client (``/xmlrpc/2/object`` execute_kw)."""
        note = self._note(150.0)
        note.action_submit()
        with (
            mute_logger("odoo.addons.rpc.controllers.xmlrpc", "odoo.http"),
            self.assertRaises(xmlrpc.client.Fault),
        ):
            self.xmlrpc_object.execute_kw(
                self.env.cr.dbname,
                self.user_agent.id,
                "dp_agent",
                self.NOTE,
                "write",
                [[note.id], {"state": "approved", "approved_by_id": self.user_agent.id}],
                {"context": HOSTILE_CONTEXT},
            )
        self.assertEqual(
            self.db_row(note, "state", "approved_by_id"), ("to_approve", self.env["res.users"])
        )

    def test_issued_note_state_is_frozen(self):
        note = self._issued()
        move = note.move_id
        for user in (self.user_agent, self.user_manager, self.user_accounting):
            for state in ("cancelled", "draft", "approved"):
                with self.subTest(user=user.login, state=state):
                    self.assertRefused(
                        self.rpc(user, self.NOTE, "write", [note.id], vals={"state": state})
                    )
            self.assertRefused(self.rpc(user, self.NOTE, "action_cancel", [note.id]))
        self.assertEqual(self.db_row(note, "state")[0], "issued")
        self.assertEqual(self.db_row(move, "state")[0], "posted")

    def test_issued_note_content_is_frozen(self):
        note = self._issued()
        line = note.line_ids
        accounting = self.user_accounting
        attempts = [
            (self.NOTE, "write", [note.id], {"vals": {"reason": "other", "reason_text": "x"}}),
            (self.NOTE, "write", [note.id], {"vals": {"name": "AV/2026/99999"}}),
            (self.NOTE, "write", [note.id], {"vals": {"move_id": False}}),
            (
                self.NOTE,
                "write",
                [note.id],
                {"vals": {"line_ids": [Command.update(line.id, {"price_unit": 832.5})]}},
            ),
            (
                self.NOTE,
                "write",
                [note.id],
                {"vals": {"line_ids": [Command.create({"name": "more", "price_unit": 949})]}},
            ),
            (self.NOTE, "write", [note.id], {"vals": {"line_ids": [Command.delete(line.id)]}}),
            (self.LINE, "write", line.ids, {"vals": {"price_unit": 832.5}}),
            (self.LINE, "write", line.ids, {"vals": {"quantity": 20}}),
            (
                self.LINE,
                "create",
                [],
                {"vals_list": [{"credit_note_id": note.id, "name": "more", "price_unit": 949}]},
            ),
            (self.LINE, "unlink", line.ids, {}),
            (self.NOTE, "unlink", [note.id], {}),
        ]
        for user in (self.user_agent, accounting):
            for model, method, ids, kwargs in attempts:
                with self.subTest(user=user.login, model=model, method=method, kwargs=kwargs):
                    self.assertRefused(self.rpc(user, model, method, ids, **kwargs))
        self.assertEqual(self.db_row(note, "state", "amount_total", "name")[:2], ("issued", 60.0))
        self.assertEqual(self.db_row(note, "move_id")[0], note.move_id)
        self.assertEqual(len(note.line_ids), 1)
        self.assertEqual(self.db_row(line, "price_unit", "quantity"), (50.0, 1.0))
        self.assertAlmostEqual(note.move_id.amount_total, 60.0)

    def test_approved_note_lines_are_frozen(self):
        """Approved within the threshold, a note cannot grow past it afterwards."""
        note = self._note(50.0)
        self.assertDone(self.rpc(self.user_agent, self.NOTE, "action_submit", [note.id]))
        self.assertEqual(self.db_row(note, "state")[0], "approved")
        self.assertRefused(
            self.rpc(
                self.user_agent,
                self.LINE,
                "create",
                vals_list=[{"credit_note_id": note.id, "name": "more", "price_unit": 949}],
            )
        )
        self.assertRefused(
            self.rpc(
                self.user_agent, self.LINE, "write", note.line_ids.ids, vals={"price_unit": 999}
            )
        )
        self.assertEqual(self.db_row(note, "amount_total")[0], 60.0)

    def test_draft_note_is_edited_freely(self):
        note = self._note(50.0)
        self.assertDone(
            self.rpc(
                self.user_agent,
                self.LINE,
                "write",
                note.line_ids.ids,
                vals={"price_unit": 40.0},
                context={},
            )
        )
        self.assertEqual(self.db_row(note, "amount_total")[0], 48.0)

    def test_portal_user_reaches_nothing(self):
        note = self._note(50.0)
        for method, kwargs in (
            ("write", {"vals": {"state": "approved"}}),
            ("action_submit", {}),
            ("action_cancel", {}),
            ("unlink", {}),
        ):
            with self.subTest(method=method):
                self.assertRefused(
                    self.rpc(self.user_portal, self.NOTE, method, [note.id], **kwargs)
                )
        self.assertEqual(self.db_row(note, "state")[0], "draft")


@tagged("post_install", "-at_install")
class TestRpcSubscriptionGuards(RpcGuardsCase):
    SUB = "depanssur.subscription"

    def test_state_is_never_written_directly(self):
        subscription = self._subscribe(date_start="2026-01-01")
        self.assertEqual(subscription.state, "active")
        for user in (self.user_agent, self.user_manager, self.user_accounting, self.user_portal):
            for vals in (
                {"state": "terminated"},
                {"state": "suspended", "state_before_suspension": "active"},
                {"state_before_suspension": "carence"},
            ):
                with self.subTest(user=user.login, vals=vals):
                    self.assertRefused(
                        self.rpc(user, self.SUB, "write", [subscription.id], vals=vals)
                    )
        self.assertEqual(
            self.db_row(subscription, "state", "state_before_suspension"), ("active", False)
        )
        # nor born running
        vals = {"partner_id": self.client.id, "plan_id": self.plan_essentiel.id}
        count = self.env[self.SUB].search_count([])
        self.assertRefused(
            self.rpc(self.user_agent, self.SUB, "create", vals_list=[dict(vals, state="active")])
        )
        self.assertEqual(self.env[self.SUB].search_count([]), count)

    def test_client_messages_are_not_silenced_by_context_keys(self):
        """The keys that once muted or diverted the client's messages do nothing over RPC."""
        subscription = self.env[self.SUB].create(
            {"partner_id": self.client.id, "plan_id": self.plan_essentiel.id}
        )
        template = self.env.ref("depanssur.mail_template_subscription_welcome")
        self.assertDone(self.rpc(self.user_agent, self.SUB, "action_confirm", [subscription.id]))
        self.env.invalidate_all()
        welcome = subscription.message_ids.filtered(
            lambda message: (
                message.subject
                and message.subject
                == template._render_field("subject", subscription.ids)[subscription.id]
            )
        )
        self.assertEqual(len(welcome), 1)
        self.assertIn(self.client, welcome.partner_ids)

    def test_running_subscription_locked_fields(self):
        subscription = self._subscribe(date_start="2026-01-01")
        self.assertRefused(
            self.rpc(
                self.user_manager,
                self.SUB,
                "write",
                [subscription.id],
                vals={"plan_id": self.plan_confort.id},
            )
        )
        self.assertEqual(self.db_row(subscription, "plan_id")[0], self.plan_essentiel)

    def test_suspension_is_for_managers(self):
        subscription = self._subscribe(date_start="2026-01-01")
        for user in (self.user_agent, self.user_accounting, self.user_portal):
            for method in ("action_suspend", "action_reactivate"):
                with self.subTest(user=user.login, method=method):
                    response = self.rpc(user, self.SUB, method, [subscription.id])
                    self.assertRefused(response, names=("odoo.exceptions.AccessError",))
                    if user != self.user_portal:  # refused by the group check, not by chance
                        self.assertIn("manager", response.json()["message"])
        self.assertEqual(self.db_row(subscription, "state")[0], "active")
        self.assertFalse(subscription.suspension_ids)
        # the legitimate path
        self.assertDone(
            self.rpc(self.user_manager, self.SUB, "action_suspend", [subscription.id], context={})
        )
        self.assertEqual(self.db_row(subscription, "state")[0], "suspended")
        self.assertEqual(len(subscription.suspension_ids), 1)
        self.assertRefused(
            self.rpc(self.user_agent, self.SUB, "action_reactivate", [subscription.id])
        )
        self.assertEqual(self.db_row(subscription, "state")[0], "suspended")
        self.assertDone(
            self.rpc(
                self.user_manager, self.SUB, "action_reactivate", [subscription.id], context={}
            )
        )
        self.assertEqual(self.db_row(subscription, "state")[0], "active")

    def test_portal_cannot_cancel_its_draft(self):
        portal_partner = self.user_portal.partner_id
        portal_partner.write({"street": "1 rue de la Paix", "zip": "75002", "city": "Paris"})
        subscription = self._subscribe(partner=portal_partner, confirm=False)
        self.assertRefused(self.rpc(self.user_portal, self.SUB, "action_cancel", [subscription.id]))
        self.assertRefused(self.rpc(self.user_portal, self.SUB, "unlink", [subscription.id]))
        self.assertEqual(self.db_row(subscription, "state")[0], "draft")
        self.assertDone(
            self.rpc(self.user_agent, self.SUB, "action_cancel", [subscription.id], context={})
        )
        self.assertEqual(self.db_row(subscription, "state")[0], "cancelled")


@tagged("post_install", "-at_install")
class TestRpcDossierAndDunningGuards(RpcGuardsCase):
    DOSSIER = "depanssur.dossier"
    CASE = "depanssur.dunning.case"

    def _dossier(self, subscription):
        return self.env[self.DOSSIER].create(
            {
                "subscription_id": subscription.id,
                "category_id": self.cat_plumbing.id,
                "incident_date": "2026-03-02",
                "declaration_date": "2026-03-02 09:00:00",
                "estimated_cost": 120,
            }
        )

    def test_dossier_state_and_counters(self):
        subscription = self._subscribe(date_start="2026-01-01")
        dossier = self._dossier(subscription)
        dossier.action_done()
        self.assertEqual((dossier.state, dossier.counters_consumed), ("done", True))
        used = sum(subscription.usage_ids.mapped("interventions_used"))
        for user in (self.user_agent, self.user_manager):
            for vals in (
                {"state": "declared"},
                {"state": "closed"},
                {"counters_consumed": False},
                {"consumed_amount": 5000},
            ):
                with self.subTest(user=user.login, vals=vals):
                    self.assertRefused(
                        self.rpc(user, self.DOSSIER, "write", [dossier.id], vals=vals)
                    )
            self.assertRefused(self.rpc(user, self.DOSSIER, "unlink", [dossier.id]))
        self.assertEqual(
            self.db_row(dossier, "state", "counters_consumed", "consumed_amount"),
            ("done", True, 120.0),
        )
        # nor born done
        self.assertRefused(
            self.rpc(
                self.user_agent,
                self.DOSSIER,
                "create",
                vals_list=[
                    {
                        "subscription_id": subscription.id,
                        "category_id": self.cat_plumbing.id,
                        "incident_date": "2026-03-03",
                        "state": "done",
                    }
                ],
            )
        )
        # the legitimate path: the agent cancels, the counters come back
        self.assertDone(self.rpc(self.user_agent, self.DOSSIER, "action_cancel", [dossier.id]))
        self.assertEqual(self.db_row(dossier, "state", "counters_consumed"), ("cancelled", False))
        self.assertEqual(sum(subscription.usage_ids.mapped("interventions_used")), used - 1)

    def test_dunning_case_state(self):
        subscription = self._subscribe(date_start="2026-01-01")
        case = self.env[self.CASE]._open_for(subscription, self.invoice, date(2026, 4, 1))
        for user in (self.user_agent, self.user_accounting, self.user_manager):
            for vals in ({"state": "closed"}, {"close_reason": "paid"}):
                with self.subTest(user=user.login, vals=vals):
                    self.assertRefused(self.rpc(user, self.CASE, "write", [case.id], vals=vals))
        self.assertRefused(self.rpc(self.user_agent, self.CASE, "action_pause", [case.id]))
        self.assertEqual(self.db_row(case, "state", "close_reason"), ("open", False))
        self.assertDone(self.rpc(self.user_accounting, self.CASE, "action_pause", [case.id]))
        self.assertEqual(self.db_row(case, "state")[0], "paused")
