"""The fifth band, deep valley (深谷), used by several Chinese provinces."""

import pytest
from tariff_builders import D, definition, interval, tou_version

from prepaid_meter.tools.tariff_engine import (
    BANDS,
    TariffDefinitionError,
    rate_intervals,
    validate_definition,
)

# A five-band day: deep valley at midday (solar hours), as in some provinces' 2024 tariffs.
FIVE_BANDS = (
    ("valley", "00:00", "08:00"),
    ("flat", "08:00", "11:00"),
    ("deep_valley", "11:00", "14:00"),
    ("peak", "14:00", "19:00"),
    ("sharp", "19:00", "21:00"),
    ("flat", "21:00", "24:00"),
)
PRICES = {
    "sharp": D("1.2"),
    "peak": D("1.0"),
    "flat": D("0.6"),
    "valley": D("0.3"),
    "deep_valley": D("0.15"),
}


def test_deep_valley_is_the_fifth_band():
    assert BANDS == ("sharp", "peak", "flat", "valley", "deep_valley")


def test_deep_valley_hours_are_priced_at_their_own_price():
    tariff = definition(tou_version(FIVE_BANDS, band_prices=PRICES))
    result = rate_intervals(tariff, [interval("2025-03-03 10:00", "2025-03-03 15:00", "5")])
    assert [(line.band, line.quantity, line.amount) for line in result.lines] == [
        ("flat", D(1), D("0.60")),
        ("deep_valley", D(3), D("0.45")),
        ("peak", D(1), D("1.00")),
    ]


def test_a_deep_valley_register_is_charged_as_read():
    tariff = definition(tou_version(FIVE_BANDS, band_prices=PRICES))
    split = {"deep_valley": D("2.5"), "valley": D("1.5")}
    result = rate_intervals(
        tariff, [interval("2025-03-03 00:00", "2025-03-04 00:00", "4", band_split=split)]
    )
    assert [(line.band, line.quantity) for line in result.lines] == [
        ("valley", D("1.5")),
        ("deep_valley", D("2.5")),
    ]
    assert result.amount == D("0.83")  # 0.45 + 0.375, rounded half-up


def test_deep_valley_periods_need_a_deep_valley_price():
    prices = {band: price for band, price in PRICES.items() if band != "deep_valley"}
    tariff = definition(tou_version(FIVE_BANDS, band_prices=prices))
    assert [(issue.code, issue.params) for issue in validate_definition(tariff)] == [
        ("band_price_missing", {"band": "deep_valley"})
    ]
    with pytest.raises(TariffDefinitionError, match="deep_valley"):
        rate_intervals(tariff, [])
