"""The Modbus meter driver: registers from the map, read in as few requests as possible."""
# Pure protocol code: read/write here are not ORM methods.
# pylint: disable=method-required-super

from pymodbus.pdu.bit_message import ReadCoilsRequest, WriteSingleCoilRequest
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadInputRegistersRequest,
    WriteSingleRegisterRequest,
)

from ..driver import MeterDriver
from ..exceptions import ConfigurationError, ResponseMismatch, Unsupported
from ..reading import Reading
from .framing import FRAMINGS
from .registermap import RegisterMap


class ModbusDriver(MeterDriver):
    """A Modbus meter with unit id ``unit`` on ``bus``.

    ``framing`` is ``"rtu"`` (serial line, or RTU carried over TCP by a serial server or DTU)
    or ``"tcp"`` (Modbus TCP). Share one framing object between the drivers of one bus for
    Modbus TCP so transaction ids stay unique on the connection.
    """

    protocol = "modbus"

    def __init__(self, bus, unit, register_map, framing="rtu"):
        super().__init__(bus)
        if not isinstance(unit, int) or not 0 < unit < 248:
            raise ConfigurationError(f"a Modbus unit id is 1..247, not {unit!r}")
        self.unit = unit
        self.map = (
            register_map
            if isinstance(register_map, RegisterMap)
            else (RegisterMap.from_json(register_map))
        )
        if isinstance(framing, str):
            if framing not in FRAMINGS:
                raise ConfigurationError(f"framing is one of {sorted(FRAMINGS)}")
            framing = FRAMINGS[framing]()
        self.framing = framing

    def __repr__(self):
        return f"ModbusDriver({self.framing.name}, unit {self.unit})"

    # === IO CHOKE POINT === #

    def _execute(self, pdu):
        pdu.dev_id = self.unit
        frame = self.framing.request(pdu)
        return self.bus.transaction(
            frame, lambda transport, deadline: self.framing.read_reply(transport, deadline, pdu)
        )

    def read_registers(self, address, count):
        request_class = (
            ReadHoldingRegistersRequest
            if self.map.function_code == 3
            else ReadInputRegistersRequest
        )
        return list(self._execute(request_class(address=address, count=count)).registers)

    # === INTERFACE === #

    def read(self):
        values = {}
        for start, count, members in self.map.blocks():
            words = self.read_registers(start, count)
            values.update(self.map.decode_block(start, words, members))
        return Reading.from_values(values, relay_closed=self._read_switch())

    def _read_switch(self):
        switch = self.map.switch("state")
        if switch is None:
            return None
        if switch.type == "coil":
            bits = self._execute(ReadCoilsRequest(address=switch.address, count=1)).bits
            return bool(bits[0])
        (word,) = self.read_registers(switch.address, 1)
        if word not in (switch.on, switch.off):
            raise ResponseMismatch(f"{switch.name} = {word}, neither on nor off")
        return word == switch.on

    def relay(self, on):
        switch = self.map.switch("command")
        if switch is None:
            raise Unsupported(
                "the register map has no relay/valve command register: configure it from the "
                "manufacturer's documentation"
            )
        if switch.type == "coil":
            self._execute(WriteSingleCoilRequest(address=switch.address, bits=[bool(on)]))
        else:
            value = switch.on if on else switch.off
            self._execute(WriteSingleRegisterRequest(address=switch.address, registers=[value]))
