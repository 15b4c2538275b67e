"""STS prepayment tokens (IEC 62055-41) in pure Python: no Odoo import here.

The package is layered; each module only uses the ones above it::

    crc, amount, tid          field codecs (CRC-16, 16-bit amount, token identifier)
    sta, misty1, cipher       encryption algorithms EA07 and EA11
    keys                      KeyParams, DKGA02 / DKGA04 decoder key generation
    tokens, transpose         token types <-> 64-bit blocks <-> 20 digits
    decoder                   meter side: decode, reject replayed/old/expired tokens
    provider                  TokenProvider interface and the software provider
    __main__                  command line (python -m prepaid_billing.sts)

Everything checked against the 264 STS 531-1-0 conformance vectors lives in
``tests/sts``; behaviour without such vectors is marked UNVERIFIED in the
docstrings.

Typical use::

    from decimal import Decimal
    from prepaid_billing import sts

    meter = sts.KeyParams(pan="600727000000000009", sgc=123456, ti=1, krn=1, base_date=2014)
    provider = sts.SoftwareTokenProvider(bytes.fromhex("abababababababab"))
    issued = provider.issue_credit(meter, Decimal("25.6"))
    print(issued.grouped)                      # "1234 5678 ..." for the customer

    dk = provider.decoder_key(meter)
    meter_side = sts.MeterDecoder(dk, meter.ea, base_date=meter.base_date)
    token = meter_side.enter(issued.digits)    # raises sts.TokenRejected if refused
    assert token.amount == Decimal("25.6")

Public API
----------
Keys and algorithms
    :class:`KeyParams`, :class:`EA`, :func:`decoder_key`
Issuing
    :class:`TokenProvider` (abstract), :class:`SoftwareTokenProvider`,
    :class:`IssuedToken`; low level: the token classes, their constructors in
    :mod:`.tokens` (``credit``, ``max_power_limit``, ``key_change`` ...) and
    :func:`encode_token`
Decoding
    :func:`decode_token` (stateless), :class:`MeterDecoder` and
    :class:`MeterState` (meter simulation with TID memory)
Codecs
    :func:`encode_credit` / :func:`decode_credit`, :func:`encode_power` /
    :func:`decode_power`, :func:`tid_for` / :func:`datetime_for`,
    :func:`group` (display in fours)
Errors
    :class:`StsError` and its subclasses, :class:`RejectReason`
"""

from .amount import decode_credit, decode_power, encode_credit, encode_power
from .cipher import EA
from .decoder import MeterDecoder, MeterState, decode_token
from .exceptions import (
    KeyExpiredError,
    ProviderError,
    RejectReason,
    StsError,
    StsInputError,
    TidRangeError,
    TokenRejected,
)
from .keys import KeyParams, decoder_key
from .provider import IssuedToken, SoftwareTokenProvider, TokenProvider
from .tid import BASE_DATES, base_date_for, datetime_for, rollover_at, tid_for
from .tokens import (
    ALL_REGISTERS,
    CreditToken,
    CreditType,
    KeyChange1,
    KeyChange2,
    KeyChange3,
    KeyChange4,
    Management,
    ManagementToken,
    NewKey,
    TestToken,
    TokenClass,
    encode_token,
)
from .transpose import group

__all__ = [
    "ALL_REGISTERS",
    "BASE_DATES",
    "EA",
    "CreditToken",
    "CreditType",
    "IssuedToken",
    "KeyChange1",
    "KeyChange2",
    "KeyChange3",
    "KeyChange4",
    "KeyExpiredError",
    "KeyParams",
    "Management",
    "ManagementToken",
    "MeterDecoder",
    "MeterState",
    "NewKey",
    "ProviderError",
    "RejectReason",
    "SoftwareTokenProvider",
    "StsError",
    "StsInputError",
    "TestToken",
    "TidRangeError",
    "TokenClass",
    "TokenProvider",
    "TokenRejected",
    "base_date_for",
    "datetime_for",
    "decode_credit",
    "decode_power",
    "decode_token",
    "decoder_key",
    "encode_credit",
    "encode_power",
    "encode_token",
    "group",
    "rollover_at",
    "tid_for",
]
