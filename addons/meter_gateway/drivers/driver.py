"""The driver interface the Odoo side calls, and the bus that serialises requests.

One ``MeterDriver`` per meter; meters on the same RS-485 line (behind one serial server, DTU or
serial port) share one ``Bus``, whose lock lets exactly one request and its reply on the wire at a
time: a master that talks over another request gets collisions or replies it cannot match.
Every exchange goes through ``Bus.transaction`` - the single IO choke point of a driver, with
the deadline that makes each failure a typed error in bounded time.
"""
# Pure protocol code: read/write here are not ORM methods.
# pylint: disable=method-required-super

import abc
import threading
import time

from .exceptions import ResponseTimeout, Unsupported

DEFAULT_TIMEOUT = 2.0


class Bus:
    """A transport plus the lock and the timing of one physical line.

    ``timeout`` bounds each request (from sending to the last byte of the reply);
    ``turnaround`` is a pause after each transaction (inter-frame delay some converters need).
    ``recovery``: after a request timed out, the next one first waits this long and drops what
    arrived meanwhile - RTU and DL/T 645 have no transaction id, so a late reply to the previous
    request must not be read as the reply to the next one.
    """

    def __init__(self, transport, timeout=DEFAULT_TIMEOUT, turnaround=0.0, recovery=0.1):
        self.transport = transport
        self.timeout = timeout
        self.turnaround = turnaround
        self.recovery = recovery
        self.lock = threading.Lock()
        self._timed_out = False

    def transaction(self, request, read_reply, timeout=None):
        """Send ``request`` and return ``read_reply(transport, deadline)``, holding the bus.

        Stale bytes (a late reply to an earlier request) are dropped first so they cannot be
        taken for this request's reply. ``read_reply=None`` sends without waiting (broadcast).
        """
        with self.lock:
            transport = self.transport
            if self._timed_out:
                time.sleep(self.recovery)
                self._timed_out = False
            transport.reset_input()
            transport.write(request)
            try:
                if read_reply is None:
                    return None
                deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
                return read_reply(transport, deadline)
            except ResponseTimeout:
                self._timed_out = True
                raise
            finally:
                if self.turnaround:
                    time.sleep(self.turnaround)

    def close(self):
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class MeterDriver(abc.ABC):
    """What the gateway asks of a meter, whatever its protocol.

    Subclasses implement what their protocol and map allow and raise ``Unsupported`` for the
    rest, so a command for a function the meter lacks fails at once with a clear reason.
    """

    protocol = None

    def __init__(self, bus):
        self.bus = bus

    @abc.abstractmethod
    def read(self):
        """Read the registers of the map and return a ``Reading``."""

    def relay(self, on):
        """Close (``on=True``, supply on) or open the relay or valve."""
        raise Unsupported(f"{self.protocol}: relay control is not available")

    def read_clock(self):
        """Return the meter's clock as a naive ``datetime`` (meter local time)."""
        raise Unsupported(f"{self.protocol}: the meter clock is not readable")

    def set_clock(self, when):
        """Set the meter's clock to the naive ``datetime`` ``when``."""
        raise Unsupported(f"{self.protocol}: the meter clock cannot be set")
