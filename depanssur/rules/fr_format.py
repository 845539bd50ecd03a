"""French formatting of amounts and dates for documents and messages."""

from datetime import date
from decimal import Decimal

from .money import to_money

NBSP = "\u00a0"
NNBSP = "\u202f"


def format_amount_fr(amount, symbol="€"):
    """``Decimal('1234.5')`` → ``'1 234,50 €'`` (narrow no-break space for thousands)."""
    value = to_money(amount)
    sign = "-" if value < 0 else ""
    units, cents = f"{abs(value):.2f}".split(".")
    groups = []
    while units:
        groups.insert(0, units[-3:])
        units = units[:-3]
    text = f"{sign}{NNBSP.join(groups)},{cents}"
    return f"{text}{NBSP}{symbol}" if symbol else text


def format_rate_fr(rate):
    """``Decimal('20')`` → ``'20 %'``; ``Decimal('5.5')`` → ``'5,5 %'``."""
    value = Decimal(str(rate)).normalize()
    text = f"{value:f}".replace(".", ",")
    return f"{text}{NBSP}%"


def format_date_fr(day: date | None):
    return day.strftime("%d/%m/%Y") if day else ""
