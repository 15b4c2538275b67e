"""Top-up habits of the accounts (usage analysis), pure.

An account's habit is read from its paid top-ups: how many, the mean amount, the median
number of days between two top-ups (the median, not the mean: one long holiday does not
turn a monthly payer into a rare one) and the days since the last one. The rules, in order,
the first that matches wins:

========== ========================================================================
dormant    no top-up for more than ``dormant_days`` (90) days, whatever came before
single     one top-up only: no interval to judge a habit by yet
frequent   a median interval of at most ``frequent_days`` (10) days and a mean top-up
small      of at most ``small_amount`` (200): "frequent small" (little and often)
frequent   a median interval of at most ``frequent_days`` days, larger amounts
monthly    a median interval of at most ``monthly_days`` (45) days
rare large a median interval above ``monthly_days`` days and a mean top-up of at least
           ``large_amount`` (1,000): "rare large" (a big sum now and then)
rare       a median interval above ``monthly_days`` days, smaller amounts
========== ========================================================================

The amounts are in the company's currency. The report's SQL view applies the same rules
to every account at once (``prepaid.report.usage``); its tests check both agree.
"""

from dataclasses import dataclass
from decimal import Decimal

HABITS = (
    "frequent_small",
    "frequent",
    "monthly",
    "rare_large",
    "rare",
    "single",
    "dormant",
)


@dataclass(frozen=True)
class HabitThresholds:
    dormant_days: int = 90
    frequent_days: int = 10
    monthly_days: int = 45
    small_amount: Decimal = Decimal(200)
    large_amount: Decimal = Decimal(1000)


DEFAULT_THRESHOLDS = HabitThresholds()


def classify_habit(
    topup_count, mean_amount, median_gap_days, days_since, thresholds=DEFAULT_THRESHOLDS
):
    """The habit (one of ``HABITS``) of an account with ``topup_count`` top-ups of
    ``mean_amount`` on average, ``median_gap_days`` between two (``None`` with fewer than
    two) and ``days_since`` the last one."""
    if topup_count < 1:
        raise ValueError("An account without top-ups has no habit.")
    if days_since > thresholds.dormant_days:
        return "dormant"
    if topup_count < 2 or median_gap_days is None:
        return "single"
    mean_amount = Decimal(str(mean_amount))
    median_gap_days = Decimal(str(median_gap_days))
    if median_gap_days <= thresholds.frequent_days:
        return "frequent_small" if mean_amount <= thresholds.small_amount else "frequent"
    if median_gap_days <= thresholds.monthly_days:
        return "monthly"
    return "rare_large" if mean_amount >= thresholds.large_amount else "rare"


def median(values):
    """The median of numbers (the mean of the two middle ones for an even count), ``None``
    for none: PostgreSQL's ``percentile_cont(0.5)``."""
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2
