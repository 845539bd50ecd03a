import logging
from datetime import timedelta

import psycopg2
from odoo import api, fields, models
from odoo.exceptions import LockError, UserError
from odoo.tools import SQL

from ..rules import sepa
from .batching import browse_in_chunks, commit_progress

_logger = logging.getLogger(__name__)

# the daily run creates thousands of payment lines and payments: no chatter message, no
# follower, no tracking on each of them (the order keeps its own)
QUIET = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
}
# mandates per batch (one job of the queue, one commit without it)
COLLECT_BATCH_SIZE = 500


class AccountPaymentOrder(models.Model):
    """The monthly debit orders of the subscriptions, built by the daily run.

    The step "Direct debit orders" works in three phases (docs/sepa.md):

    1. ``_depanssur_collect_mandates``: the mandates to debit today; the draft order of each
       company and collection date is created here, once.
    2. ``_depanssur_collect_batch`` (one job per batch of mandates on the job queue): the
       debits of those mandates added to the draft order as payment lines, and their payments
       created in bulk. Every debit of one mandate is in the same batch, so the OCA grouping of
       a client's invoices into one debit is kept.
    3. ``_depanssur_collect_finish`` (once every batch is done): each draft order confirmed and
       its pain.008 generated and attached (checked against the XSD by the OCA module).
    """

    _inherit = "account.payment.order"

    depanssur_collection = fields.Boolean(
        string="Depanssur collection", readonly=True, copy=False, index=True
    )
    depanssur_sepa_return_ids = fields.One2many(
        "depanssur.sepa.return", "order_id", string="Bank returns"
    )

    depanssur_part = fields.Integer(
        string="Part",
        default=1,
        readonly=True,
        copy=False,
        help="A collection date's debits are split into orders of at most the company's "
        "“Debits per bank file”: part 1, 2, ... of that date, each with its own pain.008.",
    )

    _depanssur_one_draft_per_part = models.UniqueIndex(
        "(company_id, date_scheduled, depanssur_part) "
        "WHERE depanssur_collection AND state = 'draft'",
        "This part of the subscription debit order is already being built for this date.",
    )

    # ------------------------------------------------------------
    # The daily step
    # ------------------------------------------------------------

    @api.model
    def _depanssur_invoices_to_collect(self, day, mandates=None):
        """Posted subscription invoices still to pay whose debit date is close enough for the
        order built on ``day``, on a signed mandate (of ``mandates`` when given)."""
        latest = fields.Date.to_date(day) + timedelta(days=sepa.SUBMISSION_LEAD_DAYS)
        domain = [
            ("move_type", "=", "out_invoice"),
            ("state", "=", "posted"),
            ("depanssur_subscription_id", "!=", False),
            ("payment_state", "in", ("not_paid", "partial")),
            ("depanssur_debit_date", "<=", latest),
        ]
        if mandates is not None:
            domain.append(("depanssur_subscription_id.mandate_id", "in", mandates.ids))
        invoices = self.env["account.move"].sudo().search(domain, order="depanssur_debit_date, id")
        return invoices.filtered(
            lambda move: move.depanssur_subscription_id._depanssur_collect_by_debit()
        )

    @api.model
    def _depanssur_group(self, invoices, day):
        """``{(company, collection date): invoices}``, in a stable order."""
        groups = {}
        for invoice in invoices:
            key = (invoice.company_id, sepa.collection_date(invoice.depanssur_debit_date, day))
            groups.setdefault(key, []).append(invoice.id)
        Move = self.env["account.move"].sudo()
        return {
            key: Move.browse(ids)
            for key, ids in sorted(groups.items(), key=lambda item: (item[0][0].id, item[0][1]))
        }

    @api.model
    def _cron_depanssur_collect(self, day=None):
        """Daily: one debit order per company and collection date, with its pain.008 file
        attached (checked against the XSD by the OCA module), ready to send to the bank.

        The whole step in this transaction (a direct call, or the cron without the job queue):
        the batches commit one by one in a cron run; when the cron's time is up the next run
        resumes. Re-running is harmless: an invoice leaves the queue (its debit date emptied)
        as soon as it is in an order. Returns the orders generated."""
        day = fields.Date.to_date(day) if day else fields.Date.context_today(self)
        mandates = self._depanssur_collect_mandates(day)
        done = 0
        # each batch with a fresh cache, as a job of the queue: memory stays bounded
        for batch in browse_in_chunks(mandates, mandates.ids, COLLECT_BATCH_SIZE):
            self._depanssur_collect_batch(batch, day)
            done += len(batch)
            # + 1: the files are still to generate
            if not commit_progress(self.env, len(batch), len(mandates) - done + 1):
                return self.browse()
        return self._depanssur_collect_finish(day)

    @api.model
    def _depanssur_collect_mandates(self, day):
        """Phase 1: the mandates debited in the orders built on ``day`` (the records of the
        step's batches); the draft order of each company and collection date is created first,
        here, so that batches running in parallel add their debits to the same order."""
        day = fields.Date.to_date(day)
        # set-based, ids only (run by the daily run's coordinator, whose memory must not grow
        # with the book): the invoices ``_depanssur_invoices_to_collect`` finds, by company and
        # debit date; each batch finds its mandates' invoices again, with the same rule
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT m.company_id, m.depanssur_debit_date, array_agg(DISTINCT s.mandate_id)
                  FROM account_move m
                  JOIN depanssur_subscription s ON s.id = m.depanssur_subscription_id
                  JOIN account_banking_mandate mandate ON mandate.id = s.mandate_id
                 WHERE m.move_type = 'out_invoice' AND m.state = 'posted'
                   AND m.payment_state IN ('not_paid', 'partial')
                   AND m.depanssur_debit_date <= %(latest)s
                   AND s.payment_method = 'sepa' AND mandate.state = 'valid'
                 GROUP BY m.company_id, m.depanssur_debit_date
                """,
                latest=day + timedelta(days=sepa.SUBMISSION_LEAD_DAYS),
            )
        )
        groups, mandates = set(), set()
        for company_id, debit_day, mandate_ids in self.env.cr.fetchall():
            groups.add((company_id, sepa.collection_date(debit_day, day)))
            mandates.update(mandate_ids)
        Company = self.env["res.company"]
        for company_id, collection_day in sorted(groups):
            self._depanssur_draft_order(Company.browse(company_id), collection_day, day)
        return self.env["account.banking.mandate"].browse(sorted(mandates))

    @api.model
    def _depanssur_draft_order(self, company, collection_day, day, part=1):
        """The draft subscription order of ``company`` for ``collection_day`` (its ``part``),
        created when missing (at most one per part: a unique index); empty when the company
        cannot debit."""
        mode = company._depanssur_sepa_payment_mode()
        if not mode:
            _logger.info("%s has no SEPA direct debit mode: nothing collected", company.name)
            return self.browse()
        Order = self.sudo().with_company(company).with_context(date=str(day), **QUIET)
        order = Order.search(
            [
                ("depanssur_collection", "=", True),
                ("state", "=", "draft"),
                ("company_id", "=", company.id),
                ("date_scheduled", "=", collection_day),
                ("depanssur_part", "=", part),
            ],
            limit=1,
        )
        if order:
            return order
        # what the OCA confirmation checks, before any debit is added
        journal = mode.fixed_journal_id
        if not journal:
            raise UserError(self.env._("Missing Bank Journal on payment mode %s.", mode.name))
        if mode.payment_method_id.bank_account_required and not journal.bank_account_id:
            raise UserError(
                self.env._("Missing bank account on bank journal '%s'.", journal.display_name)
            )
        description = self.env._(
            "Subscriptions debited on %(date)s", date=collection_day.strftime("%d/%m/%Y")
        )
        if part > 1:
            description = self.env._(
                "%(description)s (part %(part)s)", description=description, part=part
            )
        values = {
            "payment_mode_id": mode.id,
            "date_prefered": "fixed",
            "date_scheduled": collection_day,
            "depanssur_collection": True,
            "depanssur_part": part,
            "description": description,
        }
        # part 1 is made by the coordinator, a later part by a batch under the lock of part 1
        # (``_depanssur_add_debits_in_parts``); a transaction whose snapshot predates another
        # one's new part finds it taken by the unique index: it tries again later, on fresh data
        try:
            with self.env.cr.savepoint():
                order = Order.create(values)
                order.flush_recordset()
        except psycopg2.errors.UniqueViolation as error:
            if error.diag.constraint_name != "account_payment_order_depanssur_one_draft_per_part":
                raise
            raise LockError(
                self.env._(
                    "Part %(part)s of this debit order is being made by another batch.", part=part
                )
            ) from error
        return order

    @api.model
    def _depanssur_collect_batch(self, mandates, day):
        """Phase 2, one batch: the debits due on ``mandates`` added to the draft orders of
        their collection dates. Idempotent: an invoice leaves the queue (its debit date emptied)
        once in an order, a journal item already in an order not yet sent is not added again,
        and a unique index refuses the same journal item twice in one order. Returns the
        payment lines added."""
        day = fields.Date.to_date(day)
        invoices = self._depanssur_invoices_to_collect(day, mandates)
        lines = self.env["account.payment.line"]
        for (company, collection_day), moves in self._depanssur_group(invoices, day).items():
            order = self._depanssur_draft_order(company, collection_day, day)
            if order:
                lines |= order._depanssur_add_debits_in_parts(moves, day)
        return lines

    def _depanssur_add_debits_in_parts(self, invoices, day):
        """Add the debits of ``invoices`` to this draft order (part 1 of its date) and to the
        next parts: each part holds at most the company's ``depanssur_sepa_max_debits`` invoices
        (0: no limit), a client's invoices stay in one part (the OCA module groups them into one
        debit). Part 1 is locked first: batches running at once take turns on the date's parts
        (which one has room, which one to make). Returns the payment lines added."""
        self.ensure_one()
        self.lock_for_update(allow_referencing=True)
        limit = self.company_id.depanssur_sepa_max_debits
        groups = list(
            invoices.grouped(lambda move: move.depanssur_subscription_id.mandate_id).values()
        )
        Line = self.env["account.payment.line"]
        lines = Line
        order = self
        while groups:
            room = limit - Line.search_count([("order_id", "=", order.id)]) if limit else None
            taken = self.env["account.move"]
            while groups and (room is None or len(taken) + len(groups[0]) <= room):
                taken |= groups.pop(0)
            if not taken and room == limit:
                # one client with more invoices than a file holds: alone in a part
                taken = groups.pop(0)
            if taken:
                lines |= order._depanssur_add_debits_safely(taken, day)
            if groups:
                order = self._depanssur_draft_order(
                    order.company_id, order.date_scheduled, day, part=order.depanssur_part + 1
                )
        return lines

    def _depanssur_add_debits_safely(self, invoices, day):
        """``_depanssur_add_debits`` for the whole group in bulk; when the OCA checks refuse a
        debit (a mandate no longer usable, ...), again mandate by mandate, each in its own
        savepoint: the refused ones stay queued (their debit date kept) and are logged, the
        others are debited — one client never holds the company's file back."""
        try:
            with self.env.cr.savepoint():
                return self._depanssur_add_debits(invoices, day)
        except LockError:
            # the order is busy (another batch, an agent): not a refusal, the batch is retried
            raise
        except UserError as error:
            _logger.info(
                "direct debit order %s: refused in bulk (%s), again mandate by mandate",
                self.id,
                error.args[0],
            )
        lines = self.env["account.payment.line"]
        for mandate, moves in invoices.grouped(
            lambda move: move.depanssur_subscription_id.mandate_id
        ).items():
            try:
                with self.env.cr.savepoint():
                    lines |= self._depanssur_add_debits(moves, day)
            except LockError:
                raise
            except UserError as error:
                _logger.warning(
                    "direct debit order %s: mandate %s left out: %s",
                    self.id,
                    mandate.id,
                    error.args[0],
                )
        return lines

    def _depanssur_add_debits(self, invoices, day):
        """Add the receivables of ``invoices`` to this draft order, with their payments (what
        the OCA ``draft2open`` does for the whole order, here for these lines only, in bulk and
        without chatter)."""
        self.ensure_one()
        # batches running at once take turns on the order (its total is written by each):
        # LockError, retried later by the job queue
        self.lock_for_update(allow_referencing=True)
        mode = self.payment_mode_id
        # re-presented after a change of method or of mandate
        stale = invoices.filtered(
            lambda move: (
                move.mandate_id != move.depanssur_subscription_id.mandate_id
                or move.payment_mode_id != mode
            )
        )
        for mandate, moves in stale.grouped(
            lambda move: move.depanssur_subscription_id.mandate_id
        ).items():
            moves.write({"payment_mode_id": mode.id, "mandate_id": mandate.id})
        receivables = invoices.line_ids.filtered(
            lambda line: not line.reconciled and line.account_id.account_type == "asset_receivable"
        )
        # a debit already waiting in an order not sent to the bank is not added twice
        receivables -= (
            self.env["account.payment.line"]
            .sudo()
            .search(
                [
                    ("move_line_id", "in", receivables.ids),
                    ("state", "in", ("draft", "open", "generated")),
                ]
            )
            .move_line_id
        )
        # what the OCA ``create_payment_line_from_move_line`` does, the references numbered in
        # one go (its ``create`` asks the sequence by code for each line)
        values = [line._prepare_payment_line_vals(self) for line in receivables]
        sequence = (
            self.env["ir.sequence"]
            .sudo()
            .search(
                [
                    ("code", "=", "account.payment.line"),
                    ("company_id", "in", (self.company_id.id, False)),
                ],
                order="company_id",
                limit=1,
            )
        )
        if sequence:
            for vals in values:
                vals["name"] = sequence.with_company(self.company_id)._next()
        # the OCA total of the order sums every line of the order each time lines are added:
        # over the batches of a large order that reads the order's lines again and again
        # (quadratic: hours for 100 000 debits). The batch adds its own lines' total instead.
        total = self._fields["total_company_currency"]
        with self.env.protecting([total], self):
            lines = self.env["account.payment.line"].with_context(**QUIET).create(values)
            if lines:
                self._depanssur_create_payments(lines, day)
            self.env.flush_all()
        if lines:
            self.env.cr.execute(
                "UPDATE account_payment_order SET total_company_currency = "
                "coalesce(total_company_currency, 0) + %s WHERE id = %s",
                (
                    self.company_currency_id.round(sum(lines.mapped("amount_company_currency"))),
                    self.id,
                ),
            )
            self.invalidate_recordset(["total_company_currency"])
        # a Depanssur field, not an accounting one: no resynchronisation of the invoice lines
        invoices.with_context(skip_invoice_sync=True, skip_is_manually_modified=True).write(
            {"depanssur_debit_date": False}
        )
        return lines

    def _depanssur_create_payments(self, lines, day):
        """The payments of the payment ``lines`` of this order, grouped as the OCA module
        groups them (one debit per client, account and date when the mode groups lines)."""
        self.ensure_one()
        mode = self.payment_mode_id
        today = fields.Date.to_date(day)
        requested = max(today, self.date_scheduled or today)
        lines.write({"date": requested})
        errors = []
        for line in lines:
            try:
                line.draft2open_payment_line_check()
            except UserError as error:
                errors.append(error.args[0])
        if errors:
            raise UserError(
                self.env._("There's at least one validation error:\n") + "\n".join(errors)
            )
        groups = lines.grouped(
            lambda line: line.payment_line_hashcode() if mode.group_lines else line.id
        )
        values = []
        for group in groups.values():
            total = sum(group.mapped("amount_currency"))
            if total <= 0:
                raise UserError(
                    self.env._(
                        "The amount for Partner '%(partner)s' is negative or null (%(amount).2f) !",
                        partner=group[0].partner_id.name,
                        amount=total,
                    )
                )
            values.append(group._prepare_account_payment_vals())
        return self.env["account.payment"].sudo().with_context(**QUIET).create(values)

    def _depanssur_payments_match_lines(self):
        """Whether the payments of this draft order are still those its payment lines make:
        every line in one of them, every payment for the amount, client and bank account of
        its lines. False once an agent removed, added or changed a line of the draft order
        after the batches created its payments."""
        self.ensure_one()
        Line = self.env["account.payment.line"]
        Line.flush_model()
        self.env["account.payment"].flush_model()
        field = Line._fields["payment_ids"]
        query = SQL(
            """
            SELECT EXISTS (
                SELECT 1 FROM account_payment_line line
                 WHERE line.order_id = %(order)s
                   AND NOT EXISTS (
                       SELECT 1 FROM %(rel)s rel
                         JOIN account_payment payment ON payment.id = rel.%(payment_col)s
                        WHERE rel.%(line_col)s = line.id
                          AND payment.payment_order_id = %(order)s
                   )
            ) OR EXISTS (
                SELECT 1 FROM account_payment payment
                  LEFT JOIN %(rel)s rel ON rel.%(payment_col)s = payment.id
                  LEFT JOIN account_payment_line line ON line.id = rel.%(line_col)s
                 WHERE payment.payment_order_id = %(order)s
                 GROUP BY payment.id
                HAVING count(line.id) = 0
                    OR abs(payment.amount - sum(line.amount_currency)) >= 0.005
                    OR bool_or(line.order_id != payment.payment_order_id)
                    OR bool_or(line.partner_id != payment.partner_id)
                    OR bool_or(line.partner_bank_id IS DISTINCT FROM payment.partner_bank_id)
            )
            """,
            order=self.id,
            rel=SQL.identifier(field.relation),
            line_col=SQL.identifier(field.column1),
            payment_col=SQL.identifier(field.column2),
        )
        self.env.cr.execute(query)
        return not self.env.cr.fetchone()[0]

    @api.model
    def _depanssur_collect_finish(self, day):
        """Phase 3, once every batch is done: each draft subscription order is confirmed and its
        pain.008 generated and attached; an order left without debit is deleted. Returns the
        orders generated."""
        day = fields.Date.to_date(day)
        orders = self.sudo().search(
            [("depanssur_collection", "=", True), ("state", "=", "draft")], order="id"
        )
        generated = self.browse()
        # each order with a fresh cache and alone in its prefetch set: the memory of one
        # order's file (at most the company's debits per bank file), not of the day's
        for order in browse_in_chunks(orders, orders.ids, size=1):
            order = order.with_company(order.company_id).with_context(date=str(day))
            if not order.payment_line_ids:
                order.unlink()
                continue
            # a draft left from an earlier run (its file failed): the first date the bank can
            # still honour
            collection_day = sepa.collection_date(order.date_scheduled, day)
            if collection_day != order.date_scheduled:
                order.payment_line_ids.write({"date": collection_day})
            try:
                # one order the OCA checks refuse (a debit an agent added on a revoked mandate,
                # ...) stays draft for Accounting, logged; the other orders get their files
                # (or a draft left from an earlier day, moved to a date whose part is being
                # built: the unique index of the parts)
                with self.env.cr.savepoint():
                    order._depanssur_confirm(collection_day)
            except (UserError, psycopg2.errors.UniqueViolation) as error:
                _logger.warning("direct debit order %s left in draft: %s", order.id, error.args[0])
                continue
            generated |= order
        return generated

    def _depanssur_confirm(self, collection_day):
        """Confirm this draft order for ``collection_day`` and generate its pain.008."""
        self.ensure_one()
        if self._depanssur_payments_match_lines():
            # its payments were created by the batches: the end of the OCA ``draft2open``
            self.write({"state": "open", "date_scheduled": collection_day})
        else:
            # an agent changed the draft order's lines since the batches (a debit removed,
            # added or changed): the OCA ``draft2open`` makes every payment again from the
            # lines as they are now
            _logger.info("direct debit order %s: lines changed, payments made again", self.id)
            self.date_scheduled = collection_day
            self.with_context(**QUIET).draft2open()
        self.open2generated()
