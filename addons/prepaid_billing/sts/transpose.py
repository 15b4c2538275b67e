"""Class-bit transposition between the 64-bit block and the 20-digit token.

A token is 66 bits: the 2-bit token class and the (encrypted) 64-bit block.
The class is not sent in the top two bits directly: it overwrites block bits
28 and 27, and the two bits it displaced move to bits 65 and 64.  So the
class of an encrypted token cannot be read from its leading digits, yet the
meter recovers it before decryption.  The 66-bit number is written as 20
decimal digits (2**66 - 1 has 20 digits), usually grouped by four.
"""

from .exceptions import RejectReason, StsInputError, TokenRejected

DIGITS = 20
TOKEN_LIMIT = 1 << 66
_CLASS_BITS = 0b11 << 27


def insert_class(token_class, block):
    """Return the 66-bit token number for a class (0..3) and a 64-bit block."""
    if not 0 <= token_class <= 3:
        raise StsInputError(f"token class {token_class!r} is not a 2-bit value")
    displaced = block >> 27 & 0b11
    return displaced << 64 | (block & ~_CLASS_BITS) | token_class << 27


def extract_class(number):
    """Return ``(token_class, block)`` from a 66-bit token number."""
    token_class = number >> 27 & 0b11
    block = (number & ((1 << 64) - 1) & ~_CLASS_BITS) | (number >> 64 & 0b11) << 27
    return token_class, block


def to_digits(number):
    """Write a 66-bit token number as 20 digits, zero-padded."""
    return f"{number:0{DIGITS}d}"


def parse_digits(text):
    """Read a typed token: 20 digits, spaces and dashes ignored.

    Raises :class:`TokenRejected` (reason ``format``) for anything else, as a
    meter keypad would.
    """
    digits = "".join(ch for ch in str(text) if ch not in " -\t")
    if len(digits) != DIGITS or not digits.isdigit() or not digits.isascii():
        raise TokenRejected(RejectReason.FORMAT, f"a token is {DIGITS} digits, got {text!r}")
    number = int(digits)
    if number >= TOKEN_LIMIT:
        raise TokenRejected(RejectReason.FORMAT, f"{digits} is above the 66-bit token range")
    return number


def group(digits, size=4, sep=" "):
    """Group a token for display: ``23716100501183194197`` -> ``2371 6100 5011 8319 4197``."""
    digits = str(digits)
    return sep.join(digits[i : i + size] for i in range(0, len(digits), size))
