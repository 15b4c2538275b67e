"""The normalised reading every driver returns, whatever the protocol.

The Odoo side turns it into a ``prepaid.reading`` row (total and T1..T4 registers) plus the
instantaneous values and states of the meter. Quantities are ``Decimal`` in the unit of the map
(kWh, V, A, kW, m3); ``None`` means *not read* (the map has no such register), never zero.
"""

import dataclasses
from datetime import datetime
from decimal import Decimal

TARIFF_FIELDS = ("energy_t1", "energy_t2", "energy_t3", "energy_t4")


@dataclasses.dataclass(frozen=True)
class Reading:
    """One snapshot of a meter's registers.

    ``relay_closed`` is True when the supply is on (relay or valve closed circuit / open valve),
    False when cut, None when the meter model has no readable state. ``values`` holds every
    decoded register by its map name, including those without a dedicated field (apparent
    power, power factor, volume...).
    """

    energy_total: Decimal | None = None
    energy_t1: Decimal | None = None
    energy_t2: Decimal | None = None
    energy_t3: Decimal | None = None
    energy_t4: Decimal | None = None
    voltage: Decimal | None = None
    current: Decimal | None = None
    active_power: Decimal | None = None
    remaining_amount: Decimal | None = None
    remaining_energy: Decimal | None = None
    relay_closed: bool | None = None
    meter_time: datetime | None = None
    values: dict[str, Decimal] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_values(cls, values, relay_closed=None, meter_time=None):
        """Build a reading from decoded ``{map name: Decimal}``; known names fill the fields."""
        known = {f.name for f in dataclasses.fields(cls)} - {"values", "relay_closed", "meter_time"}
        fields = {name: value for name, value in values.items() if name in known}
        return cls(**fields, relay_closed=relay_closed, meter_time=meter_time, values=dict(values))
