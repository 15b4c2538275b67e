"""Worked examples of the tariff engine, one per feature, with hand-computed figures."""

from datetime import date, datetime

import pytest
from tariff_builders import (
    BAND_PRICES,
    START_2025,
    D,
    at,
    definition,
    flat_version,
    hourly,
    interval,
    periods,
    tiered_tou_version,
    tiered_version,
    total,
    tou_version,
)

from prepaid_meter.tools.tariff_engine import (
    BandPeriod,
    ChargeLine,
    FixedCharge,
    Interval,
    RatingError,
    Season,
    TariffDefinitionError,
    aggregate_lines,
    compile_definition,
    rate_fixed_charges,
    rate_intervals,
    round_half_up,
    version_in_force,
)


def pieces(result):
    """(band, tier, quantity, unit price, amount) of each line, as strings."""
    return [
        (line.band, line.tier, str(line.quantity), str(line.unit_price), str(line.amount))
        for line in result.lines
    ]


# === FLAT AND ROUNDING === #


def test_flat_tariff_rounds_cumulatively():
    result = rate_intervals(
        definition(flat_version("0.55")), hourly("2025-03-03 00:00", 3, "1.234")
    )
    # exact 0.6787 per hour: running totals 0.6787, 1.3574, 2.0361 round to 0.68, 1.36, 2.04
    assert [str(line.amount) for line in result.lines] == ["0.68", "0.68", "0.68"]
    assert (result.quantity, result.amount, result.exact_amount) == (
        D("3.702"),
        D("2.04"),
        D("2.0361"),
    )
    assert all(line.band is None and line.tier is None for line in result.lines)
    assert [line.interval for line in result.lines] == [0, 1, 2]


def test_small_lines_are_not_lost_to_rounding():
    """Per-line rounding would charge 0.00 three times; the cumulative rule charges 0.01."""
    result = rate_intervals(
        definition(flat_version("0.333")), hourly("2025-03-03 00:00", 3, "0.015")
    )
    assert [str(line.amount) for line in result.lines] == ["0.00", "0.01", "0.00"]
    assert result.amount == round_half_up(result.exact_amount, 2) == D("0.01")


def test_cycle_amount_carries_the_rounding_between_calls():
    tariff = definition(flat_version("0.333"))
    intervals = hourly("2025-03-03 00:00", 7, "0.015")
    whole = rate_intervals(tariff, intervals)
    charged, cycle_quantity, cycle_amount = D(0), D(0), D(0)
    for chunk in (intervals[:2], intervals[2:3], intervals[3:]):
        part = rate_intervals(tariff, chunk, cycle_quantity, cycle_amount)
        charged += part.amount
        cycle_quantity, cycle_amount = part.cycle_quantity, part.cycle_amount
    assert charged == whole.amount == round_half_up(whole.exact_amount, 2)
    assert cycle_amount == whole.exact_amount


def test_currency_with_zero_decimals():
    result = rate_intervals(
        definition(flat_version("12.5"), currency_digits=0), hourly("2025-03-03 00:00", 2, "1")
    )
    assert [str(line.amount) for line in result.lines] == ["13", "12"]  # 12.5 -> 13, 25 -> 25


def test_zero_quantity_interval_makes_no_line():
    result = rate_intervals(definition(flat_version()), hourly("2025-03-03 00:00", 2, "0"))
    assert result.lines == () and result.amount == 0


# === TIME OF USE === #


def test_tou_interval_split_in_proportion_to_time():
    tariff = definition(tou_version())
    result = rate_intervals(tariff, [interval("2025-03-03 10:00", "2025-03-03 10:50", "1")])
    assert pieces(result) == [
        ("flat", None, "0.600", "0.6", "0.36"),  # 30 of 50 minutes
        ("peak", None, "0.400", "1.0", "0.40"),
    ]
    flat, peak = result.lines
    assert (flat.start, flat.end) == (at("2025-03-03 10:00"), at("2025-03-03 10:30"))
    assert (peak.start, peak.end) == (at("2025-03-03 10:30"), at("2025-03-03 10:50"))


def test_tou_quantity_share_rounds_half_up_to_the_quantity_unit():
    tariff = definition(tou_version())
    # 0.001 over 10:20-10:35: 10/15 of a unit before 10:30 rounds to 1 unit, peak gets 0.
    result = rate_intervals(tariff, [interval("2025-03-03 10:20", "2025-03-03 10:35", "0.001")])
    assert pieces(result) == [("flat", None, "0.001", "0.6", "0.00")]


def test_tou_band_runs_continue_over_midnight():
    tariff = definition(tou_version())
    result = rate_intervals(tariff, [interval("2025-03-03 23:00", "2025-03-04 01:00", "2")])
    assert pieces(result) == [("valley", None, "2.000", "0.3", "0.60")]


def test_tou_bands_on_15_minute_boundaries():
    schedule = (
        ("valley", "00:00", "10:15"),
        ("sharp", "10:15", "10:45"),
        ("valley", "10:45", "24:00"),
    )
    tariff = definition(tou_version(schedule))
    result = rate_intervals(tariff, hourly("2025-03-03 10:00", 1, "0.8"))
    assert pieces(result) == [
        ("valley", None, "0.200", "0.3", "0.06"),
        ("sharp", None, "0.400", "1.3", "0.52"),
        ("valley", None, "0.200", "0.3", "0.06"),
    ]


def test_register_split_is_charged_as_read_in_band_order():
    tariff = definition(tou_version())
    split = {"valley": D("3"), "peak": D("5"), "flat": D("2")}
    result = rate_intervals(
        tariff, [interval("2025-03-03 00:00", "2025-03-04 00:00", "10", band_split=split)]
    )
    assert pieces(result) == [
        ("peak", None, "5.000", "1.0", "5.00"),
        ("flat", None, "2.000", "0.6", "1.20"),
        ("valley", None, "3.000", "0.3", "0.90"),
    ]


def test_register_band_without_periods_is_refused():
    tariff = definition(tou_version())
    with pytest.raises(RatingError) as error:
        rate_intervals(
            tariff,
            [interval("2025-03-03 00:00", "2025-03-03 01:00", "1", band_split={"sharp": D(1)})],
        )
    assert error.value.code == "register_band_unpriced"


def test_register_split_ignored_by_a_flat_version():
    result = rate_intervals(
        definition(flat_version("0.5")),
        [interval("2025-03-03 00:00", "2025-03-03 01:00", "1", band_split={"sharp": D(1)})],
    )
    assert pieces(result) == [(None, None, "1.000", "0.5", "0.50")]


# === TIERED === #


def test_tiered_interval_split_at_the_exact_step_boundary():
    tariff = definition(tiered_version())
    result = rate_intervals(tariff, [interval("2025-03-03 00:00", "2025-03-03 01:00", "10")], 95)
    assert pieces(result) == [(None, 1, "5.000", "0.5", "2.50"), (None, 2, "5.000", "0.6", "3.00")]
    assert result.cycle_quantity == 105


def test_tiered_interval_crossing_two_steps():
    tariff = definition(tiered_version())
    result = rate_intervals(tariff, [interval("2025-03-03 00:00", "2025-03-03 01:00", "110")], 95)
    assert pieces(result) == [
        (None, 1, "5.000", "0.5", "2.50"),
        (None, 2, "100.000", "0.6", "60.00"),
        (None, 3, "5.000", "0.8", "4.00"),
    ]


@pytest.mark.parametrize(("cycle", "tier"), [(95, 1), (100, 2), (99.999, 1)])
def test_tiered_boundaries_belong_to_the_lower_step_up_to_the_limit(cycle, tier):
    tariff = definition(tiered_version())
    cycle = D(str(cycle))
    result = rate_intervals(
        tariff, [interval("2025-03-03 00:00", "2025-03-03 01:00", "0.001")], cycle
    )
    assert [line.tier for line in result.lines] == [tier]


def test_tiered_tou_unit_price_is_band_price_plus_step_adder():
    tariff = definition(tiered_tou_version())
    result = rate_intervals(
        tariff, [interval("2025-03-03 10:00", "2025-03-03 11:00", "4")], cycle_quantity=8
    )
    # flat 10:00-10:30 gets 2 (steps 1), peak 10:30-11:00 gets 2 (step 2 from 10).
    assert pieces(result) == [
        ("flat", 1, "2.000", "0.6", "1.20"),
        ("peak", 2, "2.000", "1.05", "2.10"),
    ]


def test_tiered_tou_total_does_not_depend_on_register_order():
    """Adder model: sum(q_band * price_band) + sum(q_step * adder_step)."""
    tariff = definition(tiered_tou_version())
    split = {"peak": D("6"), "valley": D("9")}
    result = rate_intervals(
        tariff,
        [interval("2025-03-03 00:00", "2025-03-04 00:00", "15", band_split=split)],
        cycle_quantity=8,
    )
    band_part = D(6) * BAND_PRICES["peak"] + D(9) * BAND_PRICES["valley"]
    # positions 8 -> 23: 2 units in step 1 (adder 0), 10 in step 2, 3 in step 3
    adder_part = D(2) * 0 + D(10) * D("0.05") + D(3) * D("0.3")
    assert result.exact_amount == band_part + adder_part


# === SEASONS, DAY TYPES, HOLIDAYS === #


def seasonal_tariff():
    """Flat all year, peak in summer (Jun-Sep), valley in winter (Nov-Feb, over new year)."""
    seasons = [Season("summer", 6, 1, 9, 30), Season("winter", 11, 1, 2, 29)]
    version_periods = periods((("flat", "00:00", "24:00"),))
    version_periods += periods((("peak", "00:00", "24:00"),), season="summer")
    version_periods += periods((("valley", "00:00", "24:00"),), season="winter")
    return definition(
        tou_version(periods=version_periods, seasons=seasons, valid_from=date(2024, 1, 1))
    )


@pytest.mark.parametrize(
    ("day", "band"),
    [
        ("2025-05-31", "flat"),
        ("2025-06-01", "peak"),
        ("2025-09-30", "peak"),
        ("2025-10-01", "flat"),
        ("2025-12-31", "valley"),  # winter wraps over the new year
        ("2025-01-15", "valley"),
        ("2024-02-29", "valley"),
        ("2025-03-01", "flat"),
    ],
)
def test_seasons(day, band):
    result = rate_intervals(seasonal_tariff(), hourly(f"{day} 12:00", 1, "1"))
    assert [line.band for line in result.lines] == [band]


def day_type_tariff(**kwargs):
    version_periods = periods(
        (("valley", "00:00", "08:00"), ("peak", "08:00", "20:00"), ("valley", "20:00", "24:00")),
        day_type="weekday",
    )
    version_periods += periods((("valley", "00:00", "24:00"),), day_type="weekend")
    return definition(tou_version(periods=version_periods), **kwargs)


@pytest.mark.parametrize(
    ("day", "holidays", "weekend_days", "band"),
    [
        ("2025-03-03", (), (5, 6), "peak"),  # Monday
        ("2025-03-01", (), (5, 6), "valley"),  # Saturday
        ("2025-03-02", (), (5, 6), "valley"),  # Sunday
        ("2025-03-03", (date(2025, 3, 3),), (5, 6), "valley"),  # holiday -> weekend schedule
        ("2025-02-28", (), (4, 5), "valley"),  # Friday in a Friday-Saturday weekend
        ("2025-03-02", (), (4, 5), "peak"),  # Sunday is a working day there
    ],
)
def test_day_types_and_holidays(day, holidays, weekend_days, band):
    tariff = day_type_tariff(holidays=holidays, weekend_days=weekend_days)
    result = rate_intervals(tariff, hourly(f"{day} 12:00", 1, "1"))
    assert [line.band for line in result.lines] == [band]


def test_holiday_schedule_wins_over_weekend():
    base = day_type_tariff().versions[0]
    holiday_periods = [*base.periods, BandPeriod("sharp", "00:00", "24:00", "holiday")]
    tariff = definition(
        tou_version(periods=holiday_periods), holidays={date(2025, 3, 1), date(2025, 3, 3)}
    )
    for day in ("2025-03-01", "2025-03-03"):
        result = rate_intervals(tariff, hourly(f"{day} 12:00", 1, "1"))
        assert [line.band for line in result.lines] == ["sharp"]


def test_season_specific_schedule_wins_over_day_type():
    version_periods = periods((("valley", "00:00", "24:00"),), day_type="weekend")
    version_periods += periods((("flat", "00:00", "24:00"),), day_type="weekday")
    version_periods += periods((("peak", "00:00", "24:00"),), season="summer")
    tariff = definition(
        tou_version(periods=version_periods, seasons=[Season("summer", 7, 1, 8, 31)])
    )
    saturday_in_july = rate_intervals(tariff, hourly("2025-07-05 12:00", 1, "1"))
    assert [line.band for line in saturday_in_july.lines] == ["peak"]


# === VERSIONS === #


def two_versions():
    return definition(
        flat_version("0.5", valid_to=date(2025, 6, 30)),
        flat_version("0.6", valid_from=date(2025, 7, 1)),
    )


def test_version_in_force_at_the_interval_time():
    tariff = two_versions()
    result = rate_intervals(tariff, [interval("2025-06-30 23:00", "2025-07-01 01:00", "2")])
    assert pieces(result) == [
        (None, None, "1.000", "0.5", "0.50"),
        (None, None, "1.000", "0.6", "0.60"),
    ]
    assert [line.version for line in result.lines] == [START_2025, date(2025, 7, 1)]
    assert version_in_force(tariff, date(2025, 6, 30)).unit_price == D("0.5")
    assert version_in_force(tariff, date(2025, 7, 1)).unit_price == D("0.6")
    assert version_in_force(tariff, date(2024, 12, 31)) is None


def test_version_change_from_tou_to_flat_with_register_split():
    tariff = definition(
        tou_version(valid_to=date(2025, 3, 3)), flat_version("0.5", valid_from=date(2025, 3, 4))
    )
    split = {"peak": D("2"), "valley": D("2")}
    result = rate_intervals(
        tariff, [interval("2025-03-03 12:00", "2025-03-04 12:00", "4", band_split=split)]
    )
    # each register is shared half/half in time between the two versions
    assert pieces(result) == [
        ("peak", None, "1.000", "1.0", "1.00"),
        ("valley", None, "1.000", "0.3", "0.30"),
        (None, None, "2.000", "0.5", "1.00"),
    ]


def test_tiers_continue_across_a_version_change():
    tariff = definition(
        tiered_version(valid_to=date(2025, 3, 3)),
        tiered_version(((0, "0.7"), (100, "0.9")), valid_from=date(2025, 3, 4)),
    )
    result = rate_intervals(
        tariff, [interval("2025-03-03 23:00", "2025-03-04 01:00", "20")], cycle_quantity=90
    )
    assert pieces(result) == [
        (None, 1, "10.000", "0.5", "5.00"),
        (None, 2, "10.000", "0.9", "9.00"),
    ]


def test_no_version_in_force():
    with pytest.raises(RatingError) as error:
        rate_intervals(two_versions(), hourly("2024-12-31 23:00", 1, "1"))
    assert error.value.code == "no_version"
    assert "2024-12-31" in str(error.value)


# === FIXED CHARGES === #


def test_fixed_charges_per_day_and_per_month():
    version = flat_version(
        fixed_charges=[
            FixedCharge("Meter rental", D("1.00"), "day"),
            FixedCharge("Service", D("10")),
        ]
    )
    lines = rate_fixed_charges(definition(version), date(2025, 1, 30), date(2025, 2, 2))
    assert [(line.charge, line.start.date(), str(line.amount)) for line in lines] == [
        ("Meter rental", date(2025, 1, 30), "1.00"),
        ("Meter rental", date(2025, 1, 31), "1.00"),
        ("Meter rental", date(2025, 2, 1), "1.00"),
        ("Service", date(2025, 2, 1), "10.00"),
        ("Meter rental", date(2025, 2, 2), "1.00"),
    ]
    assert lines[3].end == datetime(2025, 3, 1)


def test_fixed_charges_follow_the_versions():
    tariff = definition(
        flat_version(valid_to=date(2025, 1, 31), fixed_charges=[FixedCharge("Day", D(1), "day")]),
        flat_version(valid_from=date(2025, 2, 2), fixed_charges=[FixedCharge("Day", D(2), "day")]),
    )
    lines = rate_fixed_charges(tariff, date(2025, 1, 31), date(2025, 2, 2))
    assert [(line.start.date().day, str(line.amount)) for line in lines] == [
        (31, "1.00"),
        (2, "2.00"),
    ]


# === INPUT ERRORS AND HELPERS === #


def test_unsorted_intervals_are_rated_in_time_order():
    tariff = definition(tiered_version())
    later, earlier = hourly("2025-03-03 01:00", 1, "60")[0], hourly("2025-03-03 00:00", 1, "60")[0]
    result = rate_intervals(tariff, [later, earlier])
    assert [(line.interval, line.tier) for line in result.lines] == [(1, 1), (0, 1), (0, 2)]


@pytest.mark.parametrize(
    "second", [("2025-03-03 00:30", "2025-03-03 01:30"), ("2025-03-03 00:00", "2025-03-03 00:15")]
)
def test_overlapping_intervals_are_refused(second):
    tariff = definition(flat_version())
    with pytest.raises(RatingError) as error:
        rate_intervals(
            tariff, [interval("2025-03-03 00:00", "2025-03-03 01:00", "1"), interval(*second, "1")]
        )
    assert error.value.code == "interval_overlap"


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: interval("2025-03-03 01:00", "2025-03-03 01:00", "1"), "interval_empty"),
        (lambda: interval("2025-03-03 00:00", "2025-03-03 01:00", "-1"), "quantity_negative"),
        (lambda: Interval(at("2025-03-03 00:00"), at("2025-03-03 01:00"), 1.5), "quantity_type"),
        (
            lambda: interval("2025-03-03 00:00", "2025-03-03 01:00", "2", {"peak": D(1)}),
            "split_sum",
        ),
        (
            lambda: Interval(
                datetime.fromisoformat("2025-03-03T00:00+08:00"),
                datetime.fromisoformat("2025-03-03T01:00+08:00"),
                D(1),
            ),
            "interval_aware",
        ),
    ],
)
def test_bad_intervals_are_refused(make, code):
    with pytest.raises(RatingError) as error:
        make()
    assert error.value.code == code


def test_quantity_finer_than_the_precision_is_refused_not_rounded():
    with pytest.raises(RatingError) as error:
        rate_intervals(definition(flat_version()), hourly("2025-03-03 00:00", 1, "1.0005"))
    assert error.value.code == "quantity_precision"
    six_digits = definition(flat_version(), quantity_digits=6)
    assert rate_intervals(six_digits, hourly("2025-03-03 00:00", 1, "1.0005")).quantity == D(
        "1.0005"
    )


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"cycle_quantity": D("-1")}, "cycle_quantity_invalid"),
        ({"cycle_quantity": D("0.0001")}, "cycle_quantity_invalid"),
        ({"cycle_amount": D("-0.01")}, "cycle_amount_invalid"),
    ],
)
def test_bad_cycle_position_is_refused(kwargs, code):
    with pytest.raises(RatingError) as error:
        rate_intervals(definition(flat_version()), hourly("2025-03-03 00:00", 1, "1"), **kwargs)
    assert error.value.code == code


def test_invalid_definition_is_refused_when_rating():
    broken = definition(tiered_version(((0, "0.5"), (100, "-0.6"))))
    with pytest.raises(TariffDefinitionError) as error:
        rate_intervals(broken, hourly("2025-03-03 00:00", 1, "1"))
    assert [issue.code for issue in error.value.issues] == ["tier_price_negative"]
    assert "cannot be negative" in str(error.value)


def test_compiled_tariff_is_cached_and_accepted():
    tariff = definition(flat_version())
    compiled = compile_definition(tariff)
    assert compile_definition(definition(flat_version())) is compiled
    assert rate_intervals(compiled, hourly("2025-03-03 00:00", 1, "1")).amount == D("0.55")


def test_aggregate_lines_sums_by_band_and_step():
    tariff = definition(tiered_tou_version())
    result = rate_intervals(tariff, hourly("2025-03-03 00:00", 24, "1"))
    summary = aggregate_lines(result.lines)
    assert total(summary) == result.amount
    assert total(summary, "quantity") == result.quantity == 24
    assert {(line.band, line.tier) for line in summary} == {
        ("valley", 1),
        ("flat", 1),
        ("flat", 2),
        ("peak", 2),
        ("peak", 3),
        ("valley", 3),
    }
    assert all(isinstance(line, ChargeLine) and line.interval == -1 for line in summary)
