"""Serial transport over pyserial: a local RS-485 adapter, or a pseudo-terminal in tests.

pyserial is imported when the port is opened, so the other transports work without it. The
port is opened lazily and closed on error, like the TCP transport, so an unplugged USB adapter
is a retryable ``ConnectionLost`` and is reopened on the next request.
"""
# Pure protocol code: read/write here are not ORM methods.
# pylint: disable=method-required-super

from ..exceptions import ConfigurationError, ConnectionLost, ResponseTimeout
from .base import Transport

PARITIES = {"none": "N", "even": "E", "odd": "O"}


class SerialTransport(Transport):
    def __init__(self, port, baudrate=9600, parity="none", bytesize=8, stopbits=1):
        if parity not in PARITIES:
            raise ConfigurationError(f"parity must be one of {sorted(PARITIES)}, not {parity!r}")
        self.port = port
        self.settings = {
            "baudrate": baudrate,
            "parity": PARITIES[parity],
            "bytesize": bytesize,
            "stopbits": stopbits,
        }
        self._serial = None

    def __repr__(self):
        return f"SerialTransport({self.port})"

    def _port(self):
        if self._serial is None:
            try:
                import serial
            except ImportError as exc:
                raise ConfigurationError("the serial transport needs pyserial") from exc
            try:
                self._serial = serial.serial_for_url(self.port, timeout=0, **self.settings)
            except (serial.SerialException, OSError, ValueError) as exc:
                raise ConnectionLost(f"cannot open {self.port}: {exc}") from exc
        return self._serial

    def _fail(self, exc):
        self.close()
        raise ConnectionLost(f"{self.port}: {exc}") from exc

    def write(self, data):
        port = self._port()
        try:
            port.write(data)
            port.flush()
        except OSError as exc:
            self._fail(exc)
        except Exception as exc:  # serial.SerialException, without importing pyserial here
            self._fail(exc)

    def read(self, size, deadline):
        port = self._port()
        left = self.remaining(deadline)
        try:
            port.timeout = left
            data = port.read(size)
        except Exception as exc:  # serial.SerialException or OSError: the port went away
            self._fail(exc)
        if not data:
            raise ResponseTimeout(f"{self.port}: no data before the deadline")
        return data

    def reset_input(self):
        if self._serial is not None:
            try:
                self._serial.reset_input_buffer()
            except Exception:
                self.close()

    def close(self):
        if self._serial is not None:
            try:
                self._serial.close()
            finally:
                self._serial = None
