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
``proportional_true_up(tariff, lines)``
    The month-end true-up of a cycle rated chronologically to the proportional
    convention (see *Month-end true-up* below): a :class:`TrueUp`.
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

Timezones and daylight-saving time
==================================

With ``TariffDefinition.tz`` (an IANA name) interval times are naive UTC
instants. Each local day is the span from its midnight to the next one in
UTC (23, 24 or 25 hours); its band runs are converted to UTC with
:mod:`zoneinfo`, so the band of an instant is the band of its wall-clock
time: a repeated fall-back hour is rated twice with the bands of 02:00-03:00,
a skipped spring-forward hour does not exist, and time shares (step 2 above)
follow elapsed time. Versions change at local midnight. Where the clocks go
back across midnight (Chile, Lebanon), the repeated hour belongs to the new
day, from its first midnight, and takes the band of its first minutes; a day
that a timezone skips entirely (Samoa, 2011-12-30) has no instant to rate.
Without ``tz`` the
times are the local wall clock and every day lasts 24 hours (intervals
across a daylight-saving change then cannot be expressed: use ``tz``).

Month-end true-up to the proportional convention
================================================

Rated chronologically, the units of a cycle take the steps in time order: a
tenant who uses the night valley early in the month and the peak late pays
the peak at the high steps. NREL SAM's utility rate model (and several
utilities' bills) allocate instead each step to the bands **in proportion to
the month's use**: with ``U`` the cycle's quantity under a version, ``u_b``
the quantity of band ``b`` and ``T_k`` the quantity that fell in step ``k``,
band ``b`` gets ``T_k * u_b / U`` of step ``k`` at the price of ``(b, k)``.

:func:`proportional_true_up` takes the lines of one whole cycle rated
chronologically from position 0 (fixed charges are ignored) and returns the
chronological total ``R(sum of exact amounts)`` (what real-time rating
charged), the proportional total ``R(sum T_k u_b p_bk / U)`` computed in
exact fractions and rounded once, half-up, and ``amount``, their difference:
what a month-end true-up line charges (positive) or gives back (negative).
Steps and bands are allocated per version (a cycle across a version change
keeps each version's units and prices). Under the adder model of
``tiered_tou``, ``flat``, ``tou`` and ``tiered`` versions the two
conventions give the same exact total (the difference is 0); only a price
grid (``pricing="grid"``) makes them differ.

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

Compiling a definition builds, per (season, day type) schedule, its band
runs; the table of each calendar day (version, season, day type resolved,
runs converted to the day's instants: a band and a run end per 15 minutes of
elapsed time) is cached by day number. The hot
loop works in integers (microseconds, quantity units, exact amount units),
takes a fast path for an interval inside one band run and one step, reuses
the previous end for contiguous intervals and caches the Decimal <-> integer
conversions. ``tests/benchmarks/bench_tariff_engine.py`` measures it.
"""

import math
from bisect import bisect_right
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

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
    PRICING_ADDER,
    PRICING_GRID,
    SLOT_MINUTES,
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
    zone_of,
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
    "PRICING_ADDER",
    "PRICING_GRID",
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
    "TrueUp",
    "aggregate_lines",
    "compile_definition",
    "format_message",
    "proportional_true_up",
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
        "flat_runs",
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
        if version.kind == KIND_TIERED_TOU and version.pricing == PRICING_GRID:
            grid = dict(version.price_grid)
            self.price_decimals = {
                band: tuple(grid[band, step] for step in range(1, len(adders) + 1))
                for band in BANDS
                if all((band, step) in grid for step in range(1, len(adders) + 1))
            }
        else:
            self.price_decimals = {
                band: tuple(price + adder for adder in adders) for band, price in base.items()
            }
        self.prices = {
            band: tuple(int(price.scaleb(PRICE_DIGITS, _CTX)) for price in prices)
            for band, prices in self.price_decimals.items()
        }
        self.bands_used = frozenset(period.band for period in version.periods)
        self.flat_runs = ((0, DAY_US, None),)
        # {schedule key: ((start, end, band), ...)}: the band runs of a day in us of the
        # wall clock from midnight
        self.plans = {}
        if self.tou:
            for key, bands in build_schedules(version).items():
                self.plans[key] = _runs(bands)


def _runs(bands):
    """The runs of one band in a day of 15-minute ``bands``: ``((start, end, band), ...)``."""
    runs = []
    for slot, band in enumerate(bands):
        if runs and runs[-1][2] == band:
            runs[-1][1] = (slot + 1) * SLOT_US
        else:
            runs.append([slot * SLOT_US, (slot + 1) * SLOT_US, band])
    return tuple(tuple(run) for run in runs)


def _day_plan(version, runs, day_number, base, end, segments):
    """The plan of one day: ``(version, band per slot, end of the slot's run, base, end,
    run ends, run bands)``.

    ``base`` and ``end`` are the instants (us) the day begins and ends, ``segments`` the
    ``(start, end, utc offset)`` spans of constant offset covering them. Slots are 15
    minutes of elapsed time from ``base``; the band of an instant is the band of its wall
    clock time (clamped to the day at a midnight that repeats). Run ends are in us from
    ``base``; a slot's entries describe the run of its first instant.
    """
    wall_day = day_number * DAY_US
    last = len(runs) - 1
    ends, bands = [], []
    for seg_start, seg_end, offset in segments:
        shift = wall_day - offset - base  # elapsed from base = wall time of the day + shift
        wall_from, wall_to = seg_start + offset - wall_day, seg_end + offset - wall_day
        for index, (run_start, run_end, band) in enumerate(runs):
            low = max(wall_from, run_start) if index else wall_from
            high = min(wall_to, run_end) if index < last else wall_to
            if low >= high:
                continue
            if bands and bands[-1] == band:
                ends[-1] = high + shift
            else:
                ends.append(high + shift)
                bands.append(band)
    slot_bands, slot_ends = [], []
    for slot in range(-(-(end - base) // SLOT_US)):
        index = bisect_right(ends, slot * SLOT_US)
        slot_bands.append(bands[index])
        slot_ends.append(ends[index])
    return (version, tuple(slot_bands), tuple(slot_ends), base, end, tuple(ends), tuple(bands))


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
        self.zone = zone_of(definition.tz) if definition.tz else None
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
        """The plan of a local day (see :func:`_day_plan`); raises if no version applies."""
        plan = self.plans.get(day_number)
        if plan is not None:
            return plan
        version = self.version_on(day_number)
        if version is None:
            raise RatingError("no_version", date=date.fromordinal(day_number + 1))
        if not version.tou:
            runs = version.flat_runs
        else:
            day = date.fromordinal(day_number + 1)
            definition = self.definition
            key = resolve_schedule(
                version.plans,
                season_of(version.source.seasons, day),
                day_type_of(
                    day, definition.holidays, definition.weekend_days, definition.working_days
                ),
            )
            runs = version.plans[key]  # validation guarantees a schedule for every day
        plan = _day_plan(version, runs, day_number, *self._day_span(day_number))
        if len(self.plans) >= _PLAN_CACHE_SIZE:
            self.plans.clear()
        self.plans[day_number] = plan
        return plan

    def plan_at(self, moment_us):
        """The plan of the day containing the instant ``moment_us`` (us from EPOCH)."""
        if self.zone is None:
            return self.plan(moment_us // DAY_US)
        local = (EPOCH + timedelta(microseconds=moment_us)).replace(tzinfo=UTC)
        day_number = local.astimezone(self.zone).toordinal() - 1
        plan = self.plan(day_number)
        while moment_us < plan[3]:  # a midnight that repeats: the day began at its first
            day_number -= 1
            plan = self.plan(day_number)
        while moment_us >= plan[4]:
            day_number += 1
            plan = self.plan(day_number)
        return plan

    def _day_span(self, day_number):
        """``(base, end, segments)`` of a local day: its first instant, the first instant of
        the next day and the spans of constant UTC offset between them (all in us)."""
        base = day_number * DAY_US
        if self.zone is None:
            return base, base + DAY_US, ((base, base + DAY_US, 0),)
        start, end = self._midnight(day_number), self._midnight(day_number + 1)
        offset = self._offset(start)
        if end - start == DAY_US and self._offset(end - 1) == offset:
            return start, end, ((start, end, offset),)
        # A day of an offset change: sample it every slot, find each change by bisection.
        segments = []
        seg_start = start
        previous = start
        for moment in [*range(start + SLOT_US, end, SLOT_US), end - 1]:
            current = self._offset(moment)
            if current == offset:
                previous = moment
                continue
            low, high = previous, moment  # offset(low) == offset, offset(high) != offset
            while high - low > 1:
                middle = (low + high) // 2
                if self._offset(middle) == offset:
                    low = middle
                else:
                    high = middle
            segments.append((seg_start, high, offset))
            seg_start, offset, previous = high, self._offset(high), moment
        segments.append((seg_start, end, offset))
        return start, end, tuple(segments)

    def _offset(self, moment_us):
        """The UTC offset (us) of the tariff's timezone at an instant."""
        moment = (EPOCH + timedelta(microseconds=moment_us)).replace(tzinfo=UTC)
        return moment.astimezone(self.zone).utcoffset() // _US

    def _midnight(self, day_number):
        """The instant (us) a local day begins: its midnight, or the end of the skipped
        hour when midnight does not exist; the first one when it repeats."""
        local = datetime.fromordinal(day_number + 1).replace(tzinfo=self.zone)
        return day_number * DAY_US - local.utcoffset() // _US

    def _pieces(self, interval, start_us, end_us, quantity):
        """Cut an interval at band, day and version changes (see the module doc).

        Returns ``[(start, end, version, band, quantity units), ...]`` in time
        order (register pieces of one version in :data:`BANDS` order).
        """
        segments = []  # [start_us, end_us, version, band]
        cursor = start_us
        plan = None
        while cursor < end_us:
            if plan is None or not plan[3] <= cursor < plan[4]:
                plan = self.plan_at(cursor)
            version, base, run_ends, run_bands = plan[0], plan[3], plan[5], plan[6]
            index = bisect_right(run_ends, cursor - base)
            end = min(base + run_ends[index], end_us)
            band = run_bands[index]
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
    plan_at = compiled.plan_at
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
    epoch, one_us, slot_us = EPOCH, _US, SLOT_US
    version = bands = run_ends = None
    base, day_end = 0, -1  # the day of the current plan: [base, day_end) in us
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
        if not base <= start_us < day_end:
            version, bands, run_ends, base, day_end = plan_at(start_us)[:5]
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


class TrueUp(NamedTuple):
    """The month-end true-up of one cycle (see the module doc).

    ``chronological`` and ``proportional`` are the cycle's totals rounded to
    the currency, ``amount`` = proportional - chronological, ``allocation``
    the proportional quantities ``((version, band, tier, quantity), ...)``
    (quantities rounded half-up to 6 decimals more than the quantity
    precision: they are shown, not charged).
    """

    chronological: Decimal
    proportional: Decimal
    amount: Decimal
    allocation: tuple


def proportional_true_up(tariff, lines):
    """The true-up of a cycle's chronological ``lines`` to the proportional convention.

    :param lines: the :class:`ChargeLine` objects of one whole billing cycle rated with
        :func:`rate_intervals` from cycle position 0 (lines of fixed charges are skipped)
    :return: a :class:`TrueUp`
    """
    compiled = _compiled(tariff)
    versions = {version.valid_from: version for version in compiled.versions}
    chronological = Decimal(0)
    # version -> {"quantity": U, "bands": {band: u_b}, "steps": {tier: T_k}}
    usage = {}
    for line in lines:
        if line.charge is not None:
            continue
        chronological += line.quantity * line.unit_price
        entry = usage.setdefault(line.version, {"quantity": Decimal(0), "bands": {}, "steps": {}})
        entry["quantity"] += line.quantity
        entry["bands"][line.band] = entry["bands"].get(line.band, Decimal(0)) + line.quantity
        entry["steps"][line.tier] = entry["steps"].get(line.tier, Decimal(0)) + line.quantity
    proportional = Fraction(0)
    allocation = []
    shown = Decimal(1).scaleb(-(compiled.quantity_digits + 6))
    for valid_from, entry in usage.items():
        version, total = versions[valid_from], Fraction(entry["quantity"])
        if not total:
            continue
        for band, band_quantity in entry["bands"].items():
            for tier, step_quantity in sorted(entry["steps"].items(), key=lambda i: i[0] or 0):
                quantity = Fraction(step_quantity) * Fraction(band_quantity) / total
                price = version.price_decimals[band][(tier or 1) - 1]
                proportional += quantity * Fraction(price)
                as_decimal = Decimal(quantity.numerator) / Decimal(quantity.denominator)
                allocation.append(
                    (valid_from, band, tier, as_decimal.quantize(shown, ROUND_HALF_UP, _CTX))
                )
    digits = compiled.currency_digits
    rounded_chronological = round_half_up(chronological, digits)
    scale = 10**digits
    rounded_proportional = Decimal(math.floor(proportional * scale + Fraction(1, 2))).scaleb(
        -digits, _CTX
    )
    return TrueUp(
        rounded_chronological,
        rounded_proportional,
        rounded_proportional - rounded_chronological,
        tuple(allocation),
    )


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
