"""DL/T 645-2007 framing: addresses, BCD, the +0x33 offset, checksum, frames on a byte stream.

Wire layout (PROTOCOLS.md section 4, verified against a published capture)::

    FE FE FE FE | 68 | A0..A5 | 68 | C | L | DATA (each byte +0x33) | CS | 16

CS is the sum, modulo 256, of every byte from the first 68 to the last data byte. The address is
12 BCD digits sent low byte first; ``AAAAAAAAAAAA`` is the wildcard (any single meter on the
line answers), ``999999999999`` the broadcast (nobody answers). The control byte C carries the
direction (bit 7, set in replies), an error flag (bit 6), a *follow-up frames* flag (bit 5) and
the function in bits 0..4.

Every parser here is total: whatever bytes come in, the result is a ``Frame`` or a
``GatewayError`` subclass, never another exception.
"""

import dataclasses

from ..exceptions import (
    ChecksumError,
    ConfigurationError,
    FrameError,
    ResponseTimeout,
    TruncatedFrame,
    ValueOutOfRange,
)
from ..transport.base import PartialTimeout

PREAMBLE = b"\xfe\xfe\xfe\xfe"
START = 0x68
END = 0x16
OFFSET = 0x33
HEADER_SIZE = 10  # 68 A0..A5 68 C L
MAX_DATA = 200  # the standard caps L at 200 bytes for reads
MAX_GARBAGE = 64  # bytes skipped before a start byte before we call it noise, not a frame

WILDCARD = "AAAAAAAAAAAA"
BROADCAST = "999999999999"

# Function codes (bits 0..4 of C), PROTOCOLS.md section 4.
BROADCAST_TIME = 0x08
READ = 0x11
READ_FOLLOW = 0x12
READ_ADDRESS = 0x13
WRITE = 0x14
RELAY = 0x1C

REPLY = 0x80
ERROR = 0x40
FOLLOW_UP = 0x20
FUNCTION_MASK = 0x1F


# === ADDRESSES AND BCD === #


def normalize_address(address):
    """The 12-character upper-case form of an address; digits, or the AA wildcard."""
    text = str(address).strip().upper()
    if len(text) < 12 and text.isdigit():
        text = text.zfill(12)
    if len(text) != 12 or not (text.isdigit() or text == WILDCARD):
        raise ConfigurationError(f"a DL/T 645 address has 12 BCD digits, not {address!r}")
    return text


def encode_address(address):
    """``"123456781012"`` -> ``12 10 78 56 34 12`` (low byte first)."""
    return bytes.fromhex(normalize_address(address))[::-1]


def decode_address(raw):
    """Inverse of ``encode_address``; other nibbles than 0-9 (or an all-AA field) are errors."""
    text = raw[::-1].hex().upper()
    if not (text.isdigit() or text == WILDCARD):
        raise FrameError(f"address field {raw.hex()} is not BCD")
    return text


def bcd_encode(value, size, signed=False):
    """A non-negative integer (or, if ``signed``, any integer with the sign in the top bit of
    the most significant byte) as ``size`` BCD bytes, least significant byte first."""
    negative = value < 0
    if negative and not signed:
        raise ValueOutOfRange(f"{value} is negative")
    digits = f"{abs(value):0{size * 2}d}"
    if len(digits) > size * 2:
        raise ValueOutOfRange(f"{value} does not fit {size} BCD bytes")
    raw = bytearray(bytes.fromhex(digits)[::-1])
    if signed:
        if raw[-1] & 0x80:
            raise ValueOutOfRange(f"{value} does not fit {size} signed BCD bytes")
        if negative:
            raw[-1] |= 0x80
    return bytes(raw)


def bcd_decode(raw, signed=False):
    """Integer of BCD bytes sent least significant first; bad digits raise ``ValueOutOfRange``."""
    raw = bytearray(raw)
    negative = False
    if signed and raw and raw[-1] & 0x80:
        negative = True
        raw[-1] &= 0x7F
    text = bytes(raw[::-1]).hex()
    if not text.isdigit():
        raise ValueOutOfRange(f"{bytes(raw).hex()} is not BCD")
    value = int(text) if text else 0
    return -value if negative else value


def add_offset(data):
    return bytes((b + OFFSET) & 0xFF for b in data)


def remove_offset(data):
    return bytes((b - OFFSET) & 0xFF for b in data)


def checksum(data):
    return sum(data) & 0xFF


# === FRAMES === #


@dataclasses.dataclass(frozen=True)
class Frame:
    """A decoded frame: ``data`` without the 0x33 offset."""

    address: str
    control: int
    data: bytes = b""

    @property
    def function(self):
        return self.control & FUNCTION_MASK

    @property
    def is_reply(self):
        return bool(self.control & REPLY)

    @property
    def is_error(self):
        return bool(self.control & ERROR)

    @property
    def has_follow_up(self):
        return bool(self.control & FOLLOW_UP)


def build_frame(address, control, data=b"", preamble=True):
    """The bytes of a frame; ``data`` is given without the offset."""
    if len(data) > 255:
        raise ConfigurationError("a DL/T 645 frame carries at most 255 data bytes")
    body = (
        bytes([START])
        + encode_address(address)
        + bytes([START, control, len(data)])
        + add_offset(data)
    )
    return (PREAMBLE if preamble else b"") + body + bytes([checksum(body), END])


def encode(frame, preamble=True):
    return build_frame(frame.address, frame.control, frame.data, preamble)


def parse_frame(raw):
    """Decode one complete frame (preamble bytes allowed before it, nothing after it)."""
    raw = bytes(raw)
    start = 0
    while start < len(raw) and raw[start] == 0xFE:
        start += 1
    body = raw[start:]
    if not body:
        raise TruncatedFrame("no frame in an empty or preamble-only input")
    if body[0] != START:
        raise FrameError(f"frame starts with {body[0]:02X}, not 68")
    if len(body) < HEADER_SIZE + 2:
        raise TruncatedFrame(f"{len(body)} bytes, shorter than an empty frame")
    if body[7] != START:
        raise FrameError(f"second start byte is {body[7]:02X}, not 68")
    length = body[9]
    total = HEADER_SIZE + length + 2
    if len(body) < total:
        raise TruncatedFrame(f"{len(body)} of {total} bytes")
    if len(body) > total:
        raise FrameError(f"{len(body) - total} bytes after the end of the frame")
    if body[-1] != END:
        raise FrameError(f"frame ends with {body[-1]:02X}, not 16")
    if checksum(body[:-2]) != body[-2]:
        raise ChecksumError(
            f"checksum {body[-2]:02X}, expected {checksum(body[:-2]):02X} for {body.hex(' ')}"
        )
    return Frame(
        address=decode_address(body[1:7]),
        control=body[8],
        data=remove_offset(body[HEADER_SIZE : HEADER_SIZE + length]),
    )


def read_frame(transport, deadline):
    """Read one frame from a stream: skip the preamble (and a little noise), then the header,
    then exactly L + 2 bytes. Silence gives ``ResponseTimeout``, a frame that stops half-way
    ``TruncatedFrame``."""
    skipped = 0
    while True:
        try:
            byte = transport.read_exact(1, deadline)
        except PartialTimeout as exc:
            if skipped:
                raise TruncatedFrame(f"only {skipped} preamble/noise bytes, then silence") from exc
            raise ResponseTimeout("no reply before the deadline") from exc
        if byte[0] == START:
            break
        skipped += 1
        if skipped > MAX_GARBAGE:
            raise FrameError(f"no start byte in {skipped} bytes")
    try:
        header = byte + transport.read_exact(HEADER_SIZE - 1, deadline)
        rest = transport.read_exact(header[9] + 2, deadline) if header[7] == START else b""
    except PartialTimeout as exc:
        raise TruncatedFrame(f"frame stopped after {len(exc.received)} more bytes") from exc
    return parse_frame(header + rest)
