"""Tiered + time of use with a price grid per (band, step), besides band price + adder."""

import dataclasses

import pytest
from hypothesis import given
from tariff_builders import D, definition, hourly, interval, periods, tiered_tou_version, tiers
from test_tariff_engine_properties import SETTINGS, cycle_quantities, interval_lists, tariffs

from prepaid_meter.tools.tariff_engine import (
    BANDS,
    TariffDefinitionError,
    TariffVersion,
    proportional_true_up,
    rate_intervals,
    validate_definition,
)

# valley 00:00-08:00, flat 08:00-10:30, peak 10:30-21:00, valley 21:00-24:00; steps at 0 and 10.
GRID = {
    ("peak", 1): D("1.0"),
    ("peak", 2): D("1.5"),  # +0.5 in peak...
    ("flat", 1): D("0.6"),
    ("flat", 2): D("0.7"),
    ("valley", 1): D("0.3"),
    ("valley", 2): D("0.32"),  # ...+0.02 in valley: no common adder
}


def grid_version(grid=GRID, steps=((0, "0"), (10, "0"))):
    return tiered_tou_version(steps=steps, pricing="grid", price_grid=grid)


def test_each_band_and_step_has_its_own_price():
    tariff = definition(grid_version())
    # 12 kWh at peak from a cycle at 0: 10 at 1.0 then 2 at 1.5; then 5 in the valley at 0.32.
    result = rate_intervals(
        tariff,
        [
            interval("2025-03-03 11:00", "2025-03-03 12:00", "12"),
            interval("2025-03-03 23:00", "2025-03-04 00:00", "5"),
        ],
    )
    assert [(line.band, line.tier, line.quantity, line.unit_price) for line in result.lines] == [
        ("peak", 1, D(10), D("1.0")),
        ("peak", 2, D(2), D("1.5")),
        ("valley", 2, D(5), D("0.32")),
    ]
    assert result.amount == D("14.60")


def test_the_grid_replaces_band_prices_and_adders():
    """Band prices and adders of a grid version are not used."""
    version = grid_version(steps=((0, "9"), (10, "9")))
    result = rate_intervals(definition(version), hourly("2025-03-03 11:00", 1, "1"))
    assert result.lines[0].unit_price == D("1.0")


def test_every_band_and_step_used_needs_a_price():
    grid = {key: price for key, price in GRID.items() if key != ("valley", 2)}
    tariff = definition(grid_version(grid))
    assert [(issue.code, issue.params) for issue in validate_definition(tariff)] == [
        ("grid_price_missing", {"band": "valley", "tier": 2})
    ]
    with pytest.raises(TariffDefinitionError, match="step 2 of the price grid has no price"):
        rate_intervals(tariff, [])
    # A band that no period uses needs no price; a step that does not exist is refused.
    assert validate_definition(definition(grid_version({**GRID, ("sharp", 1): D(2)}))) == []
    assert [
        (issue.code, issue.params)
        for issue in validate_definition(definition(grid_version({**GRID, ("peak", 3): D(2)})))
    ] == [("grid_step_unknown", {"tier": 3})]
    negative = definition(grid_version({**GRID, ("peak", 2): D("-1")}))
    assert [issue.code for issue in validate_definition(negative)] == ["grid_price_negative"]
    # A grid without prices prices nothing.
    assert len(validate_definition(definition(grid_version({})))) == 6
    unknown = definition(tiered_tou_version(pricing="matrix"))
    assert [issue.code for issue in validate_definition(unknown)] == ["pricing_unknown"]


def test_the_grid_is_stored_in_band_then_step_order():
    version = TariffVersion(
        grid_version().valid_from,
        kind="tiered_tou",
        tiers=tiers((0, 0), (10, 0)),
        periods=periods(),
        pricing="grid",
        price_grid=[(("valley", 2), D(1)), (("peak", 1), D(2))],
    )
    assert version.price_grid == ((("peak", 1), D(2)), (("valley", 2), D(1)))
    assert version.grid_price("valley", 2) == D(1) and version.grid_price("valley", 1) is None


@SETTINGS
@given(tariffs(), interval_lists(), cycle_quantities)
def test_a_grid_of_band_price_plus_adder_rates_like_the_adder_model(tariff, intervals, cycle):
    def as_grid(version):
        if version.kind != "tiered_tou":
            return version
        grid = {
            (band, step): price + tier.price
            for band, price in version.band_prices
            for step, tier in enumerate(version.tiers, start=1)
            if band in BANDS
        }
        return dataclasses.replace(version, pricing="grid", price_grid=grid)

    gridded = dataclasses.replace(tariff, versions=[as_grid(v) for v in tariff.versions])
    assert rate_intervals(gridded, intervals, cycle) == rate_intervals(tariff, intervals, cycle)


# === MONTH-END TRUE-UP TO THE PROPORTIONAL CONVENTION === #

STEEP = {
    ("peak", 1): D("1.0"),
    ("peak", 2): D("2.0"),
    ("flat", 1): D("0.6"),
    ("flat", 2): D("0.6"),
    ("valley", 1): D("0.3"),
    ("valley", 2): D("0.4"),
}


def test_true_up_allocates_the_steps_to_the_bands_in_proportion():
    """10 kWh of valley early in the month, 10 of peak later: chronologically the peak pays
    step 2 (3.00 + 20.00); in proportion each band gets half of each step
    (5 x 0.3 + 5 x 0.4 + 5 x 1.0 + 5 x 2.0 = 18.50): the true-up gives back 4.50."""
    tariff = definition(grid_version(STEEP))
    cycle = rate_intervals(
        tariff,
        [
            interval("2025-03-03 00:00", "2025-03-03 01:00", "10"),
            interval("2025-03-20 12:00", "2025-03-20 13:00", "10"),
        ],
    )
    true_up = proportional_true_up(tariff, cycle.lines)
    assert (true_up.chronological, true_up.proportional, true_up.amount) == (
        D("23.00"),
        D("18.50"),
        D("-4.50"),
    )
    assert true_up.chronological == cycle.amount
    assert sorted(
        (band, tier, str(qty.normalize())) for _v, band, tier, qty in true_up.allocation
    ) == [
        ("peak", 1, "5"),
        ("peak", 2, "5"),
        ("valley", 1, "5"),
        ("valley", 2, "5"),
    ]


def test_true_up_rounds_the_exact_proportional_total_once():
    """Thirds: 1 kWh valley + 2 kWh peak across a step at 1 kWh; peak gets 2/3 of each step."""
    tariff = definition(grid_version(STEEP, steps=((0, "0"), (1, "0"))))
    cycle = rate_intervals(
        tariff,
        [
            interval("2025-03-03 00:00", "2025-03-03 01:00", "1"),
            interval("2025-03-03 12:00", "2025-03-03 13:00", "2"),
        ],
    )
    # valley: 1/3 x 0.3 + 2/3 x 0.4 = 1.1/3; peak: 2/3 x 1.0 + 4/3 x 2.0 = 10/3 -> 11.1/3
    true_up = proportional_true_up(tariff, cycle.lines)
    assert (true_up.chronological, true_up.proportional, true_up.amount) == (
        D("4.30"),
        D("3.70"),
        D("-0.60"),
    )


@SETTINGS
@given(tariffs(), interval_lists())
def test_without_a_grid_both_conventions_agree(tariff, intervals):
    """Adder model, flat, tou, tiered: the proportional total is the chronological one."""
    cycle = rate_intervals(tariff, intervals)
    true_up = proportional_true_up(tariff, cycle.lines)
    assert true_up.chronological == cycle.amount
    assert true_up.amount == 0
