"""Simulated lines served from inside a long-running process (the Odoo server of the demo).

``ensure_line`` starts, once per process, a simulated line for a gateway of kind *simulator*
on a loopback port and returns that port; the drivers then talk to it over a real socket
exactly as they would to a serial server. The lines live in one daemon thread (the
``SimulatorHost`` event loop), shared by every database of the process.

With a fixed port, a second process that finds the port taken (another Odoo worker, or the
same demo served twice) does not start a second set of meters: it uses the line that is
already there, so every worker sees the same relays and registers.
"""

import errno
import threading
from decimal import Decimal

from .clock import SimClock
from .meter import SimMeter
from .server import SimulatorHost

_lock = threading.Lock()
_host = None
_lines = {}


def _get_host():
    global _host  # one event loop thread per process, created on first use
    if _host is None:
        _host = SimulatorHost()
    return _host


def ensure_line(key, protocol, meters, port=0, register_map=None, speed=1.0):
    """Serve the line ``key`` (any hashable: database and gateway) and return its port.

    :param str protocol: ``modbus_rtu`` or ``dlt645`` (RTU frames over TCP, like a serial
        server) or ``modbus_tcp``
    :param meters: dicts ``{"address": str, "energy": Decimal or None}`` (DL/T 645 address or
        Modbus unit id; the register total to start from, e.g. the last reading stored, so the
        simulated meter does not appear to run backwards); the line is restarted when the set
        of addresses changes, the meters keep their registers otherwise
    :param int port: 0 for any free port
    """
    from . import frontend_for
    from .server import LineServer

    signature = (protocol, tuple(sorted(m["address"] for m in meters)), port)
    with _lock:
        line = _lines.get(key)
        if line is not None and line["signature"] == signature:
            return line["port"]
        if line is not None:
            line["server"].stop()
            del _lines[key]
        clock = SimClock(speed=speed)
        sim_meters = []
        for meter in meters:
            address = str(meter["address"])
            if protocol == "dlt645":
                sim_meter = SimMeter(clock, address=address.zfill(12))
            else:
                unit = int(address)
                sim_meter = SimMeter(clock, address=f"{unit:012d}", unit=unit)
            if meter.get("energy"):
                sim_meter.set_energy(Decimal(str(meter["energy"])))
            sim_meters.append(sim_meter)
        server = LineServer(_get_host(), frontend_for(protocol, sim_meters, register_map))
        try:
            server.start_tcp("127.0.0.1", port)
        except OSError as error:
            if port and error.errno == errno.EADDRINUSE:
                return port  # served by another process: use that line
            raise
        _lines[key] = {"signature": signature, "port": server.port, "server": server}
        return server.port


def get_line(key):
    """The ``LineServer`` serving ``key`` in this process, or None (tests inject faults)."""
    line = _lines.get(key)
    return line["server"] if line else None


def stop_line(key):
    with _lock:
        line = _lines.pop(key, None)
    if line is not None:
        line["server"].stop()
