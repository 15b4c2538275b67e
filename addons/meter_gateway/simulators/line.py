"""Line timing of a serial bus, so benchmarks measure against the physical limit.

One transaction on an RS-485 line takes (request + reply bytes) x the character time, plus
the silent intervals around the frames (3.5 characters each in Modbus RTU, fixed 1.75 ms above
19200 baud) plus the meter's own latency. PROTOCOLS.md section 6 gives the figures
(9600 baud, 11-bit characters, 17-register block: about 9 polls/s with 50 ms latency).
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class LineTiming:
    baudrate: int = 9600
    bits_per_char: int = 11  # start + 8 data + parity or second stop + stop
    latency: float = 0.050  # device processing time, seconds

    @property
    def char_time(self):
        return self.bits_per_char / self.baudrate

    @property
    def silent_interval(self):
        return 3.5 * self.char_time if self.baudrate <= 19200 else 0.00175

    def transaction_time(self, request_bytes, reply_bytes):
        """Seconds from the first request byte to the last reply byte (no reply: request only)."""
        wire = (request_bytes + reply_bytes) * self.char_time
        if not reply_bytes:
            return wire + self.silent_interval
        return wire + 2 * self.silent_interval + self.latency
