"""A controllable world clock for the simulated meters.

Tests freeze it (``speed=0``) and move it with ``advance``, so energy and meter clocks change by
exact amounts; the demo and the command line let it run with real time, possibly faster
(``speed=60``: one simulated hour per real minute) so consumption shows up quickly.
"""

import threading
import time
from datetime import datetime, timedelta


class SimClock:
    def __init__(self, start=None, speed=1.0):
        self._lock = threading.Lock()
        self._base = start or datetime.now().replace(microsecond=0)
        self._real = time.monotonic()
        self.speed = speed

    def now(self):
        with self._lock:
            elapsed = (time.monotonic() - self._real) * self.speed
            return self._base + timedelta(seconds=elapsed)

    def advance(self, seconds=0, **delta):
        """Move the world forward (``advance(3600)`` or ``advance(hours=1)``)."""
        with self._lock:
            self._base += timedelta(seconds=seconds, **delta)

    def set(self, when):
        with self._lock:
            self._base = when
            self._real = time.monotonic()
