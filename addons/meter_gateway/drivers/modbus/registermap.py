"""Modbus register maps as data: the catalogue's JSON, validated, planned and decoded.

Shape (``prepaid_meter`` ``readme/CONFIGURE.md``): ``registers`` and ``prepaid`` entries
``{"address": int, "type": "uint16|int16|uint32|int32|uint64|int64", "scale": "0.01",
"unit": "kWh"}``; ``null`` means *not configured*, and the driver then says ``Unsupported``
rather than guessing an address. Relay/valve entries (``relay_command``, ``relay_state``,
``valve_command``, ``valve_state``) are ``{"address": int, "type": "coil"}`` (FC05 / FC01) or
``{"address": int, "type": "uint16", "on": 1, "off": 0}`` (FC06 / FC03). Values are decoded with
integers and ``Decimal``, never binary floats.
"""

import dataclasses
import json
from decimal import Decimal, InvalidOperation

from ..exceptions import ConfigurationError

WIDTHS = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2, "uint64": 4, "int64": 4}
SWITCH_NAMES = {
    "relay_command": "relay",
    "valve_command": "relay",
    "relay_state": "state",
    "valve_state": "state",
}
MAX_BLOCK = 125  # FC03 limit
MAX_GAP = 8  # unused registers read through rather than starting a new request


@dataclasses.dataclass(frozen=True)
class Register:
    name: str
    address: int
    type: str
    scale: Decimal
    unit: str = ""

    @property
    def width(self):
        return WIDTHS[self.type]

    def decode(self, words, word_order="big", byte_order="big"):
        """Registers (16-bit integers) -> Decimal value in the map's unit."""
        if word_order == "little":
            words = words[::-1]
        raw = b"".join(w.to_bytes(2, "big") for w in words)
        if byte_order == "little":
            raw = b"".join(raw[i : i + 2][::-1] for i in range(0, len(raw), 2))
        value = int.from_bytes(raw, "big", signed=self.type.startswith("int"))
        return value * self.scale

    def encode(self, value, word_order="big", byte_order="big"):
        """Inverse of ``decode`` for simulators: unsigned counters wrap like a meter's."""
        units = int((Decimal(value) / self.scale).to_integral_value())
        bits = 16 * self.width
        units %= 1 << bits  # roll-over of unsigned counters; two's complement of signed ones
        raw = units.to_bytes(2 * self.width, "big")
        if byte_order == "little":
            raw = b"".join(raw[i : i + 2][::-1] for i in range(0, len(raw), 2))
        words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
        return words[::-1] if word_order == "little" else words


@dataclasses.dataclass(frozen=True)
class Switch:
    """A relay/valve register: a coil, or a holding register with its on/off values."""

    name: str
    address: int
    type: str = "coil"
    on: int = 1
    off: int = 0


def _address(name, entry):
    address = entry.get("address")
    if not isinstance(address, int) or isinstance(address, bool) or not 0 <= address <= 0xFFFF:
        raise ConfigurationError(f"{name}: a Modbus address is an integer 0..65535")
    return address


def _register(name, entry):
    type_ = entry.get("type")
    if type_ not in WIDTHS:
        raise ConfigurationError(f"{name}: type {type_!r} is not one of {sorted(WIDTHS)}")
    scale = entry.get("scale", "1")
    if not isinstance(scale, str):
        raise ConfigurationError(f"{name}: scale must be a decimal string, not {scale!r}")
    try:
        scale = Decimal(scale)
    except InvalidOperation as exc:
        raise ConfigurationError(f"{name}: bad scale {scale!r}") from exc
    if not scale.is_finite() or scale == 0:
        raise ConfigurationError(f"{name}: bad scale {scale}")
    return Register(name, _address(name, entry), type_, scale, entry.get("unit", ""))


def _switch(name, entry):
    type_ = entry.get("type", "coil")
    if type_ not in ("coil", "uint16"):
        raise ConfigurationError(f"{name}: a relay/valve register is a coil or uint16")
    on, off = entry.get("on", 1), entry.get("off", 0)
    if type_ == "uint16" and not all(isinstance(v, int) and 0 <= v <= 0xFFFF for v in (on, off)):
        raise ConfigurationError(f"{name}: on/off values are integers 0..65535")
    return Switch(name, _address(name, entry), type_, on, off)


@dataclasses.dataclass(frozen=True)
class RegisterMap:
    registers: tuple
    switches: dict
    word_order: str = "big"
    byte_order: str = "big"
    function_code: int = 3
    generic: bool = False

    @classmethod
    def from_json(cls, data):
        """Validate the catalogue JSON (a ``str`` or the parsed ``dict``)."""
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise ConfigurationError(f"register map is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigurationError("a register map is a JSON object")
        registers, switches = [], {}
        for section in ("registers", "prepaid"):
            entries = data.get(section) or {}
            if not isinstance(entries, dict):
                raise ConfigurationError(f"'{section}' is an object")
            for name, entry in entries.items():
                if entry is None:
                    continue  # not configured: never guessed
                if not isinstance(entry, dict):
                    raise ConfigurationError(f"{name}: a map entry is an object")
                if name in SWITCH_NAMES:
                    switches[name] = _switch(name, entry)
                else:
                    registers.append(_register(name, entry))
        orders = (data.get("word_order", "big"), data.get("byte_order", "big"))
        if any(o not in ("big", "little") for o in orders):
            raise ConfigurationError("word_order and byte_order are 'big' or 'little'")
        function_code = data.get("function_code", 3)
        if function_code not in (3, 4):
            raise ConfigurationError("function_code is 3 (holding) or 4 (input registers)")
        registers.sort(key=lambda r: r.address)
        return cls(
            tuple(registers),
            switches,
            orders[0],
            orders[1],
            function_code,
            bool(data.get("generic")),
        )

    def blocks(self):
        """Read requests ``(start, count, [registers])`` covering every register: neighbours
        (gaps up to ``MAX_GAP``) share one request, since on a slow line each request costs a
        turnaround and a device latency, where a few extra registers cost microseconds."""
        blocks = []
        for register in self.registers:
            end = register.address + register.width
            if blocks:
                start, count, members = blocks[-1]
                if register.address - (start + count) <= MAX_GAP and end - start <= MAX_BLOCK:
                    blocks[-1] = (start, max(count, end - start), [*members, register])
                    continue
            blocks.append((register.address, register.width, [register]))
        return blocks

    def decode_block(self, start, words, members):
        return {
            r.name: r.decode(
                words[r.address - start : r.address - start + r.width],
                self.word_order,
                self.byte_order,
            )
            for r in members
        }

    def switch(self, kind):
        """The configured relay/valve ``command`` or ``state`` register, or None."""
        for name, switch in self.switches.items():
            if name.endswith(kind):
                return switch
        return None
