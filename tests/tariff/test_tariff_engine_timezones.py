"""Rating on UTC instants with a timezone (``TariffDefinition.tz``): daylight-saving days.

With a timezone, intervals are naive UTC; each local day's band boundaries are converted to
UTC, so a fall-back day lasts 25 hours (the repeated hour takes the band of its wall-clock
time twice) and a spring-forward day 23 (the skipped hour does not occur).
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tariff_builders import BAND_PRICES, D, at, definition, hourly, interval, total, tou_version

from prepaid_meter.tools.tariff_engine import (
    BANDS,
    BandPeriod,
    Interval,
    TariffDefinition,
    TariffDefinitionError,
    TariffVersion,
    rate_fixed_charges,
    rate_intervals,
    validate_definition,
)

# valley 00:00-08:00, flat 08:00-10:30, peak 10:30-21:00, valley 21:00-24:00 (tariff_builders)
PARIS = "Europe/Paris"
FROM = date(2023, 1, 1)


def by_band(result, attribute="quantity"):
    sums = {}
    for line in result.lines:
        sums[line.band] = sums.get(line.band, D(0)) + getattr(line, attribute)
    return sums


# === EUROPE/PARIS === #


def test_fall_back_hour_is_rated_not_refused():
    """2024-10-27 00:00-01:00 UTC is 02:00 CEST - 02:00 CET: empty on the wall clock."""
    tariff = definition(tou_version(valid_from=FROM), tz=PARIS)
    result = rate_intervals(tariff, [interval("2024-10-27 00:00", "2024-10-27 01:00", "2")])
    assert [(line.band, line.quantity) for line in result.lines] == [("valley", D(2))]
    assert result.amount == D("0.60")
    # Line times stay UTC.
    assert (result.lines[0].start, result.lines[0].end) == (
        at("2024-10-27 00:00"),
        at("2024-10-27 01:00"),
    )


def test_fall_back_day_has_25_hours_and_the_repeated_hour_twice():
    """Local Oct 27 runs from 2024-10-26 22:00 UTC to 2024-10-27 23:00 UTC: 25 hours;
    valley 00:00-08:00 lasts 9 hours (02:00-03:00 twice)."""
    tariff = definition(tou_version(valid_from=FROM), tz=PARIS)
    result = rate_intervals(tariff, hourly("2024-10-26 22:00", 25, "1"))
    assert by_band(result) == {"valley": D(9 + 3), "flat": D("2.5"), "peak": D("10.5")}
    assert result.quantity == D(25)
    # The day before and after are 24 hours long: 23:00 UTC is local midnight again.
    next_day = rate_intervals(tariff, hourly("2024-10-27 23:00", 8, "1"))
    assert by_band(next_day) == {"valley": D(8)}


def test_spring_forward_time_shares_follow_elapsed_time():
    """2024-03-31 00:00-02:00 UTC is 01:00 CET - 04:00 CEST: two real hours, one of them
    valley (01:00-02:00) and one flat (03:00-04:00), not 2/3 and 1/3 of the wall clock."""
    schedule = (("valley", "00:00", "03:00"), ("flat", "03:00", "24:00"))
    tariff = definition(tou_version(schedule, valid_from=FROM), tz=PARIS)
    result = rate_intervals(tariff, [interval("2024-03-31 00:00", "2024-03-31 02:00", "2")])
    assert [(line.band, line.quantity) for line in result.lines] == [
        ("valley", D(1)),
        ("flat", D(1)),
    ]
    # The cut is at 01:00 UTC, the instant the clocks jump from 02:00 to 03:00.
    assert result.lines[0].end == at("2024-03-31 01:00")


def test_spring_forward_day_has_23_hours():
    tariff = definition(tou_version(valid_from=FROM), tz=PARIS)
    result = rate_intervals(tariff, hourly("2024-03-30 23:00", 23, "1"))
    assert by_band(result) == {"valley": D(7 + 3), "flat": D("2.5"), "peak": D("10.5")}
    # 22:00 UTC is the next local midnight: valley again from 21:00 local (19:00 UTC).
    assert result.lines[-1].band == "valley" and result.lines[-1].end == at("2024-03-31 22:00")


def test_a_batch_across_both_changes_rates_every_interval():
    """A year of hourly readings: nothing refused, every hour charged once."""
    tariff = definition(tou_version(valid_from=FROM), tz=PARIS)
    intervals = hourly("2024-01-01 00:00", 366 * 24, "1")
    result = rate_intervals(tariff, intervals)
    assert result.quantity == D(366 * 24)
    assert {line.interval for line in result.lines} == set(range(len(intervals)))


# === AMERICA/NEW_YORK === #


def test_new_york_band_follows_the_wall_clock_in_summer_and_winter():
    schedule = (
        ("valley", "00:00", "14:00"),
        ("peak", "14:00", "19:00"),
        ("valley", "19:00", "24:00"),
    )
    tariff = definition(tou_version(schedule, valid_from=FROM), tz="America/New_York")
    summer = rate_intervals(tariff, [interval("2024-07-01 18:00", "2024-07-01 19:00", "1")])
    winter = rate_intervals(tariff, [interval("2024-12-02 18:00", "2024-12-02 19:00", "1")])
    assert summer.lines[0].band == "peak"  # 14:00 EDT (UTC-4)
    assert winter.lines[0].band == "valley"  # 13:00 EST (UTC-5)


def test_new_york_version_changes_at_local_midnight():
    """The second version starts on Nov 4 local: 05:00 UTC (EST, after the fall back)."""
    first = tou_version(valid_from=FROM, valid_to=date(2024, 11, 3), band_prices=dict(BAND_PRICES))
    second = tou_version(valid_from=date(2024, 11, 4), band_prices={b: D(2) for b in BANDS})
    tariff = definition(first, second, tz="America/New_York")
    result = rate_intervals(tariff, [interval("2024-11-04 04:00", "2024-11-04 06:00", "2")])
    assert [(line.version, line.end, line.quantity) for line in result.lines] == [
        (FROM, at("2024-11-04 05:00"), D(1)),
        (date(2024, 11, 4), at("2024-11-04 06:00"), D(1)),
    ]


def test_new_york_fall_back_hour_at_2am():
    """2024-11-03 05:00-07:00 UTC is 01:00 EDT - 01:00 EST - 02:00 EST: 01:00-02:00 twice."""
    schedule = (
        ("peak", "00:00", "01:00"),
        ("valley", "01:00", "02:00"),
        ("flat", "02:00", "24:00"),
    )
    tariff = definition(tou_version(schedule, valid_from=FROM), tz="America/New_York")
    result = rate_intervals(tariff, hourly("2024-11-03 04:00", 4, "1"))
    assert [(line.band, line.quantity) for line in result.lines] == [
        ("peak", D(1)),
        ("valley", D(1)),
        ("valley", D(1)),
        ("flat", D(1)),
    ]


# === ASIA/SHANGHAI (no daylight-saving time) === #


def test_shanghai_converts_band_boundaries_and_holidays_to_utc():
    schedule = (("valley", "00:00", "08:30"), ("peak", "08:30", "24:00"))
    holiday = (("valley", "00:00", "24:00"),)
    tariff = TariffDefinition(
        [
            tou_version(
                schedule,
                valid_from=date(2026, 1, 1),
                periods=[
                    *(BandPeriod(b, s, e, "all") for b, s, e in schedule),
                    *(BandPeriod(b, s, e, "holiday") for b, s, e in holiday),
                ],
            )
        ],
        holidays=frozenset({date(2026, 10, 1)}),
        tz="Asia/Shanghai",
    )
    # 00:00-01:00 UTC is 08:00-09:00 CST: the cut at 08:30 is 00:30 UTC.
    result = rate_intervals(tariff, [interval("2026-07-01 00:00", "2026-07-01 01:00", "1")])
    assert [(line.band, line.quantity, line.end) for line in result.lines] == [
        ("valley", D("0.5"), at("2026-07-01 00:30")),
        ("peak", D("0.5"), at("2026-07-01 01:00")),
    ]
    # The local holiday Oct 1 begins at 16:00 UTC on Sep 30.
    result = rate_intervals(tariff, [interval("2026-09-30 15:00", "2026-09-30 17:00", "2")])
    assert [(line.band, line.quantity) for line in result.lines] == [
        ("peak", D(1)),
        ("valley", D(1)),
    ]


def test_fixed_charges_stay_on_local_dates():
    version = tou_version(fixed_charges=[])
    tariff = definition(version, tz="Asia/Shanghai")
    assert rate_fixed_charges(tariff, date(2025, 1, 1), date(2025, 1, 31)) == ()


def test_unknown_timezone_is_refused():
    tariff = definition(tou_version(valid_from=FROM), tz="Mars/Olympus_Mons")
    assert [issue.code for issue in validate_definition(tariff)] == ["timezone_unknown"]
    with pytest.raises(TariffDefinitionError, match="Unknown timezone Mars/Olympus_Mons"):
        rate_intervals(tariff, hourly("2025-01-01 00:00", 1, "1"))


@pytest.mark.parametrize(
    "tz, first",
    [
        ("America/Santiago", "2024-04-06 00:00"),  # midnight repeats (back to 23:00)
        ("America/Santiago", "2024-09-07 00:00"),  # midnight does not exist (to 01:00)
        ("Asia/Beirut", "2024-10-26 00:00"),  # midnight repeats
        ("Pacific/Apia", "2011-12-29 00:00"),  # the whole of Dec 30 is skipped
    ],
)
def test_changes_at_midnight_and_skipped_days_lose_nothing(tz, first):
    tariff = definition(tou_version(valid_from=date(2010, 1, 1)), tz=tz)
    intervals = hourly(first, 72, "1")
    result = rate_intervals(tariff, intervals)
    assert result.quantity == D(72)
    assert {line.interval for line in result.lines} == set(range(72))
    # One interval over the three days: the same quantity per band as the hours.
    whole = rate_intervals(tariff, [Interval(intervals[0].start, intervals[-1].end, D(72))])
    assert by_band(whole) == by_band(result)


# === PROPERTIES === #

ZONES = [
    "Europe/Paris",
    "America/New_York",
    "Asia/Shanghai",
    "Australia/Lord_Howe",  # a 30-minute daylight-saving change
    "Asia/Kathmandu",  # UTC+05:45
    "America/St_Johns",  # UTC-03:30, daylight-saving too
]
# Days around the changes of 2024 in these zones (spring and fall, both hemispheres).
CHANGE_DAYS = [
    datetime(2024, 3, 10),
    datetime(2024, 3, 31),
    datetime(2024, 4, 7),
    datetime(2024, 10, 6),
    datetime(2024, 10, 27),
    datetime(2024, 11, 3),
    datetime(2024, 7, 1),
]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def day_schedules(draw):
    cuts = sorted(draw(st.sets(st.integers(1, 95), max_size=8)))
    bounds = [0, *(cut * 15 for cut in cuts), 1440]
    return [(draw(st.sampled_from(BANDS)), start, end) for start, end in pairwise(bounds)]


@st.composite
def zoned_tariffs(draw):
    weekday, weekend = draw(day_schedules()), draw(day_schedules())
    version = TariffVersion(
        date(2024, 1, 1),
        None,
        "tou",
        band_prices={band: D(draw(st.integers(1, 30000))).scaleb(-4) for band in BANDS},
        periods=[BandPeriod(b, s, e, "weekday") for b, s, e in weekday]
        + [BandPeriod(b, s, e, "weekend") for b, s, e in weekend],
    )
    return TariffDefinition([version], tz=draw(st.sampled_from(ZONES)))


def reference_band(tariff, moment):
    """The band of a UTC instant read directly from the definition: its wall-clock time."""
    local = moment.replace(tzinfo=UTC).astimezone(ZoneInfo(tariff.tz))
    day_type = "weekend" if local.weekday() >= 5 else "weekday"
    minute = local.hour * 60 + local.minute
    (band,) = [
        p.band
        for p in tariff.versions[0].periods
        if p.day_type == day_type and p.start <= minute < p.end
    ]
    return band


@st.composite
def zoned_intervals(draw):
    """Contiguous intervals of 1 s to 30 h from around a daylight-saving day (UTC)."""
    moment = draw(st.sampled_from(CHANGE_DAYS)) + timedelta(
        seconds=draw(st.integers(-36 * 3600, 36 * 3600))
    )
    intervals = []
    for _ in range(draw(st.integers(1, 6))):
        duration = timedelta(seconds=draw(st.integers(1, 30 * 3600)))
        quantity = D(draw(st.integers(0, 50_000))).scaleb(-3)
        intervals.append(Interval(moment, moment + duration, quantity))
        moment += duration
    return intervals


@SETTINGS
@given(zoned_tariffs(), zoned_intervals())
def test_time_shares_of_any_interval_sum_to_one(tariff, intervals):
    """The pieces of an interval add up to its quantity and each piece's quantity is its
    share of the elapsed time within one quantity unit; every piece has the band of the
    wall-clock time of each of its instants."""
    result = rate_intervals(tariff, intervals)
    for index, rated in enumerate(intervals):
        lines = [line for line in result.lines if line.interval == index]
        assert total(lines, "quantity") == rated.quantity
        duration = Fraction((rated.end - rated.start) // timedelta(microseconds=1))
        for line in lines:
            elapsed = Fraction((line.end - line.start) // timedelta(microseconds=1))
            exact = Fraction(rated.quantity) * elapsed / duration
            assert abs(Fraction(line.quantity) - exact) < Fraction(1, 1000)
            assert rated.start <= line.start < line.end <= rated.end
            moment = line.start
            while moment < line.end:
                assert reference_band(tariff, moment) == line.band
                moment += timedelta(minutes=5)
            assert reference_band(tariff, line.end - timedelta(microseconds=1)) == line.band


@SETTINGS
@given(zoned_tariffs(), st.sampled_from(CHANGE_DAYS), st.data())
def test_charges_do_not_depend_on_how_intervals_are_split(tariff, day, data):
    """Two days of consumption at a steady rate (one quantity unit per 15 minutes, the
    band grid of every zone here), rated whole or split anywhere on the 15-minute grid:
    the same quantity per band and the same amount to the cent."""
    start = day - timedelta(hours=24)
    slots = 48 * 4
    units_per_slot = data.draw(st.integers(1, 40))
    cuts = sorted(data.draw(st.sets(st.integers(1, slots - 1), max_size=20)))
    whole = [Interval(start, start + timedelta(minutes=15 * slots), _qty(slots, units_per_slot))]
    parts = [
        Interval(
            start + timedelta(minutes=15 * first),
            start + timedelta(minutes=15 * last),
            _qty(last - first, units_per_slot),
        )
        for first, last in zip([0, *cuts], [*cuts, slots], strict=True)
    ]
    rated_whole, rated_parts = rate_intervals(tariff, whole), rate_intervals(tariff, parts)
    assert by_band(rated_whole) == by_band(rated_parts)
    assert rated_whole.amount == rated_parts.amount
    assert rated_whole.exact_amount == rated_parts.exact_amount


def _qty(slots, units_per_slot):
    return Decimal(slots * units_per_slot).scaleb(-3)
