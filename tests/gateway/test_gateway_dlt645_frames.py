"""DL/T 645-2007 frames byte for byte: the published capture of PROTOCOLS.md section 4, and
frames built by hand here from the layout (offset, checksum) rather than by the codec."""

from datetime import datetime
from decimal import Decimal

import pytest

from meter_gateway.drivers import (
    AddressMismatch,
    ChecksumError,
    DeviceErrorReply,
    FrameError,
    ResponseMismatch,
    TruncatedFrame,
    Unsupported,
    ValueOutOfRange,
)
from meter_gateway.drivers.dlt645 import application as app
from meter_gateway.drivers.dlt645 import codec


def hand_frame(address_low_first, control, data):
    """68 A0..A5 68 C L DATA+33 CS 16 with the preamble, computed without the codec."""
    body = [0x68, *address_low_first, 0x68, control, len(data), *((b + 0x33) % 256 for b in data)]
    return bytes([0xFE] * 4 + body + [sum(body) % 256, 0x16])


def h(text):
    return bytes.fromhex(text)


# === PUBLISHED CAPTURE === #


def test_read_energy_request_matches_capture():
    frame = codec.encode(app.read_request("000000000161", "00010000"))
    assert frame == h("FE FE FE FE 68 61 01 00 00 00 00 68 11 04 33 33 34 33 14 16")


def test_read_energy_reply_decodes_to_026_kwh():
    reply = codec.parse_frame(h("68 61 01 00 00 00 00 68 91 08 33 33 34 33 59 33 33 33 8A 16"))
    request = app.read_request("000000000161", "00010000")
    value = app.read_value(request, reply, app.STANDARD_FORMATS["energy_total"])
    assert value == Decimal("0.26") and isinstance(value, Decimal)


def test_read_address_request_matches_capture():
    assert codec.encode(app.read_address_request()) == h(
        "FE FE FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16"
    )


def test_broadcast_time_matches_capture():
    frame = codec.encode(app.broadcast_time_request(datetime(2024, 1, 2, 3, 4, 5)))
    assert frame == h("FE FE FE FE 68 99 99 99 99 99 99 68 08 06 38 37 36 35 34 57 D9 16")


def test_address_is_bcd_low_byte_first():
    assert codec.encode_address("123456781012") == h("12 10 78 56 34 12")
    assert codec.decode_address(h("12 10 78 56 34 12")) == "123456781012"
    assert codec.normalize_address("161") == "000000000161"


# === HAND-BUILT FRAMES OF EACH KIND === #


@pytest.mark.parametrize(
    ("name", "di", "di_wire"),
    [
        ("energy_t1", "00010100", [0x00, 0x01, 0x01, 0x00]),
        ("energy_t4", "00010400", [0x00, 0x04, 0x01, 0x00]),
        ("voltage", "02010100", [0x00, 0x01, 0x01, 0x02]),
        ("current", "02020100", [0x00, 0x01, 0x02, 0x02]),
        ("active_power", "02030000", [0x00, 0x00, 0x03, 0x02]),
    ],
)
def test_read_requests_of_each_identifier(name, di, di_wire):
    address = [0x12, 0x10, 0x78, 0x56, 0x34, 0x12]
    assert app.STANDARD_FORMATS[name].di == di
    assert codec.encode(app.read_request("123456781012", di)) == hand_frame(address, 0x11, di_wire)


@pytest.mark.parametrize(
    ("name", "value_wire", "expected"),
    [
        ("voltage", [0x05, 0x23], Decimal("230.5")),  # XXX.X V
        ("current", [0x56, 0x34, 0x12], Decimal("123.456")),  # XXX.XXX A
        ("current", [0x56, 0x34, 0x92], Decimal("-123.456")),  # sign bit (UNVERIFIED)
        ("active_power", [0x34, 0x12, 0x01], Decimal("1.1234")),  # XX.XXXX kW
        ("energy_t2", [0x99, 0x99, 0x99, 0x99], Decimal("999999.99")),
    ],
)
def test_read_replies_decode_with_their_format(name, value_wire, expected):
    data_format = app.STANDARD_FORMATS[name]
    di_wire = list(app.di_bytes(data_format.di))
    raw = hand_frame([1, 0, 0, 0, 0, 0], 0x91, di_wire + value_wire)
    request = app.read_request("000000000001", data_format.di)
    assert app.read_value(request, codec.parse_frame(raw), data_format) == expected


def test_date_and_time_replies():
    date = codec.parse_frame(
        hand_frame([1, 0, 0, 0, 0, 0], 0x91, [1, 1, 0, 4, 0x06, 0x01, 0x03, 0x25])
    )
    time = codec.parse_frame(hand_frame([1, 0, 0, 0, 0, 0], 0x91, [2, 1, 0, 4, 0x05, 0x04, 0x23]))
    assert app.decode_date_time(date.data[4:], time.data[4:]) == datetime(2025, 3, 1, 23, 4, 5)
    with pytest.raises(ValueOutOfRange):
        app.decode_date_time(bytes([6, 0x31, 0x02, 0x25]), bytes([0, 0, 0]))  # 31 February


def test_relay_trip_request_layout():
    """1C (UNVERIFIED layout): PA P0..P2 C0..C3 N1=1A N2=00 deadline ss mm hh DD MM YY."""
    frame = app.relay_request(
        "000000000001", False, 2, "123456", "00000001", datetime(2025, 3, 1, 12, 30, 0)
    )
    expected = hand_frame(
        [1, 0, 0, 0, 0, 0],
        0x1C,
        [0x02, 0x56, 0x34, 0x12, 0x01, 0, 0, 0, 0x1A, 0x00, 0x00, 0x30, 0x12, 0x01, 0x03, 0x25],
    )
    assert codec.encode(frame) == expected


def test_write_request_layout():
    frame = app.write_request("000000000001", "04000102", b"\x00\x30\x12", 2, "000000", "00000000")
    expected = hand_frame(
        [1, 0, 0, 0, 0, 0], 0x14, [2, 1, 0, 4, 2, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x30, 0x12]
    )
    assert codec.encode(frame) == expected


def test_read_address_reply():
    raw = hand_frame(
        [0x12, 0x10, 0x78, 0x56, 0x34, 0x12], 0x93, [0x12, 0x10, 0x78, 0x56, 0x34, 0x12]
    )
    reply = app.check_reply(app.read_address_request(), codec.parse_frame(raw))
    assert codec.decode_address(reply.data) == "123456781012"


# === ERRORS === #


def test_error_reply_is_a_device_error_with_its_code():
    raw = hand_frame([1, 0, 0, 0, 0, 0], 0xD1, [0x02])
    with pytest.raises(DeviceErrorReply) as error:
        app.check_reply(app.read_request("000000000001", "00010000"), codec.parse_frame(raw))
    assert error.value.code == 0x02 and not error.value.retryable


def test_follow_up_reply_is_unsupported_not_half_read():
    raw = hand_frame([1, 0, 0, 0, 0, 0], 0xB1, [0, 0, 1, 0, 0x26, 0, 0, 0])
    with pytest.raises(Unsupported):
        app.check_reply(app.read_request("000000000001", "00010000"), codec.parse_frame(raw))


def test_reply_from_another_address():
    raw = hand_frame([2, 0, 0, 0, 0, 0], 0x91, [0, 0, 1, 0, 0x26, 0, 0, 0])
    with pytest.raises(AddressMismatch):
        app.check_reply(app.read_request("000000000001", "00010000"), codec.parse_frame(raw))


def test_reply_for_another_identifier():
    raw = hand_frame([1, 0, 0, 0, 0, 0], 0x91, [0, 1, 1, 0, 0x26, 0, 0, 0])
    request = app.read_request("000000000001", "00010000")
    with pytest.raises(ResponseMismatch):
        app.read_value(request, codec.parse_frame(raw), app.STANDARD_FORMATS["energy_total"])


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (h("68 61 01 00 00 00 00 68 91 08 33 33 34 33 59 33 33 33 8B 16"), ChecksumError),
        (h("68 61 01 00 00 00 00 68 91 08 33 33 34 33 59 33"), TruncatedFrame),
        (h("68 61 01 00 00 00 00 67 91 08 33 33 34 33 59 33 33 33 8A 16"), FrameError),
        (h("68 61 01 00 00 00 00 68 91 08 33 33 34 33 59 33 33 33 8A 17"), FrameError),
        (h("FE FE FE"), TruncatedFrame),
        (h("68 6A 01 00 00 00 00 68 91 00 6B 16"), FrameError),  # address nibble A: not BCD
    ],
)
def test_bad_frames_give_typed_errors(raw, error):
    with pytest.raises(error):
        codec.parse_frame(raw)


def test_invalid_bcd_value_is_refused():
    raw = hand_frame([1, 0, 0, 0, 0, 0], 0x91, [0, 0, 1, 0, 0x2A, 0, 0, 0])
    request = app.read_request("000000000001", "00010000")
    with pytest.raises(ValueOutOfRange):
        app.read_value(request, codec.parse_frame(raw), app.STANDARD_FORMATS["energy_total"])
