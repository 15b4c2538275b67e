"""DL/T 645-2007 application layer: data identifiers, value formats, requests and replies.

Verified (PROTOCOLS.md section 4): the DIs of energy (00010000, T1..T4 00010100..00010400),
voltage A 02010100 (XXX.X V), current A 02020100 (XXX.XXX A), active power 02030000 (XX.XXXX kW),
date 04000101, time 04000102, run status word 3 04000503; the read (11 -> 91 / D1), read
address (13), broadcast time (08, ``ss mm hh DD MM YY``) frames.

UNVERIFIED, from the text of the standard and marked so wherever used: the byte layouts of date
(``WW DD MM YY``) and time (``ss mm hh``), the sign bit of current and power, the relay bit of
status word 3, the error byte bits, the 1C (relay) and 14 (write) request layouts, and the
prepaid DIs 00900100/00900200. Many prepaid meters want 1C ESAM-encrypted: this plain form works
only with meters that accept it.
"""

import dataclasses
from datetime import datetime
from decimal import Decimal

from ..exceptions import (
    AddressMismatch,
    ConfigurationError,
    DeviceErrorReply,
    FrameError,
    ResponseMismatch,
    Unsupported,
    ValueOutOfRange,
)
from . import codec


@dataclasses.dataclass(frozen=True)
class DataFormat:
    """How to read one data identifier: ``size`` BCD bytes times ``scale``."""

    name: str
    di: str
    size: int
    scale: Decimal = Decimal(1)
    signed: bool = False
    verified: bool = True

    def decode(self, raw):
        if len(raw) != self.size:
            raise ResponseMismatch(f"{self.name}: {len(raw)} value bytes, expected {self.size}")
        return codec.bcd_decode(raw, self.signed) * self.scale

    def encode(self, value):
        """Inverse of ``decode`` (simulators); values finer than the scale are refused."""
        units = Decimal(value) / self.scale
        if units != units.to_integral_value():
            raise ValueOutOfRange(f"{self.name}: {value} is finer than {self.scale}")
        return codec.bcd_encode(int(units), self.size, self.signed)


def _format(name, di, size, scale, signed=False, verified=True):
    return DataFormat(name, di, size, Decimal(scale), signed, verified)


# The default map (same shape as the generic DL/T 645 model of the catalogue).
# Sign bits on current/power: UNVERIFIED (standard text: top bit of the highest byte).
STANDARD_FORMATS = {
    f.name: f
    for f in (
        _format("energy_total", "00010000", 4, "0.01"),
        _format("energy_t1", "00010100", 4, "0.01"),
        _format("energy_t2", "00010200", 4, "0.01"),
        _format("energy_t3", "00010300", 4, "0.01"),
        _format("energy_t4", "00010400", 4, "0.01"),
        _format("voltage", "02010100", 2, "0.1"),
        _format("current", "02020100", 3, "0.001", signed=True),
        _format("active_power", "02030000", 3, "0.0001", signed=True),
        _format("run_status_3", "04000503", 2, "1"),
    )
}
PREPAID_FORMATS = {
    f.name: f
    for f in (
        _format("remaining_energy", "00900100", 4, "0.01", verified=False),
        _format("remaining_amount", "00900200", 4, "0.01", verified=False),
    )
}
DI_DATE = "04000101"  # WW DD MM YY on the wire (UNVERIFIED layout)
DI_TIME = "04000102"  # ss mm hh on the wire (UNVERIFIED layout)
DI_RUN_STATUS_3 = "04000503"
RELAY_OPEN_BIT = 0x0010  # status word 3, bit 4: 1 = relay open (supply off). UNVERIFIED.

# 1C command codes N1 (UNVERIFIED, PROTOCOLS.md section 4).
RELAY_TRIP = 0x1A
RELAY_CLOSE_ALLOWED = 0x1B
RELAY_CLOSE = 0x1C

# Error byte of D1/D4/DC replies, from the standard's table (UNVERIFIED on meters).
ERROR_BITS = (
    (0x01, "other error"),
    (0x02, "no such data (unknown DI)"),
    (0x04, "password wrong or not authorised"),
    (0x08, "baud rate cannot be changed"),
    (0x10, "too many yearly time zones"),
    (0x20, "too many daily periods"),
    (0x40, "too many tariffs"),
)


def format_from_entry(name, entry):
    """A ``DataFormat`` from a register-map entry (``address`` DI, ``bytes``, ``scale``)."""
    if not isinstance(entry, dict):
        raise ConfigurationError(f"{name}: a map entry is an object, not {entry!r}")
    di = str(entry.get("address", ""))
    if len(di) != 8 or any(c not in "0123456789abcdefABCDEF" for c in di):
        raise ConfigurationError(f"{name}: a DI has 8 hex digits, not {di!r}")
    if entry.get("type", "bcd") != "bcd":
        raise ConfigurationError(f"{name}: DL/T 645 values are BCD, not {entry.get('type')!r}")
    size = entry.get("bytes")
    if not isinstance(size, int) or not 1 <= size <= 16:
        raise ConfigurationError(f"{name}: 'bytes' must be an integer 1..16")
    scale = entry.get("scale", "1")
    if not isinstance(scale, str):
        raise ConfigurationError(f"{name}: scale must be a decimal string, not {scale!r}")
    try:
        scale = Decimal(scale)
    except ArithmeticError as exc:
        raise ConfigurationError(f"{name}: bad scale {scale!r}") from exc
    standard = STANDARD_FORMATS.get(name)
    signed = bool(entry.get("signed", standard.signed if standard else False))
    return DataFormat(name, di.upper(), size, scale, signed, entry.get("verified", True))


def formats_from_map(register_map):
    """Formats of every configured entry of ``registers`` and ``prepaid`` (null = skipped)."""
    formats = {}
    for section in ("registers", "prepaid"):
        for name, entry in (register_map.get(section) or {}).items():
            if entry is not None:
                formats[name] = format_from_entry(name, entry)
    return formats


# === REQUESTS === #


def di_bytes(di):
    """DI ``"00010000"`` (DI3..DI0) -> wire order DI0 first: ``00 00 01 00``."""
    return bytes.fromhex(di)[::-1]


def read_request(address, di):
    return codec.Frame(codec.normalize_address(address), codec.READ, di_bytes(di))


def read_address_request():
    return codec.Frame(codec.WILDCARD, codec.READ_ADDRESS)


def time_bcd(when):
    """``ss mm hh DD MM YY`` as BCD bytes (the broadcast time and 1C deadline layout)."""
    fields = (when.second, when.minute, when.hour, when.day, when.month, when.year % 100)
    return b"".join(codec.bcd_encode(v, 1) for v in fields)


def broadcast_time_request(when):
    return codec.Frame(codec.BROADCAST, codec.BROADCAST_TIME, time_bcd(when))


def _password(level, password, operator):
    """PA P0 P1 P2 C0 C1 C2 C3 (UNVERIFIED): the level byte, then the 6-digit password and the
    8-digit operator code as BCD, low byte first."""
    if not 0 <= int(level) <= 0xFF:
        raise ConfigurationError("the password level is one byte")
    return (
        bytes([int(level)])
        + _hex_digits(password, 6, "password")
        + _hex_digits(operator, 8, "operator code")
    )


def _hex_digits(text, digits, what):
    text = str(text).strip()
    if len(text) != digits or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise ConfigurationError(f"the {what} has {digits} hex/BCD digits")
    return bytes.fromhex(text)[::-1]


def relay_request(address, on, level, password, operator, deadline):
    """1C remote control (UNVERIFIED layout): password, operator, N1, N2 = 00, deadline."""
    n1 = RELAY_CLOSE if on else RELAY_TRIP
    data = _password(level, password, operator) + bytes([n1, 0]) + time_bcd(deadline)
    return codec.Frame(codec.normalize_address(address), codec.RELAY, data)


def write_request(address, di, value, level, password, operator):
    """14 write (UNVERIFIED layout): DI, password, operator code, then the value bytes."""
    data = di_bytes(di) + _password(level, password, operator) + bytes(value)
    return codec.Frame(codec.normalize_address(address), codec.WRITE, data)


# === REPLIES === #


def describe_error(code):
    names = [text for bit, text in ERROR_BITS if code & bit]
    return ", ".join(names) or "unspecified error"


def check_reply(request, reply):
    """Raise the typed error a reply deserves for ``request``; return it if it answers."""
    if not reply.is_reply:
        raise ResponseMismatch(f"a request frame (C={reply.control:02X}) instead of a reply")
    if reply.function != request.function:
        raise ResponseMismatch(
            f"reply to function {reply.function:02X}, expected {request.function:02X}"
        )
    if request.address != codec.WILDCARD and reply.address != request.address:
        raise AddressMismatch(f"reply from {reply.address}, asked {request.address}")
    if reply.is_error:
        if len(reply.data) != 1:
            raise FrameError(f"error reply with {len(reply.data)} data bytes, expected 1")
        code = reply.data[0]
        raise DeviceErrorReply(
            f"meter {reply.address} refused C={request.control:02X}: {describe_error(code)}",
            code=code,
        )
    if reply.has_follow_up:
        raise Unsupported("replies in several frames (follow-up) are not supported")
    return reply


def read_value(request, reply, data_format):
    """The decoded value of a read reply: its DI must echo the request's."""
    check_reply(request, reply)
    if reply.data[:4] != request.data[:4]:
        raise ResponseMismatch(f"reply for DI {reply.data[:4][::-1].hex()}, asked {data_format.di}")
    return data_format.decode(reply.data[4:])


def decode_date_time(date_raw, time_raw):
    """Date (``WW DD MM YY``) and time (``ss mm hh``) values into a naive datetime."""
    if len(date_raw) != 4 or len(time_raw) != 3:
        raise ResponseMismatch("date takes 4 bytes and time 3")
    _week, day, month, year = (codec.bcd_decode(date_raw[i : i + 1]) for i in range(4))
    second, minute, hour = (codec.bcd_decode(time_raw[i : i + 1]) for i in range(3))
    try:
        return datetime(2000 + year, month, day, hour, minute, second)
    except ValueError as exc:
        raise ValueOutOfRange(f"impossible meter date/time: {exc}") from exc


def encode_date(when):
    week = (when.weekday() + 1) % 7  # 0 = Sunday in DL/T 645
    return b"".join(codec.bcd_encode(v, 1) for v in (week, when.day, when.month, when.year % 100))


def encode_time(when):
    return b"".join(codec.bcd_encode(v, 1) for v in (when.second, when.minute, when.hour))


def relay_closed_from_status(status_raw):
    """Status word 3 (2 bytes, low byte first, a bit field) -> supply on? (UNVERIFIED bit)."""
    if len(status_raw) != 2:
        raise ResponseMismatch("status word 3 takes 2 bytes")
    word = int.from_bytes(status_raw, "little")
    return not word & RELAY_OPEN_BIT
