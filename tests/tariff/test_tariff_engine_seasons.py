"""Seasons as sets of months (besides one date range)."""

from datetime import date

from tariff_builders import D, definition, interval, periods, tou_version

from prepaid_meter.tools.tariff_engine import Season, rate_intervals, validate_definition

ALL_FLAT = (("flat", "00:00", "24:00"),)
ALL_PEAK = (("peak", "00:00", "24:00"),)
ALL_VALLEY = (("valley", "00:00", "24:00"),)
# Peak in July, August and January (two separate stretches), valley in spring.
PEAK_MONTHS = Season("peak months", months=(7, 8, 1))
SPRING = Season("spring", months=(3, 4, 5))


def seasonal(*seasons):
    return definition(
        tou_version(
            seasons=seasons,
            periods=periods(ALL_FLAT)
            + periods(ALL_PEAK, season="peak months")
            + periods(ALL_VALLEY, season="spring"),
        )
    )


def band_on(tariff, day):
    start = f"{day.isoformat()} 12:00"
    end = f"{day.isoformat()} 13:00"
    return rate_intervals(tariff, [interval(start, end, "1")]).lines[0].band


def test_a_season_of_months_covers_exactly_its_months():
    tariff = seasonal(PEAK_MONTHS, SPRING)
    assert PEAK_MONTHS.months == (1, 7, 8)  # sorted, without duplicates
    assert [band_on(tariff, date(2025, month, 15)) for month in range(1, 13)] == [
        "peak",
        "flat",
        "valley",
        "valley",
        "valley",
        "flat",
        "peak",
        "peak",
        "flat",
        "flat",
        "flat",
        "flat",
    ]
    # Whole months: their first and last days.
    assert band_on(tariff, date(2025, 7, 1)) == band_on(tariff, date(2025, 8, 31)) == "peak"
    assert band_on(tariff, date(2025, 6, 30)) == band_on(tariff, date(2025, 9, 1)) == "flat"


def test_an_interval_across_a_month_change_is_cut_at_midnight():
    tariff = seasonal(PEAK_MONTHS, SPRING)
    result = rate_intervals(tariff, [interval("2025-06-30 23:00", "2025-07-01 01:00", "2")])
    assert [(line.band, line.quantity) for line in result.lines] == [
        ("flat", D(1)),
        ("peak", D(1)),
    ]


def test_month_seasons_and_range_seasons_must_not_overlap():
    late_spring = Season("spring", 5, 20, 6, 10)  # May 20 - Jun 10 overlaps nothing...
    assert validate_definition(seasonal(PEAK_MONTHS, late_spring)) == []
    overlapping = Season("spring", 6, 20, 7, 10)  # ...but Jun 20 - Jul 10 overlaps July
    assert [
        (issue.code, issue.params)
        for issue in validate_definition(seasonal(PEAK_MONTHS, overlapping))
    ] == [
        (
            "season_overlap",
            {"first": "peak months", "second": "spring", "month": 7, "day": 1},
        )
    ]


def test_invalid_months_are_refused():
    tariff = seasonal(Season("peak months", months=(7, 13)), SPRING)
    assert [(issue.code, issue.params) for issue in validate_definition(tariff)] == [
        ("season_month", {"season": "peak months", "month": 13})
    ]
