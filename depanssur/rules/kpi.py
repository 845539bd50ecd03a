"""KPI formulas (definitions in docs/kpis.md). Empty periods give ``None`` — shown as empty, never
as 0 or a division error.

- **MRR** at a date: monthly recurring price (untaxed) of plan + options of the subscriptions
  running (waiting period, covered or suspended) that day; yearly billing counts 1/12 of its
  yearly price, which is the monthly price.
- **MRR movements** of a month, per subscription, from its opening MRR (the day before the month)
  to its closing MRR (the month's last day): *new* (0 → x, started in the month), *reactivation*
  (0 → x, started before), *expansion* (x → y > x), *contraction* (x → 0 < y < x), *churn*
  (x → 0). Opening + movements = closing, to the cent.
- **Logo churn** = subscriptions terminated in the month / subscriptions running at its start.
- **Revenue churn** = (churned MRR + contraction MRR) / opening MRR.
- **Loss ratio (sinistralité)** = covered amounts of interventions done in the period / earned
  premiums (untaxed subscription revenue invoiced for the period, net of credit notes).
- **NPS** = % promoters (9–10) − % detractors (0–6) of the answers received.
- **DSO** = receivables outstanding at period end / credit sales of the period × days of period.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from .money import ZERO, to_money

MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation")


@dataclass(frozen=True)
class MrrMovements:
    opening: Decimal
    new: Decimal
    expansion: Decimal
    contraction: Decimal  # negative
    churn: Decimal  # negative
    reactivation: Decimal
    closing: Decimal

    @property
    def net(self):
        return self.new + self.expansion + self.contraction + self.churn + self.reactivation


def mrr_movements(opening_by_sub: dict, closing_by_sub: dict, started_in_period=frozenset()):
    """Classify each subscription's MRR change; amounts are Decimal (contraction and churn < 0)."""
    totals = dict.fromkeys(MOVEMENTS, ZERO)
    for sub_id in set(opening_by_sub) | set(closing_by_sub):
        before = to_money(opening_by_sub.get(sub_id, ZERO))
        after = to_money(closing_by_sub.get(sub_id, ZERO))
        kind = movement_kind(before, after, sub_id in started_in_period)
        if kind:
            totals[kind] += after - before
    opening = sum((to_money(v) for v in opening_by_sub.values()), ZERO)
    closing = sum((to_money(v) for v in closing_by_sub.values()), ZERO)
    return MrrMovements(opening=opening, closing=closing, **totals)


def movement_kind(before, after, started_in_period=False):
    """The movement of one subscription whose MRR went from ``before`` to ``after`` (None when
    it did not change); its amount is ``after - before``."""
    before, after = to_money(before), to_money(after)
    if before == after:
        return None
    if not before:
        return "new" if started_in_period else "reactivation"
    if not after:
        return "churn"
    return "expansion" if after > before else "contraction"


def ratio(numerator, denominator):
    """``numerator / denominator`` as a Decimal, or None when the denominator is 0 or None."""
    if not denominator:
        return None
    return Decimal(str(numerator)) / Decimal(str(denominator))


def percent(numerator, denominator, places=2):
    value = ratio(numerator, denominator)
    return None if value is None else (value * 100).quantize(Decimal(1).scaleb(-places))


def logo_churn_rate(terminated: int, running_at_start: int):
    return percent(terminated, running_at_start)


def revenue_churn_rate(churned_mrr, contraction_mrr, opening_mrr):
    """Churned and contraction MRR given as positive amounts (or the signed movements)."""
    return percent(abs(Decimal(str(churned_mrr))) + abs(Decimal(str(contraction_mrr))), opening_mrr)


def loss_ratio(covered_amounts, earned_premiums):
    return percent(covered_amounts, earned_premiums)


@dataclass(frozen=True)
class Nps:
    score: Decimal | None
    promoters: int
    passives: int
    detractors: int
    count: int


def nps(scores):
    scores = [int(s) for s in scores]
    if any(s < 0 or s > 10 for s in scores):
        raise ValueError("NPS answers are between 0 and 10")
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    count = len(scores)
    score = None
    if count:
        score = (Decimal(promoters - detractors) * 100 / count).quantize(Decimal("0.1"))
    return Nps(score, promoters, count - promoters - detractors, detractors, count)


def dso(receivables, credit_sales, days: int):
    value = ratio(receivables, credit_sales)
    return None if value is None else (value * days).quantize(Decimal("0.1"))


def ageing_bucket(days_overdue: int):
    if days_overdue <= 30:
        return "0-30"
    if days_overdue <= 60:
        return "31-60"
    if days_overdue <= 90:
        return "61-90"
    return "90+"


AGEING_BUCKETS = ("0-30", "31-60", "61-90", "90+")


def ageing_due_dates(day: date):
    """{bucket: (first due date, last due date)} of the invoices in each ageing bucket at ``day``
    (None: unbounded); "0-30" includes the invoices not due yet, as ``ageing_bucket`` does."""
    return {
        "0-30": (day - timedelta(days=30), None),
        "31-60": (day - timedelta(days=60), day - timedelta(days=31)),
        "61-90": (day - timedelta(days=90), day - timedelta(days=61)),
        "90+": (None, day - timedelta(days=91)),
    }


MAX_WINDOW_MONTHS = 36


def window_months(months):
    """``months`` as the length of a dashboard window: a whole number from 1 to
    ``MAX_WINDOW_MONTHS``; anything else (text, a float, a bool, out of range) is refused with
    ``ValueError``."""
    if isinstance(months, bool) or not isinstance(months, int):
        raise ValueError("not a whole number")
    if not 1 <= months <= MAX_WINDOW_MONTHS:
        raise ValueError("out of range")
    return months


def month_periods(day: date, months: int):
    """The ``months`` calendar months ending with the month of ``day``, oldest first, as
    (first day, last day) pairs; the current month stops at ``day`` (month to date)."""
    if months < 1:
        raise ValueError("at least one month")
    periods = []
    end = day
    for _ in range(months):
        start = end.replace(day=1)
        periods.append((start, end))
        end = start - timedelta(days=1)
    return periods[::-1]


def ratios_by_key(numerators: dict, denominators: dict):
    """{key: percent(numerator, denominator)} over every key of either dict (None: no
    denominator), e.g. the loss ratio per plan from covered amounts and earned premiums."""
    return {
        key: percent(numerators.get(key, 0), denominators.get(key, 0))
        for key in set(numerators) | set(denominators)
    }


def funnel(counts):
    """The dunning funnel: from the cases now at each level of the ladder, given in the ladder's
    order as (label, count) pairs, rows (label, now at the level, reached the level, % of the
    cases that reached the first level). A case at level 3 went through levels 1 and 2."""
    counts = list(counts)
    rows, reached = [], 0
    for label, count in reversed(counts):
        reached += count
        rows.append((label, count, reached))
    rows.reverse()
    first = rows[0][2] if rows else 0
    return [(label, count, total, percent(total, first)) for label, count, total in rows]
