"""Pure meter drivers (no Odoo): transport, framing and application layers per protocol.

``MeterDriver`` is what the gateway calls; ``Reading`` what it gets back; every failure is a
``GatewayError`` whose ``retryable`` tells the command queue whether to try again.
"""

from .driver import Bus, MeterDriver
from .exceptions import (
    AddressMismatch,
    ChecksumError,
    ConfigurationError,
    ConnectionLost,
    DeviceErrorReply,
    FrameError,
    GatewayError,
    PermanentError,
    ResponseMismatch,
    ResponseTimeout,
    RetryableError,
    TruncatedFrame,
    Unsupported,
    ValueOutOfRange,
    VerificationFailed,
)
from .reading import Reading
