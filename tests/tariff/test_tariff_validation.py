"""The rules of a valid tariff (shared with the Odoo constraints)."""

from datetime import date

import pytest
from tariff_builders import (
    BAND_PRICES,
    D,
    definition,
    flat_version,
    periods,
    tiered_tou_version,
    tiered_version,
    tiers,
    tou_version,
)

from prepaid_meter.tools.tariff_engine import (
    MESSAGES,
    BandPeriod,
    FixedCharge,
    Season,
    TariffDefinitionError,
    TariffVersion,
    compile_definition,
    validate_definition,
)


def codes(tariff):
    return [issue.code for issue in validate_definition(tariff)]


@pytest.mark.parametrize(
    "version",
    [flat_version(), tou_version(), tiered_version(), tiered_tou_version()],
    ids=["flat", "tou", "tiered", "tiered_tou"],
)
def test_valid_versions_have_no_issue(version):
    assert validate_definition(definition(version)) == []


def test_several_versions_without_overlap():
    tariff = definition(
        flat_version(valid_to=date(2025, 6, 30)),
        tou_version(valid_from=date(2025, 7, 1), valid_to=date(2025, 12, 31)),
        tiered_version(valid_from=date(2026, 2, 1)),  # a gap is allowed
    )
    assert codes(tariff) == []


@pytest.mark.parametrize(
    ("versions", "code"),
    [
        ([flat_version(), flat_version(valid_from=date(2025, 7, 1))], "version_overlap"),
        (
            [
                flat_version(valid_to=date(2025, 7, 1)),
                flat_version(valid_from=date(2025, 7, 1)),
            ],
            "version_overlap",
        ),
        ([flat_version(valid_from=date(2025, 7, 1), valid_to=date(2025, 6, 1))], "version_dates"),
        ([TariffVersion(date(2025, 1, 1), kind="stepped")], "kind_unknown"),
    ],
)
def test_version_rules(versions, code):
    assert codes(definition(*versions)) == [code]


@pytest.mark.parametrize(
    ("version", "code"),
    [
        (flat_version("-0.01"), "unit_price_negative"),
        (flat_version("0.123456789"), "price_precision"),
        (tou_version(band_prices=dict(BAND_PRICES, peak=D("-1"))), "band_price_negative"),
        (tou_version(band_prices={"valley": D(1), "flat": D(1)}), "band_price_missing"),
        (tou_version(band_prices=dict(BAND_PRICES, shoulder=D(1))), "band_unknown"),
        (tiered_version(((0, "0.5"), (100, "-0.1"))), "tier_price_negative"),
        (tiered_tou_version(((0, "0"), (10, "-0.05"))), "tier_price_negative"),
        (
            flat_version(fixed_charges=[FixedCharge("Service", D("-5"))]),
            "fixed_charge_negative",
        ),
        (
            flat_version(fixed_charges=[FixedCharge("Service", D("5"), "week")]),
            "fixed_period_unknown",
        ),
    ],
)
def test_prices_must_not_be_negative(version, code):
    assert codes(definition(version)) == [code]


@pytest.mark.parametrize(
    ("steps", "code"),
    [
        ((), "tiers_missing"),
        (((10, "0.5"),), "tier_first_start"),
        (((0, "0.5"), (200, "0.6"), (100, "0.8")), "tier_order"),
        (((0, "0.5"), (100, "0.6"), (100, "0.8")), "tier_order"),
        (((0, "0.5"), (100.0001, "0.6")), "tier_precision"),
    ],
)
def test_tiers_must_be_ordered(steps, code):
    assert codes(definition(tiered_version(steps))) == [code]


def test_tier_order_message_names_the_step():
    (issue,) = validate_definition(definition(tiered_version(((0, 1), (200, 1), (100, 1)))))
    assert issue.params == {"tier": 3, "start": D(100), "previous": D(200)}
    assert issue.message == (
        "Step 3 starts at 100, which is not above the start of the previous step (200): "
        "list the steps in increasing order."
    )


@pytest.mark.parametrize(
    ("schedule", "code", "params"),
    [
        (
            (("valley", "00:00", "08:00"), ("peak", "07:00", "24:00")),
            "period_overlap",
            {"first": "00:00-08:00", "second": "07:00-24:00"},
        ),
        (
            (("valley", "00:00", "08:00"), ("peak", "09:00", "24:00")),
            "period_gap",
            {"start": "08:00", "end": "09:00"},
        ),
        ((("valley", "00:15", "24:00"),), "period_gap", {"start": "00:00", "end": "00:15"}),
        ((("valley", "00:00", "23:45"),), "period_gap", {"start": "23:45", "end": "24:00"}),
        (
            (("valley", "00:00", "08:10"), ("peak", "08:10", "24:00")),
            "period_boundary",
            {"time": "08:10"},
        ),
        (
            (("valley", "22:00", "06:00"), ("peak", "06:00", "22:00")),
            "period_empty",
            {"start": "22:00", "end": "06:00"},
        ),
        ((("valley", "00:00", "25:00"),), "period_boundary", {"time": "25:00"}),
    ],
)
def test_periods_must_tile_the_day(schedule, code, params):
    issues = validate_definition(definition(tou_version(schedule)))
    assert [issue.code for issue in issues][:1] == [code]
    assert params.items() <= issues[0].params.items()


def test_overlap_and_gap_messages_name_the_schedule():
    version_periods = periods(
        (("valley", "00:00", "08:00"), ("peak", "09:00", "24:00")), "weekend", "summer"
    )
    version_periods += periods()
    tariff = definition(
        tou_version(periods=version_periods, seasons=[Season("summer", 6, 1, 9, 30)])
    )
    (issue,) = validate_definition(tariff)
    assert issue.message == "No band is defined from 08:00 to 09:00 (summer, weekend days)."
    (issue,) = validate_definition(definition(tou_version((("valley", "00:00", "23:00"),))))
    assert issue.message == "No band is defined from 23:00 to 24:00 (all year, all days)."


@pytest.mark.parametrize(
    ("version_periods", "seasons", "code"),
    [
        ([], [], "periods_missing"),
        (periods(day_type="weekday"), [], "schedule_missing"),  # weekends and holidays
        (periods(day_type="weekday") + periods(day_type="holiday"), [], "schedule_missing"),
        (periods(season="summer"), [Season("summer", 6, 1, 9, 30)], "schedule_missing"),
        (periods(season="winter"), [], "season_unknown"),
        ([BandPeriod("shoulder", 0, 1440)], [], "band_unknown"),
        ([BandPeriod("peak", 0, 1440, "sunday")], [], "day_type_unknown"),
        (periods(), [Season("summer", 6, 31, 9, 30)], "season_date"),
        (
            periods(),
            [Season("summer", 6, 1, 9, 30), Season("summer", 10, 1, 10, 31)],
            "season_duplicate",
        ),
        (periods(), [Season("summer", 6, 1, 9, 30), Season("hot", 9, 1, 9, 30)], "season_overlap"),
    ],
)
def test_band_schedule_rules(version_periods, seasons, code):
    tariff = definition(tou_version(periods=version_periods, seasons=seasons))
    assert code in codes(tariff)


def test_weekday_and_weekend_schedules_cover_holidays():
    version_periods = periods(day_type="weekday") + periods(day_type="weekend")
    assert codes(definition(tou_version(periods=version_periods))) == []


def test_seasons_covering_the_whole_year_need_no_all_year_schedule():
    seasons = [Season("summer", 5, 1, 10, 31), Season("winter", 11, 1, 4, 30)]
    version_periods = periods(season="summer") + periods(season="winter")
    assert codes(definition(tou_version(periods=version_periods, seasons=seasons))) == []


def test_flat_version_ignores_band_and_tier_data():
    version = TariffVersion(
        date(2025, 1, 1), kind="flat", unit_price=D(1), tiers=tiers((5, "-1")), periods=[]
    )
    assert codes(definition(version)) == []


def test_digits_are_bounded():
    assert codes(definition(flat_version(), currency_digits=7)) == ["digits_invalid"]


def test_compile_raises_every_issue_at_once():
    broken = definition(
        tiered_version(((0, "-1"), (0, "1"))), tiered_version(valid_from=date(2025, 6, 1))
    )
    with pytest.raises(TariffDefinitionError) as error:
        compile_definition(broken)
    assert [issue.code for issue in error.value.issues] == [
        "tier_price_negative",
        "tier_order",
        "version_overlap",
    ]
    assert [issue.version for issue in error.value.issues] == [0, 0, 1]


def test_every_code_has_an_english_message():
    for code, template in MESSAGES.items():
        assert template.endswith((".", "%(issues)s")), code
