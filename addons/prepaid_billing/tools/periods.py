"""Billing periods of fee items and proration by day.

A periodic fee is due for calendar periods (month, quarter, year). A tenant who moves in or
out during a period pays the days they held the room: ``amount * days / days of the period``,
rounded half-up to the cent, so February has 28 or 29 days, April 30 and March 31.
"""

import calendar
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

RECURRENCES = ("monthly", "quarterly", "yearly", "once")


def period_of(recurrence, day):
    """The calendar period of ``recurrence`` that holds ``day``: ``(key, first, last)``.

    ``key`` names the period in idempotency keys (``2026-02``, ``2026-Q1``, ``2026``; ``once``
    for one-off fees, which have a single period).
    """
    if recurrence == "monthly":
        last = calendar.monthrange(day.year, day.month)[1]
        return f"{day.year:04d}-{day.month:02d}", day.replace(day=1), day.replace(day=last)
    if recurrence == "quarterly":
        quarter = (day.month - 1) // 3
        first = date(day.year, quarter * 3 + 1, 1)
        end_month = quarter * 3 + 3
        last = date(day.year, end_month, calendar.monthrange(day.year, end_month)[1])
        return f"{day.year:04d}-Q{quarter + 1}", first, last
    if recurrence == "yearly":
        return f"{day.year:04d}", date(day.year, 1, 1), date(day.year, 12, 31)
    if recurrence == "once":
        return "once", day, day
    raise ValueError(f"unknown recurrence {recurrence!r}")


def due_date(recurrence, first, charge_day=1, charge_month=1):
    """When the fee of the period starting ``first`` falls due: on ``charge_day`` of the
    period's first month (yearly: of ``charge_month``), capped at the month's last day."""
    if recurrence == "once":
        return first
    month = charge_month if recurrence == "yearly" else first.month
    last = calendar.monthrange(first.year, month)[1]
    return date(first.year, month, min(max(charge_day, 1), last))


def overlap_days(first, last, starts=(), ends=()):
    """Days of ``[first, last]`` within every ``[start, end]`` interval given (``None``: open)."""
    start = max([first, *(s for s in starts if s)])
    end = min([last, *(e for e in ends if e)])
    return max((end - start).days + 1, 0)


def period_days(first, last):
    return (last - first).days + 1


def prorate(amount, days, total_days, unit=Decimal("0.01")):
    """``amount * days / total_days`` rounded half-up to ``unit`` (all of it when ``days``
    covers the period)."""
    amount = Decimal(amount)
    if days >= total_days:
        return amount.quantize(unit, rounding=ROUND_HALF_UP)
    if days <= 0:
        return Decimal(0).quantize(unit)
    return (amount * days / total_days).quantize(unit, rounding=ROUND_HALF_UP)
