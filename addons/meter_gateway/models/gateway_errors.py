"""The Odoo boundary of the drivers' errors: a stable code per error class (stored on commands
and log lines) and its reason in the user's language. The drivers' own messages are technical
details in English, shown after the translated reason."""

from ..drivers import exceptions as exc

# Most specific classes first.
ERROR_CODES = (
    (exc.ChecksumError, "checksum"),
    (exc.TruncatedFrame, "frame"),
    (exc.ResponseMismatch, "frame"),
    (exc.FrameError, "frame"),
    (exc.AddressMismatch, "address"),
    (exc.DeviceErrorReply, "device"),
    (exc.Unsupported, "unsupported"),
    (exc.ConfigurationError, "configuration"),
    (exc.ValueOutOfRange, "range"),
    (exc.VerificationFailed, "verification"),
    (exc.ResponseTimeout, "timeout"),
    (exc.ConnectionLost, "connection"),
)
ERROR_SELECTION = [
    ("timeout", "No answer"),
    ("connection", "Gateway unreachable"),
    ("checksum", "Checksum error"),
    ("frame", "Invalid frame"),
    ("address", "Wrong address"),
    ("device", "Refused by the meter"),
    ("unsupported", "Not supported"),
    ("configuration", "Configuration error"),
    ("range", "Impossible value"),
    ("verification", "Not carried out"),
    ("expired", "Expired"),
    ("other", "Unexpected error"),
]


def error_code(error):
    for cls, code in ERROR_CODES:
        if isinstance(error, cls):
            return code
    return "other"


def error_reason(env, code):
    """The reason of ``code`` in the language of ``env``."""
    _ = env._
    reasons = {
        "timeout": _("The meter did not answer in time (dead, unpowered or wrong settings)."),
        "connection": _("The gateway could not be reached, or it dropped the connection."),
        "checksum": _("The reply was corrupted on the line (checksum error)."),
        "frame": _("The reply was not a valid answer (garbled, truncated or unexpected)."),
        "address": _("Another meter answered (wrong address on the bus)."),
        "device": _("The meter refused the request (error reply: password, access, value)."),
        "unsupported": _("The meter model or its register map does not offer this function."),
        "configuration": _("The gateway or meter settings are invalid."),
        "range": _("The meter returned an impossible value."),
        "verification": _(
            "The meter acknowledged the command, but reading it back shows it was not carried out."
        ),
        "expired": _("The deadline passed before the command could be carried out."),
        "other": _("Unexpected error."),
    }
    return reasons.get(code, reasons["other"])


def error_message(env, error):
    """Translated reason plus the driver's technical detail."""
    return f"{error_reason(env, error_code(error))} ({error})"
