"""The pure layer the Odoo side calls: ``Channel`` (gateway settings -> transport, bus,
drivers), ``run_session`` (one visit: jobs -> results with typed errors, frames recorded) and
the in-process simulator service of the demo, against simulated lines over real sockets."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from conftest import TIMEOUT

from meter_gateway.drivers import channel as channel_module
from meter_gateway.drivers.channel import Channel
from meter_gateway.drivers.exceptions import (
    AddressMismatch,
    ConfigurationError,
    ConnectionLost,
    DeviceErrorReply,
    ResponseTimeout,
    Unsupported,
    VerificationFailed,
)
from meter_gateway.drivers.session import run_session
from meter_gateway.simulators import SIMULATOR_MAP, Fault, make_meters, service, start_line


def settings(port, kind="serial_server"):
    return {"kind": kind, "host": "127.0.0.1", "port": port, "timeout": TIMEOUT}


def modbus_meter(unit):
    return {"protocol": "modbus_rtu", "address": str(unit), "register_map": SIMULATOR_MAP}


def dlt645_meter(address, password=None):
    return {"protocol": "dlt645", "address": address, "register_map": None, "password": password}


@pytest.fixture
def modbus_line(host, clock):
    meters = make_meters(clock, 3)
    server = start_line(host, "modbus_rtu", meters, register_map=SIMULATOR_MAP)
    yield server
    server.stop()


@pytest.fixture
def dlt645_line(host, clock):
    meters = make_meters(clock, 2, first_address=240000000001)
    server = start_line(host, "dlt645", meters)
    yield server
    server.stop()


def test_poll_and_switch_on_one_line(modbus_line):
    meters = modbus_line.meters
    meters[0].set_energy(Decimal("12.34"))
    jobs = [
        {"key": 1, "action": "poll", "meter": modbus_meter(1)},
        {"key": 2, "action": "relay_off", "meter": modbus_meter(2)},
        {"key": 3, "action": "poll", "meter": modbus_meter(3)},
    ]
    results = run_session(settings(modbus_line.port), jobs)
    assert [r["ok"] for r in results] == [True, True, True]
    assert results[0]["reading"].energy_total == Decimal("12.34")
    assert results[1]["verified"] is True
    assert meters[1].relay_closed is False
    assert results[1]["reading"].relay_closed is False
    # Frames recorded per job: request out, reply in.
    directions = [frame[0] for frame in results[0]["frames"]]
    assert directions[:2] == ["tx", "rx"]
    assert modbus_line.overlaps == 0, "one request at a time on the line"


def test_one_bad_meter_does_not_stop_the_others(modbus_line):
    modbus_line.meters[0].faults.inject(Fault.NO_ANSWER, times=None)
    modbus_line.meters[1].faults.inject(Fault.WRONG_ADDRESS, times=None)
    jobs = [{"key": n, "action": "poll", "meter": modbus_meter(n)} for n in (1, 2, 3)]
    results = run_session(settings(modbus_line.port), jobs)
    assert isinstance(results[0]["error"], ResponseTimeout)
    assert isinstance(results[1]["error"], AddressMismatch)
    assert results[0]["reading"] is None and results[1]["reading"] is None
    assert results[2]["ok"]


def test_relay_stuck_is_a_verification_failure(modbus_line):
    modbus_line.meters[0].relay_stuck = True
    (result,) = run_session(
        settings(modbus_line.port), [{"key": 1, "action": "relay_off", "meter": modbus_meter(1)}]
    )
    assert isinstance(result["error"], VerificationFailed)
    assert result["reading"].relay_closed is True, "the read-back is kept for the caller"


def test_unsupported_and_unreachable(modbus_line):
    (credit,) = run_session(
        settings(modbus_line.port), [{"key": 1, "action": "write_credit", "meter": modbus_meter(1)}]
    )
    assert isinstance(credit["error"], Unsupported)
    (dead,) = run_session(settings(1), [{"key": 1, "action": "poll", "meter": modbus_meter(1)}])
    assert isinstance(dead["error"], ConnectionLost)


def test_dlt645_clock_sync_and_password(dlt645_line):
    meter = dlt645_line.meters[0]
    meter.clock_offset = timedelta(minutes=5)
    job = {"key": 1, "action": "poll", "meter": dlt645_meter(meter.address), "max_clock_drift": 60}
    (result,) = run_session(settings(dlt645_line.port), [job], local_now=meter.clock.now)
    assert result["clock_drift"] == pytest.approx(300, abs=2)
    assert result["clock_synced"]
    # A broadcast has no reply: the simulated meters take it a moment after the session.
    deadline = time.monotonic() + 2
    while abs(meter.meter_time() - meter.clock.now()) >= timedelta(seconds=2):
        assert time.monotonic() < deadline, "the broadcast time never reached the meter"
        time.sleep(0.01)
    wrong = {"key": 2, "action": "relay_off", "meter": dlt645_meter(meter.address, "999999")}
    (refused,) = run_session(settings(dlt645_line.port), [wrong])
    assert isinstance(refused["error"], DeviceErrorReply)
    assert meter.relay_closed
    # Relay requests carry the password: the session still records them (the Odoo log masks).
    assert refused["frames"][0][0] == "tx"


def test_channel_settings_errors(monkeypatch):
    with pytest.raises(ConfigurationError, match="kind"):
        Channel({"kind": "carrier pigeon"})
    with pytest.raises(ConfigurationError, match="host and a port"):
        Channel({"kind": "serial_server"})
    with pytest.raises(ConfigurationError, match="device"):
        Channel({"kind": "serial"})
    monkeypatch.setattr(channel_module, "dlms_available", lambda: False)
    with pytest.raises(ConfigurationError, match="gurux-dlms"):
        Channel(settings(4059, kind="dlms_tcp"))
    monkeypatch.setattr(channel_module, "dlms_available", lambda: True)
    with pytest.raises(Unsupported, match="DLMS"):
        Channel(settings(4059, kind="dlms_tcp"))
    channel = Channel(settings(502, kind="modbus_tcp"))
    with pytest.raises(ConfigurationError, match="DL/T 645"):
        channel.driver(dlt645_meter("000000000001"))
    with pytest.raises(ConfigurationError, match="unit id"):
        channel.driver({"protocol": "modbus_tcp", "address": "x", "register_map": SIMULATOR_MAP})


def test_session_reports_settings_errors_per_job():
    results = run_session({"kind": "modbus_tcp"}, [{"key": 1, "action": "poll", "meter": {}}])
    assert isinstance(results[0]["error"], ConfigurationError)


def test_simulator_service_serves_a_line_once():
    key = ("pytest", 1)
    meters = [{"address": "1", "energy": "10.5"}, {"address": "2"}]
    try:
        port = service.ensure_line(key, "modbus_rtu", meters, register_map=SIMULATOR_MAP)
        assert service.ensure_line(key, "modbus_rtu", meters, register_map=SIMULATOR_MAP) == port
        job = {"key": 1, "action": "poll", "meter": modbus_meter(1)}
        (result,) = run_session(settings(port, kind="simulator"), [job])
        assert result["reading"].energy_total >= Decimal("10.5")
        # A fixed port already taken (another process serves it): used, not served twice.
        other = service.ensure_line(("pytest", 2), "modbus_rtu", meters, port=port)
        assert other == port
        assert service.get_line(("pytest", 2)) is None
    finally:
        service.stop_line(key)
        service.stop_line(("pytest", 2))
