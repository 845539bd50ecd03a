"""Two workers completing interventions on the same subscription at once, on two real cursors.

The test's own transaction is never committed, so the scenario runs on separate connections
(committed data, removed at the end). Odoo runs transactions in REPEATABLE READ: the second
worker blocks on the counters row the first one changed, then gets a serialization failure when
the first commits, and Odoo's retry (``odoo.service.model.retrying``, what every HTTP request
and the webhook processing go through) replays it on fresh data.
"""

import sys
import threading
import time
import traceback
from contextlib import closing
from datetime import date
from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.fields import Command
from odoo.service.model import retrying
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase, tagged
from odoo.tests.common import release_test_lock

from ..models.depanssur_abstract_notify import MUTED, notifications

INCIDENT = date(2026, 3, 10)
DONE = date(2026, 3, 12)
COST = 120.0


@tagged("post_install", "-at_install")
class TestConcurrentCompletions(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dbname = cls.env.cr.dbname
        cls.ids = {}
        with cls._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            plumbing = env.ref("depanssur.category_plumbing")
            plan = env["depanssur.plan"].create(
                {
                    "name": "Concurrency plan",
                    "monthly_price": 10.0,
                    "category_ids": [Command.link(plumbing.id)],
                    "carence_days": 0,
                    "cap_per_intervention": 500,
                    "yearly_cap_amount": 5000,
                    "yearly_cap_count": 3,
                }
            )
            partner = env["res.partner"].create(
                {"name": "Client concurrent", "street": "1 rue", "zip": "69001", "city": "Lyon"}
            )
            subscription = env["depanssur.subscription"].create(
                {"partner_id": partner.id, "plan_id": plan.id, "date_start": "2025-01-01"}
            )
            with notifications(MUTED):
                subscription.action_confirm()
            dossiers = env["depanssur.dossier"].create(
                [
                    {
                        "subscription_id": subscription.id,
                        "category_id": plumbing.id,
                        "incident_date": INCIDENT,
                        "estimated_cost": COST,
                    }
                    for _index in range(4)
                ]
            )
            with notifications(MUTED):
                dossiers.action_qualify()
            cr.commit()  # pylint: disable=invalid-commit  # two cursors must see it
            cls.ids = {
                "plan": plan.id,
                "partner": partner.id,
                "subscription": subscription.id,
                "product": plan.product_id.id,
                "template": plan.product_id.product_tmpl_id.id,
                "dossiers": dossiers.ids,
            }

    @classmethod
    def tearDownClass(cls):
        if cls.ids:
            with cls._cursor() as cr:
                ids = cls.ids
                cr.execute(
                    "DELETE FROM mail_message WHERE model = 'depanssur.dossier' AND res_id IN %s",
                    (tuple(ids["dossiers"]),),
                )
                cr.execute(
                    "DELETE FROM mail_message WHERE model = 'depanssur.subscription' "
                    "AND res_id = %s",
                    (ids["subscription"],),
                )
                cr.execute(
                    "DELETE FROM depanssur_dossier WHERE id IN %s", (tuple(ids["dossiers"]),)
                )
                cr.execute(
                    "DELETE FROM depanssur_subscription WHERE id = %s", (ids["subscription"],)
                )
                cr.execute("DELETE FROM depanssur_plan WHERE id = %s", (ids["plan"],))
                cr.execute("DELETE FROM product_product WHERE id = %s", (ids["product"],))
                cr.execute("DELETE FROM product_template WHERE id = %s", (ids["template"],))
                cr.execute("DELETE FROM res_partner WHERE id = %s", (ids["partner"],))
                cr.commit()  # pylint: disable=invalid-commit  # undo setUpClass
        super().tearDownClass()

    @classmethod
    def _cursor(cls):
        """A real connection of its own (not the test cursor), failing rather than hanging."""
        cr = db_connect(cls.dbname).cursor()
        cr.execute("SET lock_timeout = '20s'")
        return closing(cr)

    def _complete(self, dossier_id, done_first=None, hold=0.0, wait_for=None, attempts=None):
        """Complete one intervention in a worker of its own, through Odoo's retry loop."""
        if wait_for is not None:
            wait_for.wait(10)
        with self._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})

            def work():
                if attempts is not None:
                    attempts.append(dossier_id)
                env["depanssur.dossier"].browse(dossier_id).action_done(DONE)
                env.flush_all()
                if done_first is not None:
                    done_first.set()  # changes made, not committed yet
                    time.sleep(hold)

            with notifications(MUTED):
                retrying(work, env)

    def _race(self, first_id, second_id):
        """``second`` starts while ``first`` holds its uncommitted changes; both must finish."""
        done_first = threading.Event()
        attempts = []
        errors = []

        def run(*args, **kwargs):
            try:
                self._complete(*args, **kwargs)
            except Exception as error:  # reported below, in the test's thread
                errors.append(error)

        first = threading.Thread(
            target=run, args=(first_id,), kwargs={"done_first": done_first, "hold": 1.0}
        )
        second = threading.Thread(
            target=run, args=(second_id,), kwargs={"wait_for": done_first, "attempts": attempts}
        )
        # The test runner holds the registry's locks while tests run: release the test lock, and
        # hand the loaded registry to the workers' environments (Registry(dbname) would wait for
        # the class lock), including when Odoo's retry resets their transaction.
        with (
            release_test_lock(),
            patch("odoo.orm.environments.Registry", lambda dbname: self.registry),
        ):
            first.start()
            second.start()
            first.join(60)
            second.join(60)
        hung = [thread for thread in (first, second) if thread.is_alive()]
        frames = sys._current_frames()
        self.assertFalse(
            hung,
            "a worker hung:\n"
            + "\n".join("".join(traceback.format_stack(frames[t.ident])) for t in hung),
        )
        self.assertFalse(errors, errors)
        return attempts

    def _state(self):
        with self._cursor() as cr:
            cr.execute(
                """
                SELECT interventions_used, amount_consumed
                  FROM depanssur_subscription_usage
                 WHERE subscription_id = %s AND year_start = '2026-01-01' AND option_id IS NULL
                """,
                (self.ids["subscription"],),
            )
            usage = cr.fetchall()
            cr.execute(
                "SELECT id, state, decision, counters_consumed, decision_reason "
                "FROM depanssur_dossier WHERE id IN %s ORDER BY id",
                (tuple(self.ids["dossiers"]),),
            )
            return usage, {
                row[0]: row[1:4] if row[2] != "not_covered" else row[1:] for row in cr.fetchall()
            }

    def test_concurrent_completions_keep_counters_exact(self):
        one, two, three, four = self.ids["dossiers"]
        # 1. the first two interventions of the coverage year: its counters do not exist yet,
        #    both workers create them at once
        attempts = self._race(one, two)
        usage, dossiers = self._state()
        self.assertEqual(usage, [(2, 2 * COST)], f"one row of counters for both: {dossiers}")
        self.assertEqual(dossiers[one], ("done", "covered", True))
        self.assertEqual(dossiers[two], ("done", "covered", True))
        self.assertGreaterEqual(len(attempts), 2, "the second worker was replayed")
        # 2. one intervention left in the yearly count: exactly one of the two is covered
        attempts = self._race(three, four)
        usage, dossiers = self._state()
        self.assertEqual(usage, [(3, 3 * COST)])
        self.assertEqual(dossiers[three], ("done", "covered", True))
        self.assertEqual(dossiers[four][0], "done")
        self.assertEqual(dossiers[four][1], "not_covered", "the cap was reached by the other one")
        self.assertFalse(dossiers[four][2])
        self.assertGreaterEqual(len(attempts), 2, "the second worker was replayed")
