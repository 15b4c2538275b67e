"""Drivers against simulated meters over real loopback sockets (and a pty): readings, relay,
clock, every injected fault as its typed error within the timeout, one request at a time."""

import threading
import time
from datetime import datetime
from decimal import Decimal

import pytest
from conftest import TIMEOUT

from meter_gateway.drivers import (
    AddressMismatch,
    Bus,
    ChecksumError,
    ConnectionLost,
    DeviceErrorReply,
    FrameError,
    ResponseTimeout,
    TruncatedFrame,
)
from meter_gateway.drivers.dlt645 import Dlt645Driver
from meter_gateway.drivers.modbus import ModbusDriver
from meter_gateway.drivers.transport import SerialTransport, TcpTransport
from meter_gateway.simulators import SIMULATOR_MAP, Fault, make_meters, start_line

pytestmark = pytest.mark.timeout(30)
PROTOCOLS = ("dlt645", "modbus_rtu", "modbus_tcp")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_energy_and_tou_accumulate_from_the_load_shape(start, clock, protocol):
    line = start(protocol)
    driver = line.driver(line.meters[1])
    assert driver.read().energy_total == 0
    clock.advance(hours=5)  # 10:00-15:00: sharp 1.6+1.7, peak 1.5+1.4, flat 1.5 (kWh)
    reading = driver.read()
    assert reading.energy_total == Decimal("7.70")
    assert (reading.energy_t1, reading.energy_t2, reading.energy_t3, reading.energy_t4) == (
        Decimal("3.30"),
        Decimal("2.90"),
        Decimal("1.50"),
        Decimal("0.00"),
    )
    assert reading.voltage == Decimal("230.0")
    assert reading.active_power == Decimal("1.6")  # the 15:00 hour
    assert reading.relay_closed is True


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_relay_off_cuts_the_load_and_reads_back(start, clock, protocol):
    line = start(protocol)
    meter = line.meters[0]
    driver = line.driver(meter)
    driver.relay(False)
    assert meter.relay_closed is False and line.meters[1].relay_closed is True
    clock.advance(hours=2)
    reading = driver.read()
    assert reading.relay_closed is False
    assert reading.energy_total == 0 and reading.active_power == 0
    driver.relay(True)
    assert driver.read().relay_closed is True


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stuck_relay_acknowledges_but_read_back_shows_it(start, protocol):
    line = start(protocol)
    line.meters[0].relay_stuck = True
    driver = line.driver(line.meters[0])
    driver.relay(False)  # acknowledged
    assert driver.read().relay_closed is True  # the command queue's verification catches it


FAULTS = [
    (Fault.NO_ANSWER, ResponseTimeout),
    (Fault.LATE_ANSWER, ResponseTimeout),
    (Fault.CRC_ERROR, FrameError),
    (Fault.GARBLED, FrameError),
    (Fault.TRUNCATED, TruncatedFrame),
    (Fault.WRONG_ADDRESS, AddressMismatch),
    (Fault.DROP_CONNECTION, ConnectionLost),
]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("fault", "error"), FAULTS, ids=[f.value for f, _ in FAULTS])
def test_each_fault_gives_its_typed_error_in_time(start, protocol, fault, error):
    line = start(protocol)
    meter = line.meters[0]
    driver = line.driver(meter)
    meter.faults.inject(fault, delay=TIMEOUT * 1.5)
    started = time.monotonic()
    with pytest.raises(error) as raised:
        driver.read()
    assert time.monotonic() - started < TIMEOUT * 1.5
    assert raised.value.retryable is (
        fault in (Fault.NO_ANSWER, Fault.LATE_ANSWER, Fault.DROP_CONNECTION)
    )
    if fault is Fault.LATE_ANSWER:
        time.sleep(TIMEOUT)  # the late reply arrives while nobody waits for it
    assert driver.read().energy_total == 0  # the next poll recovers, no stale value


@pytest.mark.parametrize("protocol", ("dlt645", "modbus_rtu"))
def test_crc_error_is_a_checksum_error(start, protocol):
    line = start(protocol)
    line.meters[0].faults.inject(Fault.CRC_ERROR)
    with pytest.raises(ChecksumError):
        line.driver(line.meters[0]).read()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_absent_meter(start, clock, protocol):
    line = start(protocol, count=1)
    ghost = make_meters(clock, 1, first_address=42, first_unit=42)[0]
    expected = DeviceErrorReply if protocol == "modbus_tcp" else ResponseTimeout  # gateway 0B
    with pytest.raises(expected):
        line.driver(ghost).read()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_counter_roll_over_is_read_as_the_register_shows(start, clock, protocol):
    line = start(protocol)
    meter = line.meters[0]
    end = Decimal("999999.99") if protocol == "dlt645" else Decimal(2**32 - 1) / 100
    meter.set_energy(end - Decimal("0.50"))
    clock.advance(hours=1)  # +1.6 kWh: the register passes its end by 1.09 and wraps
    reading = line.driver(meter).read()
    assert reading.energy_total == Decimal("1.09")  # ingestion sees a roll-over, not garbage


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_one_request_at_a_time_per_bus(start, clock, protocol):
    line = start(protocol, count=6)
    clock.advance(hours=1)
    results, errors = [], []

    def poll(meter):
        try:
            for _ in range(5):
                results.append(line.driver(meter).read().energy_total)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poll, args=(m,)) for m in line.meters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == [Decimal("1.60")] * 30
    assert line.server.overlaps == 0


# === DL/T 645 SPECIFICS === #


def test_dlt645_clock_read_broadcast_set_and_drift(start, clock):
    line = start("dlt645")
    meter = line.meters[0]
    driver = line.driver(meter)
    assert driver.read_clock() == datetime(2025, 3, 1, 10, 0, 0)
    meter.clock_offset = -(datetime(2025, 3, 1, 10, 0) - datetime(2025, 3, 1, 9, 58, 30))
    assert driver.read().meter_time == datetime(2025, 3, 1, 9, 58, 30)
    driver.set_clock(datetime(2025, 3, 1, 10, 0, 0))  # broadcast: every meter of the line
    assert driver.read_clock() == datetime(2025, 3, 1, 10, 0, 0)  # read back, after the broadcast
    assert [m.meter_time() for m in line.meters] == [datetime(2025, 3, 1, 10, 0, 0)] * 3
    meter.drift_ppm = 100  # 8.64 s a day
    clock.advance(days=1)
    assert driver.read_clock() == datetime(2025, 3, 2, 10, 0, 8)


def test_dlt645_read_address_of_a_lone_meter(start):
    line = start("dlt645", count=1)
    assert Dlt645Driver(line.bus, "000000000000").read_address() == line.meters[0].address


def test_dlt645_wrong_password_is_refused(start):
    line = start("dlt645")
    driver = line.driver(line.meters[0], password="999999")
    with pytest.raises(DeviceErrorReply) as error:
        driver.relay(False)
    assert error.value.code == 0x04 and line.meters[0].relay_closed is True


def test_dlt645_meter_replaced_answers_under_its_new_address(start):
    line = start("dlt645")
    old = line.meters[0]
    old_driver = line.driver(old)
    old.replace("000000009999")
    with pytest.raises(ResponseTimeout):
        old_driver.read()
    assert Dlt645Driver(line.bus, "000000009999").read().energy_total == 0


# === TRANSPORTS === #


def test_connection_refused_is_retryable():
    bus = Bus(TcpTransport("127.0.0.1", 1, connect_timeout=0.2), timeout=TIMEOUT)
    with pytest.raises(ConnectionLost) as error:
        Dlt645Driver(bus, "000000000001").read()
    assert error.value.retryable


@pytest.mark.parametrize("protocol", ("dlt645", "modbus_rtu"))
def test_serial_transport_over_a_pty(host, clock, protocol):
    meters = make_meters(clock, 2)
    server = start_line(host, protocol, meters, pty=True)
    try:
        with Bus(SerialTransport(server.pty_path, baudrate=9600), timeout=TIMEOUT) as bus:
            if protocol == "dlt645":
                driver = Dlt645Driver(bus, meters[1].address)
            else:
                driver = ModbusDriver(bus, meters[1].unit, SIMULATOR_MAP)
            clock.advance(hours=1)
            assert driver.read().energy_total == Decimal("1.60")
            driver.relay(False)
            assert driver.read().relay_closed is False
    finally:
        server.stop()
