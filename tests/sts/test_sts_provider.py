"""Token providers: the interface and the software provider's rules."""

import dataclasses
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from prepaid_billing.sts.exceptions import KeyExpiredError, StsInputError, TidRangeError
from prepaid_billing.sts.keys import KeyParams
from prepaid_billing.sts.provider import IssuedToken, SoftwareTokenProvider, TokenProvider
from prepaid_billing.sts.tokens import ALL_REGISTERS, CreditType, Management

PAN = "600727000000000009"
VK = bytes.fromhex("abababababababab")
T0 = datetime(2004, 3, 1, 13, 55, tzinfo=timezone.utc)
METER = KeyParams(pan=PAN, sgc=123456, ti=1, krn=1, base_date=1993)


def test_worked_example_through_the_provider():
    provider = SoftwareTokenProvider(VK, random_nibble=lambda: 5)
    issued = provider.issue_credit(METER, Decimal("0.1"), issued_at=T0)
    assert issued.digits == "23716100501183194197"
    assert str(issued) == issued.grouped == "2371 6100 5011 8319 4197"
    assert issued.tid == 5871715
    assert issued.issued_at == T0
    assert issued.token.subclass is CreditType.ELECTRICITY


def test_tids_go_up_within_a_minute():
    provider = SoftwareTokenProvider(VK, clock=lambda: T0)
    tids = [provider.issue_credit(METER, 1).tid for _ in range(3)]
    assert tids == [5871715, 5871716, 5871717]
    # Other meters have their own TIDs.
    other = dataclasses.replace(METER, pan="600727000000000017")
    assert provider.issue_credit(other, 1).tid == 5871715
    # An explicit TID is the caller's responsibility and is used as given.
    assert provider.issue_credit(METER, 1, tid=42).tid == 42


def test_expired_key_is_refused_at_issue():
    expired = dataclasses.replace(METER, ken=0x58)  # T0's TID has top byte 0x59
    with pytest.raises(KeyExpiredError, match="key change"):
        SoftwareTokenProvider(VK).issue_credit(expired, 1, issued_at=T0)


def test_1993_keys_cannot_issue_after_rollover():
    after = datetime(2025, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(TidRangeError, match="RO=1"):
        SoftwareTokenProvider(VK).issue_credit(METER, 1, issued_at=after)
    moved = dataclasses.replace(METER, base_date=2014)
    assert SoftwareTokenProvider(VK).issue_credit(moved, 1, issued_at=after).tid > 0


def test_decoder_key_cache():
    calls = []

    def vending_key(meter):
        calls.append(meter)
        return VK

    cached = SoftwareTokenProvider(vending_key)
    uncached = SoftwareTokenProvider(vending_key, cache_size=0)
    for provider in (cached, uncached):
        for minute in range(3):
            provider.issue_credit(METER, 1, issued_at=T0 + timedelta(minutes=minute))
    assert len(calls) == 1 + 3
    assert cached.decoder_key(METER) == uncached.decoder_key(METER)


def test_management_tokens():
    provider = SoftwareTokenProvider(VK)
    limit = provider.issue_management(METER, Management.MAX_POWER_LIMIT, 1000, issued_at=T0)
    assert limit.token.power_limit == 1000
    clear = provider.issue_management(METER, Management.CLEAR_CREDIT, issued_at=T0)
    assert clear.token.value == ALL_REGISTERS
    tamper = provider.issue_management(METER, Management.CLEAR_TAMPER, issued_at=T0)
    assert tamper.token.value == 0
    with pytest.raises(StsInputError, match="needs a value"):
        provider.issue_management(METER, Management.MAX_PHASE_UNBALANCE, issued_at=T0)
    with pytest.raises(StsInputError, match="not a standard"):
        provider.issue_management(METER, Management.KEY_CHANGE_1, 1, issued_at=T0)
    with pytest.raises(StsInputError, match="16-bit"):
        provider.issue_management(METER, Management.CLEAR_CREDIT, 0x10000, issued_at=T0)
    with pytest.raises(StsInputError, match="needs a value"):
        provider.issue_management(METER, Management.TARIFF_RATE, issued_at=T0)
    # Failed requests do not use up TIDs.
    assert provider.issue_management(METER, 2, 7, issued_at=T0).tid == tamper.tid + 1


def test_key_change_moves_one_base_date_at_most():
    provider = SoftwareTokenProvider(VK)
    with pytest.raises(StsInputError, match="next one"):
        provider.issue_key_change(METER, dataclasses.replace(METER, base_date=2035))
    sections = provider.issue_key_change(METER, dataclasses.replace(METER, base_date=2014))
    assert len(sections) == 2
    assert sections[0].token.ro == 1
    assert sections[1].tid is None and sections[1].issued_at is None


def test_provider_interface_is_abstract():
    with pytest.raises(TypeError):
        TokenProvider()

    class EchoProvider(TokenProvider):
        """What an external (HSM / web service) provider looks like to callers."""

        code = "echo"

        def issue_credit(self, meter, amount, **kwargs):
            return IssuedToken("0" * 20)

        def issue_management(self, meter, subclass, value=None, **kwargs):
            return IssuedToken("0" * 20)

        def issue_key_change(self, meter, new):
            return (IssuedToken("0" * 20), IssuedToken("0" * 20))

    assert EchoProvider().issue_credit(METER, 1).grouped == "0000 0000 0000 0000 0000"
