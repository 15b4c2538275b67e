"""The 16-bit STS amount code: 2-bit exponent ``e`` and 14-bit mantissa ``m``.

A code stands for a whole number of *steps*::

    steps = m * 10**e + sum(2**14 * 10**(i - 1) for i in 1..e)

The offsets make the four exponent ranges follow each other without overlap,
so every number of steps from 0 to 18 201 624 has exactly one smallest code.
Credit tokens count steps of 0.1 unit (0.1 kWh for electricity) and power
limits count steps of 1 W (the same code "without the x10").

A code cannot hold every value above 1638.3: encoding always rounds **up** to
the next representable value, so a customer never receives less than paid for
(2000.0 kWh is sent as 0x416A = 2000.4 kWh).  Callers that bill the customer
should bill :func:`decode_credit` of the code, or accept the small bonus.
"""

from decimal import ROUND_CEILING, Decimal, InvalidOperation

from .exceptions import StsInputError

MANTISSA_BITS = 14
_M = 1 << MANTISSA_BITS
# Steps represented by m = 0 for each exponent: 0, 16384, 180224, 1818624.
_OFFSETS = (0, _M, _M + _M * 10, _M + _M * 10 + _M * 100)
MAX_STEPS = (_M - 1) * 1000 + _OFFSETS[3]
"""Largest number of steps a code can carry (0xFFFF)."""

CREDIT_STEP = Decimal("0.1")
"""Resolution of credit amounts (0.1 kWh, 0.1 m3, ...)."""
MAX_CREDIT = MAX_STEPS * CREDIT_STEP
"""Largest credit amount: 1820162.4."""


def encode_steps(steps):
    """Return the smallest 16-bit code whose value is at least ``steps`` (an int)."""
    if steps < 0 or steps > MAX_STEPS:
        raise StsInputError(f"amount of {steps} steps is outside 0..{MAX_STEPS}")
    for exponent, offset in enumerate(_OFFSETS):
        scale = 10**exponent
        mantissa = max(0, -((offset - steps) // scale))  # ceiling division
        if mantissa < _M:
            return exponent << MANTISSA_BITS | mantissa
    raise AssertionError("unreachable: steps <= MAX_STEPS")  # pragma: no cover


def decode_steps(code):
    """Return the number of steps that a 16-bit code stands for."""
    if not 0 <= code <= 0xFFFF:
        raise StsInputError(f"amount code {code!r} is not a 16-bit value")
    exponent = code >> MANTISSA_BITS
    return (code & (_M - 1)) * 10**exponent + _OFFSETS[exponent]


def to_decimal(value):
    """Convert an int, str, Decimal or float to an exact Decimal.

    Floats go through ``str`` so that ``1638.3`` means 1638.3 and not the
    binary fraction closest to it.
    """
    if isinstance(value, float):
        value = str(value)
    try:
        result = Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise StsInputError(f"{value!r} is not a number") from exc
    if not result.is_finite():
        raise StsInputError(f"{value!r} is not a finite number")
    return result


def encode_credit(amount):
    """Return the code for a credit ``amount`` (units of 0.1), rounded up."""
    amount = to_decimal(amount)
    if amount < 0:
        raise StsInputError(f"credit amount {amount} is negative")
    if amount > MAX_CREDIT:
        raise StsInputError(f"credit amount {amount} exceeds the maximum {MAX_CREDIT}")
    # scaleb(1) multiplies by ten exactly, whatever the Decimal context precision.
    steps = int(amount.scaleb(1).to_integral_value(rounding=ROUND_CEILING))
    return encode_steps(steps)


def decode_credit(code):
    """Return the exact credit amount carried by ``code`` as a Decimal (one decimal)."""
    return decode_steps(code) * CREDIT_STEP


def encode_power(watts):
    """Return the code for a power limit in watts, rounded up to a representable value."""
    watts = to_decimal(watts)
    if watts < 0:
        raise StsInputError(f"power limit {watts} W is negative")
    return encode_steps(int(watts.to_integral_value(rounding=ROUND_CEILING)))


def decode_power(code):
    """Return the power limit in watts carried by ``code``."""
    return decode_steps(code)
