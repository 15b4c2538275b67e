"""Share an amount over weights exactly, to the smallest unit of the currency.

Largest-remainder rounding (Hamilton's method): each share is first the exact quotient
``total * weight / sum of weights`` rounded *down* to the unit; the units left over (fewer than
the number of shares) go one each to the shares with the largest remainders, ties to the
earlier share. The shares then add up to ``total`` exactly, each differs from its exact
quotient by less than one unit, and the result depends only on the inputs (the same pool shared
again gives the same shares).
"""

from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction

CENT = Decimal("0.01")


def allocate(total, weights, unit=CENT):
    """Return the shares of ``total`` in proportion to ``weights``, as Decimals of ``unit``.

    :param total: the amount to share (Decimal, int or str; a multiple of ``unit``, may be
        negative: a credit is shared like a charge)
    :param weights: non-negative numbers (Decimal, int, Fraction or str), at least one positive
    :param unit: the smallest unit of the currency (``Decimal("0.01")``)
    :raise ValueError: no positive weight, a negative weight, or ``total`` not in ``unit``
    """
    total = Decimal(total)
    unit = Decimal(unit)
    weights = [Fraction(Decimal(w)) if not isinstance(w, Fraction) else w for w in weights]
    if any(weight < 0 for weight in weights):
        raise ValueError("weights cannot be negative")
    weight_sum = sum(weights, Fraction(0))
    if weight_sum <= 0:
        raise ValueError("at least one weight must be positive")
    units = Fraction(total) / Fraction(unit)
    if units.denominator != 1:
        raise ValueError(f"{total} is not a multiple of {unit}")
    sign = -1 if units < 0 else 1
    units = abs(units.numerator)
    exact = [units * weight / weight_sum for weight in weights]
    floors = [quotient.numerator // quotient.denominator for quotient in exact]
    left = units - sum(floors)
    # Largest remainder first; ties to the earlier share (a stable sort on the index).
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for index in order[:left]:
        floors[index] += 1
    return [(sign * count * unit).quantize(unit, rounding=ROUND_FLOOR) for count in floors]
