"""Fixtures of the gateway tests: one simulator host (event loop thread) for the session, and
lines started on loopback ports with a frozen world clock, so energy moves only when a test
advances it."""

from datetime import datetime

import hypothesis  # noqa: F401 - imported before the simulator thread starts (see below)
import pytest

from meter_gateway.drivers import Bus
from meter_gateway.drivers.dlt645 import Dlt645Driver
from meter_gateway.drivers.modbus import ModbusDriver, SocketFraming
from meter_gateway.drivers.transport import TcpTransport
from meter_gateway.simulators import SIMULATOR_MAP, SimClock, SimulatorHost, make_meters, start_line

# Without the early hypothesis import, its pytest plugin imports it lazily at the end of a run
# of only the socket tests, while the simulator thread is still alive, and CPython 3.11 fails
# with "AST constructor recursion depth mismatch" in pytest's assertion rewriter.
TIMEOUT = 0.3  # seconds: every fault must be reported within about this


@pytest.fixture(scope="session")
def host():
    with SimulatorHost() as simulator_host:
        yield simulator_host


@pytest.fixture
def clock():
    return SimClock(datetime(2025, 3, 1, 10, 0, 0), speed=0)


class Line:
    """A started simulated line, its meters, and a factory of drivers on one shared bus."""

    def __init__(self, host, protocol, meters, **kwargs):
        self.protocol = protocol
        self.meters = meters
        self.server = start_line(host, protocol, meters, **kwargs)
        self.bus = Bus(TcpTransport("127.0.0.1", self.server.port), timeout=TIMEOUT, recovery=0.05)
        self._framing = SocketFraming()

    def driver(self, meter, **kwargs):
        if self.protocol == "dlt645":
            return Dlt645Driver(self.bus, meter.address, **kwargs)
        framing = self._framing if self.protocol == "modbus_tcp" else "rtu"
        return ModbusDriver(
            self.bus, meter.unit, kwargs.get("register_map", SIMULATOR_MAP), framing
        )

    def close(self):
        self.bus.close()
        self.server.stop()


@pytest.fixture
def start(host, clock):
    lines = []

    def _start(protocol, count=3, **kwargs):
        line = Line(host, protocol, make_meters(clock, count), **kwargs)
        lines.append(line)
        return line

    yield _start
    for line in lines:
        line.close()
