"""Simulated meters that speak the real wire protocols (pure, no Odoo).

``start_line`` is the one-call way used by tests, benchmarks and the command line::

    host = SimulatorHost()
    server = start_line(host, "dlt645", make_meters(SimClock(speed=0), 3))
    # drivers connect to 127.0.0.1:server.port
"""

from .clock import SimClock
from .dlt645 import Dlt645Frontend
from .faults import Fault
from .line import LineTiming
from .meter import SimMeter, make_meters
from .modbus import SIMULATOR_MAP, ModbusFrontend
from .server import LineServer, SimulatorHost

PROTOCOLS = ("dlt645", "modbus_rtu", "modbus_tcp")


def frontend_for(protocol, meters, register_map=None):
    if protocol == "dlt645":
        return Dlt645Frontend(meters)
    if protocol in ("modbus_rtu", "modbus_tcp"):
        return ModbusFrontend(meters, protocol.split("_")[1], register_map)
    raise ValueError(f"protocol is one of {PROTOCOLS}, not {protocol!r}")


def start_line(
    host, protocol, meters, port=0, address="127.0.0.1", line=None, pty=False, register_map=None
):
    """Start one simulated line on a TCP port (or a pty) and return its ``LineServer``."""
    server = LineServer(host, frontend_for(protocol, meters, register_map), line)
    if pty:
        server.start_pty()
    else:
        server.start_tcp(address, port)
    return server
