"""The portal's "pay my subscription" page as a portal client meets it: a GET changes nothing,
only the invoices the client still has to pay by card are in its total, another client's
subscription is out of reach; the open invoices are found in a constant number of queries."""

import json
import re

from odoo import fields
from odoo.fields import Command
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..controllers.portal import DepanssurPortal
from .common import DepanssurPortalCase
from .test_sepa import setup_sepa


@tagged("post_install", "-at_install")
class TestPayAllPage(HttpCase, DepanssurPortalCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mode = setup_sepa(cls.env)
        # four months invoiced (9.90 each, sold without VAT in the tests), none paid
        cls.mine = cls._subscribe(cls, partner=cls.portal_partner, date_start="2026-01-01")
        cls.mine._invoice_due_periods(fields.Date.to_date("2026-04-15"))
        cls.invoices = cls.mine.invoice_ids.sorted("invoice_date")
        cls.other = cls._subscribe(cls, date_start="2026-01-01")
        cls.other._invoice_due_periods(fields.Date.to_date("2026-02-15"))

    def setUp(self):
        super().setUp()
        self.authenticate("dp_portal", "dp_portal")

    def _pay_url(self, subscription=None):
        return f"/my/subscriptions/{(subscription or self.mine).id}/pay"

    def _in_debit_order(self, invoices):
        """``invoices`` waiting in a debit order not sent to the bank yet."""
        order = self.env["account.payment.order"].create({"payment_mode_id": self.mode.id})
        invoices.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        ).create_payment_line_from_move_line(order)
        return order

    def _sequence_state(self):
        """The company's group payment numbering, as the database has it."""
        self.env.invalidate_all()
        sequence = self.company.sudo().batch_payment_sequence_id
        ranges = sequence.date_range_ids
        return (
            sequence.number_next,
            sorted((r.id, r.number_next) for r in ranges),
            sequence.write_date,
            ranges and max(ranges.mapped("write_date")),
        )

    def _transaction(self, subscription, **params):
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"provider_id": 1, "payment_method_id": 1, "flow": "direct", **params},
        }
        with mute_logger("odoo.http"):
            return self.url_open(
                f"/my/subscriptions/{subscription.id}/pay/transaction",
                data=json.dumps(body),
                headers={"Content-Type": "application/json"},
            )

    def test_get_consumes_no_number_and_writes_nothing(self):
        self.assertEqual(len(self.invoices), 4)
        before = self._sequence_state()
        transactions = self.env["payment.transaction"].sudo().search_count([])
        for _visit in range(2):
            page = self.url_open(self._pay_url())
            self.assertEqual(page.status_code, 200)
            self.assertRegex(page.text, r"39[.,]60")
            # the reference shown is the subscription's number, the same at each visit
            self.assertIn(self.mine.name, page.text)
            self.assertNotIn("GROUP/", page.text)
        self.assertEqual(self._sequence_state(), before, "no group payment number consumed")
        self.assertEqual(self.env["payment.transaction"].sudo().search_count([]), transactions)

    def test_the_transaction_takes_the_subscriptions_reference(self):
        """The POST of the payment form: the reference is the subscription's (the payment module
        numbers the next ones), whatever reference the browser sends; no group number taken."""
        method = self.env.ref("payment.payment_method_unknown")
        provider = self.env["payment.provider"].create(
            {
                "name": "Test card",
                "code": "none",
                "state": "test",
                "payment_method_ids": [Command.set(method.ids)],
            }
        )
        method.active = True  # once a provider offers it
        before = self._sequence_state()
        params = {
            "provider_id": provider.id,
            "payment_method_id": method.id,
            "token_id": None,
            "amount": 39.60,
            "tokenization_requested": False,
            "landing_route": f"/my/subscriptions/{self.mine.id}",
            "payment_reference": "FORGED",
        }
        references = []
        for _attempt in range(2):
            answer = self._transaction(self.mine, **params)
            self.assertNotIn("error", answer.json(), answer.text[:500])
            references.append(answer.json()["result"]["reference"])
        self.assertEqual(references, [self.mine.name, f"{self.mine.name}-1"])
        transactions = (
            self.env["payment.transaction"].sudo().search([("reference", "in", references)])
        )
        self.assertEqual(transactions.invoice_ids, self.invoices)
        self.assertEqual(self._sequence_state(), before)

    def test_invoices_of_two_billing_contacts_are_not_paid_together(self):
        """The billing contact changed between invoices: the page sends the client to the
        invoices one by one, and the transaction route refuses them together as well."""
        billing = self.env["res.partner"].create(
            {
                "name": "Comptabilité du foyer",
                "parent_id": self.portal_partner.id,
                "type": "invoice",
            }
        )
        self.mine.sudo().partner_invoice_id = billing
        self.mine._invoice_due_periods(fields.Date.to_date("2026-05-15"))
        self.assertEqual(len(self.mine.invoice_ids.partner_id), 2)
        transactions = self.env["payment.transaction"].sudo().search_count([])
        page = self.url_open(self._pay_url(), allow_redirects=False)
        self.assertEqual(page.status_code, 303)
        answer = self._transaction(self.mine)
        self.assertEqual(answer.status_code, 200)
        self.assertIn("cannot be paid together", answer.json()["error"]["data"]["message"])
        self.assertEqual(self.env["payment.transaction"].sudo().search_count([]), transactions)

    def test_only_what_is_to_pay_by_card_is_in_the_total(self):
        first, second, third, fourth = self.invoices
        # pre-notified for a direct debit, and waiting in a debit order: the bank collects them
        first.sudo().depanssur_debit_date = "2026-04-20"
        self._in_debit_order(second)
        page = self.url_open(self._pay_url())
        self.assertEqual(page.status_code, 200)
        self.assertRegex(page.text, r"19[.,]80")
        for amount in (r"39[.,]60", r"29[.,]70"):
            self.assertNotRegex(page.text, amount)
        subscription_page = self.url_open(f"/my/subscriptions/{self.mine.id}")
        due = re.search(
            r"o_depanssur_amount_due.*?<strong[^>]*>(.*?)</strong>", subscription_page.text, re.S
        )
        self.assertRegex(due.group(1), r"19[.,]80")
        # partly paid: never in a total of whole invoices; its own page asks for what is left
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=third.ids
        ).create({"amount": 4.0})._create_payments()
        self.assertEqual(third.payment_state, "partial")
        transactions = self.env["payment.transaction"].sudo().search_count([])
        page = self.url_open(self._pay_url(), allow_redirects=False)
        self.assertEqual(page.status_code, 303)
        self.assertIn(f"/my/invoices/{third.id}", page.headers["Location"])
        answer = self._transaction(self.mine)
        self.assertEqual(answer.status_code, 200)
        self.assertIn("cannot be paid together", answer.json()["error"]["data"]["message"])
        self.assertEqual(self.env["payment.transaction"].sudo().search_count([]), transactions)
        # only the fourth left to pay by card: its own invoice page
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=third.ids
        ).create({})._create_payments()
        page = self.url_open(self._pay_url(), allow_redirects=False)
        self.assertEqual(page.status_code, 303)
        self.assertIn(f"/my/invoices/{fourth.id}", page.headers["Location"])

    def test_another_clients_subscription_is_not_found_without_a_leak(self):
        transactions = self.env["payment.transaction"].sudo().search_count([])
        for subscription_id in (self.other.id, 999999999):
            with self.subTest(subscription_id=subscription_id), mute_logger("odoo.http"):
                page = self.url_open(f"/my/subscriptions/{subscription_id}/pay")
                self.assertEqual(page.status_code, 404)
                for secret in (self.other.name, self.client.last_name, "19.80", "19,80"):
                    self.assertNotIn(secret, page.text)
        answer = self._transaction(self.other)
        self.assertIn("error", answer.json())
        self.assertNotIn(self.other.name, answer.text)
        self.assertEqual(self.env["payment.transaction"].sudo().search_count([]), transactions)

    def test_open_invoices_in_a_constant_number_of_queries(self):
        """Whether an invoice waits in a debit order is read once for all the subscription's
        invoices, not once per invoice."""
        portal = DepanssurPortal()
        small = self.other
        self._in_debit_order(self.invoices[0] | small.invoice_ids[0])
        self.assertEqual((len(small.invoice_ids), len(self.invoices)), (2, 4))
        self.env.invalidate_all()
        start = self.env.cr.sql_log_count
        self.assertEqual(len(portal._depanssur_open_invoices(small.sudo())), 1)
        queries = self.env.cr.sql_log_count - start
        self.env.invalidate_all()
        with self.assertQueryCount(queries):
            self.assertEqual(len(portal._depanssur_open_invoices(self.mine.sudo())), 3)
