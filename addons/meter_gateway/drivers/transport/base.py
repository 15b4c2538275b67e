"""Bytes in, bytes out, with deadlines: the lowest layer, shared by every protocol.

A transport knows nothing of frames. ``read`` returns what has arrived (at least one byte) or
raises ``ResponseTimeout`` at the deadline; ``read_exact`` collects a known length and says how
much it got before giving up, so the framing layer can tell *no answer* (retryable) from *a
frame that stopped half-way* (a bad frame).
"""
# Pure protocol code: read/write here are not ORM methods.
# pylint: disable=method-required-super

import abc
import time

from ..exceptions import ResponseTimeout


class PartialTimeout(ResponseTimeout):
    """The deadline passed after ``received`` bytes of an expected block had arrived."""

    def __init__(self, message, received=b""):
        super().__init__(message)
        self.received = received


class Transport(abc.ABC):
    """A byte stream to one line (a TCP connection, a serial port, an in-memory peer)."""

    @abc.abstractmethod
    def write(self, data):
        """Send all of ``data`` or raise ``ConnectionLost``."""

    @abc.abstractmethod
    def read(self, size, deadline):
        """Return 1..size bytes, or raise ``ResponseTimeout`` once ``time.monotonic()`` passes
        ``deadline``, or ``ConnectionLost`` when the peer has gone."""

    @abc.abstractmethod
    def reset_input(self):
        """Drop whatever has arrived and not been read (stale or late replies)."""

    def close(self):  # noqa: B027 - optional hook: in-memory transports hold nothing
        """Release the line; the next use may reconnect."""

    def read_exact(self, size, deadline):
        """Exactly ``size`` bytes, or ``PartialTimeout`` carrying the bytes that did arrive."""
        chunks = bytearray()
        while len(chunks) < size:
            try:
                chunks += self.read(size - len(chunks), deadline)
            except ResponseTimeout as exc:
                raise PartialTimeout(
                    f"{len(chunks)} of {size} bytes before the deadline", bytes(chunks)
                ) from exc
        return bytes(chunks)

    @staticmethod
    def remaining(deadline):
        """Seconds left until ``deadline`` (monotonic), never negative."""
        return max(0.0, deadline - time.monotonic())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
