"""In-memory transports for tests and benchmarks of the layers above, without sockets.

``MemoryTransport.pair()`` gives two connected ends (each end's writes are the other's reads);
``ResponderTransport(responder)`` answers each written request with ``responder(bytes)``
synchronously, which is how a simulator's protocol handler plugs straight into a driver.
"""
# Pure protocol code: read/write here are not ORM methods.
# pylint: disable=method-required-super

import threading
import time

from ..exceptions import ConnectionLost, ResponseTimeout
from .base import Transport


class _Pipe:
    def __init__(self):
        self.buffer = bytearray()
        self.closed = False
        self.cond = threading.Condition()

    def put(self, data):
        with self.cond:
            self.buffer += data
            self.cond.notify_all()

    def close(self):
        with self.cond:
            self.closed = True
            self.cond.notify_all()


class MemoryTransport(Transport):
    def __init__(self, inbound, outbound):
        self._in = inbound
        self._out = outbound

    @classmethod
    def pair(cls):
        a, b = _Pipe(), _Pipe()
        return cls(a, b), cls(b, a)

    def write(self, data):
        if self._out.closed:
            raise ConnectionLost("memory peer closed")
        self._out.put(bytes(data))

    def read(self, size, deadline):
        with self._in.cond:
            while not self._in.buffer:
                if self._in.closed:
                    raise ConnectionLost("memory peer closed")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ResponseTimeout("memory transport: no data before the deadline")
                self._in.cond.wait(left)
            data = bytes(self._in.buffer[:size])
            del self._in.buffer[:size]
            return data

    def reset_input(self):
        with self._in.cond:
            self._in.buffer.clear()

    def close(self):
        self._in.close()
        self._out.close()


class ResponderTransport(Transport):
    """Calls ``responder(request) -> reply bytes or None`` on each write; reads the replies."""

    def __init__(self, responder):
        self.responder = responder
        self._buffer = bytearray()

    def write(self, data):
        reply = self.responder(bytes(data))
        if reply:
            self._buffer += reply

    def read(self, size, deadline):
        if not self._buffer:
            raise ResponseTimeout("no reply from the responder")
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def reset_input(self):
        self._buffer.clear()
