"""A simulated electricity meter: energy from a load shape, TOU registers, relay, clock.

The state is protocol-free; the DL/T 645 and Modbus front ends turn it into frames. Energy is
integrated exactly (Decimal) between two looks at the world clock, hour by hour, with the power
of the load shape for that hour and the TOU band of that hour; an open relay cuts the load.
Meter-level faults are states: ``relay_stuck`` (commands acknowledged, state unchanged),
``clock_offset``/``drift_ppm`` (clock skew), ``set_energy`` near the register's end (roll-over),
``replace`` (a new serial and address, registers from zero).
"""

import threading
from datetime import timedelta
from decimal import Decimal

from .faults import FaultPlan

# A small shop: kW per hour of the day (simulation data, not a measured profile).
DEFAULT_LOAD_SHAPE = tuple(
    Decimal(v)
    for v in (
        "0.20",
        "0.18",
        "0.18",
        "0.18",
        "0.20",
        "0.25",
        "0.40",
        "0.80",
        "1.20",
        "1.50",
        "1.60",
        "1.70",
        "1.50",
        "1.40",
        "1.50",
        "1.60",
        "1.70",
        "1.90",
        "2.20",
        "2.40",
        "2.00",
        "1.20",
        "0.60",
        "0.30",
    )
)
# Band of each hour: 1 sharp, 2 peak, 3 flat, 4 valley (simulation data; real meters carry
# their own day schedules).
DEFAULT_TOU = (4,) * 8 + (3, 3, 1, 1, 2, 2, 3, 3, 3, 2, 1, 1, 2, 2, 3, 4)
HOUR = Decimal(3600)


class SimMeter:
    """One meter. ``address`` is its DL/T 645 address, ``unit`` its Modbus unit id."""

    def __init__(
        self,
        clock,
        address="000000000001",
        unit=1,
        serial=None,
        load_shape=DEFAULT_LOAD_SHAPE,
        tou=DEFAULT_TOU,
        voltage="230.0",
        credit_kwh="100.00",
        price="1.00",
        password="000000",
    ):
        self.clock = clock
        self.address = address
        self.unit = unit
        self.serial = serial or address
        self.load_shape = tuple(Decimal(v) for v in load_shape)
        self.tou = tuple(tou)
        self.voltage = Decimal(voltage)
        self.price = Decimal(price)
        self.password = password  # DL/T 645 relay password (level 2), simulation data
        self.lock = threading.RLock()
        self.faults = FaultPlan()
        self.relay_closed = True
        self.relay_stuck = False
        self.clock_offset = timedelta()
        self.drift_ppm = 0
        self.events = []
        self.requests = 0
        self.bands = {band: Decimal(0) for band in (1, 2, 3, 4)}
        self.credit_kwh = Decimal(credit_kwh)
        self._last = clock.now()
        self._clock_set_at = self._last

    # === ENERGY === #

    def update(self):
        """Integrate the load from the last update to the world clock's now."""
        with self.lock:
            now = self.clock.now()
            moment = self._last
            while moment < now:
                next_hour = moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
                end = min(now, next_hour)
                seconds = Decimal((end - moment) // timedelta(microseconds=1)) / 1_000_000
                power = self.power_at(moment)
                if power:
                    self.bands[self.tou[moment.hour]] += power * seconds / HOUR
                moment = end
            self._last = max(self._last, now)

    def power_at(self, moment):
        if not self.relay_closed:
            return Decimal(0)
        return self.load_shape[moment.hour % len(self.load_shape)]

    @property
    def energy_total(self):
        return sum(self.bands.values())

    def set_energy(self, total, bands=None):
        """Set the registers (e.g. just below the counter's end, to test roll-over)."""
        with self.lock:
            self.update()
            shares = bands or {1: 0, 2: 0, 3: Decimal(total), 4: 0}
            self.bands = {b: Decimal(shares.get(b, 0)) for b in (1, 2, 3, 4)}

    def values(self):
        """Every quantity the front ends can expose, in the map's units."""
        with self.lock:
            self.update()
            power = self.power_at(self.clock.now())
            current = (power * 1000 / self.voltage).quantize(Decimal("0.001"))
            total = self.energy_total
            remaining = self.credit_kwh - total
            return {
                "energy_total": total,
                "energy_t1": self.bands[1],
                "energy_t2": self.bands[2],
                "energy_t3": self.bands[3],
                "energy_t4": self.bands[4],
                "voltage": self.voltage,
                "current": current,
                "active_power": power,
                "apparent_power": power,
                "power_factor": Decimal("1.000") if power else Decimal(0),
                # A water meter of the demo counts m3 on the same load shape.
                "volume_total": total,
                "remaining_energy": remaining,
                "remaining_amount": remaining * self.price,
            }

    # === RELAY === #

    def command_relay(self, on):
        """Obey a relay command; a stuck relay acknowledges and stays as it was."""
        with self.lock:
            self.update()
            self.events.append(("relay_command", bool(on), self.clock.now()))
            if not self.relay_stuck:
                self.relay_closed = bool(on)

    # === CLOCK === #

    def meter_time(self):
        with self.lock:
            world = self.clock.now()
            since = (world - self._clock_set_at).total_seconds()
            drift = timedelta(seconds=since * self.drift_ppm / 1_000_000)
            return (world + self.clock_offset + drift).replace(microsecond=0)

    def set_time(self, when):
        with self.lock:
            world = self.clock.now()
            self.clock_offset = when - world
            self._clock_set_at = world
            self.events.append(("clock_set", when, world))

    # === LIFE CYCLE === #

    def replace(self, address, unit=None, serial=None):
        """A new meter in the same place: new identity, registers from zero."""
        with self.lock:
            self.update()
            self.address = address
            self.unit = self.unit if unit is None else unit
            self.serial = serial or address
            self.bands = {band: Decimal(0) for band in (1, 2, 3, 4)}
            self.events.append(("replaced", address, self.clock.now()))


def make_meters(clock, count, first_address=1, first_unit=1, **kwargs):
    """``count`` meters with consecutive addresses and unit ids (a bus of a site)."""
    return [
        SimMeter(clock, address=f"{first_address + i:012d}", unit=first_unit + i, **kwargs)
        for i in range(count)
    ]
