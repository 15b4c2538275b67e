"""One exception hierarchy for every driver, split by what the caller should do next.

The command queue and the poller only need one question answered: *is it worth trying again?*
``RetryableError`` (no answer in time, connection refused or dropped, bus busy) says yes: the
meter or the line may come back. ``PermanentError`` (bad frame, reply from another address, an
error reply from the meter, a function the meter model does not have, a bad configuration) says
that repeating the same request the same way will give the same answer; the queue fails the
command with its reason and the poller flags the meter instead of charging on a doubtful value.
Like ``pymodbus.exceptions`` and ``OCA/queue_job/exception.py``; the translated texts are made
at the Odoo boundary, these messages are for logs and tests.
"""


class GatewayError(Exception):
    """Base of every driver error. ``retryable`` is the only attribute a caller needs."""

    retryable = False


class RetryableError(GatewayError):
    """A transient failure: the same request may succeed later (with back-off)."""

    retryable = True


class ResponseTimeout(RetryableError):
    """Nothing (or nothing more) arrived before the deadline: a dead or slow meter."""


class ConnectionLost(RetryableError):
    """The transport could not connect, or the peer closed or reset the connection."""


class PermanentError(GatewayError):
    """Repeating the request unchanged will not help: fix the meter, the map or the request."""


class FrameError(PermanentError):
    """The bytes received are not a valid frame of the protocol (garbled, bad length...)."""


class ChecksumError(FrameError):
    """The frame's CRC or checksum does not match its content."""


class TruncatedFrame(FrameError):
    """A frame started but stopped before its announced end (the line went quiet)."""


class ResponseMismatch(FrameError):
    """A well-formed frame that does not answer the request (other function, DI, length)."""


class AddressMismatch(PermanentError):
    """A well-formed reply from another meter address or unit id than the one asked."""


class DeviceErrorReply(PermanentError):
    """The meter answered with an error reply (Modbus exception, DL/T 645 error frame)."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


class Unsupported(PermanentError):
    """The meter model or its register map does not offer this function or value."""


class ConfigurationError(PermanentError):
    """The driver settings or the register map are invalid (bad JSON, type, scale...)."""


class ValueOutOfRange(PermanentError):
    """A decoded value that cannot be right (invalid BCD digit, impossible date)."""


class VerificationFailed(PermanentError):
    """The meter acknowledged a command but reading it back shows it was not carried out
    (a stuck relay, a clock that did not take the new time)."""
