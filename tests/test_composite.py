"""The monthly composite report's pure core: changes against a base ("n/a" for zero), the
TOU bands from registers, one row per account and the totals row."""

from decimal import Decimal

from prepaid_billing.tools.composite import (
    NOT_AVAILABLE,
    MeterRegisters,
    composite_rows,
    percent_change,
    totals_row,
)

D = Decimal


def test_percent_change_signed_to_one_decimal():
    assert percent_change(D("110"), D("100")) == "+10.0%"
    assert percent_change(D("90"), D("100")) == "-10.0%"
    assert percent_change(D("100"), D("100")) == "0.0%"
    assert percent_change(D("0"), D("80")) == "-100.0%"
    # Half up: 1/3 of a percent more.
    assert percent_change(D("300.5"), D("300")) == "+0.2%"


def test_percent_change_without_a_base_is_not_available():
    assert percent_change(D("50"), D("0")) == NOT_AVAILABLE
    assert percent_change(D("0"), D("0")) == NOT_AVAILABLE
    assert percent_change(D("50"), None) == NOT_AVAILABLE


def test_band_kwh_is_the_band_registers_advance_times_the_multiplier():
    meter = MeterRegisters(
        opening=D("100"),
        closing=D("130"),
        multiplier=D("40"),
        opening_bands=(D("10"), D("20"), D("30"), None),
        closing_bands=(D("12.5"), D("30"), D("47.5"), None),
    )
    assert meter.band_kwh() == (D("100.0"), D("400"), D("700.0"), D(0))


def test_rows_per_account_and_totals():
    meter = MeterRegisters(opening=D("1"), closing=D("2"), multiplier=D("1"))
    rows = composite_rows(
        [7, 8, 9],
        {7: (70, meter)},
        {
            7: {"kwh": "120", "kwh_previous_month": "100", "kwh_previous_year": "0"},
            8: {"kwh": "30", "kwh_previous_month": "0", "kwh_previous_year": "60"},
        },
        {
            7: {"charges": "60.00", "payments": "100.00", "closing_balance": "40.00"},
            8: {"fees": "12.34", "shares": "0.66", "closing_balance": "-13.00"},
        },
    )
    assert [row.account_id for row in rows] == [7, 8, 9]
    first, second, empty = rows
    assert (first.meter_id, first.opening, first.closing) == (70, D(1), D(2))
    assert (first.change_month, first.change_year) == ("+20.0%", NOT_AVAILABLE)
    assert (second.change_month, second.change_year) == (NOT_AVAILABLE, "-50.0%")
    assert (second.meter_id, second.opening) == (None, None)
    assert (empty.kwh, empty.closing_balance, empty.change_month) == (D(0), D(0), NOT_AVAILABLE)
    total = totals_row(rows)
    assert total.kwh == D(150)
    assert (total.kwh_previous_month, total.kwh_previous_year) == (D(100), D(60))
    assert (total.fees, total.shares, total.charges) == (D("12.34"), D("0.66"), D("60.00"))
    assert total.closing_balance == D("27.00")
    assert (total.change_month, total.change_year) == ("+50.0%", "+150.0%")
