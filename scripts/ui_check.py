#!/usr/bin/env python3
"""Walk through the running instance (``make run``) in headless Chromium and save screenshots.

    python3 scripts/ui_check.py [--url http://127.0.0.1:8069] [--out /tmp/depanssur-ui]

Screens: the client form, a subscription, the manager's dashboard (its charts drawn) and the KPI
snapshots (back office, as admin, in French), the public sign-up walked through end to end on a
phone-sized viewport (form, summary with the right of withdrawal, confirmation), and the customer
portal of a subscriber with unpaid invoices on the same 390×844 phone (home, subscriptions, a
subscription, consents): a page wider than the screen (sideways scrolling) is reported and makes
the script exit non-zero. Uses Chromium's DevTools protocol directly (websocket-client); any
JavaScript error printed by a page is reported and makes the script exit non-zero.
"""

import argparse
import base64
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
import websocket

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Page:
    def __init__(self, port):
        for _ in range(50):
            try:
                target = requests.put(f"http://127.0.0.1:{port}/json/new?about:blank", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        self.ws = websocket.create_connection(target.json()["webSocketDebuggerUrl"], timeout=60)
        self.id = 0
        self.errors = []
        self.call("Runtime.enable")
        self.call("Page.enable")

    def call(self, method, **params):
        self.id += 1
        self.ws.send(json.dumps({"id": self.id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("method") == "Runtime.exceptionThrown":
                self.errors.append(message["params"]["exceptionDetails"].get("text"))
            if message.get("method") == "Runtime.consoleAPICalled" and (
                message["params"]["type"] == "error"
            ):
                self.errors.append(str(message["params"]["args"])[:300])
            if message.get("id") == self.id:
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True)
        return result.get("result", {}).get("value")

    def goto(self, url, wait_for=None, timeout=30):
        self.call("Page.navigate", url=url)
        self.wait(wait_for or "document.readyState === 'complete'", timeout)

    def wait(self, expression, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            if self.evaluate(f"!!({expression})"):
                time.sleep(0.5)
                return
            time.sleep(0.25)
        raise TimeoutError(expression)

    def shot(self, path):
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        Path(path).write_bytes(base64.b64decode(data["data"]))
        print("screenshot", path)


PORTAL_LOGIN = "ui-portal@example.fr"


def portal_on_a_phone(args, call_kw, page, out):
    """The portal of a subscriber with unpaid invoices, as seen on the 390 px phone; returns the
    pages wider than the screen. The subscriber gets a portal login (created once, as admin)."""
    invoices = call_kw(
        "account.move",
        "search_read",
        [
            ("depanssur_subscription_id", "!=", False),
            ("move_type", "=", "out_invoice"),
            ("state", "=", "posted"),
            ("payment_state", "in", ("not_paid", "partial")),
        ],
        ["depanssur_subscription_id"],
        limit=1,
    )
    domain = [("id", "=", invoices[0]["depanssur_subscription_id"][0])] if invoices else []
    subscription = call_kw("depanssur.subscription", "search_read", domain, ["partner_id"], limit=1)
    if not subscription:
        return []
    partner_id = subscription[0]["partner_id"][0]
    users = call_kw(
        "res.users", "search", [("login", "=", PORTAL_LOGIN)], context={"active_test": False}
    )
    password = "ui-portal-check"
    if users:
        call_kw("res.users", "write", users, {"partner_id": partner_id, "active": True})
    else:
        portal_group = call_kw(
            "ir.model.data",
            "search_read",
            [("module", "=", "base"), ("name", "=", "group_portal")],
            ["res_id"],
        )[0]["res_id"]
        users = [
            call_kw(
                "res.users",
                "create",
                {
                    "login": PORTAL_LOGIN,
                    "partner_id": partner_id,
                    "group_ids": [(6, 0, [portal_group])],
                },
                context={"no_reset_password": True},
            )
        ]
    call_kw("res.users", "write", users, {"password": password})
    portal = requests.Session()
    portal.post(
        f"{args.url}/web/session/authenticate",
        json={
            "jsonrpc": "2.0",
            "params": {"db": args.db, "login": PORTAL_LOGIN, "password": password},
        },
        timeout=60,
    )
    page.call("Network.clearBrowserCookies")
    page.call(
        "Network.setCookie", name="session_id", value=portal.cookies["session_id"], url=args.url
    )
    too_wide = []
    screens = [
        ("portal-1-home-phone", "/my"),
        ("portal-2-subscriptions-phone", "/my/subscriptions"),
        ("portal-3-subscription-phone", f"/my/subscriptions/{subscription[0]['id']}"),
        ("portal-4-consents-phone", "/my/consents"),
    ]
    for name, path in screens:
        page.goto(args.url + path)
        page.shot(out / f"{name}.png")
        width = page.evaluate("document.documentElement.scrollWidth")
        title = page.evaluate("document.title")
        print(f"{path}: {width} px wide, title {title!r}")
        if width > 390:
            too_wide.append(f"{path} ({width} px)")
        if title == "Odoo":
            too_wide.append(f"{path} (no page title)")
    return too_wide


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8069")
    parser.add_argument("--db", default="depanssur")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--out", default="/tmp/depanssur-ui")
    parser.add_argument("--chromium-port", type=int, default=9222)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    session = requests.Session()
    auth = session.post(
        f"{args.url}/web/session/authenticate",
        json={
            "jsonrpc": "2.0",
            "params": {"db": args.db, "login": args.login, "password": args.password},
        },
        timeout=60,
    ).json()
    uid = auth["result"]["uid"]

    def call_kw(model, method, *call_args, **kwargs):
        response = session.post(
            f"{args.url}/web/dataset/call_kw",
            json={
                "jsonrpc": "2.0",
                "params": {
                    "model": model,
                    "method": method,
                    "args": list(call_args),
                    "kwargs": kwargs,
                },
            },
            timeout=300,
        ).json()
        if "error" in response:
            raise RuntimeError(response["error"]["data"]["message"])
        return response["result"]

    call_kw("res.users", "write", [uid], {"lang": "fr_FR", "tz": "Europe/Paris"})
    call_kw("depanssur.kpi.snapshot", "action_rebuild_history")
    client = call_kw("res.partner", "search", [("email", "=", "claire.martin@example.fr")], limit=1)
    subscription = call_kw("depanssur.subscription", "search", [], limit=1)
    port = args.chromium_port
    profile = tempfile.mkdtemp(prefix="depanssur-chromium-")
    chromium = subprocess.Popen(
        [
            "chromium",
            *CHROMIUM_FLAGS,
            f"--remote-debugging-port={port}",
            f"--user-data-dir={profile}",
            "--window-size=1440,1000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        page = Page(port)
        page.call("Network.enable")
        page.call(
            "Network.setCookie",
            name="session_id",
            value=session.cookies["session_id"],
            url=args.url,
        )
        backoffice = [
            ("client", f"/odoo/contacts/{client[0]}", ".o_form_view"),
            (
                "subscription",
                f"/odoo/action-depanssur.depanssur_subscription_action/{subscription[0]}",
                ".o_form_view",
            ),
            (
                "dashboard",
                "/odoo/action-depanssur.depanssur_dashboard_action",
                ".o_depanssur_dashboard .o_depanssur_cards",
            ),
            (
                "kpi-snapshots",
                "/odoo/action-depanssur.depanssur_kpi_snapshot_action",
                ".o_kanban_record",
            ),
        ]
        for name, path, selector in backoffice:
            page.goto(args.url + path, f"document.querySelector({selector!r})")
            page.shot(out / f"{name}.png")
        page.call(
            "Emulation.setDeviceMetricsOverride",
            width=390,
            height=844,
            deviceScaleFactor=2,
            mobile=True,
        )
        page.call("Network.clearBrowserCookies")
        page.goto(args.url + "/abonnement", "document.querySelector('form.o_depanssur_signup')")
        page.shot(out / "signup-1-form-phone.png")
        email = f"ui-{uuid.uuid4().hex[:8]}@example.fr"
        page.evaluate(
            """(() => {
                document.querySelector("input[name=plan_id]").checked = true;
                document.querySelector("select[name=civility]").value = "mrs";
                const set = (name, value) => document.querySelector(`[name=${name}]`).value = value;
                set("first_name", "Inès"); set("last_name", "Lemoine");
                set("email", "%s"); set("mobile", "06 33 44 55 66");
                set("street", "21 rue Mercière"); set("zip", "69002"); set("city", "Lyon");
                document.querySelector("input[name=consent_marketing_email]").checked = true;
                document.querySelector("input[name=terms]").checked = true;
                document.querySelector("form.o_depanssur_signup").submit();
            })()"""
            % email
        )
        page.wait("document.querySelector('form[action=\"/abonnement/confirmer\"]')")
        page.shot(out / "signup-2-summary-phone.png")
        page.evaluate(
            """(() => {
                document.querySelector("input[name=express_start]").checked = true;
                document.querySelector('form[action="/abonnement/confirmer"]').submit();
            })()"""
        )
        page.wait("document.querySelector('.o_depanssur_subscription_number')")
        page.shot(out / "signup-3-confirmed-phone.png")
        number = page.evaluate(
            "document.querySelector('.o_depanssur_subscription_number').textContent"
        )
        print("subscribed:", number)
        too_wide = portal_on_a_phone(args, call_kw, page, out)
        if too_wide:
            print("Pages wider than the phone (sideways scrolling):", *too_wide, sep="\n  ")
        if page.errors:
            print("JavaScript errors:", *page.errors, sep="\n  ")
            return 1
        return 1 if too_wide else 0
    finally:
        chromium.terminate()


if __name__ == "__main__":
    sys.exit(main())
