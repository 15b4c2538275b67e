"""The rules of a valid tariff, in one place.

:func:`validate_definition` and :func:`validate_version` return every broken
rule as an :class:`~.tariff_data.Issue` (a code and its raw parameters); they
never raise. The Odoo constraints call them and translate the codes, the engine
calls :func:`check_definition` before rating, so the rules cannot drift apart.

The schedule helpers (:func:`build_schedules`, :func:`resolve_schedule`,
:func:`season_of`, :func:`day_type_of`) are shared with the engine for the same
reason: a day is given the same band table by the validation (coverage check)
and by the rating.
"""

from datetime import date, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .tariff_data import (
    BANDS,
    DAY_HOLIDAY,
    DAY_TYPE_FALLBACK,
    DAY_TYPES,
    DAY_WEEKDAY,
    DAY_WEEKEND,
    FIXED_PERIODS,
    KIND_TIERED_TOU,
    KINDS,
    MAX_DIGITS,
    MINUTES_PER_DAY,
    PRICE_DIGITS,
    PRICING_GRID,
    PRICINGS,
    SLOT_MINUTES,
    TIERED_KINDS,
    TOU_KINDS,
    Issue,
    TariffDefinitionError,
    format_minutes,
)

# Every (month, day) of a leap year: the days a season may contain.
_YEAR_DAYS = tuple(
    (
        (date(2000, 1, 1) + timedelta(days=offset)).month,
        (date(2000, 1, 1) + timedelta(days=offset)).day,
    )
    for offset in range(366)
)
_REAL_DAY_TYPES = (DAY_WEEKDAY, DAY_WEEKEND, DAY_HOLIDAY)


# === HELPERS === #


def fits_digits(value, digits):
    """Whether the Decimal ``value`` is finite with at most ``digits`` decimals."""
    if not value.is_finite():
        return False
    scaled = value.scaleb(digits)
    return scaled == scaled.to_integral_value()


def zone_of(name):
    """The ``ZoneInfo`` of an IANA timezone name, or ``None`` when unknown."""
    try:
        return ZoneInfo(name) if isinstance(name, str) and name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def season_of(seasons, day):
    """The code of the season containing ``day`` (a date), or ``None``."""
    month_day = (day.month, day.day)
    for season in seasons:
        if season.contains(month_day):
            return season.code
    return None


def day_type_of(day, holidays, weekend_days, working_days=frozenset()):
    """``holiday``, ``weekend`` or ``weekday``: holidays win over weekends, and a make-up
    working day (调休) is a weekday even on a weekend."""
    if day in holidays:
        return DAY_HOLIDAY
    if day.weekday() in weekend_days and day not in working_days:
        return DAY_WEEKEND
    return DAY_WEEKDAY


def resolve_schedule(schedules, season, day_type):
    """The key of the schedule a day of ``season`` and ``day_type`` uses.

    The day's season comes first, then the periods without season; within
    each, :data:`~.tariff_data.DAY_TYPE_FALLBACK` gives the order of the day
    types. Returns ``None`` when nothing applies.
    """
    for season_key in (season, None) if season is not None else (None,):
        for type_key in DAY_TYPE_FALLBACK[day_type]:
            if (season_key, type_key) in schedules:
                return (season_key, type_key)
    return None


def build_schedules(version):
    """``{(season, day_type): bands}`` with one band per 15-minute slot.

    Assumes the periods passed :func:`validate_version` (slots that no period
    covers are ``None``).
    """
    schedules = {}
    for period in version.periods:
        slots = schedules.setdefault(
            (period.season, period.day_type), [None] * (MINUTES_PER_DAY // SLOT_MINUTES)
        )
        for slot in range(period.start // SLOT_MINUTES, period.end // SLOT_MINUTES):
            slots[slot] = period.band
    return {key: tuple(slots) for key, slots in schedules.items()}


# === VALIDATION === #


def validate_definition(definition):
    """Every broken rule of ``definition`` (all versions and their dates)."""
    issues = []
    digits_ok = all(
        isinstance(value, int) and 0 <= value <= MAX_DIGITS
        for value in (definition.currency_digits, definition.quantity_digits)
    )
    if not digits_ok:
        issues.append(Issue("digits_invalid", {"max": MAX_DIGITS}))
        return issues
    if definition.tz is not None and zone_of(definition.tz) is None:
        issues.append(Issue("timezone_unknown", {"tz": definition.tz}))
    for index, version in enumerate(definition.versions):
        issues.extend(
            issue._replace(version=index)
            for issue in validate_version(version, definition.quantity_digits)
        )
    issues.extend(validate_version_dates(definition.versions))
    return issues


def validate_version_dates(versions):
    """Issues for versions that overlap (validity dates are inclusive)."""
    issues = []
    ordered = sorted(enumerate(versions), key=lambda item: item[1].valid_from)
    for (_index, previous), (index, current) in pairwise(ordered):
        if previous.valid_to is None or current.valid_from <= previous.valid_to:
            issues.append(
                Issue(
                    "version_overlap",
                    {"first": previous.label, "second": current.label},
                    index,
                )
            )
    return issues


def validate_version(version, quantity_digits):
    """Every broken rule of one version, as a list of :class:`Issue`."""
    if version.kind not in KINDS:
        return [Issue("kind_unknown", {"kind": version.kind})]
    issues = []
    if version.valid_to is not None and version.valid_to < version.valid_from:
        issues.append(
            Issue("version_dates", {"valid_from": version.valid_from, "valid_to": version.valid_to})
        )
    issues += _validate_prices(version)
    if version.kind in TIERED_KINDS:
        issues += _validate_tiers(version.tiers, quantity_digits)
    if version.kind in TOU_KINDS:
        issues += _validate_periods(version)
    return issues


def _price_issues(price, negative_code, params):
    if not price.is_finite() or not fits_digits(price, PRICE_DIGITS):
        return [Issue("price_precision", {"price": price, "digits": PRICE_DIGITS})]
    if price < 0:
        return [Issue(negative_code, dict(params, price=price))]
    return []


def _validate_prices(version):
    issues = []
    if version.kind == "flat":
        issues += _price_issues(version.unit_price, "unit_price_negative", {})
    for band, price in version.band_prices:
        if band not in BANDS:
            issues.append(Issue("band_unknown", {"band": band}))
        elif version.kind in TOU_KINDS:
            issues += _price_issues(price, "band_price_negative", {"band": band})
    if version.kind in TIERED_KINDS:
        for number, tier in enumerate(version.tiers, start=1):
            issues += _price_issues(tier.price, "tier_price_negative", {"tier": number})
    if version.kind == KIND_TIERED_TOU and version.pricing not in PRICINGS:
        issues.append(Issue("pricing_unknown", {"pricing": version.pricing}))
    if version.kind == KIND_TIERED_TOU and version.pricing == PRICING_GRID:
        for (band, step), price in version.price_grid:
            if band not in BANDS:
                issues.append(Issue("band_unknown", {"band": band}))
            elif not isinstance(step, int) or not 1 <= step <= len(version.tiers):
                issues.append(Issue("grid_step_unknown", {"tier": step}))
            else:
                issues += _price_issues(price, "grid_price_negative", {"band": band, "tier": step})
    for charge in version.fixed_charges:
        if charge.period not in FIXED_PERIODS:
            issues.append(
                Issue("fixed_period_unknown", {"name": charge.name, "period": charge.period})
            )
        issues += _price_issues(charge.amount, "fixed_charge_negative", {"name": charge.name})
    return issues


def _validate_tiers(tiers, quantity_digits):
    if not tiers:
        return [Issue("tiers_missing", {})]
    issues = []
    previous = None
    for number, tier in enumerate(tiers, start=1):
        if not fits_digits(tier.start, quantity_digits):
            issues.append(Issue("tier_precision", {"start": tier.start, "digits": quantity_digits}))
        elif previous is None:
            if tier.start != 0:
                issues.append(Issue("tier_first_start", {"start": tier.start}))
        elif tier.start <= previous:
            issues.append(
                Issue("tier_order", {"tier": number, "start": tier.start, "previous": previous})
            )
        previous = tier.start if previous is None else max(previous, tier.start)
    return issues


def _validate_seasons(seasons):
    issues = []
    codes = set()
    valid = []
    for season in seasons:
        if season.code in codes:
            issues.append(Issue("season_duplicate", {"season": season.code}))
            continue
        codes.add(season.code)
        if season.months:
            bad_months = [
                month
                for month in season.months
                if not isinstance(month, int) or not 1 <= month <= 12
            ]
            if bad_months:
                issues.append(
                    Issue("season_month", {"season": season.code, "month": bad_months[0]})
                )
            else:
                valid.append(season)
            continue
        bad = next(
            (
                (month, day)
                for month, day in (season.start, season.end)
                if not _is_month_day(month, day)
            ),
            None,
        )
        if bad:
            issues.append(
                Issue("season_date", {"season": season.code, "month": bad[0], "day": bad[1]})
            )
        else:
            valid.append(season)
    for month_day in _YEAR_DAYS:
        inside = [season.code for season in valid if season.contains(month_day)]
        if len(inside) > 1:
            issues.append(
                Issue(
                    "season_overlap",
                    {
                        "first": inside[0],
                        "second": inside[1],
                        "month": month_day[0],
                        "day": month_day[1],
                    },
                )
            )
            break  # one message is enough to point at the overlapping seasons
    return issues, codes


def _is_month_day(month, day):
    return isinstance(month, int) and isinstance(day, int) and (month, day) in _YEAR_DAY_SET


_YEAR_DAY_SET = frozenset(_YEAR_DAYS)


def _validate_periods(version):
    season_issues, season_codes = _validate_seasons(version.seasons)
    issues = list(season_issues)
    if not version.periods:
        issues.append(Issue("periods_missing", {}))
        return issues
    by_key = {}
    for period in version.periods:
        period_issues = validate_period(period, season_codes)
        issues += period_issues
        if not period_issues:
            by_key.setdefault((period.season, period.day_type), []).append(period)
    for (season, day_type), periods in by_key.items():
        issues += _validate_day(periods, season, day_type)
    if issues:
        return issues
    # Every day of the year must find a schedule.
    schedules = dict.fromkeys(by_key)
    season_keys = [season.code for season in version.seasons]
    if any(
        not any(season.contains(month_day) for season in version.seasons)
        for month_day in _YEAR_DAYS
    ):
        season_keys.append(None)
    for season in season_keys:
        for day_type in _REAL_DAY_TYPES:
            if resolve_schedule(schedules, season, day_type) is None:
                issues.append(Issue("schedule_missing", {"season": season, "day_type": day_type}))
    used = {period.band for period in version.periods}
    if version.kind == KIND_TIERED_TOU and version.pricing == PRICING_GRID:
        issues.extend(
            Issue("grid_price_missing", {"band": band, "tier": step})
            for band in BANDS
            if band in used
            for step in range(1, len(version.tiers) + 1)
            if version.grid_price(band, step) is None
        )
        return issues
    issues.extend(
        Issue("band_price_missing", {"band": band})
        for band in BANDS
        if band in used and version.band_price(band) is None
    )
    return issues


def validate_period(period, season_codes=None):
    """The rules one band period must follow on its own (band, day type, times).

    ``season_codes`` are the seasons the period may refer to (``None``: not
    checked).
    """
    issues = []
    if period.band not in BANDS:
        issues.append(Issue("band_unknown", {"band": period.band}))
    if period.day_type not in DAY_TYPES:
        issues.append(Issue("day_type_unknown", {"day_type": period.day_type}))
    if season_codes is not None and period.season is not None and period.season not in season_codes:
        issues.append(Issue("season_unknown", {"season": period.season}))
    times_ok = True
    for minutes in (period.start, period.end):
        if (
            not isinstance(minutes, int)
            or not 0 <= minutes <= MINUTES_PER_DAY
            or minutes % SLOT_MINUTES
        ):
            shown = format_minutes(minutes) if isinstance(minutes, int) else minutes
            issues.append(Issue("period_boundary", {"time": shown}))
            times_ok = False
    if times_ok and period.start >= period.end:
        issues.append(
            Issue(
                "period_empty",
                {"start": format_minutes(period.start), "end": format_minutes(period.end)},
            )
        )
    return issues


def validate_seasons(seasons):
    """The rules of a set of seasons: valid dates, unique codes, no overlap."""
    return _validate_seasons(seasons)[0]


def validate_price(price, negative_code, params):
    """A price (or amount) must be finite, not negative, with at most PRICE_DIGITS decimals."""
    return _price_issues(price, negative_code, params)


def _validate_day(periods, season, day_type):
    """The periods of one (season, day type) must tile 00:00-24:00."""
    issues = []
    where = {"season": season, "day_type": day_type}
    reached = 0
    last = None
    for period in sorted(periods, key=lambda period: (period.start, period.end)):
        if period.start < reached:
            issues.append(
                Issue("period_overlap", dict(where, first=_span(last), second=_span(period)))
            )
        elif period.start > reached:
            issues.append(
                Issue(
                    "period_gap",
                    dict(where, start=format_minutes(reached), end=format_minutes(period.start)),
                )
            )
        if period.end > reached:
            reached, last = period.end, period
    if reached < MINUTES_PER_DAY:
        issues.append(
            Issue(
                "period_gap",
                dict(where, start=format_minutes(reached), end=format_minutes(MINUTES_PER_DAY)),
            )
        )
    return issues


def _span(period):
    return f"{format_minutes(period.start)}-{format_minutes(period.end)}"


def check_definition(definition):
    """Raise :class:`TariffDefinitionError` if ``definition`` breaks a rule."""
    issues = validate_definition(definition)
    if issues:
        raise TariffDefinitionError(issues)
