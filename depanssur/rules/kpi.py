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
        if before == after:
            continue
        if not before:
            totals["new" if sub_id in started_in_period else "reactivation"] += after
        elif not after:
            totals["churn"] -= before
        elif after > before:
            totals["expansion"] += after - before
        else:
            totals["contraction"] -= before - after
    opening = sum((to_money(v) for v in opening_by_sub.values()), ZERO)
    closing = sum((to_money(v) for v in closing_by_sub.values()), ZERO)
    return MrrMovements(opening=opening, closing=closing, **totals)


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
