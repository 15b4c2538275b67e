"""Every decoder is total (hypothesis): any input gives a value only when it is a correct reply
to the request, and otherwise a ``GatewayError`` - never another exception, never a wrong value.
Inputs go through the real stream readers over an in-memory transport."""

import time
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymodbus.pdu.register_message import ReadHoldingRegistersRequest

from meter_gateway.drivers import GatewayError, ResponseTimeout
from meter_gateway.drivers.dlt645 import application as app
from meter_gateway.drivers.dlt645 import codec
from meter_gateway.drivers.modbus import RegisterMap, RtuFraming, SocketFraming
from meter_gateway.drivers.transport import MemoryTransport
from meter_gateway.simulators.modbus import SIMULATOR_MAP

pytestmark = pytest.mark.timeout(60)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REQUEST = app.read_request("000000000161", "00010000")
ENERGY = app.STANDARD_FORMATS["energy_total"]
VALID_REPLY = bytes.fromhex("68 61 01 00 00 00 00 68 91 08 33 33 34 33 59 33 33 33 8A 16")


def feed(data):
    """An in-memory transport that has received ``data`` and then stays silent."""
    client, peer = MemoryTransport.pair()
    peer.write(data)
    return client


def soon():
    """A deadline already passed: buffered bytes are still read, silence times out at once."""
    return time.monotonic() - 1


def dlt645_value(data):
    frame = codec.read_frame(feed(data), soon())
    return app.read_value(REQUEST, frame, ENERGY)


@FUZZ
@given(st.binary(max_size=64))
def test_dlt645_parse_any_bytes(data):
    try:
        frame = codec.parse_frame(data)
    except GatewayError:
        return
    assert codec.parse_frame(codec.encode(frame)) == frame


@FUZZ
@given(st.binary(max_size=40))
def test_dlt645_stream_any_bytes_gives_value_only_for_the_capture(data):
    try:
        value = dlt645_value(data)
    except GatewayError:
        return
    assert value == Decimal("0.26")  # only the valid reply (possibly after noise) decodes


@FUZZ
@given(st.integers(0, len(VALID_REPLY) * 8 - 1))
def test_dlt645_every_single_bit_error_is_caught(bit):
    garbled = bytearray(VALID_REPLY)
    garbled[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(GatewayError):
        dlt645_value(bytes(garbled))


@FUZZ
@given(st.integers(0, len(VALID_REPLY) - 1))
def test_dlt645_truncated_reply_is_an_error(size):
    with pytest.raises(GatewayError):
        dlt645_value(VALID_REPLY[:size])


@FUZZ
@given(
    st.sampled_from([codec.WILDCARD, "000000000001", "123456781012", "999999999999"]),
    st.integers(0, 0xFF),
    st.binary(max_size=40),
)
def test_dlt645_round_trip(address, control, data):
    frame = codec.Frame(address, control, data)
    assert codec.parse_frame(codec.encode(frame)) == frame


@FUZZ
@given(st.integers(-799999, 799999))
def test_dlt645_signed_bcd_round_trip(value):
    assert codec.bcd_decode(codec.bcd_encode(value, 3, signed=True), signed=True) == value


# === MODBUS === #


def rtu_reply(unit, registers):
    from pymodbus.framer.rtu import FramerRTU

    body = bytes([unit, 3, 2 * len(registers)]) + b"".join(r.to_bytes(2, "big") for r in registers)
    return body + FramerRTU.compute_CRC(body).to_bytes(2, "big")


def rtu_read(data, count=2):
    framing = RtuFraming()
    request = ReadHoldingRegistersRequest(address=0, count=count, dev_id=1)
    return framing.read_reply(feed(data), soon(), request).registers


@FUZZ
@given(st.binary(max_size=40))
def test_rtu_any_bytes(data):
    try:
        registers = rtu_read(data)
    except GatewayError:
        return
    assert data[:3] == b"\x01\x03\x04" and len(registers) == 2


@FUZZ
@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.data())
def test_rtu_single_bit_errors_are_caught(high, low, data):
    reply = rtu_reply(1, [high, low])
    bit = data.draw(st.integers(0, len(reply) * 8 - 1))
    garbled = bytearray(reply)
    garbled[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(GatewayError):
        rtu_read(bytes(garbled))
    assert rtu_read(reply) == [high, low]


@FUZZ
@given(st.binary(min_size=0, max_size=40))
def test_modbus_tcp_any_bytes(data):
    framing = SocketFraming()
    request = ReadHoldingRegistersRequest(address=0, count=2, dev_id=1)
    framing.request(request)
    try:
        pdu = framing.read_reply(feed(data), soon(), request)
    except GatewayError:
        return
    assert len(pdu.registers) == 2 and data[6:9] == b"\x01\x03\x04"


@FUZZ
@given(st.lists(st.integers(0, 0xFFFF), min_size=17, max_size=17))
def test_register_map_decodes_any_words_to_decimals(words):
    register_map = RegisterMap.from_json(SIMULATOR_MAP)
    start, count, members = register_map.blocks()[0]
    values = register_map.decode_block(start, words[:count], members)
    assert all(isinstance(v, Decimal) for v in values.values())


def test_silence_is_a_timeout_not_a_frame_error():
    with pytest.raises(ResponseTimeout):
        dlt645_value(b"")
    with pytest.raises(ResponseTimeout):
        rtu_read(b"")
