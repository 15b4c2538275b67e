"""The DL/T 645-2007 meter driver: one read request per data identifier, on a shared bus."""
# Pure protocol code: read/write here are not ORM methods.
# pylint: disable=method-required-super

from datetime import datetime, timedelta

from ..driver import MeterDriver
from ..exceptions import DeviceErrorReply, ResponseMismatch
from ..reading import Reading
from . import application as app
from . import codec

DEFAULT_MAP = {
    "registers": {
        name: {"address": f.di, "type": "bcd", "bytes": f.size, "scale": str(f.scale)}
        for name, f in app.STANDARD_FORMATS.items()
    },
    "prepaid": {},
}


class Dlt645Driver(MeterDriver):
    """A DL/T 645 meter at ``address`` on ``bus``.

    ``register_map`` has the catalogue's shape (``registers``/``prepaid`` entries with a DI as
    ``address``, ``bytes``, ``scale``); entries marked ``"verified": false`` are read too, but a
    meter that answers them with an error reply just leaves them out of the reading (they are
    optional by nature), where an error on a verified register fails the read.
    Relay control needs the password level, password and operator code of the meter.
    """

    protocol = "dlt645"

    def __init__(
        self,
        bus,
        address,
        register_map=None,
        password_level=2,
        password="000000",
        operator="00000000",
        relay_deadline=timedelta(minutes=10),
        read_clock=True,
    ):
        super().__init__(bus)
        self.address = codec.normalize_address(address)
        self.formats = app.formats_from_map(register_map or DEFAULT_MAP)
        self.password_level = password_level
        self.password = password
        self.operator = operator
        self.relay_deadline = relay_deadline
        self.with_clock = read_clock

    def __repr__(self):
        return f"Dlt645Driver({self.address})"

    # === IO CHOKE POINT === #

    def _exchange(self, request):
        """Send one request frame and return the reply that answers it (typed errors else)."""
        reply = self.bus.transaction(codec.encode(request), codec.read_frame)
        return app.check_reply(request, reply)

    def read_raw(self, di):
        """The value bytes of one DI (offset removed, DI echo checked)."""
        request = app.read_request(self.address, di)
        reply = self._exchange(request)
        if reply.data[:4] != request.data:
            raise ResponseMismatch(f"reply for DI {reply.data[:4][::-1].hex()}, asked {di}")
        return reply.data[4:]

    # === INTERFACE === #

    def read(self):
        values = {}
        relay_closed = None
        for name, data_format in self.formats.items():
            try:
                raw = self.read_raw(data_format.di)
            except DeviceErrorReply:
                if data_format.verified:
                    raise
                continue
            if data_format.di == app.DI_RUN_STATUS_3:
                relay_closed = app.relay_closed_from_status(raw)
            else:
                values[name] = data_format.decode(raw)
        meter_time = self.read_clock() if self.with_clock else None
        return Reading.from_values(values, relay_closed=relay_closed, meter_time=meter_time)

    def read_clock(self):
        return app.decode_date_time(self.read_raw(app.DI_DATE), self.read_raw(app.DI_TIME))

    def set_clock(self, when):
        """Broadcast time (C=08, verified layout): every meter of the line takes it, none
        answers. Read the clock back to confirm."""
        self.bus.transaction(codec.encode(app.broadcast_time_request(when)), None)

    def relay(self, on):
        """1C remote trip / close (UNVERIFIED layout, plain, not ESAM): an error reply (wrong
        password, refused) is a ``DeviceErrorReply``."""
        deadline = datetime.now().replace(microsecond=0) + self.relay_deadline
        request = app.relay_request(
            self.address, on, self.password_level, self.password, self.operator, deadline
        )
        self._exchange(request)

    def read_address(self):
        """The address of the only meter on the line (wildcard read, C=13)."""
        request = app.read_address_request()
        reply = self._exchange(request)
        if len(reply.data) != 6:
            raise ResponseMismatch(f"address reply with {len(reply.data)} bytes, expected 6")
        address = codec.decode_address(reply.data)
        if address != reply.address:
            raise ResponseMismatch(f"address {address} in data, {reply.address} in header")
        return address
