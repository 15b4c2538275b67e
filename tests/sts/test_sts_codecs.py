"""Field codecs: amount, CRC, token identifier, class-bit transposition."""

import itertools
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from prepaid_billing.sts import amount, crc, tid, transpose
from prepaid_billing.sts.exceptions import (
    RejectReason,
    StsInputError,
    TidRangeError,
    TokenRejected,
)

UTC = timezone.utc

# === AMOUNT === #


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("0", 0x0000),
        ("0.1", 0x0001),
        ("25.6", 0x0100),
        ("1638.3", 0x3FFF),
        ("1638.4", 0x4000),
        ("2000.0", 0x416A),
        ("18022.3", 0x8000),
        ("18022.4", 0x8000),
        ("181862.3", 0xC000),
        ("181862.4", 0xC000),
        ("1820162.4", 0xFFFF),
    ],
)
def test_encode_credit_edges(value, code):
    assert amount.encode_credit(Decimal(value)) == code


@pytest.mark.parametrize(
    ("code", "value"),
    [
        (0x3FFF, "1638.3"),
        (0x4000, "1638.4"),
        (0x416A, "2000.4"),
        (0x8000, "18022.4"),
        (0xC000, "181862.4"),
        (0xFFFF, "1820162.4"),
    ],
)
def test_decode_credit_edges(code, value):
    assert amount.decode_credit(code) == Decimal(value)


def test_credit_rounds_up_never_down():
    # 2000.0 cannot be represented: the customer gets 2000.4, not 1999.4.
    assert amount.decode_credit(amount.encode_credit("2000.0")) == Decimal("2000.4")
    # A fraction of the 0.1 step is rounded up to a whole step.
    assert amount.encode_credit("0.01") == 0x0001
    assert amount.encode_credit("1638.31") == 0x4000


def test_credit_accepts_float_int_str_exactly():
    assert amount.encode_credit(1638.3) == amount.encode_credit("1638.3") == 0x3FFF
    assert amount.encode_credit(25) == amount.encode_credit(Decimal("25.0"))


@pytest.mark.parametrize("value", ["-0.1", "1820162.5", "nan", "inf", "abc", None])
def test_credit_out_of_range(value):
    with pytest.raises(StsInputError):
        amount.encode_credit(value)


def test_power_limit_has_no_tenths():
    # Power limits count watts: the same code without the x10 factor.
    assert amount.encode_power(1000) == 0x03E8
    assert amount.decode_power(0x03E8) == 1000
    assert amount.decode_power(0x416A) == 20004
    assert amount.encode_power(Decimal("16383.2")) == 0x4000  # rounded up to 16384 W
    with pytest.raises(StsInputError):
        amount.encode_power(-1)


def test_codes_are_strictly_increasing():
    # Every code means more than the previous one: the ranges do not overlap,
    # which is what makes "smallest code >= value" well defined.
    values = [amount.decode_steps(code) for code in range(0x10000)]
    assert all(a < b for a, b in itertools.pairwise(values))
    assert values[-1] == amount.MAX_STEPS == 18_201_624


def test_decode_rejects_non_16_bit():
    with pytest.raises(StsInputError):
        amount.decode_steps(0x10000)


# === CRC === #


def test_crc16_modbus_check_value():
    assert crc.crc16_modbus(b"123456789") == 0x4B37


def test_token_crc_is_byte_swapped_modbus_over_class_and_fields():
    fields = 0x0559982C0001  # block 0559982c00012831 of a conformance vector
    raw = crc.crc16_modbus((0 << 48 | fields).to_bytes(7, "big"))
    assert crc.token_crc(0, fields) == crc.swap16(raw) == 0x2831


def test_token_crc_covers_the_class():
    assert crc.token_crc(0, 0x0559982C0001) != crc.token_crc(2, 0x0559982C0001)


# === TOKEN IDENTIFIER === #


def test_tid_of_worked_example():
    assert tid.tid_for(datetime(2004, 3, 1, 13, 55, tzinfo=UTC), 1993) == 5871715


def test_tid_drops_seconds_and_takes_naive_as_utc():
    assert tid.tid_for(datetime(2004, 3, 1, 13, 55, 59), 1993) == 5871715
    cet = timezone(timedelta(hours=1))
    assert tid.tid_for(datetime(2004, 3, 1, 14, 55, tzinfo=cet), 1993) == 5871715


@pytest.mark.parametrize("base", [1993, 2014, 2035])
def test_tid_starts_at_base_date(base):
    assert tid.tid_for(tid.BASE_DATES[base], base) == 0
    assert tid.datetime_for(0, base) == tid.BASE_DATES[base]


def test_1993_rollover():
    end = tid.rollover_at(1993)
    assert end == datetime(2024, 11, 24, 20, 16, tzinfo=UTC)
    assert tid.tid_for(end - timedelta(minutes=1), 1993) == tid.TID_LIMIT - 1
    with pytest.raises(TidRangeError, match="base date 2014"):
        tid.tid_for(end, 1993)
    # The same moment is fine on the 2014 base date.
    assert tid.tid_for(end, 2014) == (end - tid.BASE_DATES[2014]) // timedelta(minutes=1)


def test_tid_before_base_date():
    with pytest.raises(TidRangeError):
        tid.tid_for(datetime(2013, 12, 31, 23, 59, tzinfo=UTC), 2014)


def test_tid_round_trip():
    when = datetime(2019, 6, 30, 23, 59, tzinfo=UTC)
    assert tid.datetime_for(tid.tid_for(when, 2014), 2014) == when


def test_base_dates():
    assert tid.next_base_date(1993) == 2014
    assert tid.next_base_date(2014) == 2035
    with pytest.raises(TidRangeError):
        tid.next_base_date(2035)
    assert tid.base_date_for(datetime(2010, 1, 1, tzinfo=UTC)) == 1993
    assert tid.base_date_for(datetime(2020, 1, 1, tzinfo=UTC)) == 2014
    assert tid.base_date_for(datetime(2040, 1, 1, tzinfo=UTC)) == 2035
    with pytest.raises(StsInputError):
        tid.tid_for(datetime(2000, 1, 1, tzinfo=UTC), 2000)
    with pytest.raises(StsInputError):
        tid.datetime_for(tid.TID_LIMIT, 1993)


# === TRANSPOSITION === #


def test_transposition_moves_class_into_bits_28_27():
    # Class 1 block 0x10000600 has bit 28 set: it moves to bit 65.
    number = transpose.insert_class(1, 0x0000000010000600)
    assert number == 1 << 65 | 0x08000600
    assert transpose.to_digits(number) == "36893488147553322496"
    assert transpose.extract_class(number) == (1, 0x0000000010000600)


@pytest.mark.parametrize("token_class", [0, 1, 2, 3])
def test_transposition_round_trip(token_class):
    for block in (0, (1 << 64) - 1, 0x18000000, 0x0123456789ABCDEF):
        number = transpose.insert_class(token_class, block)
        assert number < transpose.TOKEN_LIMIT
        assert transpose.extract_class(number) == (token_class, block)


def test_parse_digits_accepts_groups():
    assert transpose.parse_digits("2371 6100 5011 8319 4197") == 23716100501183194197
    assert transpose.parse_digits("2371-6100-5011-8319-4197") == 23716100501183194197


@pytest.mark.parametrize(
    "text",
    [
        "2371610050118319419",
        "237161005011831941970",
        "2371610050118319419x",
        "99999999999999999999",
        "٢٣٧١٦١٠٠٥٠١١٨٣١٩٤١٩٧",
    ],
)
def test_parse_digits_rejects(text):
    with pytest.raises(TokenRejected) as info:
        transpose.parse_digits(text)
    assert info.value.reason is RejectReason.FORMAT


def test_group():
    assert transpose.group("23716100501183194197") == "2371 6100 5011 8319 4197"
    assert transpose.group("23716100501183194197", sep="-") == "2371-6100-5011-8319-4197"


def test_last_base_date_has_no_successor():
    with pytest.raises(TidRangeError, match="no later base date"):
        tid.tid_for(tid.rollover_at(2035), 2035)
