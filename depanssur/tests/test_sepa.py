import base64
from contextlib import contextmanager
from datetime import date
from unittest.mock import patch

from freezegun import freeze_time
from lxml import etree
from odoo.exceptions import AccessError, LockError, UserError, ValidationError
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger
from odoo.tools.misc import file_path
from psycopg2.errors import UniqueViolation

from ..tools.sepa_setup import setup_sepa
from .common import (
    PHONE_SALE_IDENTITY,
    DepanssurSubscriptionCase,
    SignupFormMixin,
    activate_french,
    csrf_of,
)
from .queue_common import run_queued_jobs
from .test_security import RpcGuardsCase

IBAN = "FR76 3000 6000 0112 3456 7890 189"
OTHER_IBAN = "DE89 3704 0044 0532 0130 00"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}


class SepaCommon(DepanssurSubscriptionCase):
    """A company able to collect by direct debit: a bank journal on the creditor's IBAN, the
    SEPA direct debit mode of the OCA module, a creditor identifier."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mode = setup_sepa(cls.env)
        cls.journal = cls.mode.fixed_journal_id
        cls.xsd = etree.XMLSchema(
            etree.parse(file_path("account_banking_sepa_direct_debit/data/pain.008.001.02.xsd"))
        )
        cls.Order = cls.env["account.payment.order"]
        cls.Mandate = cls.env["account.banking.mandate"]
        cls.Case = cls.env["depanssur.dunning.case"]

    def _sepa_subscription(self, iban=IBAN, partner=None):
        partner = partner or self.client
        with freeze_time("2026-02-25"):
            mandate = self.Mandate._depanssur_create_for(
                partner, iban, partner.name, "web", signed=True, ip="203.0.113.5"
            )
            subscription = self._subscribe(partner=partner, date_start="2026-03-01")
            subscription.with_user(self.user_agent)._depanssur_set_payment_method("sepa", mandate)
        return subscription, mandate

    def _invoice(self, subscription, day):
        with freeze_time(day):
            self.env["depanssur.subscription"]._cron_invoice_due(day)
        return subscription.invoice_ids.sorted("id")[-1:]

    def _collect(self, day):
        with freeze_time(day):
            return self.Order._cron_depanssur_collect(day)

    def _pain(self, order):
        attachment = self.env["ir.attachment"].search(
            [("res_model", "=", "account.payment.order"), ("res_id", "=", order.id)]
        )
        self.assertEqual(len(attachment), 1)
        root = etree.fromstring(base64.b64decode(attachment.datas))
        self.xsd.assertValid(root)
        return root

    def _return(self, order, reason, day, user=None):
        with freeze_time(day):
            wizard = (
                self.env["depanssur.sepa.return.wizard"]
                .with_user(user or self.user_accounting)
                .with_context(active_id=order.id)
                .create({"payment_id": order.payment_ids.id, "reason": reason, "date": day})
            )
            wizard.action_apply()
        return self.env["depanssur.sepa.return"].search([("payment_id", "=", order.payment_ids.id)])


@tagged("post_install", "-at_install")
class TestSepaMandate(SepaCommon):
    def test_mandate_from_signup_data(self):
        with freeze_time("2026-03-01 09:00:00"):
            mandate = self.Mandate._depanssur_create_for(
                self.client,
                " fr7630006000011234567890189 ",
                "Sophie Lefèvre",
                "web",
                True,
                "1.2.3.4",
            )
        self.assertEqual(mandate.state, "valid")
        self.assertEqual(mandate.recurrent_sequence_type, "first")
        self.assertEqual(mandate.signature_date, date(2026, 3, 1))
        self.assertEqual(mandate.depanssur_signed_ip, "1.2.3.4")
        self.assertNotEqual(mandate.unique_mandate_reference, "/")
        self.assertEqual(
            mandate.partner_bank_id.sanitized_acc_number, "FR7630006000011234567890189"
        )
        self.assertEqual(mandate.depanssur_iban_masked, "FR** **** **** **** **** **** 189")
        self.assertEqual(mandate.depanssur_holder, "Sophie Lefèvre")
        # the same account again: the bank account is reused, the reference is new
        again = self.Mandate._depanssur_create_for(self.client, IBAN, "Sophie", "paper", True)
        self.assertEqual(again.partner_bank_id, mandate.partner_bank_id)
        self.assertNotEqual(again.unique_mandate_reference, mandate.unique_mandate_reference)

    def test_invalid_iban_refused_clearly(self):
        count = self.env["res.partner.bank"].search_count([])
        wizard = (
            self.env["depanssur.payment.method.wizard"]
            .with_user(self.user_agent)
            .create(
                {
                    "subscription_id": self._subscribe().id,
                    "method": "sepa",
                    "iban": "FR76 3000 6000 0112 3456 7890 180",
                    "holder": "Sophie Lefèvre",
                }
            )
        )
        with self.assertRaisesRegex(ValidationError, "is not valid.*validation check") as caught:
            wizard.action_apply()
        self.assertNotIn("3456", str(caught.exception), "the message (logged) masks the IBAN")
        with self.assertRaisesRegex(ValidationError, "is not valid"):
            self.Mandate._depanssur_create_for(self.client, "1234", "X", "web", True)
        with self.assertRaisesRegex(ValidationError, "holder"):
            self.Mandate._depanssur_create_for(self.client, IBAN, " ", "web", True)
        self.assertEqual(self.env["res.partner.bank"].search_count([]), count)

    def test_erasure_and_access_cover_the_mandates(self):
        partner = self.env["res.partner"].create(
            {
                "name": "Zoé Prélèvement",
                "email": "zoe.prelevement@example.fr",
                "street": "3 rue X",
                "zip": "69001",
                "city": "Lyon",
                "depanssur_client": True,
            }
        )
        mandate = self.Mandate._depanssur_create_for(
            partner, OTHER_IBAN, "Zoé Prélèvement", "web", signed=True, ip="203.0.113.9"
        )
        self.assertEqual(mandate.state, "valid")
        exported = partner._depanssur_privacy_data()["sepa_mandates"]
        self.assertEqual(exported[0]["depanssur_signed_ip"], "203.0.113.9")
        self.assertNotIn("3704", str(exported), "the IBAN is exported masked")
        bank = mandate.partner_bank_id
        partner._depanssur_anonymize()
        self.assertEqual(mandate.state, "cancel", "no debit can be made under it any more")
        self.assertFalse(mandate.depanssur_signed_ip)
        self.assertFalse(bank.acc_holder_name)

    def test_change_method_is_an_agent_action_with_a_trace(self):
        subscription = self._subscribe()
        self.assertEqual(subscription.payment_method, "card")
        wizard = (
            self.env["depanssur.payment.method.wizard"]
            .with_user(self.user_agent)
            .create(
                {
                    "subscription_id": subscription.id,
                    "method": "sepa",
                    "iban": IBAN,
                    "holder": "Sophie Lefèvre",
                    "signature": "paper",
                    "note": "Client call",
                }
            )
        )
        wizard.action_apply()
        self.assertEqual(subscription.payment_method, "sepa")
        self.assertEqual(subscription.mandate_id.state, "valid")
        self.assertEqual(subscription.mandate_id.depanssur_channel, "paper")
        self.assertIn("Payment method changed", subscription.message_ids[0].body)
        self.assertIn(
            subscription.mandate_id.unique_mandate_reference, subscription.message_ids[0].body
        )
        # never by a plain write, whatever the context
        with self.assertRaises(UserError):
            subscription.with_user(self.user_agent).write({"payment_method": "card"})
        with self.assertRaises(AccessError):
            subscription.with_user(self.user_portal)._depanssur_set_payment_method("card")

    def test_esign_link_then_collected_once_signed(self):
        subscription = self._subscribe(date_start="2026-03-01")
        wizard = (
            self.env["depanssur.payment.method.wizard"]
            .with_user(self.user_agent)
            .create(
                {
                    "subscription_id": subscription.id,
                    "method": "sepa",
                    "iban": IBAN,
                    "holder": "Sophie Lefèvre",
                    "signature": "esign",
                }
            )
        )
        wizard.action_apply()
        mandate = subscription.mandate_id
        self.assertEqual(mandate.state, "draft")
        self.assertFalse(subscription._depanssur_collect_by_debit())
        sent = self.env["mail.mail"].search([("subject", "ilike", "mandat de prélèvement SEPA")])
        self.assertIn(f"/mandat/signer/{mandate.id}?token=", sent[-1:].body_html)
        # not signed: the invoice is not debited
        invoice = self._invoice(subscription, "2026-03-01")
        self.assertFalse(invoice.depanssur_debit_date)
        # a forged token finds nothing; the right one signs once
        self.assertFalse(self.Mandate._depanssur_from_sign_token(mandate.id, "forged"))
        found = self.Mandate._depanssur_from_sign_token(mandate.id, mandate._depanssur_sign_token())
        self.assertEqual(found, mandate)
        found._depanssur_sign("198.51.100.7")
        self.assertEqual(mandate.state, "valid")
        self.assertEqual(mandate.depanssur_signed_ip, "198.51.100.7")
        self.assertTrue(subscription._depanssur_collect_by_debit())
        with self.assertRaises(UserError):
            found._depanssur_sign("198.51.100.7")


@tagged("post_install", "-at_install")
class TestSepaLife(SepaCommon):
    def test_mandate_whole_life(self):
        subscription, mandate = self._sepa_subscription()
        # invoice: pre-notified with the amount and the debit date, 5 days ahead
        invoice = self._invoice(subscription, "2026-03-01")
        self.assertEqual(invoice.depanssur_debit_date, date(2026, 3, 6))
        self.assertEqual(invoice.invoice_date_due, date(2026, 3, 6))
        self.assertEqual(invoice.mandate_id, mandate)
        self.assertEqual(invoice.payment_mode_id, self.mode)
        notice = invoice.message_ids.filtered(lambda m: "06/03/2026" in (m.body or ""))
        self.assertTrue(notice, "the invoice email says when the debit happens")
        self.assertIn("9.90", notice[0].body.replace(",", "."))
        # too early for the order; the day before the collection date it is built
        self.assertFalse(self._collect("2026-03-04"))
        order = self._collect("2026-03-05")
        self.assertEqual(len(order), 1)
        self.assertEqual(order.state, "generated")
        self.assertEqual(order.date_scheduled, date(2026, 3, 6))
        self.assertFalse(invoice.depanssur_debit_date)
        self.assertFalse(self._collect("2026-03-05"), "re-running builds nothing more")
        root = self._pain(order)
        self.assertEqual(root.findtext(".//p:SeqTp", namespaces=NS), "FRST")
        self.assertEqual(root.findtext(".//p:ReqdColltnDt", namespaces=NS), "2026-03-06")
        self.assertEqual(
            root.findtext(".//p:MndtId", namespaces=NS), mandate.unique_mandate_reference
        )
        self.assertEqual(
            root.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=NS), "FR7630006000011234567890189"
        )
        self.assertEqual(float(root.findtext(".//p:InstdAmt", namespaces=NS)), invoice.amount_total)
        with freeze_time("2026-03-05"):
            order.generated2uploaded()
        self.assertIn(invoice.payment_state, ("in_payment", "paid"))
        self.assertEqual(mandate.recurrent_sequence_type, "recurring")

        # the bank returns it: insufficient funds
        ret = self._return(order, "AM04", "2026-03-08")
        self.assertEqual(ret.invoice_id, invoice)
        self.assertEqual(invoice.payment_state, "not_paid")
        self.assertEqual(order.payment_ids.state, "rejected")
        self.assertTrue(ret.reversal_move_id)
        self.assertEqual(mandate.state, "valid", "insufficient funds keeps the mandate")
        case = ret.dunning_case_id
        self.assertEqual(case.start_date, date(2026, 3, 8), "the ladder starts at D+0")
        self.assertEqual(case.source, "debit_returned")
        self.assertEqual(case.sepa_return_ids, ret)
        with self.assertRaises(UserError):
            self._return(order, "AM04", "2026-03-08")

        # D+0 message, then D+3: the retry re-presents the debit in the next order
        self.Case._cron_advance(date(2026, 3, 8))
        self.assertEqual(case.level_id, self.env.ref("depanssur.dunning_level_d0"))
        self.Case._cron_advance(date(2026, 3, 11))
        self.assertEqual(invoice.depanssur_debit_date, date(2026, 3, 11))
        self.assertFalse(
            self.env["payment.transaction"].search([("invoice_ids", "in", invoice.ids)])
        )
        second = self._collect("2026-03-11")
        self.assertEqual(second.date_scheduled, date(2026, 3, 12))
        root = self._pain(second)
        self.assertEqual(root.findtext(".//p:SeqTp", namespaces=NS), "RCUR")
        # the bank file waits; the ladder goes on to the suspension
        self.Case._cron_advance(date(2026, 3, 15))
        self.Case._cron_advance(date(2026, 3, 23))
        self.assertEqual(subscription.state, "suspended")
        self.assertTrue(case.suspended_by_dunning)
        # sent to the bank and not returned: paid, the case closes, the suspension is lifted
        with freeze_time("2026-03-23"):
            second.generated2uploaded()
        self.assertIn(invoice.payment_state, ("in_payment", "paid"))
        self.assertEqual(case.state, "closed")
        self.assertEqual(case.close_reason, "paid")
        self.assertNotEqual(subscription.state, "suspended")

    def test_revoked_mandate_asks_for_a_new_method(self):
        subscription, mandate = self._sepa_subscription()
        invoice = self._invoice(subscription, "2026-03-01")
        order = self._collect("2026-03-05")
        with freeze_time("2026-03-05"):
            order.generated2uploaded()
        self._return(order, "MD01", "2026-03-09")
        self.assertEqual(invoice.payment_state, "not_paid")
        self.assertEqual(mandate.state, "cancel")
        self.assertIn("MD01", mandate.depanssur_unusable_reason)
        self.assertFalse(subscription._depanssur_collect_by_debit())
        asked = self.env["mail.mail"].search(
            [("subject", "ilike", "prélèvement n'a pas pu"), ("model", "=", subscription._name)]
        )
        self.assertTrue(asked.filtered(lambda m: m.res_id == subscription.id))
        # the retries fall back to the payment link: nothing re-presented
        case = self.Case.search([("invoice_id", "=", invoice.id)])
        self.Case._cron_advance(date(2026, 3, 12))
        self.assertEqual(case.action_ids[-1:].result.split("; ")[-1], "payment link sent")
        self.assertFalse(invoice.depanssur_debit_date)
        self.assertFalse(self._collect("2026-03-12"))

    def test_return_is_for_accounting(self):
        subscription, _mandate = self._sepa_subscription()
        self._invoice(subscription, "2026-03-01")
        order = self._collect("2026-03-05")
        with freeze_time("2026-03-05"):
            order.generated2uploaded()
        with self.assertRaises(AccessError):
            self.env["depanssur.sepa.return"].with_user(self.user_agent)._depanssur_register(
                order.payment_ids, "AM04", date(2026, 3, 8)
            )
        with self.assertRaises(ValueError):
            self.env["depanssur.sepa.return"]._depanssur_register(
                order.payment_ids, "ZZ99", date(2026, 3, 8)
            )

    def test_card_subscriptions_stay_out_of_debit_orders(self):
        card = self._subscribe(date_start="2026-03-01")
        invoice = self._invoice(card, "2026-03-01")
        self.assertFalse(invoice.depanssur_debit_date)
        self.assertFalse(invoice.payment_mode_id.payment_method_id.code == "sepa_direct_debit")
        self.assertFalse(self._collect("2026-03-10"))


@tagged("post_install", "-at_install")
class TestSepaBatches(SepaCommon):
    """The debit step split into batches on the job queue, and grouped debits."""

    def test_a_refused_debit_does_not_hold_the_batch_back(self):
        """The OCA checks refuse one client's debit: the batch debits the others, the refused
        invoice stays queued (debit date kept), nothing of it is half-written."""
        subscriptions = self._clients(3)
        self._invoice(subscriptions[0], "2026-03-01")
        refused = subscriptions[1].invoice_ids
        day = date(2026, 3, 5)
        with self._line_checks_refusing(
            lambda line: line.partner_id == refused.partner_id,
            self.env._("No valid mandate for this debit."),
        ) as logs:
            lines = self.Order._depanssur_collect_batch(subscriptions.mandate_id, day)
        self.assertEqual(len(lines), 2)
        self.assertNotIn(refused.partner_id, lines.partner_id)
        order = lines.order_id
        self.assertEqual(len(order.payment_ids), 2)
        self.assertFalse(
            self.env["account.payment.line"].search([("partner_id", "=", refused.partner_id.id)])
        )
        self.assertTrue(refused.depanssur_debit_date, "still queued for the next order")
        self.assertFalse((subscriptions.invoice_ids - refused).filtered("depanssur_debit_date"))
        self.assertIn("No valid mandate", logs.output[0])

    @contextmanager
    def _line_checks_refusing(self, refuse, message):
        """On 5 March 2026, the OCA check of a payment line refuses the lines ``refuse(line)``
        names with ``message``; yields the warnings the debit step logs."""
        Line = self.env.registry["account.payment.line"]
        check = Line.draft2open_payment_line_check

        def refusing(line):
            if refuse(line):
                raise UserError(message)
            return check(line)

        with (
            freeze_time("2026-03-05 06:00:00"),
            patch.object(Line, "draft2open_payment_line_check", refusing),
            self.assertLogs(
                "odoo.addons.depanssur.models.account_payment_order", "WARNING"
            ) as logs,
        ):
            yield logs

    def _clients(self, count):
        subscriptions = self.env["depanssur.subscription"]
        for index in range(count):
            partner = self.env["res.partner"].create(
                {
                    "name": f"Client Prélevé {index}",
                    "email": f"preleve{index}@example.fr",
                    "street": f"{index + 1} rue de la République",
                    "zip": "69001",
                    "city": "Lyon",
                }
            )
            subscriptions |= self._sepa_subscription(partner=partner)[0]
        return subscriptions

    def _step(self, day):
        steps = self.env["depanssur.jobs"]._steps("daily", day)
        return next(step for step in steps if step[0] == "sepa_collection")

    @contextmanager
    def _debit_step_one_job_per_mandate(self, day):
        """On the morning of ``day``, the debit step enqueued as the coordinator does, one job
        per mandate; yields ``(trace, label, step)``."""
        with (
            freeze_time(f"{day} 06:00:00"),
            patch("odoo.addons.depanssur.models.depanssur_jobs.COLLECT_BATCH_SIZE", 1),
        ):
            code, label, step = self._step(day)
            trace = self.env["depanssur.job.batch"]._enqueue_step("daily", code, label, day, step)
            yield trace, label, step

    def test_debit_step_in_batches_one_order_one_file(self):
        subscriptions = self._clients(3)
        self._invoice(subscriptions[0], "2026-03-01")
        invoices = subscriptions.invoice_ids
        self.assertEqual(len(invoices), 3)
        day = date(2026, 3, 5)
        Batch = self.env["depanssur.job.batch"]
        with self._debit_step_one_job_per_mandate(day) as (trace, label, step):
            jobs = trace.queue_job_ids
            self.assertEqual((trace.record_count, trace.job_count, len(jobs)), (3, 3, 3))
            self.assertEqual(set(jobs.mapped("channel")), {"root.depanssur.sepa"})
            # the day's draft order exists before any batch runs: they all add to it
            order = self.Order.search([("depanssur_collection", "=", True)])
            self.assertEqual((len(order), order.state), (1, "draft"))
            states = run_queued_jobs(self, order=lambda uuids: list(reversed(uuids)))
            self.assertEqual(list(states.values()), ["done"] * 3)
            self.assertEqual(len(order.payment_line_ids), 3)
            self.assertEqual(len(order.payment_ids), 3)
            # each batch adds its own lines to the order's total
            self.assertTrue(order.total_company_currency)
            self.assertAlmostEqual(
                order.total_company_currency,
                sum(order.payment_line_ids.mapped("amount_company_currency")),
                places=2,
            )
            # payments in bulk: no chatter message on each
            self.assertFalse(order.payment_ids.message_ids)
            self.assertFalse(
                self.env["ir.attachment"].search_count(
                    [("res_model", "=", order._name), ("res_id", "=", order.id)]
                ),
                "no file before the last batch",
            )
            # a batch run again (a second node, a retry) adds nothing
            Batch._job_run_batch(trace, subscriptions[0].mandate_id)
            self.assertEqual(len(order.payment_line_ids), 3)
            # every batch done: the coordinator enqueues the step's finish, once
            Batch._enqueue_finish(trace, label, day, step)
            Batch._enqueue_finish(trace, label, day, step)
            self.assertEqual(trace.job_count, 4)
            self.assertEqual(list(run_queued_jobs(self).values()), ["done"])
            trace._sync_from_jobs()
        self.assertEqual(trace.state, "done")
        self.assertEqual(order.state, "generated")
        root = self._pain(order)
        self.assertEqual(len(root.findall(".//p:DrctDbtTxInf", namespaces=NS)), 3)
        self.assertFalse(invoices.filtered("depanssur_debit_date"))
        # the same journal item cannot enter an order twice
        with (
            self.assertRaises(UniqueViolation),
            mute_logger("odoo.sql_db"),
            self.cr.savepoint(),
        ):
            order.payment_line_ids[0].copy({"order_id": order.id})
            self.env.flush_all()

    def test_a_date_s_debits_are_split_into_files_of_at_most_n(self):
        """With "Debits per bank file" at 2, the day's 5 debits go into parts of at most 2
        invoices, whatever order the batches run in; a client's two invoices stay in one part
        (one debit); each part is its own order with its own pain.008."""
        self.env.company.depanssur_sepa_max_debits = 2
        subscriptions = self._clients(4)
        with freeze_time("2026-02-25"):
            home = self.env["res.partner"].create(
                {
                    "parent_id": subscriptions[0].partner_id.id,
                    "type": "delivery",
                    "name": "Maison de campagne",
                    "street": "2 chemin des Vignes",
                    "zip": "69400",
                    "city": "Villefranche-sur-Saône",
                }
            )
            second_home = self._subscribe(
                partner=subscriptions[0].partner_id,
                date_start="2026-03-01",
                risk_address_id=home.id,
            )
            second_home.with_user(self.user_agent)._depanssur_set_payment_method(
                "sepa", subscriptions[0].mandate_id
            )
        self._invoice(subscriptions[0], "2026-03-01")
        invoices = (subscriptions | second_home).invoice_ids
        self.assertEqual(len(invoices), 5)
        day = date(2026, 3, 5)
        Batch = self.env["depanssur.job.batch"]
        with self._debit_step_one_job_per_mandate(day) as (trace, label, step):
            self.assertEqual(trace.job_count, 4, "one job per mandate")
            states = run_queued_jobs(self, order=lambda uuids: list(reversed(uuids)))
            self.assertEqual(list(states.values()), ["done"] * 4)
            # a batch run again adds nothing, to no part
            Batch._job_run_batch(trace, subscriptions[0].mandate_id)
            Batch._enqueue_finish(trace, label, day, step)
            self.assertEqual(list(run_queued_jobs(self).values()), ["done"])
        orders = self.Order.search([("depanssur_collection", "=", True)], order="depanssur_part")
        self.assertEqual(orders.mapped("depanssur_part"), [1, 2, 3])
        self.assertEqual(set(orders.mapped("state")), {"generated"})
        self.assertEqual(sorted(len(order.payment_line_ids) for order in orders), [1, 2, 2])
        self.assertEqual(orders.payment_line_ids.move_line_id.move_id, invoices)
        self.assertEqual(set(orders.mapped("date_scheduled")), {date(2026, 3, 6)})
        self.assertIn("(part 3)", orders[2].description)
        # Accounting sees the part on the order's form (Depanssur's orders only)
        arch = self.Order.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="depanssur_part" invisible="not depanssur_collection"', arch)
        both = orders.payment_line_ids.filtered(lambda line: line.partner_id == home.parent_id)
        self.assertEqual((len(both), len(both.order_id), len(both.payment_ids)), (2, 1, 1))
        for order in orders:
            self.assertAlmostEqual(
                order.total_company_currency,
                sum(order.payment_line_ids.mapped("amount_company_currency")),
                places=2,
            )
            root = self._pain(order)
            self.assertEqual(
                len(root.findall(".//p:DrctDbtTxInf", namespaces=NS)), len(order.payment_ids)
            )
        self.assertFalse(invoices.filtered("depanssur_debit_date"))

    def test_an_order_busy_elsewhere_postpones_the_batch_and_refuses_nothing(self):
        """The draft order locked by another transaction (an agent editing it, another batch):
        the batch stops with a lock error (the job queue retries it later) instead of taking
        every debit for refused; nothing is half-written, the invoices stay queued."""
        subscriptions = self._clients(2)
        self._invoice(subscriptions[0], "2026-03-01")
        day = date(2026, 3, 5)
        Order = self.env.registry["account.payment.order"]
        lock = Order.lock_for_update
        calls = []

        def busy(orders, *args, **kwargs):
            # the batch locks part 1 to choose a part, then the part it adds to: that second
            # lock fails, inside the guard that takes a refused debit for the client's fault
            calls.append(orders)
            if orders.depanssur_collection and len(calls) > 1:
                raise LockError(self.env._("Cannot lock the record."))
            return lock(orders, *args, **kwargs)

        with freeze_time("2026-03-05 06:00:00"):
            mandates = self.Order._depanssur_collect_mandates(day)
            with (
                patch.object(Order, "lock_for_update", busy),
                self.assertRaises(LockError),
                self.cr.savepoint(),
            ):
                self.Order._depanssur_collect_batch(mandates, day)
        self.assertEqual(len(calls), 2, "stopped at the busy order, no mandate-by-mandate retry")
        self.assertFalse(self.env["account.payment.line"].search([]))
        self.assertEqual(len(subscriptions.invoice_ids.filtered("depanssur_debit_date")), 2)

    def test_draft_order_edited_by_an_agent_is_debited_as_edited(self):
        """The batches made the draft order's payments; an agent then removes one debit and
        lowers another before the finish: the file and the payments follow the lines as they
        are (the OCA ``draft2open``), not the payments the batches made. Untouched, an order
        keeps the batches' payments."""
        subscriptions = self._clients(4)
        self._invoice(subscriptions[0], "2026-03-01")
        day = date(2026, 3, 5)
        with freeze_time("2026-03-05 06:00:00"):
            mandates = self.Order._depanssur_collect_mandates(day)
            self.Order._depanssur_collect_batch(mandates[:2], day)
            self.Order._depanssur_collect_batch(mandates[2:], day)
        order = self.Order.search([("depanssur_collection", "=", True)])
        self.assertEqual((len(order.payment_line_ids), len(order.payment_ids)), (4, 4))
        self.assertTrue(order._depanssur_payments_match_lines())
        removed, lowered = order.payment_line_ids.sorted("id")[:2]
        removed_partner = removed.partner_id
        removed.unlink()
        lowered.amount_currency -= 5
        self.assertFalse(order._depanssur_payments_match_lines())
        self.assertAlmostEqual(
            order.total_company_currency,
            sum(order.payment_line_ids.mapped("amount_company_currency")),
            places=2,
        )
        with freeze_time("2026-03-05 06:00:00"):
            self.assertEqual(self.Order._depanssur_collect_finish(day), order)
        self.assertEqual(order.state, "generated")
        self.assertEqual(len(order.payment_ids), 3)
        self.assertNotIn(removed_partner, order.payment_ids.partner_id)
        for payment in order.payment_ids:
            self.assertEqual(
                payment.amount, sum(payment.payment_line_ids.mapped("amount_currency"))
            )
        self.assertIn(lowered, order.payment_ids.payment_line_ids)
        root = self._pain(order)
        amounts = sorted(float(node.text) for node in root.findall(".//p:InstdAmt", namespaces=NS))
        self.assertEqual(amounts, sorted(order.payment_ids.mapped("amount")))
        self.assertIn(lowered.amount_currency, amounts)

        # untouched, the next order keeps the payments its batches made
        second = self._clients(1)
        self._invoice(second, "2026-04-01")
        with freeze_time("2026-04-05 06:00:00"):
            self.Order._depanssur_collect_batch(
                self.Order._depanssur_collect_mandates(date(2026, 4, 5)), date(2026, 4, 5)
            )
            untouched = self.Order.search(
                [("depanssur_collection", "=", True), ("state", "=", "draft")]
            )
            payments = untouched.payment_ids
            self.assertTrue(payments)
            self.Order._depanssur_collect_finish(date(2026, 4, 5))
        self.assertEqual(untouched.state, "generated")
        self.assertEqual(untouched.payment_ids, payments)

    def test_an_order_refused_at_the_finish_holds_no_other_order_back(self):
        """An order whose lines an agent changed is confirmed through the OCA ``draft2open``,
        whose checks may refuse it (a debit on a mandate no longer usable): it stays draft for
        Accounting, logged, and the day's other order still gets its file."""
        subscriptions = self._clients(4)
        self._invoice(subscriptions[0], "2026-03-01")
        day = date(2026, 3, 5)
        with freeze_time("2026-03-05 06:00:00"):
            mandates = self.Order._depanssur_collect_mandates(day)
            refused = self.Order.search([("depanssur_collection", "=", True)])
            self.Order._depanssur_collect_batch(mandates[:2], day)
            # an order of a later collection date, built by its own batches
            other = self.Order._depanssur_draft_order(self.env.company, date(2026, 3, 12), day)
            other._depanssur_add_debits(
                self.Order._depanssur_invoices_to_collect(day, mandates[2:]), day
            )
        self.assertEqual((len(refused.payment_line_ids), len(other.payment_line_ids)), (2, 2))
        refused.payment_line_ids[0].amount_currency -= 1
        with self._line_checks_refusing(
            lambda line: True, self.env._("The mandate of this debit is no longer usable.")
        ) as logs:
            generated = self.Order._depanssur_collect_finish(day)
        self.assertEqual(generated, other)
        self.assertEqual((refused.state, other.state), ("draft", "generated"))
        self.assertIn("no longer usable", logs.output[0])
        self._pain(other)

    def test_grouped_debit_returned_reopens_each_invoice(self):
        first, mandate = self._sepa_subscription()
        with freeze_time("2026-02-25"):
            # the client's second home, insured too: one client, one mandate, two invoices
            home = self.env["res.partner"].create(
                {
                    "parent_id": self.client.id,
                    "type": "delivery",
                    "name": "Maison de campagne",
                    "street": "2 chemin des Vignes",
                    "zip": "69400",
                    "city": "Villefranche-sur-Saône",
                }
            )
            second = self._subscribe(
                partner=self.client, date_start="2026-03-01", risk_address_id=home.id
            )
            second.with_user(self.user_agent)._depanssur_set_payment_method("sepa", mandate)
        self._invoice(first, "2026-03-01")
        invoices = (first | second).invoice_ids
        self.assertEqual(len(invoices), 2)
        order = self._collect("2026-03-05")
        self.assertEqual(len(order.payment_line_ids), 2)
        self.assertEqual(len(order.payment_ids), 1, "one debit for the client's two invoices")
        self._pain(order)
        with freeze_time("2026-03-05"):
            order.generated2uploaded()
        self.assertEqual(set(invoices.mapped("payment_state")) - {"in_payment", "paid"}, set())
        returns = self._return(order, "AM04", "2026-03-08")
        self.assertEqual(returns.invoice_id, invoices)
        self.assertEqual(set(invoices.mapped("payment_state")), {"not_paid"})
        self.assertEqual(returns.dunning_case_id.invoice_id, invoices)
        self.assertEqual(sorted(returns.mapped("amount")), sorted(invoices.mapped("amount_total")))
        with self.assertRaises(UserError):
            self._return(order, "AM04", "2026-03-08")
        rates = self.env["depanssur.kpi"]._sepa_reject_rates(date(2026, 3, 1), date(2026, 3, 31))
        self.assertEqual((rates["2026-03"]["presented"], rates["2026-03"]["rejected"]), (1, 1))
        self.assertEqual(rates["2026-03"]["reasons"], {"AM04": 1})


@tagged("post_install", "-at_install")
class TestSepaLanguage(SepaCommon):
    """The notes of a mandate and of a bank return are in the client's language when the system
    writes them (the public signature page, an import of the bank's returns)."""

    def test_mandate_and_return_notes_in_french(self):
        activate_french(self.env)
        self.client.lang = "fr_FR"
        with freeze_time("2026-02-20"):
            mandate = self.Mandate._depanssur_create_for(
                self.client, IBAN, self.client.name, "esign", signed=False
            )
            subscription = self._subscribe(partner=self.client, date_start="2026-03-01")
            subscription.with_user(self.user_agent)._depanssur_set_payment_method("sepa", mandate)
            # signed on the public page: an anonymous visitor, an English website
            public = self.env.ref("base.public_user")
            mandate.with_user(public).with_context(lang="en_US")._depanssur_sign("198.51.100.7")
        self.assertTrue(
            mandate.message_ids.filtered(lambda m: "Mandat signé en ligne" in (m.body or ""))
        )
        self.assertTrue(
            subscription.message_ids.filtered(lambda m: "signé : l'abonnement" in (m.body or ""))
        )
        invoice = self._invoice(subscription, "2026-03-01")
        order = self._collect("2026-03-05")
        with freeze_time("2026-03-05"):
            order.generated2uploaded()
        # the bank's return registered by the system (no person acting), from an English session
        with freeze_time("2026-03-08"):
            self.env["depanssur.sepa.return"].with_context(lang="en_US")._depanssur_register(
                order.payment_ids, "AC04", date(2026, 3, 8)
            )
        bodies = invoice.message_ids.mapped("body")
        self.assertTrue(
            [b for b in bodies if "Prélèvement rejeté par la banque : AC04 Compte clôturé" in b],
            bodies,
        )
        self.assertEqual(mandate.depanssur_unusable_reason, "AC04 Compte clôturé")
        self.assertTrue(
            mandate.message_ids.filtered(
                lambda m: "rendu inutilisable par un rejet bancaire" in (m.body or "")
            )
        )
        # an English client in the same run: English notes
        other = self.env["res.partner"].create(
            {
                "name": "John Smith",
                "email": "john@example.com",
                "lang": "en_US",
                "street": "5 place Bellecour",
                "zip": "69002",
                "city": "Lyon",
            }
        )
        subscription, _mandate = self._sepa_subscription(partner=other)
        invoice = self._invoice(subscription, "2026-04-01")
        order = self._collect("2026-04-05")
        with freeze_time("2026-04-05"):
            order.generated2uploaded()
        with freeze_time("2026-04-08"):
            self.env["depanssur.sepa.return"].with_context(lang="fr_FR")._depanssur_register(
                order.payment_ids, "AM04", date(2026, 4, 8)
            )
        self.assertTrue(
            invoice.message_ids.filtered(
                lambda m: "Direct debit returned by the bank: AM04 Insufficient funds" in m.body
            )
        )


@tagged("post_install", "-at_install")
class TestSepaKpi(SepaCommon):
    def test_reject_rate_per_month_and_reason(self):
        subscription, _mandate = self._sepa_subscription()
        self._invoice(subscription, "2026-03-01")
        order = self._collect("2026-03-05")
        with freeze_time("2026-03-05"):
            order.generated2uploaded()
        self._return(order, "AM04", "2026-03-08")
        rates = self.env["depanssur.kpi"]._sepa_reject_rates(date(2026, 3, 1), date(2026, 3, 31))
        self.assertEqual(rates["2026-03"]["presented"], 1)
        self.assertEqual(rates["2026-03"]["rejected"], 1)
        self.assertEqual(rates["2026-03"]["rate"], 100.0)
        self.assertEqual(rates["2026-03"]["reasons"], {"AM04": 1})


@tagged("post_install", "-at_install")
class TestSepaAccess(RpcGuardsCase, SepaCommon):
    def test_portal_sees_only_own_mandates_masked(self):
        self.user_portal.partner_id.write(
            {"depanssur_client": True, "street": "1 rue Test", "zip": "69001", "city": "Lyon"}
        )
        own, _ = self._sepa_subscription(partner=self.user_portal.partner_id)
        other, _ = self._sepa_subscription(iban=OTHER_IBAN)
        body = self.assertDone(
            self.rpc(
                self.user_portal,
                "account.banking.mandate",
                "search_read",
                domain=[],
                fields=["depanssur_iban_masked", "unique_mandate_reference"],
            )
        )
        self.assertEqual([row["id"] for row in body], own.mandate_id.ids)
        self.assertEqual(body[0]["depanssur_iban_masked"], "FR** **** **** **** **** **** 189")
        self.assertRefused(
            self.rpc(
                self.user_portal,
                "account.banking.mandate",
                "read",
                ids=other.mandate_id.ids,
                fields=["depanssur_iban_masked"],
            )
        )
        # the bank account itself stays out of reach, also through the mandate's fields
        self.assertRefused(
            self.rpc(
                self.user_portal,
                "account.banking.mandate",
                "read",
                ids=own.mandate_id.ids,
                fields=["partner_bank_id"],
            )
        )
        readable = self.assertDone(
            self.rpc(self.user_portal, "account.banking.mandate", "fields_get")
        )
        self.assertIn("depanssur_iban_masked", readable)
        self.assertNotIn("partner_bank_id", readable)
        self.assertNotIn("scan", readable)
        self.assertRefused(
            self.rpc(
                self.user_portal,
                "res.partner.bank",
                "read",
                ids=own.mandate_id.partner_bank_id.ids,
                fields=["acc_number"],
            )
        )
        self.assertRefused(
            self.rpc(
                self.user_portal,
                "account.banking.mandate",
                "write",
                ids=own.mandate_id.ids,
                vals={"state": "cancel"},
            )
        )

    def test_payment_method_and_returns_over_rpc(self):
        subscription, _ = self._sepa_subscription()
        for user in (self.user_agent, self.user_manager, self.user_accounting):
            self.assertRefused(
                self.rpc(
                    user,
                    "depanssur.subscription",
                    "write",
                    ids=subscription.ids,
                    vals={"payment_method": "card"},
                )
            )
        self.assertEqual(self.db_row(subscription, "payment_method"), ("sepa",))
        self._invoice(subscription, "2026-03-01")
        order = self._collect("2026-03-05")
        with freeze_time("2026-03-05"):
            order.generated2uploaded()
        self.assertRefused(
            self.rpc(
                self.user_agent,
                "depanssur.sepa.return.wizard",
                "create",
                vals_list=[
                    {"order_id": order.id, "payment_id": order.payment_ids.id, "reason": "AM04"}
                ],
            )
        )
        self.assertFalse(self.env["depanssur.sepa.return"].search([]))


@tagged("post_install", "-at_install")
class TestSepaSignPage(HttpCase, SepaCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mandate = cls.Mandate._depanssur_create_for(cls.client, IBAN, "Sophie", "esign")
        cls.other = cls.Mandate._depanssur_create_for(cls.client, OTHER_IBAN, "Sophie", "esign")

    def _url(self, mandate=None):
        mandate = mandate or self.mandate
        return mandate._depanssur_sign_url().replace(mandate.get_base_url(), "")

    def test_get_signs_nothing_and_post_signs(self):
        response = self.url_open(self._url() + "&accept=1")
        self.assertEqual(response.status_code, 200)
        self.assertIn("FR** **** **** **** **** **** 189", response.text)
        self.assertNotIn("3000 6000", response.text)
        self.assertIn("FR78ZZZ424242", response.text)
        self.env.invalidate_all()
        self.assertEqual(self.mandate.state, "draft")
        csrf = csrf_of(response.text)
        action = f"/mandat/signer/{self.mandate.id}/signer"
        self.assertEqual(
            self.url_open(action, params={"token": "x", "accept": "1"}).status_code, 405
        )
        token = self.mandate._depanssur_sign_token()
        # not accepted: 400, nothing signed
        response = self.url_open(action, data={"csrf_token": csrf, "token": token})
        self.assertEqual(response.status_code, 400)
        self.env.invalidate_all()
        self.assertEqual(self.mandate.state, "draft")
        # another mandate's token, a forged one: 404
        for bad in (self.other._depanssur_sign_token(), "forged", ""):
            response = self.url_open(action, data={"csrf_token": csrf, "token": bad, "accept": "1"})
            self.assertEqual(response.status_code, 404)
        self.env.invalidate_all()
        self.assertEqual(self.mandate.state, "draft")
        response = self.url_open(action, data={"csrf_token": csrf, "token": token, "accept": "1"})
        self.assertEqual(response.status_code, 200)
        self.env.invalidate_all()
        self.assertEqual(self.mandate.state, "valid")
        self.assertTrue(self.mandate.depanssur_signed_ip)
        self.assertEqual(self.other.state, "draft")
        # twice: a conflict, no 500
        response = self.url_open(action, data={"csrf_token": csrf, "token": token, "accept": "1"})
        self.assertEqual(response.status_code, 409)


@tagged("post_install", "-at_install")
class TestSepaSignup(SignupFormMixin, HttpCase, SepaCommon):
    def _form(self):
        html, csrf, key = self._signup_form()
        self.assertIn('name="iban"', html)
        self.assertIn("Mandat de prélèvement SEPA", html)
        return csrf, key

    def _data(self, csrf, key, **overrides):
        """The form filled in, paying by direct debit."""
        sepa = {
            "payment_method": "sepa",
            "iban": IBAN,
            "iban_holder": "Élodie Garnier",
            "sepa_accepted": "1",
        }
        return self._signup_answers(csrf, key, **{**sepa, **overrides})

    def test_web_signup_with_iban(self):
        csrf, key = self._form()
        # an invalid IBAN, an unaccepted mandate: the form again with the field's error
        bad = self.url_open(
            "/abonnement/recapitulatif",
            data=self._data(csrf, key, iban="FR76 3000 6000 0112 3456 7890 180"),
        )
        self.assertEqual(bad.status_code, 400)
        self.assertIn("validation check", bad.text)
        bad = self.url_open(
            "/abonnement/recapitulatif", data=self._data(csrf, key, sepa_accepted=None)
        )
        self.assertEqual(bad.status_code, 400)
        self.assertIn("SEPA direct debit mandate", bad.text)
        response = self.url_open("/abonnement/recapitulatif", data=self._data(csrf, key))
        self.assertEqual(response.status_code, 200)
        self.assertIn("o_depanssur_signup_summary_payment", response.text)
        summary = response
        response = self._signup_confirm(summary)
        self.assertEqual(response.status_code, 200, response.text[:300])
        partner = self.env["res.partner"].search([("email", "=", "elodie.garnier@example.fr")])
        subscription = self.env["depanssur.subscription"].search([("partner_id", "=", partner.id)])
        self.assertEqual(subscription.payment_method, "sepa")
        mandate = subscription.mandate_id
        self.assertEqual(mandate.state, "valid")
        self.assertEqual(mandate.depanssur_channel, "web")
        self.assertTrue(mandate.depanssur_signed_ip and mandate.depanssur_signed_at)
        self.assertEqual(mandate.partner_bank_id.acc_holder_name, "Élodie Garnier")
        self.assertTrue(
            subscription.message_ids.filtered(
                lambda m: "accepted on the website" in (m.body or "") and "8 weeks" in m.body
            )
        )
        sent = self.env["mail.mail"].search(
            [("model", "=", mandate._name), ("res_id", "=", mandate.id)]
        )
        self.assertEqual(len(sent), 1)
        self.assertTrue(sent.attachment_ids, "the mandate PDF is attached")
        # a double submit: the same subscription, no second mandate
        self._signup_confirm(summary)
        self.assertEqual(self.Mandate.search_count([("partner_id", "=", partner.id)]), 1)

    def test_double_submit_by_anonymous_returns_the_subscription_untouched(self):
        """The same sign-up posted again by an anonymous client, with another IBAN and holder:
        the subscription it made is returned as it was (no mandate, no IBAN written onto it)."""
        csrf, key = self._form()
        response = self.url_open("/abonnement/recapitulatif", data=self._data(csrf, key))
        response = self._signup_confirm(response)
        self.assertEqual(response.status_code, 200)
        subscription = self.env["depanssur.subscription"].search([("signup_key", "!=", False)])
        subscription = subscription.filtered(
            lambda s: s.partner_id.email == "elodie.garnier@example.fr"
        )
        self.assertEqual(len(subscription), 1)
        mandate = subscription.mandate_id
        before = (mandate, mandate.partner_bank_id.sanitized_acc_number, mandate.depanssur_holder)
        mails = self.env["mail.mail"].search_count([])
        # again, from a new anonymous session: the first sign-up's key replayed with another
        # account and holder, as a hostile visitor would
        self.url_open("/web/session/logout")
        csrf, _new_key = self._form()
        response = self.url_open(
            "/abonnement/recapitulatif",
            data=self._data(csrf, key, iban=OTHER_IBAN, iban_holder="Mallory Pirate"),
        )
        self.assertEqual(response.status_code, 200)
        response = self._signup_confirm(response)
        self.assertEqual(response.status_code, 200, "the same confirmation, never a 500")
        self.env.invalidate_all()
        self.assertEqual(subscription.mandate_id, before[0])
        self.assertEqual(
            (mandate.partner_bank_id.sanitized_acc_number, mandate.depanssur_holder), before[1:]
        )
        self.assertEqual(subscription.payment_method, "sepa")
        self.assertEqual(
            self.env["depanssur.subscription"].search_count(
                [("signup_key", "=", subscription.signup_key)]
            ),
            1,
        )
        self.assertFalse(
            self.env["res.partner.bank"].search_count([("acc_holder_name", "=", "Mallory Pirate")]),
            "no mandate made for the second submit",
        )
        self.assertFalse(
            self.env["res.partner.bank"].search_count(
                [("sanitized_acc_number", "=", OTHER_IBAN.replace(" ", ""))]
            )
        )
        self.assertEqual(self.env["mail.mail"].search_count([]), mails, "no mandate emailed")

    def test_phone_sale_sends_the_mandate_for_signature(self):
        wizard = (
            self.env["depanssur.sale.wizard"]
            .with_user(self.user_agent)
            .create(
                {
                    "plan_id": self.plan_confort.id,
                    **PHONE_SALE_IDENTITY,
                    "terms_accepted": True,
                    "payment_method": "sepa",
                    "iban": OTHER_IBAN,
                }
            )
        )
        action = wizard.action_confirm()
        subscription = self.env["depanssur.subscription"].browse(action["res_id"])
        mandate = subscription.mandate_id
        self.assertEqual(mandate.state, "draft")
        self.assertEqual(mandate.depanssur_channel, "esign")
        self.assertEqual(mandate.depanssur_holder, "Karim Haddad")
        self.assertFalse(subscription._depanssur_collect_by_debit())
        sent = self.env["mail.mail"].search(
            [("model", "=", subscription._name), ("res_id", "=", subscription.id)]
        )
        self.assertTrue(
            sent.filtered(lambda m: f"/mandat/signer/{mandate.id}?token=" in m.body_html)
        )
        # an invalid IBAN on the phone: refused, nothing created
        wizard = wizard.copy({"iban": "FR00 1234", "email": "k2@example.fr"})
        with self.assertRaisesRegex(ValidationError, "IBAN"):
            wizard.action_confirm()
