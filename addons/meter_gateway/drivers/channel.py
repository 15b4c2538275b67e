"""A gateway's line as the Odoo side sees it: one transport, one ``Bus``, the meters' drivers.

The Odoo models describe a gateway with plain settings (a dict, no records) and each meter
with its protocol, address, register map and credentials; ``Channel`` turns them into the
transport and drivers of ``drivers/``. It is pure, so the poller's worker threads, the
benchmarks and the tests build exactly the same objects without a database.

Gateway kinds (``KINDS``) say how the bytes travel; the meter model's protocol says how they
are framed:

- ``serial_server``: a serial server or 4G DTU passing RS-485 bytes through TCP (Modbus RTU
  or DL/T 645 frames unchanged);
- ``modbus_tcp``: a Modbus TCP device or Modbus TCP-to-RTU gateway (MBAP header, unit id);
- ``serial``: a local serial port (RS-485 adapter) through pyserial;
- ``dlms_tcp``: DLMS/COSEM over TCP (wrapper), through gurux-dlms when it is installed;
- ``simulator``: a simulated line on loopback (``simulators/``), framed like a serial server.
"""

import importlib.util
from datetime import timedelta

from .driver import Bus
from .exceptions import ConfigurationError, Unsupported
from .modbus.driver import ModbusDriver
from .modbus.framing import SocketFraming
from .transport.serial import SerialTransport
from .transport.tcp import TcpTransport

KINDS = ("serial_server", "modbus_tcp", "serial", "dlms_tcp", "simulator")
# Kinds whose meters share one half-duplex RS-485 line: one request at a time.
RS485_KINDS = ("serial_server", "serial", "simulator")
MODBUS_PROTOCOLS = ("modbus_rtu", "modbus_tcp")
DLMS_PACKAGE = "gurux-dlms"


def dlms_available():
    """Whether the optional (GPL-2.0) gurux-dlms package is importable."""
    return importlib.util.find_spec("gurux_dlms") is not None


class Channel:
    """One connection to a gateway and the drivers of its meters.

    ``settings``: ``kind``, ``host``, ``port`` or ``device``, ``baudrate``, ``parity``,
    ``bytesize``, ``stopbits``, ``timeout`` (s), ``inter_frame_delay`` (s).
    """

    def __init__(self, settings):
        self.settings = dict(settings)
        self.kind = self.settings.get("kind")
        if self.kind not in KINDS:
            raise ConfigurationError(f"gateway kind is one of {KINDS}, not {self.kind!r}")
        if self.kind == "dlms_tcp":
            # Checked before anything else so that the reason names the missing package.
            if not dlms_available():
                raise ConfigurationError(
                    f"DLMS/COSEM needs the Python package {DLMS_PACKAGE}, which is not installed"
                )
            raise Unsupported("DLMS/COSEM gateways are not supported by this version's drivers")
        timeout = float(self.settings.get("timeout") or 2.0)
        self.bus = Bus(
            self._transport(),
            timeout=timeout,
            turnaround=float(self.settings.get("inter_frame_delay") or 0.0),
            # After a timeout, a late reply may still be on its way: wait half a timeout more
            # before the next request, and drop what arrived (it would collide on RS-485).
            recovery=max(0.1, timeout / 2),
        )
        # Modbus TCP: one framing per connection keeps transaction ids unique on it.
        self._socket_framing = SocketFraming() if self.kind == "modbus_tcp" else None

    def _transport(self):
        settings = self.settings
        if self.kind == "serial":
            if not settings.get("device"):
                raise ConfigurationError("a serial gateway needs a device (e.g. /dev/ttyUSB0)")
            return SerialTransport(
                settings["device"],
                baudrate=int(settings.get("baudrate") or 9600),
                parity=settings.get("parity") or "none",
                bytesize=int(settings.get("bytesize") or 8),
                stopbits=int(settings.get("stopbits") or 1),
            )
        host, port = settings.get("host"), settings.get("port")
        if not host or not port:
            raise ConfigurationError("a TCP gateway needs a host and a port")
        return TcpTransport(host, int(port), connect_timeout=float(settings.get("timeout") or 2.0))

    def driver(self, meter):
        """The driver of ``meter``: a dict with ``protocol``, ``address``, ``register_map``
        (dict) and, for DL/T 645, ``password``, ``password_level``, ``operator_code``."""
        protocol = meter.get("protocol")
        address = meter.get("address")
        if protocol in MODBUS_PROTOCOLS:
            try:
                unit = int(address)
            except (TypeError, ValueError):
                raise ConfigurationError(f"Modbus unit id {address!r} is not a number") from None
            if not meter.get("register_map"):
                raise ConfigurationError("the meter model has no register map")
            framing = self._socket_framing or "rtu"
            return ModbusDriver(self.bus, unit, meter["register_map"], framing=framing)
        if protocol == "dlt645":
            if self.kind == "modbus_tcp":
                raise ConfigurationError("a Modbus TCP gateway cannot carry DL/T 645 frames")
            from .dlt645.driver import Dlt645Driver

            credentials = {
                key: meter[key]
                for key in ("password", "password_level")
                if meter.get(key) not in (None, "")
            }
            if meter.get("operator_code"):
                credentials["operator"] = meter["operator_code"]
            return Dlt645Driver(
                self.bus,
                address,
                meter.get("register_map") or None,
                relay_deadline=timedelta(minutes=10),
                **credentials,
            )
        if protocol == "dlms":
            if not dlms_available():
                raise ConfigurationError(
                    f"DLMS/COSEM needs the Python package {DLMS_PACKAGE}, which is not installed"
                )
            raise Unsupported("DLMS/COSEM meters are not supported by this version's drivers")
        raise Unsupported(f"no driver for protocol {protocol!r}")

    def close(self):
        self.bus.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
