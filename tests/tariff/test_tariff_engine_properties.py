"""Property-based tests of the tariff engine (hypothesis).

Random tariffs of every kind (random band schedules on the 15-minute grid for
weekdays and weekends, random steps and prices) rate random contiguous
intervals over a few days around a weekend and a version change.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prepaid_meter.tools.tariff_engine import (
    BANDS,
    BandPeriod,
    Interval,
    TariffDefinition,
    TariffVersion,
    Tier,
    rate_intervals,
    round_half_up,
)

D = Decimal
QUANTUM = D("0.001")  # default quantity_digits = 3
CURRENCY_UNIT = D("0.01")
FIRST_DAY = datetime(2025, 3, 1)  # a Saturday
CHANGE_DAY = date(2025, 3, 3)  # the second version starts on Monday
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

prices = st.integers(0, 30000).map(lambda n: D(n).scaleb(-4))
quantities = st.integers(0, 5000).map(lambda n: D(n).scaleb(-3))


@st.composite
def schedules(draw):
    """A day as 96 slots: [(band, start minute, end minute), ...] tiling 00:00-24:00."""
    cuts = sorted(draw(st.sets(st.integers(1, 95), max_size=8)))
    bounds = [0, *(cut * 15 for cut in cuts), 1440]
    bands = draw(
        st.lists(st.sampled_from(BANDS), min_size=len(bounds) - 1, max_size=len(bounds) - 1)
    )
    return [
        (band, start, end) for band, start, end in zip(bands, bounds[:-1], bounds[1:], strict=True)
    ]


@st.composite
def versions(draw, valid_from, valid_to=None):
    kind = draw(st.sampled_from(["flat", "tou", "tiered", "tiered_tou"]))
    weekday, weekend = draw(schedules()), draw(schedules())
    starts = sorted(draw(st.sets(st.integers(1, 40_000), max_size=3)))
    steps = [0, *(D(start).scaleb(-3) for start in starts)]
    return TariffVersion(
        valid_from,
        valid_to,
        kind,
        unit_price=draw(prices),
        band_prices={band: draw(prices) for band in BANDS},
        periods=[BandPeriod(band, start, end, "weekday") for band, start, end in weekday]
        + [BandPeriod(band, start, end, "weekend") for band, start, end in weekend],
        tiers=[Tier(step, draw(prices)) for step in steps],
    )


@st.composite
def tariffs(draw):
    first = draw(versions(date(2025, 1, 1), CHANGE_DAY - timedelta(days=1)))
    second = draw(versions(CHANGE_DAY))
    return TariffDefinition([first, second])


@st.composite
def interval_lists(draw, max_size=12):
    """Contiguous (or gapped) intervals from Saturday; durations in seconds, up to 20 h."""
    moment = FIRST_DAY + timedelta(seconds=draw(st.integers(0, 36 * 3600)))
    intervals = []
    for _ in range(draw(st.integers(1, max_size))):
        moment += timedelta(seconds=draw(st.sampled_from([0, 0, 0, 60, 3600])))
        duration = timedelta(seconds=draw(st.integers(1, 20 * 3600)))
        intervals.append(Interval(moment, moment + duration, draw(quantities)))
        moment += duration
    return intervals


cycle_quantities = st.integers(0, 45_000).map(lambda n: D(n).scaleb(-3))


def version_at(tariff, moment):
    return next(
        v
        for v in tariff.versions
        if v.valid_from <= moment.date() and (v.valid_to is None or moment.date() <= v.valid_to)
    )


def band_key(tariff, moment):
    return version_at(tariff, moment).valid_from, schedule_band(tariff, moment)


def schedule_band(tariff, moment):
    """The band at ``moment`` by a direct reading of the definition (the reference)."""
    version = version_at(tariff, moment)
    if version.kind not in ("tou", "tiered_tou"):
        return None
    day_type = "weekend" if moment.weekday() >= 5 else "weekday"
    minute = moment.hour * 60 + moment.minute
    (band,) = [
        p.band for p in version.periods if p.day_type == day_type and p.start <= minute < p.end
    ]
    return band


# === CONSERVATION AND ROUNDING === #


@SETTINGS
@given(tariffs(), interval_lists(), cycle_quantities)
def test_quantity_is_conserved_and_amounts_are_never_negative(tariff, intervals, cycle):
    result = rate_intervals(tariff, intervals, cycle)
    rated = sum((interval.quantity for interval in intervals), D(0))
    assert sum((line.quantity for line in result.lines), D(0)) == rated == result.quantity
    assert result.cycle_quantity == cycle + rated
    for line in result.lines:
        assert line.quantity > 0 and line.amount >= 0
        assert abs(line.amount - line.quantity * line.unit_price) < CURRENCY_UNIT


@SETTINGS
@given(tariffs(), interval_lists(), cycle_quantities)
def test_total_is_the_rounded_exact_total(tariff, intervals, cycle):
    result = rate_intervals(tariff, intervals, cycle)
    exact = sum((line.quantity * line.unit_price for line in result.lines), D(0))
    assert result.exact_amount == exact
    assert sum((line.amount for line in result.lines), D(0)) == result.amount
    assert result.amount == round_half_up(exact, 2)


@SETTINGS
@given(tariffs(), interval_lists(), cycle_quantities, st.data())
def test_batching_changes_nothing(tariff, intervals, cycle, data):
    """Rating in chunks, passing cycle_quantity and cycle_amount on, gives the same lines."""
    whole = rate_intervals(tariff, intervals, cycle)
    cuts = sorted(data.draw(st.sets(st.integers(1, len(intervals)), max_size=3)))
    lines, quantity, amount = [], cycle, D(0)
    for first, last in zip([0, *cuts], [*cuts, len(intervals)], strict=True):
        part = rate_intervals(tariff, intervals[first:last], quantity, amount)
        lines += [line._replace(interval=line.interval + first) for line in part.lines]
        quantity, amount = part.cycle_quantity, part.cycle_amount
    assert lines == list(whole.lines)
    assert amount == whole.cycle_amount


# === EXACT BOUNDARIES === #


@SETTINGS
@given(tariffs(), interval_lists(), cycle_quantities)
def test_step_boundaries_are_exact(tariff, intervals, cycle):
    result = rate_intervals(tariff, intervals, cycle)
    position = cycle
    for line in result.lines:
        version = next(v for v in tariff.versions if v.valid_from == line.version)
        if line.tier is None:
            assert version.kind not in ("tiered", "tiered_tou")
        else:
            starts = [tier.start for tier in version.tiers]
            assert starts[line.tier - 1] <= position
            if line.tier < len(starts):
                assert position + line.quantity <= starts[line.tier]
        position += line.quantity


@SETTINGS
@given(tariffs(), interval_lists(), cycle_quantities)
def test_band_boundaries_are_exact(tariff, intervals, cycle):
    result = rate_intervals(tariff, intervals, cycle)
    slot = timedelta(minutes=15)
    for line in result.lines:
        interval = intervals[line.interval]
        assert interval.start <= line.start < line.end <= interval.end
        for edge in (line.start, line.end):  # pieces are cut on the 15-minute grid only
            if edge not in (interval.start, interval.end):
                assert edge.minute % 15 == 0 and edge.second == edge.microsecond == 0
        moment = line.start
        while moment < line.end:  # every slot of the piece has the line's band
            assert schedule_band(tariff, moment) == line.band
            moment = moment.replace(minute=moment.minute // 15 * 15, second=0, microsecond=0)
            moment += slot


@SETTINGS
@given(tariffs(), interval_lists(), cycle_quantities)
def test_band_shares_follow_time_within_one_quantity_unit(tariff, intervals, cycle):
    result = rate_intervals(tariff, intervals, cycle)
    shares = {}
    for line in result.lines:
        key = (line.interval, line.start, line.end)
        shares[key] = shares.get(key, D(0)) + line.quantity
    for (index, start, end), quantity in shares.items():
        interval = intervals[index]
        exact_share = Fraction(interval.quantity) * fraction_of(interval, start, end)
        assert abs(Fraction(quantity) - exact_share) < Fraction(QUANTUM)


# === SPLITTING AN INTERVAL === #


def split_at(interval, moment, first_quantity):
    return [
        Interval(interval.start, moment, first_quantity),
        Interval(moment, interval.end, interval.quantity - first_quantity),
    ]


def fraction_of(interval, start, end):
    """The exact share of the interval's time between ``start`` and ``end``."""
    one_us = timedelta(microseconds=1)
    return Fraction((end - start) // one_us, (interval.end - interval.start) // one_us)


def time_share(interval, moment):
    """Q(t) of the engine documentation: cumulative time share, half-up to the quantum."""
    share = Fraction(interval.quantity) * fraction_of(interval, interval.start, moment)
    units = share / Fraction(QUANTUM)
    return D(int(units + Fraction(1, 2)) if units >= 0 else 0).scaleb(-3)


def amount_bound(tariff, interval):
    """The documented bound: one quantity unit x highest unit price per cut point."""
    highest = max(highest_price(version) for version in tariff.versions)
    return len(cut_points(tariff, interval)) * highest * QUANTUM


def cut_points(tariff, interval):
    """Where the reference schedule changes band or version inside ``interval``."""
    slot = timedelta(minutes=15)
    moment = interval.start.replace(
        minute=interval.start.minute // 15 * 15, second=0, microsecond=0
    )
    cuts = []
    while moment + slot < interval.end:
        if band_key(tariff, moment) != band_key(tariff, moment + slot):
            cuts.append(moment + slot)
        moment += slot
    return cuts


def highest_price(version):
    band = max(price for _band, price in version.band_prices)
    step = max(tier.price for tier in version.tiers)
    return {"flat": version.unit_price, "tou": band, "tiered": step, "tiered_tou": band + step}[
        version.kind
    ]


def rate_split(tariff, intervals, index, moment, first_quantity, cycle):
    split = split_at(intervals[index], moment, first_quantity)
    return rate_intervals(tariff, intervals[:index] + split + intervals[index + 1 :], cycle)


@SETTINGS
@given(tariffs(), interval_lists(max_size=4), cycle_quantities, st.data())
def test_splitting_at_a_cut_point(tariff, intervals, cycle, data):
    whole = rate_intervals(tariff, intervals, cycle)
    index = data.draw(st.integers(0, len(intervals) - 1))
    ends = {line.end for line in whole.lines if line.interval == index}
    cuts = sorted(ends - {intervals[index].end})
    if not cuts:
        return
    moment = data.draw(st.sampled_from(cuts))
    before = sum(
        (line.quantity for line in whole.lines if line.interval == index and line.end <= moment),
        D(0),
    )
    assert before == time_share(intervals[index], moment)
    result = rate_split(tariff, intervals, index, moment, before, cycle)
    assert result.quantity == whole.quantity
    bound = amount_bound(tariff, intervals[index])
    assert abs(result.exact_amount - whole.exact_amount) <= bound
    assert abs(result.amount - whole.amount) <= bound + CURRENCY_UNIT
    if len(cut_points(tariff, intervals[index])) == 1:  # the only cut point: nothing changes
        assert [line[1:] for line in result.lines] == [line[1:] for line in whole.lines]
        assert (result.exact_amount, result.amount) == (whole.exact_amount, whole.amount)


@SETTINGS
@given(tariffs(), interval_lists(max_size=4), cycle_quantities, st.data())
def test_splitting_anywhere_keeps_the_total_within_the_documented_bound(
    tariff, intervals, cycle, data
):
    index = data.draw(st.integers(0, len(intervals) - 1))
    interval = intervals[index]
    seconds = int((interval.end - interval.start).total_seconds())
    if seconds < 2:
        return
    moment = interval.start + timedelta(seconds=data.draw(st.integers(1, seconds - 1)))
    whole = rate_intervals(tariff, intervals, cycle)
    result = rate_split(tariff, intervals, index, moment, time_share(interval, moment), cycle)
    assert result.quantity == whole.quantity
    bound = amount_bound(tariff, interval)
    assert abs(result.exact_amount - whole.exact_amount) <= bound
    assert abs(result.amount - whole.amount) <= bound + CURRENCY_UNIT


@SETTINGS
@given(
    st.sampled_from(["flat", "tiered"]),
    prices,
    interval_lists(max_size=4),
    cycle_quantities,
    st.data(),
)
def test_splitting_without_bands_never_changes_the_total(kind, price, intervals, cycle, data):
    tariff = TariffDefinition(
        [
            TariffVersion(
                date(2025, 1, 1),
                kind=kind,
                unit_price=price,
                tiers=[Tier(0, price), Tier(10, price + 1), Tier(D("20.5"), price * 3)],
            )
        ]
    )
    index = data.draw(st.integers(0, len(intervals) - 1))
    interval = intervals[index]
    seconds = int((interval.end - interval.start).total_seconds())
    if seconds < 2:
        return
    moment = interval.start + timedelta(seconds=data.draw(st.integers(1, seconds - 1)))
    first = D(data.draw(st.integers(0, int(interval.quantity * 1000)))).scaleb(-3)
    whole = rate_intervals(tariff, intervals, cycle)
    result = rate_intervals(
        tariff,
        intervals[:index] + split_at(interval, moment, first) + intervals[index + 1 :],
        cycle,
    )
    assert (result.quantity, result.exact_amount, result.amount) == (
        whole.quantity,
        whole.exact_amount,
        whole.amount,
    )
