"""The row parser of the ingestions bounds ids and numbers to what the columns hold, so that
one bad value is one rejected row, never a database error aborting the batch (no Odoo)."""

import math
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prepaid_meter.tools.ingest_rows import (
    MAX_RECORD_ID,
    NumberError,
    RowError,
    collect_rows,
    is_record_id,
    parse_number,
    pg_array,
    to_number,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, True),
        (MAX_RECORD_ID, True),
        (MAX_RECORD_ID + 1, False),
        (2**63, False),
        (0, False),
        (-1, False),
        (True, False),
        ("1", False),
        (1.0, False),
        (None, False),
    ],
)
def test_record_ids_fit_an_int4_column(value, expected):
    assert is_record_id(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (459.5, 459.5),
        ("459.5", Decimal("459.5")),
        (" 99999 ", Decimal("99999")),
        (Decimal("1.0005"), Decimal("1.001")),  # Half away from zero, like SQL round().
        (Decimal("-1.0005"), Decimal("-1.001")),
        ("1e-999999", Decimal("0.000")),  # Rounded to the scale: no exponent for PostgreSQL.
        ("0E+999999", Decimal(0)),
        ("1E+12", Decimal("1E+12")),
        ("9999999999999.999", Decimal("9999999999999.999")),
        (9_999_999_999_999, 9_999_999_999_999),
        (0, 0),
    ],
)
def test_numbers_in_range(value, expected):
    assert parse_number(value) == expected


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("1E+999999", "too_large"),
        ("12345678901234567890", "too_large"),
        ("10000000000000", "too_large"),
        (10**13, "too_large"),
        (-(10**13), "too_large"),
        (1e13, "too_large"),
        (1e308, "too_large"),
        ("nan", "not_finite"),
        ("NaN", "not_finite"),
        ("-Infinity", "not_finite"),
        ("sNaN", "not_finite"),
        (float("nan"), "not_finite"),
        (float("inf"), "not_finite"),
        (Decimal("Infinity"), "not_finite"),
        ("1" * 41, "too_long"),
        ("0." + "0" * 60 + "1", "too_long"),
        ("abc", "invalid"),
        ("", "invalid"),
        ("1,5", "invalid"),
        (True, "invalid"),
        (None, "invalid"),
        ([1], "invalid"),
    ],
)
def test_numbers_out_of_range_say_why(value, kind):
    with pytest.raises(NumberError) as error:
        parse_number(value)
    assert error.value.kind == kind
    assert to_number(value) is None


def test_bounds_follow_the_digits():
    assert parse_number("999999.99", digits=(8, 2)) == Decimal("999999.99")
    with pytest.raises(NumberError) as error:
        parse_number("1000000", digits=(8, 2))
    assert error.value.limit == 6


@given(st.decimals(allow_nan=True, allow_infinity=True))
def test_any_decimal_is_a_bounded_number_or_refused(value):
    try:
        number = parse_number(value)
    except NumberError:
        return
    assert number.is_finite()
    assert abs(number) < 10**13
    assert number.as_tuple().exponent >= -3 or number == 0
    # What the statements receive: a literal PostgreSQL's numeric accepts.
    assert len(str(number)) <= 24


@given(st.floats())
def test_any_float_is_a_bounded_number_or_refused(value):
    number = to_number(value)
    assert number is None or (math.isfinite(number) and abs(number) < 10**13)


def test_a_bad_row_is_rejected_and_the_rest_collected():
    def parse_row(row):
        meter_id, total = row
        if not is_record_id(meter_id):
            raise RowError("bad meter")
        try:
            return meter_id, parse_number(total)
        except NumberError as error:
            raise RowError(error.kind) from None

    rows = [(1, "1"), (2**31, "2"), (3, "1E+999999"), (4, "nan"), (5, 5.5), (5, 6.0)]
    prepared = collect_rows(rows, parse_row, ("meter_ids", "totals"), key_size=1)
    assert prepared["errors"] == [(1, "bad meter"), (2, "too_large"), (3, "not_finite")]
    assert prepared["columns"] == {
        "indexes": [0, 4],
        "meter_ids": [1, 5],
        "totals": [Decimal(1), 5.5],
    }
    assert prepared["duplicates"] == 1
    assert pg_array(prepared["columns"]["totals"]) == "{1,5.5}"
    assert pg_array([datetime(2024, 1, 1), None]) == "{2024-01-01 00:00:00,NULL}"
