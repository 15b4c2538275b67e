"""Modbus ADUs on a byte stream: RTU (serial, or carried over TCP by serial servers and DTUs)
and Modbus TCP (MBAP header), on pymodbus 3.x PDUs and CRC.

pymodbus builds the PDUs and the frames; reading a reply is done here because a client knows
exactly what it asked for, so it can read exactly the reply's length from the function code and
byte count and tell each failure apart - silence (retryable), a frame cut short, a CRC error,
another unit's reply, an exception reply - where pymodbus's hunting framer would skip bytes
and report them all as "no response".
"""

import itertools

from pymodbus.framer.rtu import FramerRTU
from pymodbus.framer.socket import FramerSocket
from pymodbus.pdu import DecodePDU, ExceptionResponse

from ..exceptions import (
    AddressMismatch,
    ChecksumError,
    DeviceErrorReply,
    FrameError,
    ResponseMismatch,
    ResponseTimeout,
    TruncatedFrame,
)
from ..transport.base import PartialTimeout

EXCEPTION_CODES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}
READS = (1, 2, 3, 4)
WRITES = (5, 6, 15, 16)


def _read(transport, size, deadline, started):
    """``read_exact`` that turns a timeout into silence or a truncated frame."""
    try:
        return transport.read_exact(size, deadline)
    except PartialTimeout as exc:
        if started or exc.received:
            raise TruncatedFrame("the reply stopped before its end") from exc
        raise ResponseTimeout("no reply before the deadline") from exc


class _Framing:
    name = None

    def __init__(self):
        self.decoder = DecodePDU(is_server=False)

    def _pdu_length(self, transport, function_code, deadline):
        """Bytes of the PDU after the function code, reading the byte count if needed."""
        if function_code & 0x80:
            return b"", 1
        if function_code in READS:
            count = _read(transport, 1, deadline, True)
            return count, count[0]
        if function_code in WRITES:
            return b"", 4
        raise FrameError(f"reply with unknown function code {function_code:02X}")

    def _check_pdu(self, request, unit, payload):
        """``payload`` = function code + data of a frame whose integrity is checked."""
        if unit != request.dev_id:
            raise AddressMismatch(f"reply from unit {unit}, asked unit {request.dev_id}")
        function_code = payload[0]
        if function_code & 0x7F != request.function_code:
            raise ResponseMismatch(
                f"reply to function {function_code & 0x7F}, asked {request.function_code}"
            )
        try:
            pdu = self.decoder.decode(payload)
        except Exception as exc:  # pymodbus raises several types on odd PDUs
            raise FrameError(f"undecodable PDU {payload.hex(' ')}: {exc}") from exc
        if pdu is None:
            raise FrameError(f"undecodable PDU {payload.hex(' ')}")
        if isinstance(pdu, ExceptionResponse):
            code = pdu.exception_code
            raise DeviceErrorReply(
                f"unit {unit}: exception {code} ({EXCEPTION_CODES.get(code, 'unknown')})", code
            )
        if function_code in (3, 4) and len(pdu.registers) != request.count:
            raise ResponseMismatch(f"{len(pdu.registers)} registers, asked {request.count}")
        if function_code in (5, 6) and payload[1:] != request.encode():
            raise ResponseMismatch("the write echo differs from the request")
        return pdu


class RtuFraming(_Framing):
    """``unit fc data CRC16`` (CRC low byte first on the wire)."""

    name = "rtu"

    def __init__(self):
        super().__init__()
        self.framer = FramerRTU(self.decoder)

    def request(self, pdu):
        return self.framer.buildFrame(pdu)

    def read_reply(self, transport, deadline, request):
        head = _read(transport, 2, deadline, False)
        count, size = self._pdu_length(transport, head[1], deadline)
        rest = _read(transport, size + 2, deadline, True)
        frame = head + count + rest
        crc = int.from_bytes(frame[-2:], "big")
        if FramerRTU.compute_CRC(frame[:-2]) != crc:
            raise ChecksumError(f"CRC error in {frame.hex(' ')}")
        return self._check_pdu(request, frame[0], frame[1:-2])


class SocketFraming(_Framing):
    """Modbus TCP: ``tid pid=0 length unit`` then the PDU; no CRC (TCP checks the bytes)."""

    name = "tcp"

    def __init__(self):
        super().__init__()
        self.framer = FramerSocket(self.decoder)
        self._tids = itertools.cycle(range(1, 0x10000))

    def request(self, pdu):
        pdu.transaction_id = next(self._tids)
        return self.framer.buildFrame(pdu)

    def read_reply(self, transport, deadline, request):
        head = _read(transport, 7, deadline, False)
        tid = int.from_bytes(head[0:2], "big")
        length = int.from_bytes(head[4:6], "big")
        if head[2:4] != b"\0\0":
            raise FrameError(f"protocol id {head[2:4].hex()} is not Modbus")
        if not 2 <= length <= 254:
            raise FrameError(f"MBAP length {length} out of range")
        payload = _read(transport, length - 1, deadline, True)
        if tid != request.transaction_id:
            raise ResponseMismatch(f"transaction {tid}, expected {request.transaction_id}")
        if payload[0] & 0x80:
            expected = 2
        elif payload[0] in READS:
            expected = 2 + payload[1] if len(payload) > 1 else -1
        elif payload[0] in WRITES:
            expected = 5
        else:
            raise FrameError(f"reply with unknown function code {payload[0]:02X}")
        if len(payload) != expected:
            raise FrameError(f"PDU of {len(payload)} bytes, its content says {expected}")
        return self._check_pdu(request, head[6], payload)


FRAMINGS = {"rtu": RtuFraming, "tcp": SocketFraming}
