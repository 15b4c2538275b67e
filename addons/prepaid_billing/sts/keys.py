"""Decoder key generation: DKGA02 (DES, 64-bit keys) and DKGA04 (HMAC-SHA-256).

Every meter holds its own *decoder key*, derived from the utility's secret
*vending key* and public meter parameters (:class:`KeyParams`).  Deriving it
per token keeps the vending key as the only secret to protect; a leaked
decoder key only exposes one meter.

The vending key is never stored in :class:`KeyParams`: it stays with the key
store or the security module, and is passed explicitly where it is needed.
"""

import hashlib
import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, modes

from .cipher import EA
from .exceptions import StsInputError
from .tid import BASE_DATES

try:  # cryptography >= 43 moved single/triple DES to the "decrepit" namespace
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover - depends on the installed version
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES

KEY_TYPES = {
    0: "DITK (initialisation)",
    1: "DDTK (default)",
    2: "DUTK (unique)",
    3: "DCTK (common)",
}
"""Decoder key types (KT) of IEC 62055-41."""
NO_EXPIRY = 0xFF
"""Key expiry number that never expires (every TID's top 8 bits are <= 0xFF)."""


@dataclass(frozen=True, kw_only=True)
class KeyParams:
    """Public parameters of one meter's decoder key (keyword arguments only).

    :param pan: the 18-digit meter PAN (IIN 600727 + 11-digit DRN + check digit)
    :param sgc: supply group code (6 digits)
    :param ti: tariff index (0..99)
    :param krn: key revision number (1..9 in practice, 4 bits)
    :param kt: key type (0..3, see :data:`KEY_TYPES`); 2 = unique key
    :param ea: encryption algorithm, :class:`EA` STA (07) or MISTY1 (11)
    :param dkga: decoder key generation algorithm, 2 or 4 (DKGA02 only gives STA keys)
    :param base_date: TID base date of the key: 1993, 2014 or 2035.  Required:
        it is meter state (moved only by a roll-over key change), and a wrong
        one gives tokens the meter refuses or misdates.
    :param ken: key expiry number (0..255); 255 = never expires
    """

    pan: str
    sgc: int
    ti: int
    krn: int
    base_date: int
    kt: int = 2
    ea: EA = EA.STA
    dkga: int = 2
    ken: int = NO_EXPIRY

    def __post_init__(self):
        object.__setattr__(self, "ea", EA.parse(self.ea))
        if not (isinstance(self.pan, str) and len(self.pan) == 18 and self.pan.isdigit()):
            raise StsInputError(f"meter PAN must be 18 digits, got {self.pan!r}")
        for name, low, high in (
            ("sgc", 0, 999_999),
            ("ti", 0, 99),
            ("krn", 0, 15),
            ("kt", 0, 3),
            ("ken", 0, 255),
        ):
            value = getattr(self, name)
            if not (isinstance(value, int) and low <= value <= high):
                raise StsInputError(f"{name} must be an integer in {low}..{high}, got {value!r}")
        if self.dkga not in (2, 4):
            raise StsInputError(f"DKGA must be 2 or 4, got {self.dkga!r}")
        if self.dkga == 2 and self.ea is not EA.STA:
            raise StsInputError("DKGA02 gives 64-bit keys: it only works with STA (EA07)")
        if self.base_date not in BASE_DATES:
            raise StsInputError(f"base date must be one of {sorted(BASE_DATES)}")


def pan_block(params):
    """DKGA02 PANBlock: the PAN without its check digit, last 16 digits as nibbles.

    For a common key (KT=3) the individual account part of the PAN (the
    11-digit DRN) is replaced by zeros so that every meter of the group gets
    the same key.  UNVERIFIED: no conformance vector covers KT=3.
    """
    digits = params.pan[:-1]
    if params.kt == 3:
        digits = digits[:6] + "0" * 11
    return bytes.fromhex(digits[-16:])


def control_block(params):
    """DKGA02 CONTROLBlock: KT, SGC, TI, KRN then FFFFFF, read as 16 hex nibbles."""
    return bytes.fromhex(f"{params.kt:X}{params.sgc:06d}{params.ti:02d}{params.krn:X}FFFFFF")


def _des(key, block):
    # A triple-DES key made of three equal halves is single DES; this spelling
    # works from cryptography 3.x up, where plain 8-byte keys are deprecated.
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def dkga02(vending_key, params):
    """Return the 8-byte DKGA02 decoder key: ``DES(VK, X) ^ X ^ VK``, ``X = PAN ^ CTRL``."""
    if len(vending_key) != 8:
        raise StsInputError("a DKGA02 vending key is 64 bits (8 bytes)")
    vk = bytes(vending_key)
    x = int.from_bytes(pan_block(params), "big") ^ int.from_bytes(control_block(params), "big")
    encrypted = int.from_bytes(_des(vk, x.to_bytes(8, "big")), "big")
    return (encrypted ^ x ^ int.from_bytes(vk, "big")).to_bytes(8, "big")


def dkga04_data(params):
    """Return the DKGA04 HMAC message for ``params`` (length-prefixed ASCII fields).

    ``04 02 "04" 02 <yy> 02 <EA> 02 <TI> 00 04 06 <SGC> 01 <KT> 01 <KRN> 12 <PAN>``
    followed by the key length in bits as a 32-bit big-endian number.
    """

    def field(text):
        raw = text.encode("ascii")
        return bytes([len(raw)]) + raw

    return b"".join(
        (
            b"\x04",
            field("04"),
            field(f"{params.base_date % 100:02d}"),
            field(f"{params.ea.value:02d}"),
            field(f"{params.ti:02d}"),
            b"\x00\x04",
            field(f"{params.sgc:06d}"),
            field(f"{params.kt:X}"),
            field(f"{params.krn:X}"),
            field(params.pan),
            (params.ea.key_bytes * 8).to_bytes(4, "big"),
        )
    )


def dkga04(vending_key, params):
    """Return the DKGA04 decoder key: HMAC-SHA-256(VK, data) cut to 8 or 16 bytes."""
    if len(vending_key) != 20:
        raise StsInputError("a DKGA04 vending key is 160 bits (20 bytes)")
    digest = hmac.new(bytes(vending_key), dkga04_data(params), hashlib.sha256).digest()
    return digest[: params.ea.key_bytes]


def decoder_key(vending_key, params):
    """Return the meter's decoder key (bytes) with the DKGA named in ``params``."""
    return dkga02(vending_key, params) if params.dkga == 2 else dkga04(vending_key, params)
