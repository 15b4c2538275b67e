"""One exception hierarchy for the STS package.

Callers (the Odoo models, the CLI, the gateway) catch :class:`StsError` and map
it to a translated user message at their own boundary; this package only
raises plain, English, loggable messages.

::

    StsError
    +-- StsInputError (also ValueError)     bad arguments: amount, PAN, date ...
    |   +-- TidRangeError                   moment outside the base date's TID window
    |   +-- KeyExpiredError                 TID beyond the key expiry number (KEN)
    +-- TokenRejected(reason)               a token a meter would refuse
    +-- ProviderError(retryable)            a token provider (HSM, web service) failed
"""

from enum import Enum


class StsError(Exception):
    """Base class of every error raised by :mod:`prepaid_billing.sts`."""


class StsInputError(StsError, ValueError):
    """An argument cannot be encoded into a token (out of range, malformed)."""


class TidRangeError(StsInputError):
    """The moment lies outside the 24-bit minute window of the key's base date.

    The 1993 window closed at 2024-11-24 20:16 UTC: a meter still on that base
    date must first receive a key change with the roll-over bit set (RO=1).
    """


class KeyExpiredError(StsInputError):
    """The token's TID is beyond the key expiry number: issue a key change first."""


class RejectReason(str, Enum):
    """Why a meter refuses a token; the values are stable codes for logs and APIs."""

    FORMAT = "format"
    """Not 20 digits, above 2**66, a reserved class or an unknown subclass."""
    CRC = "crc"
    """CRC mismatch: wrong decoder key, a typo, or a token for another meter."""
    USED = "used"
    """The TID was already accepted (replayed token)."""
    OLD = "old"
    """The TID is older than every TID the meter still remembers."""
    KEY_EXPIRED = "key_expired"
    """The TID's top 8 bits exceed the key expiry number (KEN)."""


class TokenRejected(StsError):
    """A token that a meter would reject, with a machine-readable ``reason``."""

    def __init__(self, reason, message):
        self.reason = RejectReason(reason)
        self.message = message
        super().__init__(f"{self.reason.value}: {message}")


class ProviderError(StsError):
    """A token provider could not issue a token.

    ``retryable`` tells the caller whether trying again later may succeed
    (timeouts, an HSM that is busy) or not (unknown key, refused request).
    """

    def __init__(self, message, *, retryable=False):
        self.retryable = retryable
        super().__init__(message)
