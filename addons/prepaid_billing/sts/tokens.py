"""Token types and their 64-bit blocks (IEC 62055-41).

Each token type is a small frozen dataclass with ``block()`` (the 64-bit plain
block with its CRC) and is read back by :func:`parse_block`.  Layouts, most
significant bits first, CRC always in the low 16 bits::

    class 0 credit, class 2 standard   subclass(4) RND(4) TID(24) DATA(16) CRC(16)
    class 1 test, subclass 0           subclass(4) CONTROL(36) MFRCODE(8) CRC(16)
    class 1 test, subclass 1           subclass(4) CONTROL(28) MFRCODE(16) CRC(16)
    class 2 subclass 3 (KCT1)          subclass(4) KENHO(4) KRN(4) RO(1) RES(1) KT(2) NKHO(32) CRC
    class 2 subclass 4 (KCT2)          subclass(4) KENLO(4) TI(8) NKLO(32) CRC(16)
    class 2 subclass 8/9 (KCT3/KCT4)   subclass(4) SGC part(12) NKMO(32) CRC(16)

:func:`encode_token` turns a token into its 20 digits (encrypt unless class 1,
then transpose); the reverse lives in :mod:`.decoder`.
"""

from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar

from . import amount as amount_codec
from . import cipher
from .crc import token_crc
from .exceptions import RejectReason, StsInputError, TokenRejected
from .transpose import insert_class, to_digits


class TokenClass(IntEnum):
    """The 2-bit token class; 3 is reserved."""

    CREDIT = 0
    TEST = 1
    MANAGEMENT = 2


class CreditType(IntEnum):
    """Class 0 subclasses.  Amounts are in steps of 0.1 of the unit.

    Electricity counts 0.1 kWh.  The units of the other types come from the
    meter's configuration (water and gas usually 0.1 m3); UNVERIFIED for time
    and currency, which no conformance vector covers.
    """

    ELECTRICITY = 0
    WATER = 1
    GAS = 2
    TIME = 3
    CURRENCY = 4


class Management(IntEnum):
    """Class 2 subclasses."""

    MAX_POWER_LIMIT = 0
    CLEAR_CREDIT = 1
    TARIFF_RATE = 2
    KEY_CHANGE_1 = 3
    KEY_CHANGE_2 = 4
    CLEAR_TAMPER = 5
    MAX_PHASE_UNBALANCE = 6
    WATER_FACTOR = 7
    KEY_CHANGE_3 = 8
    KEY_CHANGE_4 = 9


STANDARD_MANAGEMENT = frozenset(
    {
        Management.MAX_POWER_LIMIT,
        Management.CLEAR_CREDIT,
        Management.TARIFF_RATE,
        Management.CLEAR_TAMPER,
        Management.MAX_PHASE_UNBALANCE,
        Management.WATER_FACTOR,
    }
)
"""Management subclasses with the standard RND/TID/DATA layout."""
POWER_LIMITS = frozenset({Management.MAX_POWER_LIMIT, Management.MAX_PHASE_UNBALANCE})
"""Management subclasses whose data is a power in watts (amount code without x10)."""
ALL_REGISTERS = 0xFFFF
"""Clear-credit register number that clears every credit register."""


def _check(name, value, bits):
    if not (isinstance(value, int) and 0 <= value < 1 << bits):
        raise StsInputError(f"{name} must fit in {bits} bits, got {value!r}")


class _Token:
    """Shared behaviour: the CRC-terminated block."""

    token_class: ClassVar[TokenClass]

    def fields48(self):
        """Return the 48 data bits of the block (everything but the CRC)."""
        raise NotImplementedError

    def block(self):
        """Return the 64-bit plain block: the 48 data bits and the CRC."""
        fields = self.fields48()
        return fields << 16 | token_crc(self.token_class, fields)


@dataclass(frozen=True)
class _Standard(_Token):
    """subclass(4) RND(4) TID(24) DATA(16): credit and standard management tokens."""

    _kind: ClassVar[type]  # enum of the subclass
    _subclasses: ClassVar[frozenset]  # its members allowed here
    subclass: int
    tid: int
    value: int
    rnd: int = 0

    def __post_init__(self):
        if self.subclass not in self._subclasses:
            raise StsInputError(f"{self.subclass!r} is not a {type(self).__name__} subclass")
        object.__setattr__(self, "subclass", self._kind(self.subclass))
        _check("TID", self.tid, 24)
        _check("data", self.value, 16)
        _check("RND", self.rnd, 4)

    def fields48(self):
        return self.subclass << 44 | self.rnd << 40 | self.tid << 16 | self.value


@dataclass(frozen=True)
class CreditToken(_Standard):
    """Class 0: add credit.  ``value`` is the 16-bit amount code."""

    token_class: ClassVar[TokenClass] = TokenClass.CREDIT
    _kind: ClassVar[type] = CreditType
    _subclasses: ClassVar[frozenset] = frozenset(CreditType)

    @property
    def amount(self):
        """The exact credit carried (Decimal, units of the credit type)."""
        return amount_codec.decode_credit(self.value)


@dataclass(frozen=True)
class ManagementToken(_Standard):
    """Class 2 token with the standard layout (power limits, clear credit, ...)."""

    token_class: ClassVar[TokenClass] = TokenClass.MANAGEMENT
    _kind: ClassVar[type] = Management
    _subclasses: ClassVar[frozenset] = STANDARD_MANAGEMENT

    @property
    def power_limit(self):
        """Watts for the two power-limit subclasses, else None."""
        if self.subclass in POWER_LIMITS:
            return amount_codec.decode_power(self.value)
        return None


@dataclass(frozen=True)
class TestToken(_Token):
    """Class 1: initiate a meter test or display; sent unencrypted.

    Subclass 0 carries a 36-bit control field and an 8-bit manufacturer code,
    subclass 1 a 28-bit control field and a 16-bit manufacturer code.
    """

    __test__ = False  # not a pytest test class despite the name
    token_class: ClassVar[TokenClass] = TokenClass.TEST
    subclass: int
    control: int
    mfr_code: int = 0

    def __post_init__(self):
        if self.subclass not in (0, 1):
            raise StsInputError(f"test token subclass must be 0 or 1, got {self.subclass!r}")
        _check("control", self.control, self._control_bits)
        _check("manufacturer code", self.mfr_code, 44 - self._control_bits)

    @property
    def _control_bits(self):
        return 36 if self.subclass == 0 else 28

    def fields48(self):
        return self.subclass << 44 | self.control << (44 - self._control_bits) | self.mfr_code


@dataclass(frozen=True)
class KeyChange1(_Token):
    """KCT1 (class 2 subclass 3): high key expiry nibble, KRN, RO, KT, new key bytes 0..3."""

    token_class: ClassVar[TokenClass] = TokenClass.MANAGEMENT
    subclass: ClassVar[Management] = Management.KEY_CHANGE_1
    kenho: int
    krn: int
    ro: int
    kt: int
    # Key material (a part of the new decoder key): kept out of repr(), hence out of logs,
    # tracebacks and test failure messages.
    nkho: int = field(repr=False)
    res: int = 0

    def __post_init__(self):
        object.__setattr__(self, "ro", int(self.ro))
        for name, bits in (
            ("kenho", 4),
            ("krn", 4),
            ("ro", 1),
            ("res", 1),
            ("kt", 2),
            ("nkho", 32),
        ):
            _check(name, getattr(self, name), bits)

    def fields48(self):
        flags = self.ro << 3 | self.res << 2 | self.kt
        return self.subclass << 44 | self.kenho << 40 | self.krn << 36 | flags << 32 | self.nkho


@dataclass(frozen=True)
class KeyChange2(_Token):
    """KCT2 (class 2 subclass 4): low key expiry nibble, tariff index, last new key bytes."""

    token_class: ClassVar[TokenClass] = TokenClass.MANAGEMENT
    subclass: ClassVar[Management] = Management.KEY_CHANGE_2
    kenlo: int
    ti: int
    nklo: int = field(repr=False)  # key material: not in repr()

    def __post_init__(self):
        for name, bits in (("kenlo", 4), ("ti", 8), ("nklo", 32)):
            _check(name, getattr(self, name), bits)

    def fields48(self):
        return self.subclass << 44 | self.kenlo << 40 | self.ti << 32 | self.nklo


@dataclass(frozen=True)
class _MiddleSection(_Token):
    """Shared layout of KCT3 and KCT4: 12 bits of the SGC, 32 bits of the new key."""

    token_class: ClassVar[TokenClass] = TokenClass.MANAGEMENT
    subclass: ClassVar[Management]
    sgc_part: int
    nkmo: int = field(repr=False)  # key material: not in repr()

    def __post_init__(self):
        _check("SGC part", self.sgc_part, 12)
        _check("nkmo", self.nkmo, 32)

    def fields48(self):
        return self.subclass << 44 | self.sgc_part << 32 | self.nkmo


@dataclass(frozen=True)
class KeyChange3(_MiddleSection):
    """KCT3 (class 2 subclass 8, 128-bit keys): low 12 SGC bits, new key bytes 4..7."""

    subclass: ClassVar[Management] = Management.KEY_CHANGE_3


@dataclass(frozen=True)
class KeyChange4(_MiddleSection):
    """KCT4 (class 2 subclass 9, 128-bit keys): high 12 SGC bits, new key bytes 8..11."""

    subclass: ClassVar[Management] = Management.KEY_CHANGE_4


KEY_CHANGES = (KeyChange1, KeyChange2, KeyChange3, KeyChange4)


@dataclass(frozen=True)
class NewKey:
    """What a complete set of key change tokens tells the meter."""

    decoder_key: bytes = field(repr=False)  # key material: not in repr()
    ken: int
    krn: int
    kt: int
    ti: int
    ro: bool
    sgc: int | None = None
    """Only sent for 128-bit keys (KCT3/KCT4); None for 64-bit keys."""


# === CONSTRUCTORS === #


def credit(amount, tid, credit_type=CreditType.ELECTRICITY, rnd=0):
    """Credit token for ``amount`` units (rounded up to the next representable value)."""
    return CreditToken(credit_type, tid, amount_codec.encode_credit(amount), rnd)


def max_power_limit(watts, tid, rnd=0):
    """Set the maximum power limit, in watts (rounded up)."""
    return ManagementToken(Management.MAX_POWER_LIMIT, tid, amount_codec.encode_power(watts), rnd)


def phase_unbalance_limit(watts, tid, rnd=0):
    """Set the maximum phase power unbalance limit, in watts (rounded up)."""
    value = amount_codec.encode_power(watts)
    return ManagementToken(Management.MAX_PHASE_UNBALANCE, tid, value, rnd)


def clear_credit(tid, register=ALL_REGISTERS, rnd=0):
    """Clear one credit register (0xFFFF = all of them)."""
    return ManagementToken(Management.CLEAR_CREDIT, tid, register, rnd)


def clear_tamper(tid, rnd=0):
    """Clear the meter's tamper condition (data is always 0)."""
    return ManagementToken(Management.CLEAR_TAMPER, tid, 0, rnd)


def tariff_rate(value, tid, rnd=0):
    """Set the tariff rate; ``value`` is the raw 16-bit field (encoding UNVERIFIED)."""
    return ManagementToken(Management.TARIFF_RATE, tid, value, rnd)


def water_factor(value, tid, rnd=0):
    """Set the water meter factor; ``value`` is the raw 16-bit field (encoding UNVERIFIED)."""
    return ManagementToken(Management.WATER_FACTOR, tid, value, rnd)


def meter_test(control, mfr_code=0, subclass=0):
    """Class 1 test/display token (unencrypted: works without the meter's key)."""
    return TestToken(subclass, control, mfr_code)


def key_change(new_key, new_params, ro=False):
    """Key change tokens that install ``new_key`` (bytes) with ``new_params``.

    Returns (KCT1, KCT2) for a 64-bit key and (KCT1, KCT2, KCT3, KCT4) for a
    128-bit key: KCT1 carries key bytes 0..3, KCT3 4..7, KCT4 8..11 and KCT2
    the last four.  ``ro`` (roll-over) tells the meter to move to the next
    base date and forget its TIDs.  Encrypt them with the *current* key.
    """
    if len(new_key) not in (8, 16):
        raise StsInputError("a decoder key is 64 or 128 bits")
    words = [int.from_bytes(new_key[i : i + 4], "big") for i in range(0, len(new_key), 4)]
    p = new_params
    tokens = [
        KeyChange1(p.ken >> 4, p.krn, int(bool(ro)), p.kt, words[0]),
        KeyChange2(p.ken & 0xF, p.ti, words[-1]),
    ]
    if len(new_key) == 16:
        tokens += [KeyChange3(p.sgc & 0xFFF, words[1]), KeyChange4(p.sgc >> 12, words[2])]
    return tuple(tokens)


def assemble_key_change(parts, key_bytes):
    """Combine decoded key change tokens into a :class:`NewKey`.

    ``key_bytes`` is the length the meter expects (8 for STA, 16 for MISTY1);
    raises :class:`StsInputError` when a section is missing.
    """
    by_type = {type(part): part for part in parts}
    needed = (KeyChange1, KeyChange2) if key_bytes == 8 else KEY_CHANGES
    missing = [cls.subclass.name for cls in needed if cls not in by_type]
    if missing:
        raise StsInputError(f"key change incomplete, missing {', '.join(missing)}")
    kct1, kct2 = by_type[KeyChange1], by_type[KeyChange2]
    words = [kct1.nkho, kct2.nklo]
    sgc = None
    if key_bytes == 16:
        kct3, kct4 = by_type[KeyChange3], by_type[KeyChange4]
        words[1:1] = [kct3.nkmo, kct4.nkmo]
        sgc = kct4.sgc_part << 12 | kct3.sgc_part
    return NewKey(
        decoder_key=b"".join(w.to_bytes(4, "big") for w in words),
        ken=kct1.kenho << 4 | kct2.kenlo,
        krn=kct1.krn,
        kt=kct1.kt,
        ti=kct2.ti,
        ro=bool(kct1.ro),
        sgc=sgc,
    )


# === BLOCK CODEC === #


def parse_block(token_class, block):
    """Return the token held in a plain 64-bit block of class ``token_class``.

    Raises :class:`TokenRejected` with reason ``crc`` when the CRC does not
    match and ``format`` for a reserved class or an unknown subclass.
    """
    fields = block >> 16
    if token_crc(token_class, fields) != block & 0xFFFF:
        raise TokenRejected(RejectReason.CRC, "CRC mismatch: wrong decoder key or mistyped token")
    subclass = fields >> 44
    if token_class == TokenClass.TEST:
        if subclass not in (0, 1):
            raise TokenRejected(RejectReason.FORMAT, f"unknown test token subclass {subclass}")
        control_bits = 36 if subclass == 0 else 28
        mfr_bits = 44 - control_bits
        control = fields >> mfr_bits & ((1 << control_bits) - 1)
        return TestToken(subclass, control, fields & ((1 << mfr_bits) - 1))
    rnd, tid, value = fields >> 40 & 0xF, fields >> 16 & 0xFFFFFF, fields & 0xFFFF
    if token_class == TokenClass.CREDIT:
        if subclass > max(CreditType):
            raise TokenRejected(RejectReason.FORMAT, f"unknown credit subclass {subclass}")
        return CreditToken(subclass, tid, value, rnd)
    if token_class != TokenClass.MANAGEMENT:
        raise TokenRejected(RejectReason.FORMAT, f"token class {token_class} is reserved")
    if subclass in STANDARD_MANAGEMENT:
        return ManagementToken(subclass, tid, value, rnd)
    nk = fields & 0xFFFF_FFFF
    if subclass == Management.KEY_CHANGE_1:
        flags = fields >> 32 & 0xF
        kenho, krn = fields >> 40 & 0xF, fields >> 36 & 0xF
        return KeyChange1(kenho, krn, flags >> 3, flags & 3, nk, res=flags >> 2 & 1)
    if subclass == Management.KEY_CHANGE_2:
        return KeyChange2(fields >> 40 & 0xF, fields >> 32 & 0xFF, nk)
    if subclass == Management.KEY_CHANGE_3:
        return KeyChange3(fields >> 32 & 0xFFF, nk)
    if subclass == Management.KEY_CHANGE_4:
        return KeyChange4(fields >> 32 & 0xFFF, nk)
    raise TokenRejected(RejectReason.FORMAT, f"unknown management subclass {subclass}")


def encode_token(token, decoder_key=None, ea=None):
    """Return the 20 digits of ``token``: block, encryption (not for class 1), transposition.

    ``decoder_key`` (bytes) and ``ea`` (:class:`~.cipher.EA` or "STA"/"MISTY1")
    are required for every class but 1.
    """
    block = token.block()
    if token.token_class != TokenClass.TEST:
        if decoder_key is None or ea is None:
            raise StsInputError("an encrypted token needs the decoder key and the algorithm")
        block = cipher.encrypt(cipher.EA.parse(ea), decoder_key, block)
    return to_digits(insert_class(token.token_class, block))
