"""Modbus RTU / TCP frames byte for byte (CRC computed here independently of pymodbus), and the
catalogue's register maps read as data."""

import json
import re
import time
from decimal import Decimal

import pytest
from bare_addons import ADDONS
from pymodbus.pdu.bit_message import WriteSingleCoilRequest
from pymodbus.pdu.register_message import ReadHoldingRegistersRequest

from meter_gateway.drivers import (
    AddressMismatch,
    Bus,
    ChecksumError,
    ConfigurationError,
    DeviceErrorReply,
    ResponseMismatch,
    TruncatedFrame,
    Unsupported,
)
from meter_gateway.drivers.modbus import ModbusDriver, RegisterMap, RtuFraming, SocketFraming
from meter_gateway.drivers.transport import MemoryTransport, ResponderTransport


def crc16_modbus(data):
    """CRC-16/MODBUS (reflected 0xA001, init 0xFFFF), low byte first on the wire."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc.to_bytes(2, "little")


def rtu(hex_text):
    body = bytes.fromhex(hex_text)
    return body + crc16_modbus(body)


def catalogue_map(code):
    """The register map JSON of a model of prepaid_meter's catalogue data file."""
    xml = (ADDONS / "prepaid_meter/data/prepaid_meter_model_data.xml").read_text()
    record = xml[xml.index(f'<field name="model_code">{code}</field>') :]
    match = re.search(r'<field name="register_map">(.*?)</field>', record, re.S)
    return json.loads(match.group(1))


def reply_from(data):
    client, peer = MemoryTransport.pair()
    peer.write(data)
    return client


def test_known_crc():
    assert rtu("01 03 00 00 00 0A") == bytes.fromhex("01 03 00 00 00 0A C5 CD")


def test_rtu_read_request_of_the_ddsy1352_energy_block():
    framing = RtuFraming()
    request = ReadHoldingRegistersRequest(address=0, count=17, dev_id=5)
    assert framing.request(request) == rtu("05 03 00 00 00 11")


def test_rtu_reply_decodes():
    request = ReadHoldingRegistersRequest(address=0, count=2, dev_id=5)
    reply = RtuFraming().read_reply(
        reply_from(rtu("05 03 04 00 01 86 A0")), time.monotonic(), request
    )
    assert list(reply.registers) == [1, 0x86A0]


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (rtu("05 83 02"), DeviceErrorReply),
        (rtu("06 03 04 00 01 86 A0"), AddressMismatch),
        (rtu("05 03 04 00 01 86 A0")[:-1] + b"\x00", ChecksumError),
        (rtu("05 03 04 00 01 86 A0")[:5], TruncatedFrame),
        (rtu("05 03 02 00 01"), ResponseMismatch),
        (rtu("05 04 04 00 01 86 A0"), ResponseMismatch),
    ],
)
def test_rtu_bad_replies(raw, error):
    request = ReadHoldingRegistersRequest(address=0, count=2, dev_id=5)
    with pytest.raises(error):
        RtuFraming().read_reply(reply_from(raw), time.monotonic(), request)


def test_rtu_exception_reply_carries_its_code():
    request = ReadHoldingRegistersRequest(address=0, count=2, dev_id=5)
    with pytest.raises(DeviceErrorReply) as error:
        RtuFraming().read_reply(reply_from(rtu("05 83 02")), time.monotonic(), request)
    assert error.value.code == 2


def test_rtu_write_coil_request():
    request = WriteSingleCoilRequest(address=0x10, bits=[True], dev_id=1)
    assert RtuFraming().request(request) == rtu("01 05 00 10 FF 00")


def test_modbus_tcp_request_and_reply():
    framing = SocketFraming()
    request = ReadHoldingRegistersRequest(address=0, count=2, dev_id=7)
    assert framing.request(request) == bytes.fromhex("00 01 00 00 00 06 07 03 00 00 00 02")
    raw = bytes.fromhex("00 01 00 00 00 07 07 03 04 00 01 86 A0")
    assert list(framing.read_reply(reply_from(raw), time.monotonic(), request).registers) == [
        1,
        0x86A0,
    ]
    stale = bytes.fromhex("00 09 00 00 00 07 07 03 04 00 01 86 A0")
    with pytest.raises(ResponseMismatch):
        framing.read_reply(reply_from(stale), time.monotonic(), request)


# === REGISTER MAPS AS DATA === #


def test_ddsy1352_catalogue_map_reads_in_one_17_register_request():
    register_map = RegisterMap.from_json(catalogue_map("DDSY1352"))
    assert [(start, count) for start, count, _ in register_map.blocks()] == [(0, 17)]
    assert register_map.switch("command") is None  # prepaid entries are null: not guessed


def test_ddsy1352_decoding_with_decimal_scales():
    words = [0x0001, 0x86A0, 0, 100, 0, 200, 0, 300, 0, 400, 0, 2305, 523, 0xFF38, 0, 1200, 999]
    seen = []

    def responder(request):
        seen.append(request)
        body = bytes([1, 3, 34]) + b"".join(w.to_bytes(2, "big") for w in words)
        return body + crc16_modbus(body)

    driver = ModbusDriver(Bus(ResponderTransport(responder)), 1, catalogue_map("DDSY1352"))
    reading = driver.read()
    assert seen == [rtu("01 03 00 00 00 11")]
    assert reading.energy_total == Decimal("1000.00")
    assert (reading.energy_t1, reading.energy_t4) == (Decimal("1.00"), Decimal("4.00"))
    assert reading.voltage == Decimal("230.5") and reading.current == Decimal("5.23")
    assert reading.active_power == Decimal("-0.200")  # int16 export
    assert reading.values["power_factor"] == Decimal("0.999")
    assert reading.relay_closed is None and reading.remaining_amount is None
    with pytest.raises(Unsupported):
        driver.relay(False)


def test_word_and_byte_order():
    register_map = RegisterMap.from_json(
        {"word_order": "little", "registers": {"e": {"address": 0, "type": "uint32", "scale": "1"}}}
    )
    assert register_map.decode_block(0, [0x86A0, 0x0001], register_map.registers) == {
        "e": Decimal(100000)
    }


@pytest.mark.parametrize(
    "bad",
    [
        "not json",
        {"registers": {"e": {"address": 0, "type": "float32", "scale": "1"}}},
        {"registers": {"e": {"address": 0, "type": "uint16", "scale": 0.01}}},  # float scale
        {"registers": {"e": {"address": -1, "type": "uint16", "scale": "1"}}},
        {"registers": {"e": {"address": 0, "type": "uint16", "scale": "x"}}},
        {"prepaid": {"relay_command": {"address": 1, "type": "int32"}}},
    ],
)
def test_bad_maps_are_configuration_errors(bad):
    with pytest.raises(ConfigurationError):
        RegisterMap.from_json(bad)
