"""Rate consumption intervals with a tariff: a pure engine, no Odoo import.

Public API
==========

``rate_intervals(tariff, intervals, cycle_quantity=0, cycle_amount=0)``
    Rate :class:`Interval` objects; returns a :class:`RatingResult` whose
    ``lines`` are :class:`ChargeLine` objects (interval index, start, end,
    band, tier, quantity, unit price, amount, version).
``rate_fixed_charges(tariff, first_day, last_day)``
    The :class:`FixedCharge` lines due from ``first_day`` to ``last_day``
    (inclusive).
``aggregate_lines(lines)``
    Sum lines by (version, charge, band, tier, unit price), e.g. for a bill.
``version_in_force(tariff, day)``
    The :class:`TariffVersion` in force on a date, or ``None``.
``compile_definition(definition)``
    Validate a :class:`TariffDefinition` (raises
    :class:`TariffDefinitionError`) and build its lookup tables; cached, and
    accepted by the functions above in place of the definition.
``validate_definition(definition)`` / ``validate_version(version, digits)``
    The rules, as a list of :class:`Issue` (see :mod:`.tariff_validation`).

``tariff`` is a :class:`TariffDefinition` or a :class:`CompiledTariff`. The
data classes live in :mod:`.tariff_data` and are re-exported here.

How consumption is split
========================

1. Intervals are rated in order of their start (ties refused as overlaps);
   ``cycle_quantity`` is the quantity already consumed in the billing cycle,
   so the tiered steps continue where the previous call stopped.
2. An interval is cut into time pieces wherever the band, the day's schedule
   or the version in force changes (version changes happen at midnight).
   Without a register split, its quantity is shared among the pieces **in
   proportion to time**: the cumulative quantity at a cut time ``t`` is
   ``Q(t) = round_half_up(q * (t - start) / (end - start))`` in units of the
   quantity precision (10 ** -quantity_digits) and a piece receives
   ``Q(piece end) - Q(piece start)``. Pieces therefore add up to the interval's
   quantity exactly and each differs from its exact time share by less than
   one unit of quantity precision.
3. With a register split (``Interval.band_split``, read from the meter's TOU
   registers) each band's quantity is charged as read. If the interval spans
   several versions, each band quantity is shared among them in proportion to
   time as above. Register pieces of one interval consume the tiered steps in
   :data:`BANDS` order; under the adder model of ``tiered_tou`` this order
   does not change any total.
4. A piece that crosses a step boundary is split at the exact quantity of the
   boundary: a line of step *k* never extends beyond the steps' limits.

Rounding
========

Quantities stay exact (integers of 10 ** -quantity_digits; an input quantity
with more decimals is refused, never rounded). Prices have at most
:data:`PRICE_DIGITS` decimals, so the exact amount of a line, quantity x unit
price, is an exact integer at scale 10 ** -(quantity_digits + PRICE_DIGITS);
the engine computes in these integers and converts to ``Decimal`` only in the
output.

Amounts are rounded **half-up to the currency precision, cumulatively**: with
``A`` the running exact amount of the cycle (``cycle_amount`` plus the exact
amounts of the lines before), a line's amount is
``R(A + exact) - R(A)`` where ``R`` rounds half-up. Hence:

* the amounts of one call add up to ``R(A_end) - R(A_start)``: passing the
  returned ``cycle_amount`` to the next call of the same cycle makes the
  cycle's charged total exactly ``R(exact cycle total)``, however the
  consumption was batched;
* each line differs from its exact amount by less than one currency unit
  (10 ** -currency_digits), and no line is negative (``A`` never decreases);
* splitting an interval in two at time ``t``, the first part getting
  ``Q(t)``, never changes the total quantity. Each part shares its quantity
  over its own cut points, so a cumulative share ``Q`` at a cut point moves by
  at most one quantity unit: the exact total amount changes by at most
  (number of cut points x highest unit price x one quantity unit) and the
  charged total by that plus one currency unit (within one version the
  adder part of ``tiered_tou`` depends only on the cycle positions and does
  not move).
  Splitting at the only cut point of an interval changes nothing at all, and
  within one ``flat`` or ``tiered`` version any split (any quantities adding
  up to the interval's) leaves the total amount unchanged.

Fixed charges are rounded the same way within one :func:`rate_fixed_charges`
call (they normally have the currency's precision already).

Performance
===========

Compiling a definition builds, per (season, day type) schedule, a 96-slot
band table with the end of each slot's band run; the table of each calendar
day (version, season, day type resolved) is cached by day number. The hot
loop works in integers (microseconds, quantity units, exact amount units),
takes a fast path for an interval inside one band run and one step, reuses
the previous end for contiguous intervals and caches the Decimal <-> integer
conversions. ``tests/benchmarks/bench_tariff_engine.py`` measures it.
"""

from bisect import bisect_right
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal
from functools import lru_cache

from .tariff_data import (
    BANDS,
    DAY_ALL,
    DAY_HOLIDAY,
    DAY_TYPES,
    DAY_WEEKDAY,
    DAY_WEEKEND,
    KIND_FLAT,
    KIND_TIERED,
    KIND_TIERED_TOU,
    KIND_TOU,
    KINDS,
    MESSAGES,
    PERIOD_DAY,
    PERIOD_MONTH,
    PRICE_DIGITS,
    SLOT_MINUTES,
    SLOTS_PER_DAY,
    TIERED_KINDS,
    TOU_KINDS,
    BandPeriod,
    ChargeLine,
    FixedCharge,
    Interval,
    Issue,
    RatingError,
    RatingResult,
    Season,
    TariffDefinition,
    TariffDefinitionError,
    TariffError,
    TariffVersion,
    Tier,
    format_message,
)
from .tariff_validation import (
    build_schedules,
    check_definition,
    day_type_of,
    fits_digits,
    resolve_schedule,
    season_of,
    validate_definition,
    validate_version,
)

__all__ = [
    "BANDS",
    "DAY_ALL",
    "DAY_HOLIDAY",
    "DAY_TYPES",
    "DAY_WEEKDAY",
    "DAY_WEEKEND",
    "KINDS",
    "KIND_FLAT",
    "KIND_TIERED",
    "KIND_TIERED_TOU",
    "KIND_TOU",
    "MESSAGES",
    "PERIOD_DAY",
    "PERIOD_MONTH",
    "PRICE_DIGITS",
    "BandPeriod",
    "ChargeLine",
    "CompiledTariff",
    "FixedCharge",
    "Interval",
    "Issue",
    "RatingError",
    "RatingResult",
    "Season",
    "TariffDefinition",
    "TariffDefinitionError",
    "TariffError",
    "TariffVersion",
    "Tier",
    "aggregate_lines",
    "compile_definition",
    "format_message",
    "rate_fixed_charges",
    "rate_intervals",
    "round_half_up",
    "validate_definition",
    "validate_version",
    "version_in_force",
]

EPOCH = datetime(1, 1, 1)  # day number n is date.fromordinal(n + 1)
_US = timedelta(microseconds=1)
DAY_US = 86_400_000_000
SLOT_US = SLOT_MINUTES * 60_000_000
# Wide enough for every scaled integer of the engine: scaleb() never rounds.
_CTX = Context(prec=80)
_PLAN_CACHE_SIZE = 100_000  # days of band tables kept per compiled tariff
_CONVERSION_CACHE_SIZE = 50_000  # Decimal <-> integer conversions kept per compiled tariff


def round_half_up(value, digits):
    """``value`` (Decimal) rounded half-up (away from zero on ties) to ``digits``."""
    return value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP, context=_CTX)


def _units(value, digits):
    """``value`` as an integer of 10 ** -digits, or ``None`` if it does not fit."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = Decimal(value)
    if not isinstance(value, Decimal) or not fits_digits(value, digits):
        return None
    return int(value.scaleb(digits, _CTX))


def _decimal(units, digits):
    return Decimal(units).scaleb(-digits, _CTX)


# === COMPILED TARIFF === #


class _Version:
    """A version with its prices in fixed point and its day tables."""

    __slots__ = (
        "bands_used",
        "first_day",
        "flat_plan",
        "last_day",
        "plans",
        "price_decimals",
        "prices",
        "source",
        "thresholds",
        "tou",
        "valid_from",
    )

    def __init__(self, version, quantity_digits):
        self.source = version
        self.valid_from = version.valid_from
        self.first_day = version.valid_from.toordinal() - 1
        self.last_day = version.valid_to.toordinal() - 1 if version.valid_to else None
        self.tou = version.kind in TOU_KINDS
        tiered = version.kind in TIERED_KINDS
        # Step starts in quantity units; None when the version is not tiered.
        self.thresholds = (
            tuple(_units(tier.start, quantity_digits) for tier in version.tiers) if tiered else None
        )
        adders = [tier.price for tier in version.tiers] if tiered else [Decimal(0)]
        if version.kind == KIND_FLAT:
            base = {None: version.unit_price}
        elif version.kind == KIND_TIERED:
            base = {None: Decimal(0)}
        else:
            base = dict(version.band_prices)
        # {band: (price of step 1, step 2, ...)}: one entry when not tiered.
        self.price_decimals = {
            band: tuple(price + adder for adder in adders) for band, price in base.items()
        }
        self.prices = {
            band: tuple(int(price.scaleb(PRICE_DIGITS, _CTX)) for price in prices)
            for band, prices in self.price_decimals.items()
        }
        self.bands_used = frozenset(period.band for period in version.periods)
        self.flat_plan = (self, (None,) * SLOTS_PER_DAY, (DAY_US,) * SLOTS_PER_DAY)
        # {schedule key: (version, band per slot, end of the slot's band run in us)}
        self.plans = {}
        if self.tou:
            for key, bands in build_schedules(version).items():
                self.plans[key] = (self, bands, _run_ends(bands))


def _run_ends(bands):
    """For each slot, the time (us from midnight) at which its band run ends."""
    ends = [DAY_US] * SLOTS_PER_DAY
    for slot in range(SLOTS_PER_DAY - 2, -1, -1):
        ends[slot] = ends[slot + 1] if bands[slot] == bands[slot + 1] else (slot + 1) * SLOT_US
    return tuple(ends)


class CompiledTariff:
    """A validated :class:`TariffDefinition` with its lookup tables.

    Build it with :func:`compile_definition`. The band table of each day (96
    slots, the end of each slot's band run) is resolved once per day and kept.
    """

    def __init__(self, definition):
        check_definition(definition)
        self.definition = definition
        self.quantity_digits = definition.quantity_digits
        self.currency_digits = definition.currency_digits
        self.amount_digits = definition.quantity_digits + PRICE_DIGITS
        # Exact amounts are integers of 10 ** -amount_digits; one currency unit
        # is amount_divisor of them (at least 10: validation caps the digits).
        self.amount_divisor = 10 ** (self.amount_digits - self.currency_digits)
        versions = sorted(definition.versions, key=lambda version: version.valid_from)
        self.versions = [_Version(version, self.quantity_digits) for version in versions]
        self.first_days = [version.first_day for version in self.versions]
        self.plans = {}
        # {Decimal quantity: units}, {units: Decimal quantity}, {units: Decimal amount}
        self.units_cache = {}
        self.quantity_cache = {}
        self.amount_cache = {}

    def version_on(self, day_number):
        """The compiled version in force on day ``day_number``, or ``None``."""
        index = bisect_right(self.first_days, day_number) - 1
        if index < 0:
            return None
        version = self.versions[index]
        if version.last_day is not None and day_number > version.last_day:
            return None
        return version

    def plan(self, day_number):
        """``(version, bands, run_ends)`` of a day; raises if no version applies."""
        plan = self.plans.get(day_number)
        if plan is not None:
            return plan
        version = self.version_on(day_number)
        if version is None:
            raise RatingError("no_version", date=date.fromordinal(day_number + 1))
        if not version.tou:
            plan = version.flat_plan
        else:
            day = date.fromordinal(day_number + 1)
            definition = self.definition
            key = resolve_schedule(
                version.plans,
                season_of(version.source.seasons, day),
                day_type_of(day, definition.holidays, definition.weekend_days),
            )
            plan = version.plans[key]  # validation guarantees a schedule for every day
        if len(self.plans) >= _PLAN_CACHE_SIZE:
            self.plans.clear()
        self.plans[day_number] = plan
        return plan

    def _pieces(self, interval, start_us, end_us, quantity):
        """Cut an interval at band, day and version changes (see the module doc).

        Returns ``[(start, end, version, band, quantity units), ...]`` in time
        order (register pieces of one version in :data:`BANDS` order).
        """
        segments = []  # [start_us, end_us, version, band]
        cursor = start_us
        while cursor < end_us:
            day = cursor // DAY_US
            version, bands, run_ends = self.plan(day)
            base = day * DAY_US
            slot = (cursor - base) // SLOT_US
            end = min(base + run_ends[slot], end_us)
            band = bands[slot]
            last = segments[-1] if segments else None
            if last is not None and last[2] is version and last[3] == band:
                last[1] = end
            else:
                segments.append([cursor, end, version, band])
            cursor = end
        duration = end_us - start_us

        def to_datetime(us):
            if us == start_us:
                return interval.start
            if us == end_us:
                return interval.end
            return EPOCH + timedelta(microseconds=us)

        def share(units, until_us):
            """Q(t): the cumulative time share of ``units`` at ``until_us``, half-up."""
            return ((until_us - start_us) * units * 2 + duration) // (2 * duration)

        pieces = []
        if interval.band_split is None or not any(segment[2].tou for segment in segments):
            done = 0
            for seg_start, seg_end, version, band in segments:
                cumulative = share(quantity, seg_end)
                pieces.append(
                    (to_datetime(seg_start), to_datetime(seg_end), version, band, cumulative - done)
                )
                done = cumulative
            return pieces
        # Register split: the band quantities are read, only versions cut them.
        spans = []  # [start_us, end_us, version]
        for seg_start, seg_end, version, _band in segments:
            if spans and spans[-1][2] is version:
                spans[-1][1] = seg_end
            else:
                spans.append([seg_start, seg_end, version])
        digits = self.quantity_digits
        registers = []
        for band, band_quantity in interval.band_split:
            units = _units(band_quantity, digits)
            if units is None:
                raise RatingError("quantity_precision", quantity=band_quantity, digits=digits)
            registers.append([band, units, 0])  # band, units, units already shared
        for span_start, span_end, version in spans:
            parts = []
            for register in registers:
                cumulative = share(register[1], span_end)
                parts.append((register[0], cumulative - register[2]))
                register[2] = cumulative
            span = (to_datetime(span_start), to_datetime(span_end), version)
            if version.tou:
                for band, units in parts:
                    if units and band not in version.bands_used:
                        raise RatingError(
                            "register_band_unpriced",
                            band=band,
                            quantity=_decimal(units, digits),
                            date=span[0].date(),
                        )
                    pieces.append((*span, band, units))
            else:
                pieces.append((*span, None, sum(units for _band, units in parts)))
        return pieces


@lru_cache(maxsize=64)
def compile_definition(definition):
    """Validate ``definition`` and build its tables (cached per definition).

    Raises :class:`TariffDefinitionError` when a rule is broken.
    """
    return CompiledTariff(definition)


def _compiled(tariff):
    return tariff if isinstance(tariff, CompiledTariff) else compile_definition(tariff)


def version_in_force(tariff, day):
    """The :class:`TariffVersion` in force on ``day`` (a date), or ``None``."""
    version = _compiled(tariff).version_on(day.toordinal() - 1)
    return version.source if version else None


# === RATING === #


def rate_intervals(tariff, intervals, cycle_quantity=0, cycle_amount=0):
    """Rate consumption ``intervals`` (an iterable of :class:`Interval`).

    :param tariff: a :class:`TariffDefinition` or a :class:`CompiledTariff`.
    :param cycle_quantity: quantity already consumed in the billing cycle
        before the first interval (tiered steps continue from it).
    :param cycle_amount: exact (unrounded) amount already charged in the
        cycle, i.e. the ``cycle_amount`` returned by the previous call; it
        makes the cumulative rounding span the whole cycle.
    :return: a :class:`RatingResult`; lines with a zero quantity are left out.
    :raises RatingError: overlapping intervals, no version in force, a
        quantity finer than the quantity precision, a register band the
        version does not price.
    :raises TariffDefinitionError: the definition breaks a rule.
    """
    compiled = _compiled(tariff)
    q_digits = compiled.quantity_digits
    c_digits = compiled.currency_digits
    position = _units(cycle_quantity, q_digits)
    if position is None or position < 0:
        raise RatingError("cycle_quantity_invalid", quantity=cycle_quantity, digits=q_digits)
    exact = _units(cycle_amount, compiled.amount_digits)
    if exact is None or exact < 0:
        raise RatingError(
            "cycle_amount_invalid", amount=cycle_amount, digits=compiled.amount_digits
        )
    first_position, first_exact = position, exact
    first_rounded = (exact + compiled.amount_divisor // 2) // compiled.amount_divisor
    intervals = intervals if isinstance(intervals, (list, tuple)) else list(intervals)
    try:
        lines, position, exact, rounded = _rate(compiled, enumerate(intervals), position, exact)
    except _Unsorted:
        items = sorted(enumerate(intervals), key=lambda item: item[1].start)
        lines, position, exact, rounded = _rate(compiled, items, position, exact)
    a_digits = compiled.amount_digits
    return RatingResult(
        lines=lines,
        quantity=_decimal(position - first_position, q_digits),
        amount=_decimal(rounded - first_rounded, c_digits),
        exact_amount=_decimal(exact - first_exact, a_digits),
        cycle_quantity=_decimal(position, q_digits),
        cycle_amount=_decimal(exact, a_digits),
    )


class _Unsorted(Exception):
    """The intervals are not in order of their start: sort and start again."""


def _rate(compiled, items, position, exact):
    """The hot loop of :func:`rate_intervals` over ``(index, interval)`` items.

    Works in fixed-point integers (quantity units, exact amount units) and
    builds Decimals only for the output, through small caches. Returns
    ``(lines, position, exact, rounded)``; raises :class:`_Unsorted` when an
    interval starts before the previous one so the caller sorts and retries.
    """
    q_digits = compiled.quantity_digits
    c_digits = compiled.currency_digits
    divisor = compiled.amount_divisor
    half = divisor // 2
    rounded = (exact + half) // divisor
    lines = []
    append = lines.append
    new_line = tuple.__new__
    plans_get = compiled.plans.get
    # Decimal <-> integer conversions are the costliest steps: cache them.
    units_of = compiled.units_cache
    units_get = units_of.get
    quantity_of = compiled.quantity_cache
    quantity_get = quantity_of.get
    amount_of = compiled.amount_cache
    amount_get = amount_of.get
    if len(units_of) > _CONVERSION_CACHE_SIZE:
        units_of.clear()
        quantity_of.clear()
        amount_of.clear()
    epoch, one_us, day_us, slot_us = EPOCH, _US, DAY_US, SLOT_US
    plan_day = base = version = bands = run_ends = None
    last_start = last_end = last_end_us = None
    for index, interval in items:
        start, end = interval.start, interval.end
        if start == last_end:  # contiguous intervals: reuse the previous end
            start_us = last_end_us
        else:
            start_us = (start - epoch) // one_us
            if last_end is not None and start < last_end:
                if start < last_start:
                    raise _Unsorted
                raise RatingError("interval_overlap", start=start)
        end_us = (end - epoch) // one_us
        last_start, last_end, last_end_us = start, end, end_us
        quantity = interval.quantity
        units = units_get(quantity)
        if units is None:
            scaled = quantity.scaleb(q_digits, _CTX)
            units = int(scaled)
            if units != scaled:
                raise RatingError("quantity_precision", quantity=quantity, digits=q_digits)
            units_of[quantity] = units
        day = start_us // day_us
        if day != plan_day:
            version, bands, run_ends = plans_get(day) or compiled.plan(day)
            plan_day, base = day, day * day_us
        slot = (start_us - base) // slot_us
        if end_us - base <= run_ends[slot] and (interval.band_split is None or not version.tou):
            pieces = ((start, end, version, bands[slot], units),)
        else:
            pieces = compiled._pieces(interval, start_us, end_us, units)
        for piece_start, piece_end, piece_version, band, units in pieces:
            if not units:
                continue
            thresholds = piece_version.thresholds
            prices = piece_version.prices[band]
            if thresholds is None:
                step, take = 0, units
            else:
                step = bisect_right(thresholds, position) - 1
                take = units
                if step + 1 < len(thresholds) and position + units > thresholds[step + 1]:
                    take = thresholds[step + 1] - position
            while True:  # once per tiered step the piece falls in
                exact += take * prices[step]
                amount = (exact + half) // divisor
                line_quantity = quantity_get(take)
                if line_quantity is None:
                    line_quantity = quantity_of[take] = Decimal(take).scaleb(-q_digits, _CTX)
                line_amount = amount_get(amount - rounded)
                if line_amount is None:
                    line_amount = amount_of[amount - rounded] = Decimal(amount - rounded).scaleb(
                        -c_digits, _CTX
                    )
                append(
                    new_line(
                        ChargeLine,
                        (
                            index,
                            piece_start,
                            piece_end,
                            band,
                            None if thresholds is None else step + 1,
                            line_quantity,
                            piece_version.price_decimals[band][step],
                            line_amount,
                            piece_version.valid_from,
                            None,
                        ),
                    )
                )
                rounded = amount
                position += take
                units -= take
                if not units:
                    break
                step += 1  # the rest of the piece goes to the next steps
                take = units
                if step + 1 < len(thresholds) and position + units > thresholds[step + 1]:
                    take = thresholds[step + 1] - position
    return tuple(lines), position, exact, rounded


def rate_fixed_charges(tariff, first_day, last_day):
    """The fixed charges due from ``first_day`` to ``last_day`` (inclusive).

    A ``day`` charge is due on every day a version is in force, a ``month``
    charge on the first day of each calendar month a version is in force on
    that day (a range starting mid-month charges that month's charge from the
    next month). Returns a tuple of :class:`ChargeLine` (``interval`` -1,
    ``charge`` the charge's name, ``quantity`` 1, start/end the day or month).
    """
    compiled = _compiled(tariff)
    c_digits = compiled.currency_digits
    divisor = 10 ** (PRICE_DIGITS - c_digits)
    half = divisor // 2
    exact = rounded = 0
    one = Decimal(1)
    lines = []
    day = first_day
    while day <= last_day:
        version = compiled.version_on(day.toordinal() - 1)
        for charge in version.source.fixed_charges if version else ():
            if charge.period == PERIOD_DAY:
                end = day + timedelta(days=1)
            elif day.day == 1:
                end = (day + timedelta(days=32)).replace(day=1)
            else:
                continue
            exact += int(charge.amount.scaleb(PRICE_DIGITS, _CTX))
            amount = (exact + half) // divisor
            lines.append(
                ChargeLine(
                    -1,
                    datetime.combine(day, datetime.min.time()),
                    datetime.combine(end, datetime.min.time()),
                    None,
                    None,
                    one,
                    charge.amount,
                    _decimal(amount - rounded, c_digits),
                    version.valid_from,
                    charge.name,
                )
            )
            rounded = amount
        day += timedelta(days=1)
    return tuple(lines)


def aggregate_lines(lines):
    """Sum ``lines`` by (version, charge, band, tier, unit price), first seen first.

    The sums use the lines' rounded amounts, so a bill built from the result
    adds up to what was charged.
    """
    groups = {}
    for line in lines:
        key = (line.version, line.charge, line.band, line.tier, line.unit_price)
        group = groups.get(key)
        if group is None:
            groups[key] = line._replace(interval=-1)
        else:
            groups[key] = group._replace(
                start=min(group.start, line.start),
                end=max(group.end, line.end),
                quantity=group.quantity + line.quantity,
                amount=group.amount + line.amount,
            )
    return list(groups.values())
