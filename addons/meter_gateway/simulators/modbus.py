"""The Modbus front end of simulated meters: RTU frames (a serial line, or RTU carried over TCP
by a serial server or DTU) or Modbus TCP, several unit ids on one line, registers laid out by
a register map of the same JSON shape the drivers read.

Requests are decoded and replies encoded with pymodbus 3.x PDUs and framers. Units that are not
on the line stay silent on RTU (an RS-485 bus has nobody to answer; pymodbus's own server
would answer exception 04, see PROTOCOLS.md 5b); a Modbus TCP gateway answers exception 0B
(gateway target failed to respond), as TCP gateways do.
"""

from pymodbus.framer.rtu import FramerRTU
from pymodbus.framer.socket import FramerSocket
from pymodbus.pdu import DecodePDU, ExceptionResponse
from pymodbus.pdu.bit_message import ReadCoilsResponse, WriteSingleCoilResponse
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersResponse,
    ReadInputRegistersResponse,
    WriteSingleRegisterResponse,
)

from ..drivers.modbus.registermap import RegisterMap
from .faults import flip_bit

ILLEGAL_FUNCTION = 1
ILLEGAL_ADDRESS = 2
ILLEGAL_VALUE = 3
GATEWAY_NO_RESPONSE = 0x0B

# The simulator's own map: the DDSY1352 measurement registers of PROTOCOLS.md section 5 plus
# prepaid registers at addresses chosen for the SIMULATOR ONLY. No real meter model is claimed
# to use them; real prepaid addresses come from the manufacturer's documentation.
SIMULATOR_MAP = {
    "generic": True,
    "source": "meter_gateway simulator only: the prepaid addresses are not a real model's",
    "function_code": 3,
    "byte_order": "big",
    "word_order": "big",
    "registers": {
        "energy_total": {"address": 0, "type": "uint32", "scale": "0.01", "unit": "kWh"},
        "energy_t1": {"address": 2, "type": "uint32", "scale": "0.01", "unit": "kWh"},
        "energy_t2": {"address": 4, "type": "uint32", "scale": "0.01", "unit": "kWh"},
        "energy_t3": {"address": 6, "type": "uint32", "scale": "0.01", "unit": "kWh"},
        "energy_t4": {"address": 8, "type": "uint32", "scale": "0.01", "unit": "kWh"},
        "voltage": {"address": 11, "type": "uint16", "scale": "0.1", "unit": "V"},
        "current": {"address": 12, "type": "uint16", "scale": "0.01", "unit": "A"},
        "active_power": {"address": 13, "type": "int16", "scale": "0.001", "unit": "kW"},
        "apparent_power": {"address": 15, "type": "uint16", "scale": "0.001", "unit": "kVA"},
        "power_factor": {"address": 16, "type": "int16", "scale": "0.001", "unit": ""},
    },
    "prepaid": {
        "remaining_amount": {"address": 8192, "type": "int32", "scale": "0.01", "unit": ""},
        "relay_command": {"address": 8200, "type": "uint16", "on": 1, "off": 0},
        "relay_state": {"address": 8201, "type": "uint16", "on": 1, "off": 0},
    },
}


class ModbusFrontend:
    """``framing`` is ``"rtu"`` or ``"tcp"``; ``register_map`` the JSON (default: simulator)."""

    def __init__(self, meters, framing="rtu", register_map=None):
        self.meters = list(meters)
        self.framing = framing
        self.protocol = f"modbus_{framing}"
        self.map = RegisterMap.from_json(register_map or SIMULATOR_MAP)
        decoder = DecodePDU(is_server=True)
        self.decoder = decoder
        self.framer = FramerRTU(decoder) if framing == "rtu" else FramerSocket(decoder)
        self.top = max(
            [r.address + r.width - 1 for r in self.map.registers]
            + [s.address for s in self.map.switches.values()]
        )

    def meter_for(self, unit):
        return next((m for m in self.meters if m.unit == unit), None)

    # === FRAMES ON THE STREAM === #

    def split(self, buffer):
        if self.framing == "tcp":
            if len(buffer) < 7:
                return 0, None
            total = 6 + int.from_bytes(buffer[4:6], "big")
            return (total, bytes(buffer[:total])) if len(buffer) >= total else (0, None)
        if len(buffer) < 2:
            return 0, None
        function_code = buffer[1]
        if 1 <= function_code <= 6:
            total = 8
        elif function_code in (15, 16):
            if len(buffer) < 7:
                return 0, None
            total = 9 + buffer[6]
        else:
            return len(buffer), None  # not a request we know: wait for the line to clear
        if len(buffer) < total:
            return 0, None
        frame = bytes(buffer[:total])
        if not FramerRTU.check_CRC(frame[:-2], int.from_bytes(frame[-2:], "big")):
            return len(buffer), None  # noise: a device drops the frame
        return total, frame

    # === REQUESTS === #

    def handle(self, raw):
        if self.framing == "tcp":
            tid, unit, pdu_bytes = int.from_bytes(raw[0:2], "big"), raw[6], raw[7:]
        else:
            tid, unit, pdu_bytes = 0, raw[0], raw[1:-2]
        meter = self.meter_for(unit)
        if meter is None:
            if self.framing == "rtu":
                return None, None
            return None, self._frame(
                ExceptionResponse(pdu_bytes[0], GATEWAY_NO_RESPONSE), unit, tid
            )
        try:
            request = self.decoder.decode(pdu_bytes)
        except Exception:
            request = None
        with meter.lock:
            meter.requests += 1
            if request is None:
                reply = ExceptionResponse(pdu_bytes[0] if pdu_bytes else 0, ILLEGAL_FUNCTION)
            else:
                reply = self._answer(meter, request)
        return meter, self._frame(reply, unit, tid)

    def _frame(self, pdu, unit, tid):
        pdu.dev_id = unit
        pdu.transaction_id = tid
        return self.framer.buildFrame(pdu)

    def _image(self, meter):
        values = meter.values()
        image = {}
        for register in self.map.registers:
            if register.name in values:
                words = register.encode(
                    values[register.name], self.map.word_order, self.map.byte_order
                )
                image.update(
                    zip(
                        range(register.address, register.address + register.width),
                        words,
                        strict=True,
                    )
                )
        state = self.map.switch("state")
        if state is not None and state.type == "uint16":
            image[state.address] = state.on if meter.relay_closed else state.off
        return image

    def _answer(self, meter, request):
        code = request.function_code
        if code in (3, 4):
            if code != self.map.function_code or request.address + request.count - 1 > self.top:
                return ExceptionResponse(code, ILLEGAL_ADDRESS)
            image = self._image(meter)
            words = [
                image.get(a, 0) for a in range(request.address, request.address + request.count)
            ]
            cls = ReadHoldingRegistersResponse if code == 3 else ReadInputRegistersResponse
            return cls(registers=words)
        command, state = self.map.switch("command"), self.map.switch("state")
        if code == 1 and state is not None and state.type == "coil":
            if request.address != state.address or request.count != 1:
                return ExceptionResponse(code, ILLEGAL_ADDRESS)
            return ReadCoilsResponse(bits=[meter.relay_closed])
        if code == 5 and command is not None and command.type == "coil":
            if request.address != command.address:
                return ExceptionResponse(code, ILLEGAL_ADDRESS)
            meter.command_relay(bool(request.bits[0]))
            return WriteSingleCoilResponse(address=request.address, bits=request.bits)
        if code == 6 and command is not None and command.type == "uint16":
            if request.address != command.address:
                return ExceptionResponse(code, ILLEGAL_ADDRESS)
            value = request.registers[0]
            if value not in (command.on, command.off):
                return ExceptionResponse(code, ILLEGAL_VALUE)
            meter.command_relay(value == command.on)
            return WriteSingleRegisterResponse(address=request.address, registers=[value])
        return ExceptionResponse(code, ILLEGAL_FUNCTION)

    # === FAULTS === #

    def corrupt(self, reply):
        if self.framing == "rtu":
            return flip_bit(reply, -1)  # CRC high byte
        return flip_bit(reply, 8)  # TCP has no CRC: the byte count goes wrong instead

    def garble(self, reply):
        """Noise on the serial side. Modbus TCP has no checksum of its own (TCP guarantees the
        bytes), so a gateway behind which the line was noisy is shown as a broken frame."""
        if self.framing == "rtu":
            return flip_bit(reply, len(reply) // 2)
        return self.corrupt(reply)

    def wrong_address(self, reply):
        if self.framing == "tcp":
            return reply[:6] + bytes([(reply[6] % 247) + 1]) + reply[7:]
        frame = bytes([(reply[0] % 247) + 1]) + reply[1:-2]
        return frame + FramerRTU.compute_CRC(frame).to_bytes(2, "big")
