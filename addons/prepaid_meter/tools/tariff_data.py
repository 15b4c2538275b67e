"""Plain data of the tariff engine: constants, frozen data classes and errors.

Nothing here imports Odoo: a tariff is described as plain values so that the
engine can be tested, benchmarked and reused without a database. The Odoo
models build these objects in ``prepaid.tariff._engine_definition()``.

Vocabulary
==========

* A **tariff definition** (:class:`TariffDefinition`) is a list of
  **versions** (:class:`TariffVersion`), each valid for a range of dates, plus
  the holiday dates, the currency precision and the quantity precision.
* A version has a **kind**:

  ``flat``
      one unit price (``unit_price``) for every unit.
  ``tou``
      time of use: every 15-minute slot of a day belongs to one **band**
      (``sharp``, ``peak``, ``flat``, ``valley``, ``deep_valley`` - 深谷, used by
      several Chinese provinces); ``band_prices`` gives the
      unit price of each band.
  ``tiered``
      monthly tiered steps: :class:`Tier` ``start`` is the cycle-to-date
      quantity at which the step begins (the first step starts at 0) and
      ``price`` is the unit price of the step.
  ``tiered_tou``
      tiered with time of use, **adder model**: the unit price of a unit is
      the price of its band *plus* the adder (``Tier.price``) of the step it
      falls in. Because the adder depends only on the cycle-to-date quantity
      and the band price only on the time of use, the total of a cycle does
      not depend on how an interval's quantity is ordered among bands.
      **Grid model** instead, with ``pricing="grid"``: the unit price is
      read from a grid per (band, step) (``{("peak", 2): price}``, steps
      numbered from 1), for tariffs whose prices do not rise by the same
      amount in every band. Every (band, step) the periods use needs a
      price; ``band_prices`` and the step prices are then not used. Under the
      grid the order of an interval's band pieces matters when they cross a
      step boundary: pieces consume the steps in time order (register pieces
      in :data:`BANDS` order), as the meter's running total would.

* **Band periods** (:class:`BandPeriod`) assign a band to a time range
  ``[start, end)`` of a day, in minutes on 15-minute boundaries, for a **day
  type** (``all``, ``weekday``, ``weekend``, ``holiday``) and optionally a
  **season** (:class:`Season`: a range of month/day within any year, which may
  wrap over the new year, or a set of months such as June to September plus
  December). The periods of one (season, day type) pair must
  cover the whole day without overlap; a period crossing midnight is written
  as two periods.
* A day's **type** is ``holiday`` when it is in ``TariffDefinition.holidays``,
  ``weekday`` when it is a make-up working day (``working_days``: a weekend
  day worked instead of a holiday, 调休, e.g. Sunday 2026-01-04 in China),
  ``weekend`` on the ``weekend_days`` and ``weekday`` otherwise.
* The schedule of a given day is looked up in this order: the day's season
  first, then the periods without season ("all year"); within each, the day
  type ``holiday`` falls back to ``weekend`` then ``all``, ``weekend`` and
  ``weekday`` fall back to ``all``.
* **Fixed charges** (:class:`FixedCharge`) are due per calendar day or per
  calendar month (on its first day) while a version is in force.

Times are naive datetimes. Without a timezone (``TariffDefinition.tz`` empty)
they are the tariff's local wall clock, every day 24 hours long. With an IANA
timezone (``tz="Europe/Paris"``) they are **UTC instants** (naive UTC, as Odoo
stores them) and the engine converts each local day's band boundaries to UTC
with :mod:`zoneinfo`: a day of a daylight-saving change lasts 23 or 25 hours,
the instants of a repeated (fall-back) hour take the band of their wall-clock
time twice and a skipped (spring-forward) hour simply does not occur. Version
validity dates are inclusive on both ends and are local dates.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

# === CONSTANTS === #

KIND_FLAT = "flat"
KIND_TOU = "tou"
KIND_TIERED = "tiered"
KIND_TIERED_TOU = "tiered_tou"
PRICING_ADDER = "adder"
PRICING_GRID = "grid"
PRICINGS = (PRICING_ADDER, PRICING_GRID)
KINDS = (KIND_FLAT, KIND_TOU, KIND_TIERED, KIND_TIERED_TOU)
TOU_KINDS = frozenset((KIND_TOU, KIND_TIERED_TOU))
TIERED_KINDS = frozenset((KIND_TIERED, KIND_TIERED_TOU))

BANDS = ("sharp", "peak", "flat", "valley", "deep_valley")

DAY_ALL = "all"
DAY_WEEKDAY = "weekday"
DAY_WEEKEND = "weekend"
DAY_HOLIDAY = "holiday"
DAY_TYPES = (DAY_ALL, DAY_WEEKDAY, DAY_WEEKEND, DAY_HOLIDAY)
# Which schedules a day of a given type uses, most specific first.
DAY_TYPE_FALLBACK = {
    DAY_WEEKDAY: (DAY_WEEKDAY, DAY_ALL),
    DAY_WEEKEND: (DAY_WEEKEND, DAY_ALL),
    DAY_HOLIDAY: (DAY_HOLIDAY, DAY_WEEKEND, DAY_ALL),
}

PERIOD_DAY = "day"
PERIOD_MONTH = "month"
FIXED_PERIODS = (PERIOD_DAY, PERIOD_MONTH)

SLOT_MINUTES = 15
MINUTES_PER_DAY = 24 * 60
SLOTS_PER_DAY = MINUTES_PER_DAY // SLOT_MINUTES

# Prices may have up to this many decimals. The engine computes amounts in
# integers scaled by 10 ** (quantity_digits + PRICE_DIGITS), a scale that does
# not depend on the prices of a tariff so that an exact cycle-to-date amount
# stays valid when a new version is added.
PRICE_DIGITS = 8
DEFAULT_QUANTITY_DIGITS = 3
DEFAULT_CURRENCY_DIGITS = 2
MAX_DIGITS = 6  # of the currency and of the quantities

# English messages of the error and issue codes (``%(name)s`` placeholders).
# The Odoo side translates each code with its own ``self.env._()`` strings.
MESSAGES = {
    # Definition issues.
    "kind_unknown": "Unknown tariff kind %(kind)s.",
    "version_dates": "The version ends (%(valid_to)s) before it starts (%(valid_from)s).",
    "version_overlap": "Versions %(first)s and %(second)s overlap.",
    "digits_invalid": "The currency and quantity precisions must be between 0 and %(max)s.",
    "unit_price_negative": "The unit price cannot be negative (%(price)s).",
    "band_price_negative": "The price of band %(band)s cannot be negative (%(price)s).",
    "band_price_missing": "Band %(band)s is used by the periods but has no price.",
    "grid_price_missing": (
        "Band %(band)s is used by the periods but step %(tier)s of the price grid has no "
        "price for it."
    ),
    "grid_price_negative": (
        "The grid price of band %(band)s in step %(tier)s cannot be negative (%(price)s)."
    ),
    "grid_step_unknown": "The price grid refers to step %(tier)s, which does not exist.",
    "pricing_unknown": "Unknown pricing %(pricing)s of steps and bands.",
    "tier_price_negative": "The price of step %(tier)s cannot be negative (%(price)s).",
    "fixed_charge_negative": "The fixed charge %(name)s cannot be negative (%(price)s).",
    "fixed_period_unknown": "The fixed charge %(name)s has an unknown period %(period)s.",
    "price_precision": "The price %(price)s has more than %(digits)s decimals.",
    "tiers_missing": "A tiered version needs at least one step.",
    "tier_first_start": "The first step must start at 0, not at %(start)s.",
    "tier_order": (
        "Step %(tier)s starts at %(start)s, which is not above the start of the previous "
        "step (%(previous)s): list the steps in increasing order."
    ),
    "tier_precision": "The step start %(start)s has more than %(digits)s decimals.",
    "season_date": "Season %(season)s has an invalid date %(month)s/%(day)s.",
    "season_month": "Season %(season)s has an invalid month %(month)s.",
    "season_duplicate": "Season %(season)s is defined twice.",
    "season_overlap": "Seasons %(first)s and %(second)s overlap on %(month)s/%(day)s.",
    "season_unknown": "A period refers to the undefined season %(season)s.",
    "band_unknown": "Unknown band %(band)s.",
    "day_type_unknown": "Unknown day type %(day_type)s.",
    "periods_missing": "A time-of-use version needs band periods.",
    "period_boundary": (
        "The time %(time)s is not on a 15-minute boundary between 00:00 and 24:00."
    ),
    "period_empty": (
        "The period %(start)s-%(end)s ends before it starts (split a period crossing "
        "midnight in two)."
    ),
    "period_overlap": ("Periods %(first)s and %(second)s overlap (%(season)s, %(day_type)s)."),
    "period_gap": ("No band is defined from %(start)s to %(end)s (%(season)s, %(day_type)s)."),
    "schedule_missing": "No band periods apply to %(day_type)s (%(season)s).",
    # Rating errors.
    "definition_invalid": "The tariff definition is invalid: %(issues)s",
    "no_version": "No tariff version is in force on %(date)s.",
    "cycle_quantity_invalid": (
        "The cycle-to-date quantity %(quantity)s must be a non-negative Decimal with at most "
        "%(digits)s decimals."
    ),
    "cycle_amount_invalid": (
        "The cycle-to-date amount %(amount)s must be a non-negative Decimal with at most "
        "%(digits)s decimals."
    ),
    "interval_empty": "The interval %(start)s - %(end)s does not end after it starts.",
    "interval_overlap": "The interval starting %(start)s overlaps the previous one.",
    "interval_aware": "Interval times must be naive datetimes (local, or UTC with a timezone).",
    "timezone_unknown": "Unknown timezone %(tz)s.",
    "quantity_negative": "The quantity %(quantity)s cannot be negative.",
    "quantity_precision": "The quantity %(quantity)s has more than %(digits)s decimals.",
    "quantity_type": "The quantity %(quantity)r must be a Decimal or an integer.",
    "split_sum": "The register split %(split)s does not add up to the quantity %(quantity)s.",
    "register_band_unpriced": (
        "The register of band %(band)s reports %(quantity)s but the version in force on "
        "%(date)s has no %(band)s periods."
    ),
}

# English labels used by :func:`format_message` for the raw codes in params.
ALL_YEAR_LABEL = "all year"  # season None
DAY_TYPE_LABELS = {
    DAY_ALL: "all days",
    DAY_WEEKDAY: "weekdays",
    DAY_WEEKEND: "weekend days",
    DAY_HOLIDAY: "holidays",
}


# === ERRORS === #


class TariffError(ValueError):
    """An error of the tariff engine, with a ``code`` and its ``params``.

    ``str(error)`` is the English message; the Odoo side maps ``code`` and
    ``params`` to a translated message at the boundary.
    """

    def __init__(self, code, **params):
        self.code = code
        self.params = params
        super().__init__(format_message(code, params))


class TariffDefinitionError(TariffError):
    """The definition breaks the rules of :mod:`.tariff_validation`.

    ``issues`` holds every :class:`Issue` found.
    """

    def __init__(self, issues):
        self.issues = tuple(issues)
        super().__init__(
            "definition_invalid", issues=" ".join(issue.message for issue in self.issues)
        )


class RatingError(TariffError):
    """The consumption cannot be rated (bad interval, no version in force...)."""


class Issue(NamedTuple):
    """One broken rule of a tariff definition."""

    code: str
    params: dict
    version: int | None = None  # index of the version in the definition, if any

    @property
    def message(self):
        return format_message(self.code, self.params)


def format_message(code, params):
    """The English message of ``code``; raw codes in ``params`` become labels."""
    template = MESSAGES.get(code, code)
    params = dict(params)
    if "season" in params and params["season"] is None:
        params["season"] = ALL_YEAR_LABEL
    if "day_type" in params:
        params["day_type"] = DAY_TYPE_LABELS.get(params["day_type"], params["day_type"])
    try:
        return template % params
    except (KeyError, TypeError, ValueError):
        return f"{template} {params}"


def format_minutes(minutes):
    """``510`` -> ``"08:30"``; ``1440`` -> ``"24:00"``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_minutes(value):
    """``"08:30"`` -> ``510``; integers are returned unchanged."""
    if isinstance(value, str):
        hours, _sep, minutes = value.partition(":")
        return int(hours) * 60 + int(minutes or 0)
    return value


def to_decimal(value, name="value"):
    """Decimal, int and str are accepted; floats are refused (inexact)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"{name} must be a Decimal, an int or a str, not {type(value).__name__}")


# === DEFINITION === #


@dataclass(frozen=True)
class Season:
    """A range of days in every year, ``start`` to ``end`` inclusive, or a set of months.

    ``end`` before ``start`` wraps over the new year (Nov 1 - Feb 29). Use
    Feb 29 rather than Feb 28 to end a season with February in leap years.
    With ``months`` (month numbers, e.g. ``(1, 7, 8, 12)``) the season is
    these whole months of every year and the range is not used.
    """

    code: str
    start_month: int = 1
    start_day: int = 1
    end_month: int = 12
    end_day: int = 31
    months: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "months", tuple(sorted(set(self.months))))

    @property
    def start(self):
        return (self.start_month, self.start_day)

    @property
    def end(self):
        return (self.end_month, self.end_day)

    def contains(self, month_day):
        """Whether ``(month, day)`` is in the season."""
        if self.months:
            return month_day[0] in self.months
        if self.start <= self.end:
            return self.start <= month_day <= self.end
        return month_day >= self.start or month_day <= self.end


@dataclass(frozen=True)
class BandPeriod:
    """Band ``band`` applies from ``start`` to ``end`` (minutes of the day).

    ``start`` and ``end`` also accept ``"HH:MM"``; ``season`` is a
    :attr:`Season.code` or ``None`` for all year.
    """

    band: str
    start: int
    end: int
    day_type: str = DAY_ALL
    season: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "start", parse_minutes(self.start))
        object.__setattr__(self, "end", parse_minutes(self.end))
        if not self.season:
            object.__setattr__(self, "season", None)


@dataclass(frozen=True)
class Tier:
    """A tiered step from cycle quantity ``start`` on.

    ``price`` is the unit price (kind ``tiered``) or the adder to the band
    price (kind ``tiered_tou``).
    """

    start: Decimal
    price: Decimal

    def __post_init__(self):
        object.__setattr__(self, "start", to_decimal(self.start, "Tier.start"))
        object.__setattr__(self, "price", to_decimal(self.price, "Tier.price"))


@dataclass(frozen=True)
class FixedCharge:
    """A fixed ``amount`` due per ``day`` or per ``month``."""

    name: str
    amount: Decimal
    period: str = PERIOD_MONTH

    def __post_init__(self):
        object.__setattr__(self, "amount", to_decimal(self.amount, "FixedCharge.amount"))


@dataclass(frozen=True)
class TariffVersion:
    """The prices in force from ``valid_from`` to ``valid_to`` (inclusive).

    ``valid_to`` ``None`` is open-ended. ``band_prices`` accepts a mapping
    ``{band: price}`` and is stored as a tuple of pairs in :data:`BANDS`
    order; sequences (lists) are stored as tuples, so a version is hashable.
    """

    valid_from: date
    valid_to: date | None = None
    kind: str = KIND_FLAT
    unit_price: Decimal = Decimal(0)
    band_prices: tuple = ()
    seasons: tuple = ()
    periods: tuple = ()
    tiers: tuple = ()
    fixed_charges: tuple = ()
    label: str = ""  # how messages name the version; defaults to its start date
    # tiered_tou: ``adder`` (band price + step adder) or ``grid`` (``price_grid``)
    pricing: str = "adder"
    # the grid: ``{(band, step number): price}``, stored as pairs in band, step order
    price_grid: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "unit_price", to_decimal(self.unit_price, "unit_price"))
        prices = self.band_prices
        prices = dict(prices.items() if hasattr(prices, "items") else prices)
        order = {band: index for index, band in enumerate(BANDS)}
        object.__setattr__(
            self,
            "band_prices",
            tuple(
                (band, to_decimal(price, "band price"))
                for band, price in sorted(prices.items(), key=lambda item: order.get(item[0], 99))
            ),
        )
        for name in ("seasons", "periods", "tiers", "fixed_charges"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        grid = self.price_grid
        grid = dict(grid.items() if hasattr(grid, "items") else grid)
        object.__setattr__(
            self,
            "price_grid",
            tuple(
                ((band, step), to_decimal(price, "grid price"))
                for (band, step), price in sorted(
                    grid.items(), key=lambda item: (order.get(item[0][0], 99), item[0][1])
                )
            ),
        )
        if not self.label:
            object.__setattr__(self, "label", self.valid_from.isoformat())

    def grid_price(self, band, step):
        """The grid price of ``band`` in step ``step`` (from 1), or ``None``."""
        for key, price in self.price_grid:
            if key == (band, step):
                return price
        return None

    def band_price(self, band):
        """The price of ``band``, or ``None`` when the version has none."""
        for code, price in self.band_prices:
            if code == band:
                return price
        return None


@dataclass(frozen=True)
class TariffDefinition:
    """A whole tariff: its versions and the data every version shares."""

    versions: tuple
    holidays: frozenset = frozenset()
    currency_digits: int = DEFAULT_CURRENCY_DIGITS
    quantity_digits: int = DEFAULT_QUANTITY_DIGITS
    weekend_days: frozenset = frozenset((5, 6))  # date.weekday(): Saturday, Sunday
    name: str = ""
    # Make-up working days (调休): weekend days worked instead of a holiday, rated as weekdays.
    working_days: frozenset = frozenset()
    # IANA timezone: intervals are then naive UTC instants (see the module doc).
    tz: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "versions", tuple(self.versions))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "working_days", frozenset(self.working_days))
        object.__setattr__(self, "weekend_days", frozenset(self.weekend_days))


# === CONSUMPTION AND RESULTS === #


@dataclass(frozen=True, slots=True)
class Interval:
    """``quantity`` consumed from ``start`` to ``end`` (naive times: local wall clock,
    or UTC when the tariff has a timezone).

    ``band_split`` is the optional split of the quantity by band read from the
    meter's time-of-use registers (a mapping or pairs ``{band: quantity}``
    that adds up to ``quantity``); without it the engine splits the quantity
    over the bands in proportion to time.
    """

    start: datetime
    end: datetime
    quantity: Decimal
    band_split: tuple | None = None

    def __post_init__(self):
        quantity = self.quantity
        if type(quantity) is not Decimal:
            if isinstance(quantity, int) and not isinstance(quantity, bool):
                quantity = Decimal(quantity)
                object.__setattr__(self, "quantity", quantity)
            else:
                raise RatingError("quantity_type", quantity=quantity)
        if not quantity.is_finite():
            raise RatingError("quantity_type", quantity=quantity)
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise RatingError("interval_aware")
        if not self.end > self.start:
            raise RatingError("interval_empty", start=self.start, end=self.end)
        if quantity < 0:
            raise RatingError("quantity_negative", quantity=quantity)
        if self.band_split is not None:
            split = self.band_split
            split = dict(split.items() if hasattr(split, "items") else split)
            for band, band_quantity in split.items():
                if band not in BANDS:
                    raise RatingError("band_unknown", band=band)
                if type(band_quantity) is not Decimal:
                    if not isinstance(band_quantity, int) or isinstance(band_quantity, bool):
                        raise RatingError("quantity_type", quantity=band_quantity)
                    split[band] = band_quantity = Decimal(band_quantity)
                if band_quantity < 0:
                    raise RatingError("quantity_negative", quantity=band_quantity)
            pairs = tuple((band, split[band]) for band in BANDS if band in split)
            if sum(value for _band, value in pairs) != quantity:
                raise RatingError("split_sum", split=dict(pairs), quantity=quantity)
            object.__setattr__(self, "band_split", pairs)


class ChargeLine(NamedTuple):
    """One priced piece of consumption (or one fixed charge).

    ``interval`` is the index of the rated interval in the input (-1 for fixed
    charges and summaries), ``tier`` the 1-based step number (``None`` when
    the version is not tiered), ``band`` ``None`` when it is not time of use,
    ``version`` the ``valid_from`` of the version applied and ``charge`` the
    name of a fixed charge.
    """

    interval: int
    start: datetime
    end: datetime
    band: str | None
    tier: int | None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    version: date
    charge: str | None = None


@dataclass(frozen=True)
class RatingResult:
    """The lines of one rating call and the cycle position after it.

    ``amount`` is the sum of the line amounts, ``exact_amount`` the sum of
    their unrounded amounts; ``cycle_quantity`` and ``cycle_amount`` (exact)
    are what the next call of the same billing cycle passes in.
    """

    lines: tuple
    quantity: Decimal
    amount: Decimal
    exact_amount: Decimal
    cycle_quantity: Decimal
    cycle_amount: Decimal
