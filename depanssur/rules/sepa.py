"""SEPA direct debit ("prélèvement SEPA"): collection dates, bank returns, masked IBANs.

The debit file itself is written by OCA ``account_banking_sepa_direct_debit`` (pain.008); this
module only decides the business side: when an invoice is debited after its pre-notification,
what a bank return ("rejet", R-transaction) means for the client, and the reject-rate formula.
"""

from dataclasses import dataclass
from datetime import date, timedelta

DEFAULT_PRENOTIFICATION_DAYS = 5
# the debit file goes to the bank the business day before the collection date (SEPA Core)
SUBMISSION_LEAD_DAYS = 1


@dataclass(frozen=True)
class ReturnReason:
    code: str
    label: str
    # the mandate cannot be used any more: the client is asked for a new payment method
    mandate_unusable: bool = False


RETURN_REASONS = (
    ReturnReason("AM04", "AM04 Insufficient funds"),
    ReturnReason("MD06", "MD06 Refund requested by the debtor"),
    ReturnReason("AC04", "AC04 Account closed", mandate_unusable=True),
    ReturnReason("MD01", "MD01 No valid mandate (revoked)", mandate_unusable=True),
    ReturnReason("AC01", "AC01 Incorrect account number", mandate_unusable=True),
    ReturnReason("AC06", "AC06 Account blocked", mandate_unusable=True),
    ReturnReason("AG01", "AG01 Transaction forbidden on this account", mandate_unusable=True),
    ReturnReason("MS02", "MS02 Refused by the debtor"),
    ReturnReason("MS03", "MS03 Reason not specified"),
    ReturnReason("SL01", "SL01 Specific service of the debtor's bank"),
)
REASONS_BY_CODE = {reason.code: reason for reason in RETURN_REASONS}


def reason(code):
    """The return reason ``code`` (ValueError when unknown)."""
    try:
        return REASONS_BY_CODE[code]
    except KeyError:
        raise ValueError(f"unknown SEPA return reason {code!r}") from None


def debit_date(invoice_date: date, today: date, prenotification_days: int) -> date:
    """The collection date of an invoice pre-notified on ``today`` (never earlier than
    ``prenotification_days`` after the notice, never before the invoice date)."""
    if prenotification_days < 0:
        raise ValueError("prenotification_days cannot be negative")
    return max(invoice_date, today) + timedelta(days=prenotification_days)


def to_present(debit_day: date, today: date) -> bool:
    """Whether an invoice to be debited on ``debit_day`` goes in the debit order built on
    ``today`` (the file is sent one business day ahead; late ones go in the next order)."""
    return debit_day <= today + timedelta(days=SUBMISSION_LEAD_DAYS)


def collection_date(debit_day: date, today: date) -> date:
    """The requested collection date of the order: the debit date, or the first date the
    bank can still honour when the invoice is presented late (re-presentation, missed run)."""
    return max(debit_day, today + timedelta(days=SUBMISSION_LEAD_DAYS))


def mask_iban(iban: str) -> str:
    """``FR76 **** **** **** **** ***1 89``: the country code and the last three characters."""
    compact = "".join((iban or "").split()).upper()
    if len(compact) < 8:
        return "*" * len(compact)
    masked = compact[:2] + "*" * (len(compact) - 5) + compact[-3:]
    return " ".join(masked[i : i + 4] for i in range(0, len(masked), 4))


def reject_rate(rejected: int, presented: int) -> float:
    """Share of the presented debits returned by the bank, in percent (0 when none)."""
    if rejected < 0 or presented < 0:
        raise ValueError("counts cannot be negative")
    if not presented:
        return 0.0
    return round(100.0 * rejected / presented, 2)
