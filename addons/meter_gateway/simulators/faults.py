"""Faults a simulated meter or line can inject, each the way it looks on a real wire.

``NO_ANSWER``: the meter stays silent (dead, wrong baud rate, absent). ``LATE_ANSWER``: the
reply comes after ``delay`` seconds (beyond the master's timeout, it collides with the next
request). ``CRC_ERROR``: one bit of the checksum flipped (noise). ``GARBLED``: a bit flipped in
the middle of the frame. ``TRUNCATED``: half the frame, then silence. ``WRONG_ADDRESS``: a valid
reply carrying another meter's address or unit id. ``DROP_CONNECTION``: half the frame, then the
serial server or DTU closes the TCP connection. Meter-level faults (relay stuck, clock skew,
counter roll-over, meter replaced) are states of ``SimMeter``, not line faults.
"""

import dataclasses
import enum
import threading


class Fault(str, enum.Enum):
    NO_ANSWER = "no_answer"
    LATE_ANSWER = "late_answer"
    CRC_ERROR = "crc_error"
    GARBLED = "garbled"
    TRUNCATED = "truncated"
    WRONG_ADDRESS = "wrong_address"
    DROP_CONNECTION = "drop_connection"


@dataclasses.dataclass
class _Planned:
    fault: Fault
    times: int | None  # None: until cleared
    delay: float


class FaultPlan:
    """Faults to apply to the next replies of one meter, in order."""

    def __init__(self):
        self._lock = threading.Lock()
        self._queue = []

    def inject(self, fault, times=1, delay=1.0):
        """Apply ``fault`` to the next ``times`` replies (``None``: every reply until cleared)."""
        with self._lock:
            self._queue.append(_Planned(Fault(fault), times, delay))

    def clear(self):
        with self._lock:
            self._queue.clear()

    def take(self):
        """The fault for the reply being sent now, as ``(fault, delay)``, or ``(None, 0)``."""
        with self._lock:
            if not self._queue:
                return None, 0.0
            planned = self._queue[0]
            if planned.times is not None:
                planned.times -= 1
                if planned.times <= 0:
                    self._queue.pop(0)
            return planned.fault, planned.delay


def flip_bit(data, index):
    """``data`` with one bit flipped at byte ``index`` (negative counts from the end)."""
    data = bytearray(data)
    data[index] ^= 0x01
    return bytes(data)
