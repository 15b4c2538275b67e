"""Token providers: who turns a vending request into 20 digits.

Real STS vending keys come from a Key Management Centre and live in a
certified security module (HSM) or behind a vending web service; this package
cannot and should not hold them there.  So the rest of the suite asks a
:class:`TokenProvider` for tokens and never derives keys itself.

:class:`SoftwareTokenProvider` does everything in-process with a vending key
it is given: for tests, demos and sites that run their own, non-certified
keys.

Extension point - an external HSM or vending service
----------------------------------------------------
Subclass :class:`TokenProvider`, give it a unique ``code`` and implement the
three ``issue_*`` methods by calling the external system; return
:class:`IssuedToken` objects (``token`` may be built from the request with the
constructors of :mod:`.tokens`, or left ``None`` if the service does not say).
Rules for implementations:

* do all network I/O in one private method with a timeout, and map its
  failures to :class:`~.exceptions.ProviderError` (``retryable=True`` for
  timeouts and 5xx answers, ``False`` for refusals);
* raise :class:`~.exceptions.StsInputError` for requests that can never
  succeed (amount out of range, expired key), as the software provider does;
* return all the key change tokens of a set or raise: never a partial set;
* never log vending or decoder keys.

The Odoo side selects a provider by ``code`` (a selection field extended by
plug-in modules, like ``payment.provider``) and stores the settings each needs.
"""

import abc
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

from . import tokens as sts_tokens
from .amount import encode_credit, encode_power
from .exceptions import KeyExpiredError, StsInputError
from .keys import decoder_key as derive_decoder_key
from .tid import datetime_for, next_base_date, tid_for
from .tokens import (
    ALL_REGISTERS,
    POWER_LIMITS,
    STANDARD_MANAGEMENT,
    CreditToken,
    CreditType,
    Management,
    ManagementToken,
    encode_token,
)
from .transpose import group


@dataclass(frozen=True)
class IssuedToken:
    """A token ready to hand to the customer.

    :param digits: the 20 digits, no separators
    :param token: the token dataclass it encodes (None if a provider cannot tell)
    :param issued_at: UTC moment the TID stands for, None for tokens without TID
    """

    digits: str
    token: object = None
    issued_at: datetime | None = None

    @property
    def grouped(self):
        """The digits in groups of four, as printed on receipts."""
        return group(self.digits)

    @property
    def tid(self):
        """The token identifier, or None (test and key change tokens have none)."""
        return getattr(self.token, "tid", None)

    def __str__(self):
        return self.grouped


class TokenProvider(abc.ABC):
    """Issues STS tokens for meters described by :class:`~.keys.KeyParams`.

    ``issued_at`` defaults to now (UTC) and sets the TID; an explicit ``tid``
    wins over it (the caller then answers for its uniqueness per meter).
    """

    code = None
    """Short unique name of the provider type, e.g. ``"software"``."""

    @abc.abstractmethod
    def issue_credit(
        self, meter, amount, *, credit_type=CreditType.ELECTRICITY, issued_at=None, tid=None
    ):
        """Return an :class:`IssuedToken` adding ``amount`` of ``credit_type`` to ``meter``.

        ``amount`` is in the credit type's unit (kWh for electricity), as a
        Decimal, int or str; it is rounded **up** to a representable value and
        the token's ``token.amount`` says exactly what the meter will add.
        """

    @abc.abstractmethod
    def issue_management(self, meter, subclass, value=None, *, issued_at=None, tid=None):
        """Return an :class:`IssuedToken` for a standard management token.

        ``subclass`` is a :class:`~.tokens.Management` member; ``value`` is
        the power in watts for the two power limits, the register for
        CLEAR_CREDIT (default: all), the raw 16-bit field for TARIFF_RATE and
        WATER_FACTOR, and unused for CLEAR_TAMPER.
        """

    @abc.abstractmethod
    def issue_key_change(self, meter, new):
        """Return the key change tokens (2 or 4 :class:`IssuedToken`) moving ``meter`` to ``new``.

        The tokens are encrypted with the meter's current key and must be
        entered in the returned order.  A change of base date sets the
        roll-over bit; only a move to the next base date is possible.
        """


class SoftwareTokenProvider(TokenProvider):
    """In-process token generation with a vending key held in memory.

    :param vending_key: the vending key (bytes), or a callable returning the
        vending key for a :class:`~.keys.KeyParams` (several SGCs or KRNs)
    :param cache_size: how many derived decoder keys to keep (0 = derive for
        every token); a cache hit skips one DES or HMAC computation
    :param clock: callable returning the current UTC datetime (for tests)
    :param random_nibble: callable returning the 4-bit RND (for tests)

    Within one provider instance the TIDs issued to a meter only go up: a
    second token in the same minute gets the next minute, as a meter would
    refuse a repeated TID.  Persistent uniqueness across processes is the
    caller's job (pass ``tid``).
    """

    code = "software"

    def __init__(self, vending_key, *, cache_size=1024, clock=None, random_nibble=None):
        self._vending_key = vending_key if callable(vending_key) else (lambda _m: vending_key)
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._random_nibble = random_nibble or self._os_random_nibble
        self._random_bytes = []
        self._last_tid = {}
        self._lock = threading.Lock()
        derive = self._derive
        self._decoder_key = lru_cache(maxsize=cache_size)(derive) if cache_size else derive

    def _os_random_nibble(self):
        # One urandom call per 256 tokens instead of one or two per token.
        with self._lock:
            if not self._random_bytes:
                self._random_bytes = list(os.urandom(256))
            return self._random_bytes.pop() & 0xF

    def _derive(self, meter):
        return derive_decoder_key(self._vending_key(meter), meter)

    def decoder_key(self, meter):
        """Return the decoder key of ``meter`` (bytes), from the cache when enabled."""
        return self._decoder_key(meter)

    # === TOKEN IDENTIFIERS === #

    def _next_tid(self, meter, issued_at, tid):
        if tid is None:
            tid = tid_for(issued_at or self._clock(), meter.base_date)
            with self._lock:
                slot = (meter.pan, meter.base_date)
                tid = max(tid, self._last_tid.get(slot, -1) + 1)
                self._last_tid[slot] = tid
        if tid >> 16 > meter.ken:
            raise KeyExpiredError(
                f"meter {meter.pan}: TID {tid} is beyond key expiry number {meter.ken:#04x}; "
                "issue a key change to a new key first"
            )
        return tid

    def _issue(self, meter, token):
        digits = encode_token(token, self.decoder_key(meter), meter.ea)
        tid = getattr(token, "tid", None)
        issued_at = datetime_for(tid, meter.base_date) if tid is not None else None
        return IssuedToken(digits, token, issued_at)

    # === ISSUING === #

    def issue_credit(
        self, meter, amount, *, credit_type=CreditType.ELECTRICITY, issued_at=None, tid=None
    ):
        value = encode_credit(amount)  # check the amount before using up a TID
        tid = self._next_tid(meter, issued_at, tid)
        token = CreditToken(credit_type, tid, value, self._random_nibble())
        return self._issue(meter, token)

    def issue_management(self, meter, subclass, value=None, *, issued_at=None, tid=None):
        subclass = Management(subclass)
        data = _management_data(subclass, value)  # check the value before using up a TID
        tid = self._next_tid(meter, issued_at, tid)
        token = ManagementToken(subclass, tid, data, self._random_nibble())
        return self._issue(meter, token)

    def issue_key_change(self, meter, new):
        if new.base_date not in (meter.base_date, _next_or_none(meter.base_date)):
            raise StsInputError(
                f"a key change can keep base date {meter.base_date} or move to the next one, "
                f"not to {new.base_date}"
            )
        new_key = self.decoder_key(new)
        sections = sts_tokens.key_change(new_key, new, ro=new.base_date != meter.base_date)
        return tuple(self._issue(meter, section) for section in sections)


def _management_data(subclass, value):
    """The 16-bit data field of a standard management token."""
    if subclass not in STANDARD_MANAGEMENT:
        raise StsInputError(f"{subclass.name} is not a standard management token")
    if subclass == Management.CLEAR_TAMPER:
        return 0
    if subclass == Management.CLEAR_CREDIT and value is None:
        return ALL_REGISTERS
    if value is None:
        raise StsInputError(f"{subclass.name} needs a value")
    if subclass in POWER_LIMITS:
        return encode_power(value)
    if not (isinstance(value, int) and 0 <= value <= 0xFFFF):
        raise StsInputError(f"{subclass.name} needs a 16-bit integer, got {value!r}")
    return value


def _next_or_none(base_date):
    try:
        return next_base_date(base_date)
    except StsInputError:
        return None
