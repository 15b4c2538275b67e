"""The DL/T 645-2007 front end of simulated meters: several meters on one line, each answering
only its own address (the wildcard only when it is alone, broadcasts never), like a real
RS-485 bus - unlike PyPI ``dlt645``, which answers other addresses with error frames.

Frames are built with the drivers' codec; the golden-byte tests check that codec against the
published capture, so both ends are tied to the wire format rather than to each other.
"""

from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from ..drivers.dlt645 import application as app
from ..drivers.dlt645 import codec
from ..drivers.exceptions import GatewayError
from .faults import flip_bit

FORMATS_BY_DI = {f.di: f for f in (*app.STANDARD_FORMATS.values(), *app.PREPAID_FORMATS.values())}
ERR_OTHER = 0x01
ERR_NO_DATA = 0x02
ERR_PASSWORD = 0x04


class Dlt645Frontend:
    protocol = "dlt645"

    def __init__(self, meters):
        self.meters = list(meters)

    def meter_for(self, address):
        if address == codec.WILDCARD:
            return self.meters[0] if len(self.meters) == 1 else None
        return next((m for m in self.meters if m.address == address), None)

    # === FRAMES ON THE STREAM === #

    def split(self, buffer):
        """``(consumed, request or None)``: ``(0, None)`` waits for more bytes."""
        start = buffer.find(codec.START)
        if start < 0:
            return len(buffer), None
        if len(buffer) - start < codec.HEADER_SIZE:
            return start, None
        total = codec.HEADER_SIZE + buffer[start + 9] + 2
        if buffer[start + 7] != codec.START:
            return start + 1, None
        if len(buffer) - start < total:
            return start, None
        return start + total, bytes(buffer[start : start + total])

    # === REQUESTS === #

    def handle(self, raw):
        """``(meter or None, reply bytes or None)``; None reply = silence."""
        try:
            request = codec.parse_frame(raw)
        except GatewayError:
            return None, None  # a real meter ignores a frame it cannot read
        if request.is_reply:
            return None, None
        if request.function == codec.BROADCAST_TIME and request.address == codec.BROADCAST:
            self._broadcast_time(request)
            return None, None
        meter = self.meter_for(request.address)
        if meter is None:
            return None, None
        with meter.lock:
            meter.requests += 1
            data = self._answer(meter, request)
        if isinstance(data, int):
            control, payload = request.function | codec.REPLY | codec.ERROR, bytes([data])
        else:
            control, payload = request.function | codec.REPLY, data
        return meter, codec.build_frame(meter.address, control, payload)

    def _answer(self, meter, request):
        """Reply data, or an int error byte."""
        if request.function == codec.READ:
            return self._read(meter, request.data)
        if request.function == codec.READ_ADDRESS:
            return codec.encode_address(meter.address)
        if request.function == codec.RELAY:
            return self._relay(meter, request.data)
        return ERR_OTHER

    def _read(self, meter, data):
        if len(data) != 4:
            return ERR_OTHER
        di = data[::-1].hex().upper()
        if di == app.DI_DATE:
            return data + app.encode_date(meter.meter_time())
        if di == app.DI_TIME:
            return data + app.encode_time(meter.meter_time())
        if di == app.DI_RUN_STATUS_3:
            word = 0 if meter.relay_closed else app.RELAY_OPEN_BIT
            return data + word.to_bytes(2, "little")
        data_format = FORMATS_BY_DI.get(di)
        if data_format is None:
            return ERR_NO_DATA
        value = meter.values()[data_format.name]
        return data + encode_register(data_format, value)

    def _relay(self, meter, data):
        if len(data) != 16:
            return ERR_OTHER
        password = data[1:4][::-1].hex()
        if data[0] != 2 or password != meter.password:
            return ERR_PASSWORD
        if data[8] == app.RELAY_TRIP:
            meter.command_relay(False)
        elif data[8] in (app.RELAY_CLOSE, app.RELAY_CLOSE_ALLOWED):
            meter.command_relay(True)
        else:
            return ERR_OTHER
        return b""

    def _broadcast_time(self, request):
        try:
            fields = [codec.bcd_decode(request.data[i : i + 1]) for i in range(6)]
            second, minute, hour, day, month, year = fields
            when = datetime(2000 + year, month, day, hour, minute, second)
        except (GatewayError, ValueError):
            return
        for meter in self.meters:
            meter.set_time(when)

    # === FAULTS === #

    def corrupt(self, reply):
        return flip_bit(reply, -2)  # the checksum byte

    def garble(self, reply):
        """One bit flipped in the middle of the frame (noise that the checksum must catch)."""
        return flip_bit(reply, len(reply) // 2)

    def wrong_address(self, reply):
        frame = codec.parse_frame(reply)
        other = f"{(int(frame.address) + 1) % 10**12:012d}"
        return codec.build_frame(other, frame.control, frame.data)


def encode_register(data_format, value):
    """BCD of a meter quantity, truncated to the register's resolution; counters roll over at
    the register's end like a real meter (999999.99 kWh + 0.01 -> 0)."""
    units = int((Decimal(value) / data_format.scale).to_integral_value(ROUND_DOWN))
    digits = 2 * data_format.size
    limit = 8 * 10 ** (digits - 1) if data_format.signed else 10**digits  # sign in the top bit
    if units < 0 and not data_format.signed:
        units = 0
    units = units % limit if units >= 0 else -(-units % limit)
    return codec.bcd_encode(units, data_format.size, data_format.signed)
