"""How much of a top-up goes to debts (IEC 61968-9 auxiliary agreements) and how much to energy.

Each agreement takes, from every top-up, a percentage of it (a higher one while the debt is in
arrears) or a fixed amount, at least its minimum, at most what is left of the debt. Agreements
take their portion in priority order from what earlier ones left of the top-up, and never more
than ``available`` (the credit above the cut-off threshold after the top-up: the supply is never
cut to collect a debt other than energy).
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Agreement:
    residual: Decimal
    mode: str = "percent"  # percent | fixed
    percent: Decimal = Decimal(0)
    arrears_percent: Decimal = Decimal(0)
    fixed_amount: Decimal = Decimal(0)
    minimum: Decimal = Decimal(0)
    in_arrears: bool = False


def portion(agreement, topup, unit=Decimal("0.01")):
    """What ``agreement`` asks of a top-up of ``topup`` (before the limits of the others)."""
    if agreement.mode == "fixed":
        asked = Decimal(agreement.fixed_amount)
    else:
        percent = agreement.percent
        if agreement.in_arrears and agreement.arrears_percent:
            percent = agreement.arrears_percent
        asked = (Decimal(topup) * Decimal(percent) / 100).quantize(unit, rounding=ROUND_HALF_UP)
    return max(asked, Decimal(agreement.minimum))


def split_topup(topup, agreements, available=None, unit=Decimal("0.01")):
    """Return the amounts recovered for each agreement (in the order given: by priority).

    :param topup: the amount paid (Decimal)
    :param agreements: ``Agreement`` in priority order
    :param available: the most that may go to debts (``None``: the whole top-up)
    """
    topup = Decimal(topup)
    left = topup if available is None else max(min(topup, Decimal(available)), Decimal(0))
    amounts = []
    for agreement in agreements:
        amount = min(portion(agreement, topup, unit), Decimal(agreement.residual), left)
        amount = max(amount, Decimal(0)).quantize(unit)
        left -= amount
        amounts.append(amount)
    return amounts
