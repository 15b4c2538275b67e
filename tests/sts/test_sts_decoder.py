"""Meter side: rejections with reason codes, TID memory, key changes."""

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from prepaid_billing.sts import tokens
from prepaid_billing.sts.cipher import EA
from prepaid_billing.sts.decoder import MeterDecoder, MeterState, decode_token
from prepaid_billing.sts.exceptions import RejectReason, StsInputError, TokenRejected
from prepaid_billing.sts.keys import KeyParams
from prepaid_billing.sts.provider import SoftwareTokenProvider
from prepaid_billing.sts.transpose import insert_class, to_digits

PAN = "600727000000000009"
STA_VK = bytes.fromhex("abababababababab")
DKGA04_VK = bytes.fromhex("abababababababab949494949494949401234567")
T0 = datetime(2004, 4, 1, 8, 0, tzinfo=timezone.utc)  # TID 5916000, top byte 0x5A


@pytest.fixture
def meter():
    return KeyParams(pan=PAN, sgc=123456, ti=1, krn=1, base_date=1993)


@pytest.fixture
def provider():
    return SoftwareTokenProvider(lambda m: STA_VK if m.dkga == 2 else DKGA04_VK)


def _decoder(provider, meter, **kwargs):
    return MeterDecoder(provider.decoder_key(meter), meter.ea, base_date=meter.base_date, **kwargs)


def _reason(decoder, digits):
    with pytest.raises(TokenRejected) as info:
        decoder.enter(digits)
    return info.value.reason


def test_accepts_credit(provider, meter):
    decoder = _decoder(provider, meter)
    issued = provider.issue_credit(meter, "12.5", issued_at=T0)
    token = decoder.enter(issued.grouped)
    assert token.amount == issued.token.amount >= 12
    assert decoder.tid_datetime(token) == T0
    assert decoder.state.tids == [issued.tid]


def test_rejects_replayed_tid(provider, meter):
    decoder = _decoder(provider, meter)
    issued = provider.issue_credit(meter, 5, issued_at=T0)
    decoder.enter(issued.digits)
    assert _reason(decoder, issued.digits) is RejectReason.USED
    # A management token shares the TID memory with credit tokens.
    clear = provider.issue_management(meter, tokens.Management.CLEAR_TAMPER, tid=issued.tid)
    assert _reason(decoder, clear.digits) is RejectReason.USED


def test_rejects_tid_older_than_memory(provider, meter):
    decoder = _decoder(provider, meter, state=MeterState(capacity=3))
    old = provider.issue_credit(meter, 1, issued_at=T0)
    newer = [provider.issue_credit(meter, 1, issued_at=T0 + timedelta(hours=h)) for h in (1, 2, 3)]
    for issued in newer:
        decoder.enter(issued.digits)
    assert _reason(decoder, old.digits) is RejectReason.OLD
    # While the memory is not full, an older unseen TID is still fine.
    roomy = _decoder(provider, meter)
    roomy.enter(newer[0].digits)
    assert roomy.enter(old.digits).tid == old.tid


def test_memory_forgets_the_oldest():
    state = MeterState(capacity=2)
    for tid in (5, 1, 9):
        state.check(tid)
        state.remember(tid)
    assert state.tids == [5, 9]
    with pytest.raises(TokenRejected):
        state.check(1)


def test_rejects_wrong_key(provider, meter):
    other = dataclasses.replace(meter, krn=2)
    issued = provider.issue_credit(other, 5, issued_at=T0)
    decoder = _decoder(provider, meter)
    assert _reason(decoder, issued.digits) is RejectReason.CRC
    assert decoder.state.tids == []


def test_rejects_mistyped_token(provider, meter):
    digits = provider.issue_credit(meter, 5, issued_at=T0).digits
    typo = digits[:7] + str((int(digits[7]) + 1) % 10) + digits[8:]
    assert _reason(_decoder(provider, meter), typo) in (RejectReason.CRC, RejectReason.FORMAT)


def test_rejects_expired_key(provider, meter):
    issued = provider.issue_credit(meter, 5, issued_at=T0)
    assert issued.tid >> 16 == 0x5A
    assert _reason(_decoder(provider, meter, ken=0x59), issued.digits) is RejectReason.KEY_EXPIRED
    assert _decoder(provider, meter, ken=0x5A).enter(issued.digits).tid == issued.tid


def test_rejected_token_leaves_no_trace(provider, meter):
    decoder = _decoder(provider, meter, ken=0x59)
    issued = provider.issue_credit(meter, 5, issued_at=T0)
    _reason(decoder, issued.digits)
    assert decoder.state.tids == []


def test_rejects_format(provider, meter):
    decoder = _decoder(provider, meter)
    assert _reason(decoder, "1234") is RejectReason.FORMAT
    reserved = to_digits(insert_class(3, 0x0123456789ABCDEF))
    assert _reason(decoder, reserved) is RejectReason.FORMAT


def test_reason_and_message():
    error = TokenRejected("used", "token with TID 5 was already used")
    assert error.reason is RejectReason.USED
    assert str(error) == "used: token with TID 5 was already used"


def test_test_token_needs_no_key():
    digits = tokens.encode_token(tokens.meter_test(0x400))
    assert digits == "00000000017314105857"
    assert decode_token(digits) == tokens.TestToken(0, 0x400, 0)
    with pytest.raises(StsInputError):
        decode_token("23716100501183194197")  # class 0 without a key


def test_key_change_64_bit(provider, meter):
    new = dataclasses.replace(meter, krn=2, ken=0xAA)
    decoder = _decoder(provider, meter)
    kct1, kct2 = provider.issue_key_change(meter, new)
    # Sections may come in any order; nothing changes before the set is complete.
    decoder.enter(kct2.digits)
    assert decoder.decoder_key == provider.decoder_key(meter)
    decoder.enter(kct1.digits)
    assert decoder.decoder_key == provider.decoder_key(new)
    assert decoder.ken == 0xAA
    assert decoder.last_key_change == tokens.NewKey(
        provider.decoder_key(new), ken=0xAA, krn=2, kt=2, ti=1, ro=False
    )
    fresh = provider.issue_credit(new, 1, issued_at=T0)
    assert decoder.enter(fresh.digits).tid == fresh.tid
    stale = provider.issue_credit(meter, 1, issued_at=T0 + timedelta(minutes=5))
    assert _reason(decoder, stale.digits) is RejectReason.CRC


def test_key_change_128_bit_with_rollover(provider):
    old = KeyParams(pan=PAN, sgc=123457, ti=1, krn=4, ea=EA.MISTY1, dkga=4, base_date=2014)
    new = dataclasses.replace(old, krn=5, sgc=123461, base_date=2035)
    decoder = _decoder(provider, old)
    before = provider.issue_credit(old, 1, issued_at=datetime(2030, 1, 1, tzinfo=timezone.utc))
    decoder.enter(before.digits)
    sections = provider.issue_key_change(old, new)
    assert [s.token.subclass for s in sections] == [3, 4, 8, 9]
    assert sections[0].token.ro == 1
    for section in sections:
        decoder.enter(section.digits)
    assert decoder.decoder_key == provider.decoder_key(new)
    assert decoder.last_key_change.sgc == 123461
    assert decoder.base_date == 2035
    assert decoder.state.tids == []  # TIDs restart on the new base date
    after = provider.issue_credit(new, 1, issued_at=datetime(2035, 1, 1, 8, tzinfo=timezone.utc))
    assert decoder.enter(after.digits).tid == 480


def test_assemble_key_change_reports_missing_sections():
    kct1 = tokens.KeyChange1(0xF, 1, 0, 2, 0x01020304)
    with pytest.raises(StsInputError, match="KEY_CHANGE_2"):
        tokens.assemble_key_change([kct1], 8)


def test_key_material_not_in_repr(provider):
    """Key change sections and the new key they carry keep the key out of repr() (logs,
    tracebacks, assertion messages)."""
    old = KeyParams(pan=PAN, sgc=123457, ti=1, krn=4, ea=EA.MISTY1, dkga=4, base_date=2014)
    new = dataclasses.replace(old, krn=5)
    new_key = provider.decoder_key(new)
    sections = provider.issue_key_change(old, new)
    texts = [repr(section) for section in sections] + [str(s.token) for s in sections]
    words = [int.from_bytes(new_key[i : i + 4], "big") for i in range(0, 16, 4)]
    assembled = tokens.assemble_key_change([s.token for s in sections], 16)
    assert assembled.decoder_key == new_key
    texts.append(repr(assembled))
    for text in texts:
        assert new_key.hex() not in text.lower()
        for word in words:
            assert str(word) not in text
            assert f"{word:x}" not in text.lower()
