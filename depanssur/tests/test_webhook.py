import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import requests
from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessError, ConcurrencyError, UserError
from odoo.sql_db import db_connect
from odoo.tests import HttpCase, TransactionCase, tagged
from odoo.tools import config
from standardwebhooks.webhooks import Webhook

from ..rules import webhook_signature
from .common import DepanssurSubscriptionCase

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NEW_SECRET = "whsec_dGhpcyBpcyBhIG5ldyBzZWNyZXQga2V5IDEyMzQ="
URL = "/depanssur/webhook"


@tagged("post_install", "-at_install")
class TestWebhook(HttpCase, DepanssurSubscriptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["depanssur.webhook.secret"].create({"name": "current", "secret": SECRET})
        cls.subscription = cls.env["depanssur.subscription"].create(
            {
                "partner_id": cls.client.id,
                "plan_id": cls.plan_essentiel.id,
                "date_start": "2026-01-01",
            }
        )
        cls.subscription.action_confirm()
        cls.Event = cls.env["depanssur.webhook.event"]

    def _post(
        self,
        payload,
        secret=SECRET,
        msg_id=None,
        timestamp=None,
        headers=None,
        body=None,
        content_type="application/json",
    ):
        body = body if body is not None else json.dumps(payload).encode()
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        when = datetime.fromtimestamp(timestamp or int(time.time()), tz=UTC)
        signature = Webhook(secret).sign(msg_id, when, body.decode("utf-8", "replace"))
        all_headers = {
            "Content-Type": content_type,
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": signature,
        }
        all_headers.update(headers or {})
        with patch.object(
            type(self.env.ref("depanssur.ir_cron_depanssur_webhook_process")), "_trigger"
        ):
            response = self.url_open(URL, data=body, headers=all_headers, method="POST")
        return response

    def _event(self, event_type, data, occurred_at="2026-03-01T10:00:00Z"):
        return {"type": event_type, "occurred_at": occurred_at, "data": data}

    def _created(self, external_id="DEP-1", **data):
        return self._event(
            "dossier.created",
            {
                "external_id": external_id,
                "subscription": self.subscription.name,
                "category": "plumbing",
                "incident_date": "2026-03-01",
                "channel": "app",
                "description": "Fuite d'eau, cuisine",
                "estimated_cost": "150.00",
                **data,
            },
            occurred_at="2026-03-01T09:00:00Z",
        )

    def _process(self):
        self.Event._cron_process()

    def test_accept_duplicate_and_process(self):
        response = self._post(self._created(), msg_id="msg_one")
        self.assertEqual(response.status_code, 202, response.text)
        self.assertEqual(response.json()["status"], "accepted")
        again = self._post(self._created(), msg_id="msg_one")
        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json()["status"], "duplicate")
        event = self.Event.search([("webhook_id", "=", "msg_one")])
        self.assertEqual((len(event), event.state), (1, "received"))
        self._process()
        self.assertEqual(event.state, "processed")
        dossier = event.dossier_id
        self.assertEqual((dossier.external_id, dossier.channel), ("DEP-1", "app"))
        self.assertEqual(dossier.subscription_id, self.subscription)
        self.assertEqual(
            self.env["depanssur.dossier"].search_count([("external_id", "=", "DEP-1")]), 1
        )

    def test_processing_sends_each_claims_messages_once_and_none_for_failures(self):
        self._post(self._created("DEP-1"))
        self._post(self._created("DEP-2"))
        self._post(self._created("DEP-3", subscription="ABO/0000/UNKNOWN"), msg_id="msg_bad")
        self._post(
            self._event(
                "dossier.status_changed",
                {"external_id": "DEP-1", "status": "qualified"},
                "2026-03-01T10:00:00Z",
            )
        )
        self._process()  # one batch: messages queued, then sent per kind
        self.assertEqual(self.Event.search([("webhook_id", "=", "msg_bad")]).state, "failed")
        dossiers = self.env["depanssur.dossier"].search([("external_id", "like", "DEP-")])
        self.assertEqual(sorted(dossiers.mapped("external_id")), ["DEP-1", "DEP-2"])
        for dossier in dossiers:
            subjects = [m.subject or "" for m in dossier.message_ids if m.partner_ids]
            received = [s for s in subjects if s.startswith("Votre dossier")]
            decision = [s for s in subjects if s.startswith("Prise en charge")]
            self.assertEqual(len(received), 1, subjects)
            self.assertEqual(len(decision), 1 if dossier.external_id == "DEP-1" else 0)
            self.assertEqual(dossier.message_ids.filtered("partner_ids").partner_ids, self.client)
        sms = self.env["sms.sms"].sudo().search([("number", "=", "+33611223344")])
        self.assertEqual(len(sms), 3, "received x2, decision x1")
        # the emails are queued in order: received before the decision for DEP-1
        first = dossiers.filtered(lambda d: d.external_id == "DEP-1")
        posted = first.message_ids.filtered(lambda m: m.partner_ids and m.subject).sorted("id")
        self.assertTrue(posted[0].subject.startswith("Votre dossier"))

    def test_end_to_end_story(self):
        self._post(self._created())
        self._post(
            self._event(
                "dossier.status_changed",
                {"external_id": "DEP-1", "status": "qualified"},
                "2026-03-01T10:00:00Z",
            )
        )
        self._post(
            self._event(
                "intervention.completed",
                {
                    "external_id": "DEP-1",
                    "completed_on": "2026-03-02",
                    "costs": {"labour": "200", "parts": "80.50", "travel": 40},
                },
                "2026-03-02T16:00:00Z",
            )
        )
        self._post(
            self._event(
                "nps.responded",
                {"external_id": "DEP-1", "score": 4, "comment": "Trop long"},
                "2026-03-03T09:00:00Z",
            )
        )
        self._process()
        dossier = self.env["depanssur.dossier"].search([("external_id", "=", "DEP-1")])
        self.assertEqual(dossier.state, "done")
        self.assertEqual(dossier.final_cost, 320.5)
        self.assertEqual((dossier.covered_amount, dossier.client_share), (300, 20.5))
        self.assertEqual(dossier.nps_score, 4)
        usage = self.subscription.usage_ids.filtered(lambda u: not u.option_id)
        self.assertEqual((usage.interventions_used, usage.amount_consumed), (1, 300))
        self.assertFalse(self.Event.search([("state", "!=", "processed")]))

    def test_out_of_order_status_is_ignored(self):
        self._post(self._created())
        self._post(
            self._event(
                "dossier.status_changed",
                {"external_id": "DEP-1", "status": "qualified"},
                "2026-03-01T10:00:00Z",
            )
        )
        self._post(
            self._event(
                "dossier.status_changed",
                {"external_id": "DEP-1", "status": "scheduled"},
                "2026-03-01T12:00:00Z",
            )
        )
        self._process()
        # an older status arriving late never overwrites the newer one
        self._post(
            self._event("dossier.cancelled", {"external_id": "DEP-1"}, "2026-03-01T11:00:00Z"),
            msg_id="msg_late",
        )
        self._process()
        dossier = self.env["depanssur.dossier"].search([("external_id", "=", "DEP-1")])
        self.assertEqual(dossier.state, "scheduled")
        late = self.Event.search([("webhook_id", "=", "msg_late")])
        self.assertEqual(late.state, "ignored")
        self.assertIn("Older", late.error)
        # a newer event asking to go back to "declared" changes nothing and says so
        self._post(
            self._event(
                "dossier.status_changed",
                {"external_id": "DEP-1", "status": "declared"},
                "2026-03-01T13:00:00Z",
            ),
            msg_id="msg_back",
        )
        self._process()
        back = self.Event.search([("webhook_id", "=", "msg_back")])
        self.assertEqual((back.state, dossier.state), ("ignored", "scheduled"))
        self.assertIn("cannot go back", back.error)

    def test_created_after_status_is_retried(self):
        self._post(
            self._event(
                "dossier.status_changed",
                {"external_id": "DEP-9", "status": "qualified"},
                "2026-03-01T10:00:00Z",
            ),
            msg_id="msg_status",
        )
        self._process()
        status_event = self.Event.search([("webhook_id", "=", "msg_status")])
        self.assertEqual(status_event.state, "failed")
        self.assertIn("DEP-9", status_event.error)
        self.assertTrue(status_event.next_attempt_at)
        self._post(self._created("DEP-9"))
        self._process()
        status_event.with_user(self.user_manager).action_retry()
        self.assertEqual(status_event.state, "processed")
        self.assertEqual(status_event.dossier_id.state, "qualified")

    def test_replayed_request_verifies_the_same_body(self):
        """Odoo replays a request after a concurrency failure; the replay reads the same body.

        (A duplicate losing the race for the inbox row is replayed this way; the race itself,
        between real workers, is TestWebhookServed's.)
        """
        Event = type(self.Event)
        accept = Event._accept
        calls = []

        def accept_after_a_conflict(model, msg_id, *args):
            calls.append(msg_id)
            if len(calls) == 1:
                raise ConcurrencyError("another delivery of this id committed first")
            return accept(model, msg_id, *args)

        with patch.object(Event, "_accept", accept_after_a_conflict):
            response = self._post(self._created(), msg_id="msg_replayed")
        self.assertEqual(calls, ["msg_replayed", "msg_replayed"], "the request was replayed")
        self.assertEqual(response.status_code, 202, response.text)
        self.assertEqual(response.json(), {"status": "accepted", "id": "msg_replayed"})
        self.assertEqual(self.Event.search_count([("webhook_id", "=", "msg_replayed")]), 1)

    def test_chunked_body(self):
        """A body sent without Content-Length (chunked) is read whole, and refused when too big."""
        body = json.dumps(self._created("DEP-CHUNKED")).encode()
        stamp = int(time.time())

        def post(msg_id, body):
            headers = {
                "Content-Type": "application/json",
                "webhook-id": msg_id,
                "webhook-timestamp": str(stamp),
                "webhook-signature": webhook_signature.sign(SECRET, msg_id, stamp, body),
            }
            pieces = (body[start : start + 50] for start in range(0, len(body), 50))
            with patch.object(
                type(self.env.ref("depanssur.ir_cron_depanssur_webhook_process")), "_trigger"
            ):
                return self.url_open(URL, data=pieces, headers=headers, method="POST")

        response = post("msg_chunked", body)
        self.assertEqual(response.status_code, 202, response.text)
        self.assertEqual(self.Event.search_count([("webhook_id", "=", "msg_chunked")]), 1)
        self.env["ir.config_parameter"].sudo().set_param("depanssur.webhook_max_kb", 1)
        big = json.dumps(self._created("DEP-BIG", description="x" * 2000)).encode()
        response = post("msg_chunked_big", big)
        self.assertEqual(
            (response.status_code, response.json()["error"]), (413, "payload_too_large")
        )
        self.assertFalse(self.Event.search_count([("webhook_id", "=", "msg_chunked_big")]))

    def test_unknown_event_stored_and_ignored(self):
        response = self._post(
            self._event("artisan.assigned", {"whatever": 1}), msg_id="msg_unknown"
        )
        self.assertEqual(response.status_code, 202)
        self._process()
        self.assertEqual(self.Event.search([("webhook_id", "=", "msg_unknown")]).state, "ignored")

    def test_client_errors(self):
        before = self.Event.search_count([])
        # bad signature, forged with another secret
        response = self._post(self._created(), secret=NEW_SECRET)
        self.assertEqual((response.status_code, response.json()["error"]), (401, "bad_signature"))
        # missing signature headers
        response = self.url_open(
            URL, data=b"{}", headers={"Content-Type": "application/json"}, method="POST"
        )
        self.assertEqual((response.status_code, response.json()["error"]), (401, "missing_headers"))
        # replay with an old timestamp, and one from the future
        for offset in (-600, 600):
            response = self._post(self._created(), timestamp=int(time.time()) + offset)
            self.assertEqual(
                (response.status_code, response.json()["error"]), (401, "stale_timestamp")
            )
        # not JSON
        response = self._post(None, body=b"a=1", content_type="application/x-www-form-urlencoded")
        self.assertEqual(response.status_code, 415)
        # malformed JSON, correctly signed
        response = self._post(None, body=b'{"type": ')
        self.assertEqual((response.status_code, response.json()["error"]), (400, "malformed_json"))
        # schema violations say which field
        bad = self._event("nps.responded", {"external_id": "DEP-1", "score": 11})
        response = self._post(bad)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["path"], "data.score")
        response = self._post({"type": "dossier.created", "occurred_at": "hier", "data": {}})
        self.assertEqual(response.status_code, 400)
        missing = self._created()
        del missing["data"]["subscription"]
        self.assertEqual(self._post(missing).status_code, 400)
        # too large
        self.env["ir.config_parameter"].sudo().set_param("depanssur.webhook_max_kb", 1)
        big = self._created(description="x" * 2000)
        response = self._post(big)
        self.assertEqual(
            (response.status_code, response.json()["error"]), (413, "payload_too_large")
        )
        self.assertEqual(
            self.Event.search_count([]), before, "nothing is written on a client error"
        )

    def test_secret_rotation(self):
        new = self.env["depanssur.webhook.secret"].create({"name": "next", "secret": NEW_SECRET})
        self.assertEqual(self._post(self._created("R1"), secret=NEW_SECRET).status_code, 202)
        self.assertEqual(self._post(self._created("R2"), secret=SECRET).status_code, 202)
        # the sender may send both signatures during its own rotation
        body = json.dumps(self._created("R3")).encode()
        now = datetime.now(tz=UTC)
        both = " ".join(
            [
                Webhook(NEW_SECRET).sign("msg_both", now, body.decode()),
                "v2,ignored",
                Webhook(SECRET).sign("msg_both", now, body.decode()),
            ]
        )
        response = self._post(
            None,
            body=body,
            msg_id="msg_both",
            headers={"webhook-signature": both, "webhook-timestamp": str(int(now.timestamp()))},
        )
        self.assertEqual(response.status_code, 202)
        self.env["depanssur.webhook.secret"].search([("name", "=", "current")]).active = False
        self.assertEqual(self._post(self._created("R4"), secret=SECRET).status_code, 401)
        self.assertTrue(new.active)

    def test_processing_failure_then_retry(self):
        self._post(self._created(), msg_id="msg_boom")
        with patch.object(
            type(self.env["depanssur.dossier"]), "create", side_effect=RuntimeError("db down")
        ):
            self._process()
        event = self.Event.search([("webhook_id", "=", "msg_boom")])
        self.assertEqual((event.state, event.attempts), ("failed", 1))
        self.assertIn("db down", event.error)
        self.assertFalse(self.env["depanssur.dossier"].search([("external_id", "=", "DEP-1")]))
        # the cron retries only once the backoff is over
        self._process()
        self.assertEqual(event.attempts, 1)
        self.Event._cron_process(now=datetime.now() + timedelta(minutes=2))
        self.assertEqual(event.state, "processed")
        self.assertTrue(event.dossier_id)

    def test_access(self):
        self._post(self._created(), msg_id="msg_access")
        event = self.Event.search([("webhook_id", "=", "msg_access")])
        public = self.env.ref("base.public_user")
        with self.assertRaises(AccessError):
            event.with_user(public).read(["payload"])
        with self.assertRaises(AccessError):
            event.with_user(self.user_portal).read(["payload"])
        secret = self.env["depanssur.webhook.secret"].search([], limit=1)
        with self.assertRaises(AccessError):
            secret.with_user(self.user_agent).read(["secret"])
        with self.assertRaises(AccessError):
            secret.with_user(self.user_manager).read(["secret"])
        with self.assertRaises(UserError):
            event.with_user(self.user_agent).action_retry()
        self.assertTrue(secret.with_user(self.env.ref("base.user_admin")).secret)


@tagged("post_install", "-at_install")
class TestWebhookServed(TransactionCase):
    """Racing duplicate deliveries against a real Odoo served with ``--workers=2`` (prefork).

    HttpCase's server runs every request on the test's cursor behind the test lock, one at a time:
    deliveries cannot race there. So the test starts Odoo as in production, in a process of its
    own on the test's database, with a secret committed for it (removed at the end with the events
    it stored). In the held rounds, a blocking row with the same ``webhook-id``, rolled back once
    both workers wait on it, makes the two workers race for the inbox row: the loser's INSERT ...
    ON CONFLICT DO NOTHING raises a serialization failure (REPEATABLE READ) and Odoo replays the
    whole request (``odoo.service.model.retrying``), which must verify the same bytes again.
    """

    ROUNDS = 4
    SENDERS = 5

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dbname = cls.env.cr.dbname
        cls.prefix = f"msg_served_{uuid.uuid4().hex[:12]}_"
        cls.secret_id = None
        with cls._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            cls.secret_id = env["depanssur.webhook.secret"].create({"secret": SECRET}).id
            cron = env.ref("depanssur.ir_cron_depanssur_webhook_process")
            cls.cron_id = cron.id
            cr.execute("SELECT coalesce(max(id), 0) FROM ir_cron_trigger")
            cls.last_trigger_id = cr.fetchone()[0]
            cr.commit()  # pylint: disable=invalid-commit
        cls.addClassCleanup(cls._remove_committed)
        handle, cls.log_path = tempfile.mkstemp(prefix="depanssur-served-", suffix=".log")
        os.close(handle)
        cls.addClassCleanup(os.unlink, cls.log_path)
        cls.url = cls._serve()

    @classmethod
    def _cursor(cls):
        cr = db_connect(cls.dbname).cursor()
        cr.execute("SET lock_timeout = '20s'")
        return contextlib.closing(cr)

    @classmethod
    def _remove_committed(cls):
        with cls._cursor() as cr:
            cr.execute(
                "DELETE FROM depanssur_webhook_event WHERE webhook_id LIKE %s",
                (cls.prefix + "%",),
            )
            cr.execute("DELETE FROM depanssur_webhook_secret WHERE id = %s", (cls.secret_id,))
            cr.execute(
                "DELETE FROM ir_cron_trigger WHERE id > %s AND cron_id = %s",
                (cls.last_trigger_id, cls.cron_id),
            )
            cr.commit()  # pylint: disable=invalid-commit
        cls.registry.clear_cache()

    @classmethod
    def _free_port(cls):
        with contextlib.closing(socket.socket()) as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    @classmethod
    def _serve(cls):
        """Odoo with two HTTP workers and no cron worker on the test's database; its URL."""
        port = cls._free_port()
        # The prefork server starts its websocket (gevent) worker by running its own argv[0]
        # again; the test needs none, so argv[0] is a script that only waits to be stopped.
        websocket_stub = Path(cls.log_path).with_suffix(".gevent.py")
        websocket_stub.write_text("import time\n\ntime.sleep(600)\n")
        cls.addClassCleanup(websocket_stub.unlink)
        command = [
            sys.executable,
            "-c",
            "import sys, odoo.cli; sys.argv[0] = sys.argv.pop(1); odoo.cli.main()",
            str(websocket_stub),
            f"--database={cls.dbname}",
            f"--db-filter=^{cls.dbname}$",
            f"--addons-path={','.join(config['addons_path'])}",
            f"--data-dir={config['data_dir']}",
            "--workers=2",
            "--max-cron-threads=0",
            "--http-interface=127.0.0.1",
            f"--http-port={port}",
            f"--gevent-port={cls._free_port()}",
            f"--logfile={cls.log_path}",
            "--log-level=info",
        ]
        for option in ("db_host", "db_port", "db_user", "db_password"):
            if config[option]:
                command.append(f"--{option}={config[option]}")
        with open(cls.log_path, "ab") as errors:
            server = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                start_new_session=True,
            )
        cls.addClassCleanup(cls._stop, server)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if requests.get(f"http://127.0.0.1:{port}/web/health", timeout=5).ok:
                    return f"http://127.0.0.1:{port}/depanssur/webhook"
            except requests.RequestException:
                time.sleep(0.5)
        log = Path(cls.log_path).read_text(errors="replace")
        raise RuntimeError(f"the served Odoo did not start:\n{log[-5000:]}")

    @classmethod
    def _stop(cls, server):
        """Stop the server, then whatever is left of the process group it leads."""
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)

    @classmethod
    def _log_tail(cls, lines=40):
        """The last records the served Odoo logged about the database (its requests)."""
        log = Path(cls.log_path).read_text(errors="replace").splitlines()
        return "\n".join([line for line in log if f" {cls.dbname} " in line][-lines:])

    def _deliver(self, msg_id, body, barrier):
        stamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": webhook_signature.sign(SECRET, msg_id, stamp, body),
        }
        barrier.wait(10)
        return requests.post(self.url, data=body, headers=headers, timeout=60)

    def _waiting_on(self, cr, seconds=15):
        """Block until both HTTP workers wait on ``cr``'s transaction (or ``seconds`` pass)."""
        cr.execute("SELECT pg_backend_pid()")
        pid = cr.fetchone()[0]
        deadline = time.monotonic() + seconds
        with self._cursor() as watcher:
            while time.monotonic() < deadline:
                watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                    (pid,),
                )
                if watcher.fetchone()[0] >= 2:
                    return True
                watcher.rollback()
                time.sleep(0.05)
        return False

    def _round(self, msg_id, held):
        body = json.dumps(
            {
                "type": "nps.responded",
                "occurred_at": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "data": {"external_id": "DEP-RACE", "score": 9},
            }
        ).encode()
        barrier = threading.Barrier(self.SENDERS)
        with ThreadPoolExecutor(self.SENDERS) as pool, self._cursor() as blocker:
            if held:
                # another delivery of the same id, in flight: both workers queue behind it
                blocker.execute(
                    """
                    INSERT INTO depanssur_webhook_event
                           (webhook_id, event_type, occurred_at, received_at, state, attempts)
                    VALUES (%s, 'nps.responded', now(), now(), 'received', 0)
                    """,
                    (msg_id,),
                )
            futures = [
                pool.submit(self._deliver, msg_id, body, barrier) for _ in range(self.SENDERS)
            ]
            if held:
                self.assertTrue(self._waiting_on(blocker), "both workers wait for the row")
                blocker.rollback()  # it gives up: the two workers race for the row
            answers = [future.result() for future in futures]
        return answers

    def test_racing_duplicates_get_200_or_202(self):
        for index in range(self.ROUNDS):
            msg_id = f"{self.prefix}{index}"
            answers = self._round(msg_id, held=index % 2 == 0)
            with self.subTest(round=index):
                statuses = sorted(answer.status_code for answer in answers)
                self.assertEqual(
                    statuses,
                    [200] * (self.SENDERS - 1) + [202],
                    f"{[answer.text for answer in answers]}\n{self._log_tail()}",
                )
                for answer in answers:
                    self.assertEqual(
                        answer.headers["Content-Type"].split(";")[0], "application/json"
                    )
                    state = "accepted" if answer.status_code == 202 else "duplicate"
                    self.assertEqual(answer.json(), {"status": state, "id": msg_id})
                with self._cursor() as cr:
                    cr.execute(
                        "SELECT count(*) FROM depanssur_webhook_event WHERE webhook_id = %s",
                        (msg_id,),
                    )
                    self.assertEqual(cr.fetchone()[0], 1, "one event stored per id")
        log = Path(self.log_path).read_text(errors="replace")
        # the held rounds did go through Odoo's replay of the request, which is no error
        self.assertIn("SERIALIZATION_FAILURE", log)
        self.assertFalse([line for line in log.splitlines() if "bad query" in line])
