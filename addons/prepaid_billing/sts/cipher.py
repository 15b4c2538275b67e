"""Encryption algorithm codes (EA) and one entry point for both ciphers.

EA07 (STA) uses a 64-bit decoder key, EA11 (MISTY1) a 128-bit one.  EA09
(DEA) exists in the standard but no conformance vectors were available to
check it, so it is deliberately not offered.
"""

from enum import IntEnum

from . import misty1, sta
from .exceptions import StsInputError


class EA(IntEnum):
    """Encryption algorithm code, as written in STS documents (07, 11)."""

    STA = 7
    MISTY1 = 11

    @property
    def key_bytes(self):
        """Length in bytes of a decoder key for this algorithm."""
        return 8 if self is EA.STA else 16

    @classmethod
    def parse(cls, value):
        """Accept an EA, 7/11, "07"/"11", "sta"/"misty1" (any case)."""
        if isinstance(value, cls):
            return value
        text = str(value).strip().upper()
        for member in cls:
            if text in (
                member.name,
                str(member.value),
                f"{member.value:02d}",
                f"EA{member.value:02d}",
            ):
                return member
        raise StsInputError(f"unknown encryption algorithm {value!r} (use STA/07 or MISTY1/11)")


_MODULES = {EA.STA: sta, EA.MISTY1: misty1}


def _check(ea, key):
    if len(key) != ea.key_bytes:
        raise StsInputError(
            f"{ea.name} needs a {ea.key_bytes * 8}-bit decoder key, got {len(key) * 8} bits"
        )


def encrypt(ea, key, block):
    """Encrypt a 64-bit block (int) with the decoder key (bytes) under algorithm ``ea``."""
    _check(ea, key)
    return _MODULES[ea].encrypt(key, block)


def decrypt(ea, key, block):
    """Decrypt a 64-bit block (int) with the decoder key (bytes) under algorithm ``ea``."""
    _check(ea, key)
    return _MODULES[ea].decrypt(key, block)
