import contextlib
import json
import time
import uuid
from datetime import date
from pathlib import Path
from unittest.mock import patch

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from odoo.exceptions import UserError, ValidationError
from odoo.tests import HttpCase, tagged
from standardwebhooks.webhooks import Webhook

from ..rules import webhook_openapi, webhook_signature
from .common import DepanssurSubscriptionCase

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

# One table: model → operation → the groups allowed (anything else is denied).
A, M, C, P, U = "agent", "manager", "accounting", "portal", "public"
ACCESS = {
    "depanssur.subscription": {
        "read": {A, M, C, P},
        "write": {A, M, C},
        "create": {A, M, C},
        "unlink": {M},
    },
    "depanssur.dossier": {
        "read": {A, M, C, P},
        "write": {A, M, C},
        "create": {A, M, C},
        "unlink": {M},
    },
    "depanssur.plan": {"read": {A, M, C, P}, "write": {M}, "create": {M}, "unlink": set()},
    "depanssur.consent": {"read": {A, M, C}, "write": {M}, "create": {A, M, C}, "unlink": set()},
    "depanssur.credit.note": {
        "read": {A, M, C},
        "write": {A, M, C},
        "create": {A, M, C},
        "unlink": {C},
    },
    "depanssur.dunning.case": {"read": {A, M, C}, "write": {C}, "create": {C}, "unlink": set()},
    "depanssur.dunning.level": {"read": {A, M, C}, "write": {M}, "create": {M}, "unlink": {M}},
    "depanssur.webhook.event": {"read": {A, M, C}, "write": {M}, "create": set(), "unlink": set()},
    "depanssur.webhook.secret": {"read": set(), "write": set(), "create": set(), "unlink": set()},
    "depanssur.kpi.snapshot": {"read": {M}, "write": {M}, "create": {M}, "unlink": set()},
    "depanssur.job.run": {"read": {M}, "write": set(), "create": set(), "unlink": set()},
    "depanssur.sepa.return": {"read": {A, M, C}, "write": set(), "create": set(), "unlink": set()},
}


@tagged("post_install", "-at_install")
class TestAccessMatrix(DepanssurSubscriptionCase):
    def test_matrix(self):
        users = {
            A: self.user_agent,
            M: self.user_manager,
            C: self.user_accounting,
            P: self.user_portal,
            U: self.env.ref("base.public_user"),
        }
        for model, operations in ACCESS.items():
            for operation, allowed in operations.items():
                for role, user in users.items():
                    with self.subTest(model=model, operation=operation, role=role):
                        granted = self.env[model].with_user(user).has_access(operation)
                        self.assertEqual(granted, role in allowed)


@tagged("post_install", "-at_install")
class TestHardening(HttpCase, DepanssurSubscriptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["depanssur.webhook.secret"].create({"name": "fuzz", "secret": SECRET})

    def test_accept_path_query_count(self):
        Event = self.env["depanssur.webhook.event"].sudo()
        cron = self.env.ref("depanssur.ir_cron_depanssur_webhook_process").sudo()
        Trigger = self.env["ir.cron.trigger"].sudo()
        Trigger.search([("cron_id", "=", cron.id)]).unlink()
        body = b'{"type": "nps.responded"}'
        stamp = int(time.time())
        self.env["depanssur.webhook.secret"]._active_secrets()  # warm caches, as a worker has

        def accept(msg_id):
            headers = {
                "webhook-id": msg_id,
                "webhook-timestamp": str(stamp),
                "webhook-signature": webhook_signature.sign(SECRET, msg_id, stamp, body),
            }
            secrets = self.env["depanssur.webhook.secret"].sudo()._active_secrets()
            webhook_signature.verify(secrets, headers, body, now=stamp)
            self.assertTrue(
                Event._accept(msg_id, "nps.responded", self.env.cr.now(), {"type": "x"})
            )
            Event._wake_processing()

        accept("msg_first")  # no trigger pending: one is added
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), 1)
        # under load a trigger is pending: the INSERT and one indexed SELECT, nothing more
        with self.assertQueryCount(2):
            accept("msg_counted")
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), 1)

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        body=st.one_of(
            st.binary(max_size=300),
            st.builds(
                lambda t, d: json.dumps(
                    {"type": t, "occurred_at": "2026-03-01T10:00:00Z", "data": d}
                ).encode(),
                st.sampled_from(
                    ["dossier.created", "nps.responded", "payment.failed", "x.y", "bad"]
                ),
                st.dictionaries(
                    st.text(max_size=12),
                    st.one_of(st.integers(), st.text(max_size=8), st.none()),
                    max_size=4,
                ),
            ),
        ),
        sign=st.booleans(),
        content_type=st.sampled_from(["application/json", "text/plain", ""]),
        # header values travel as latin-1: the client cannot send anything else
        msg_id=st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40),
    )
    def test_fuzz_never_500_never_partial(self, body, sign, content_type, msg_id):
        before = self.env["depanssur.webhook.event"].search_count([])
        headers = {"Content-Type": content_type} if content_type else {}
        if sign and msg_id.isprintable() and msg_id.strip():
            stamp = int(time.time())
            headers.update(
                {
                    "webhook-id": msg_id.strip(),
                    "webhook-timestamp": str(stamp),
                    "webhook-signature": Webhook(SECRET).sign(
                        msg_id.strip(),
                        __import__("datetime").datetime.fromtimestamp(
                            stamp, tz=__import__("datetime").timezone.utc
                        ),
                        body.decode("utf-8", "replace"),
                    ),
                }
            )
        with patch.object(type(self.env["ir.cron"]), "_trigger"):
            response = self.url_open(
                "/depanssur/webhook", data=body, headers=headers, method="POST"
            )
        self.assertLess(response.status_code, 500, response.text[:300])
        payload = response.json()
        self.assertTrue({"error", "status"} & payload.keys())
        after = self.env["depanssur.webhook.event"].search_count([])
        self.assertEqual(after - before, 1 if response.status_code == 202 else 0)

    def test_crash_resume_daily_invoicing(self):
        subscriptions = self.env["depanssur.subscription"]
        for index in range(6):
            partner = self.env["res.partner"].create(
                {
                    "name": f"Client {index}",
                    "street": f"{index} rue",
                    "zip": "69001",
                    "city": "Lyon",
                }
            )
            subscriptions |= self._subscribe(partner=partner, date_start="2026-01-01")
        Subscription = self.env["depanssur.subscription"]
        original = type(Subscription)._invoice_due_periods
        calls = {"n": 0}

        def crash_on_second_batch(records, day):
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("killed")
            return original(records, day)

        with patch.object(type(Subscription), "_invoice_due_periods", crash_on_second_batch):
            with self.assertRaises(RuntimeError):
                Subscription._cron_invoice_due(date(2026, 3, 1), batch_size=2)
        # the first batch is done (as if committed), the rest is not; re-run to the end
        Subscription._cron_invoice_due(date(2026, 3, 1), batch_size=2)
        for subscription in subscriptions:
            periods = sorted(subscription.invoice_ids.mapped("depanssur_period_start"))
            self.assertEqual(periods, [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)])


class _StandardWebhooksAuth(requests.auth.AuthBase):
    """Sign whatever body the fuzzer sends, as Depanssur's tool would (a fresh id each time)."""

    def __call__(self, request):
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        msg_id = f"msg_{uuid.uuid4().hex}"
        stamp = int(time.time())
        request.headers.update(
            {
                "webhook-id": msg_id,
                "webhook-timestamp": str(stamp),
                "webhook-signature": webhook_signature.sign(SECRET, msg_id, stamp, body),
            }
        )
        return request


@tagged("post_install", "-at_install")
class TestOpenApiFuzz(HttpCase, DepanssurSubscriptionCase):
    """schemathesis drives the endpoint from docs/webhooks.openapi.json: every answer matches the
    description (status, JSON body schema), nothing is a 500, nothing is half-written, and every
    accepted event is either applied or refused by a business rule (never a crash)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["depanssur.webhook.secret"].create({"name": "fuzz", "secret": SECRET})

    def test_schemathesis(self):
        import schemathesis
        from schemathesis.checks import not_a_server_error
        from schemathesis.specs.openapi.checks import (
            content_type_conformance,
            response_schema_conformance,
            status_code_conformance,
        )

        checks = [
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ]

        path = Path(__file__).resolve().parents[2] / "docs" / "webhooks.openapi.json"
        if not path.exists():  # installed without the repository's docs/: build it
            document = webhook_openapi.openapi_document()
        else:
            document = json.loads(path.read_text(encoding="utf-8"))
        self.assertEqual(document, webhook_openapi.openapi_document(), "docs/ is out of date")
        operation = schemathesis.openapi.from_dict(document)["/depanssur/webhook"]["POST"]
        session = self.opener  # the test server only serves requests carrying its key
        self.patch(session, "auth", _StandardWebhooksAuth())
        Event = self.env["depanssur.webhook.event"].sudo()
        statuses = []

        @settings(
            max_examples=80,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def fuzz(case):
            before = Event.search_count([])
            with patch.object(type(self.env["ir.cron"]), "_trigger"):
                response = case.call(base_url=self.base_url(), session=session, timeout=30)
            case.validate_response(response, checks=checks)  # status, media type, body schema
            statuses.append(response.status_code)
            self.assertLess(response.status_code, 500, response.text[:300])
            created = (
                Event.search([], order="id desc", limit=1) if response.status_code == 202 else Event
            )
            self.assertEqual(Event.search_count([]) - before, len(created))
            for event in created:
                # refused by a business rule, with a message: expected for random data
                with contextlib.suppress(UserError, ValidationError), self.env.cr.savepoint():
                    event._dispatch()

        fuzz()
        self.assertIn(202, statuses, "the fuzzer reached the storage path")
        self.assertIn(400, statuses, "the fuzzer reached the contract checks")
