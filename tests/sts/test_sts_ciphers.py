"""STA, MISTY1 and decoder key generation: published examples and round trips."""

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prepaid_billing.sts import cipher, keys, misty1, sta, tokens
from prepaid_billing.sts.decoder import decode_token
from prepaid_billing.sts.exceptions import StsInputError
from prepaid_billing.sts.keys import KeyParams
from prepaid_billing.sts.tid import tid_for

PAN = "600727000000000009"
BLOCKS = st.integers(0, (1 << 64) - 1)


# === MISTY1 (RFC 2994 section 3 test data) === #

RFC_KEY = bytes.fromhex("00112233445566778899aabbccddeeff")


@pytest.mark.parametrize(
    ("plain", "encrypted"),
    [(0x0123456789ABCDEF, 0x8B1DA5F56AB3D07C), (0xFEDCBA9876543210, 0x04B68240B13BE95D)],
)
def test_misty1_rfc2994(plain, encrypted):
    assert misty1.encrypt(RFC_KEY, plain) == encrypted
    assert misty1.decrypt(RFC_KEY, encrypted) == plain


def test_misty1_sboxes_are_permutations():
    assert sorted(misty1.S7) == list(range(128))
    assert sorted(misty1.S9) == list(range(512))


@given(st.binary(min_size=16, max_size=16), BLOCKS)
def test_misty1_round_trip(key, block):
    assert misty1.decrypt(key, misty1.encrypt(key, block)) == block


def test_misty1_key_size():
    with pytest.raises(StsInputError):
        misty1.encrypt(b"\x00" * 8, 0)


# === STA === #


@given(st.binary(min_size=8, max_size=8), BLOCKS)
def test_sta_round_trip(key, block):
    encrypted = sta.encrypt(key, block)
    assert 0 <= encrypted < 1 << 64
    assert sta.decrypt(key, encrypted) == block
    assert sta.encrypt(int.from_bytes(key, "big"), block) == encrypted


def test_sta_tables_match_the_bitwise_definition():
    """The fused tables give the same result as the textbook per-bit rounds."""

    def reference(key, block):
        mask = (1 << 64) - 1
        k = ((~key & mask) >> 12 | (~key & mask) << 52) & mask
        for _ in range(16):
            sub = 0
            for n in range(16):
                box = sta.S2 if k >> (4 * n + 3) & 1 else sta.S1
                sub |= box[block >> (4 * n) & 0xF] << (4 * n)
            block = sum(1 << sta.P[i] for i in range(64) if sub >> i & 1)
            k = (k << 1 | k >> 63) & mask
        return block

    for key, block in [(0xE653341F9D5BF36F, 0x0559982C00012831), (0, 0), (2**64 - 1, 12345)]:
        assert sta.encrypt(key, block) == reference(key, block)


def test_sta_key_size():
    with pytest.raises(StsInputError):
        sta.encrypt(b"\x00" * 16, 0)
    with pytest.raises(StsInputError):
        cipher.encrypt(cipher.EA.STA, b"\x00" * 16, 0)


def test_ea_parse():
    assert cipher.EA.parse("sta") is cipher.EA.STA
    assert cipher.EA.parse("07") is cipher.EA.STA
    assert cipher.EA.parse(11) is cipher.EA.MISTY1
    assert cipher.EA.parse("EA11") is cipher.EA.MISTY1
    with pytest.raises(StsInputError):
        cipher.EA.parse("DEA")


# === DECODER KEYS === #


def test_dkga02_example():
    meter = KeyParams(pan=PAN, sgc=123456, ti=1, krn=1, kt=2, base_date=1993)
    assert keys.pan_block(meter).hex() == "0072700000000000"
    assert keys.control_block(meter).hex().upper() == "2123456011FFFFFF"
    dk = keys.decoder_key(bytes.fromhex("abababababababab"), meter)
    assert dk.hex() == "e653341f9d5bf36f"


def test_dkga04_needs_160_bit_vending_key_and_dkga02_64_bit():
    sta_meter = KeyParams(pan=PAN, sgc=123456, ti=1, krn=1, base_date=1993)
    misty_meter = KeyParams(pan=PAN, sgc=123457, ti=1, krn=1, ea="MISTY1", dkga=4, base_date=2014)
    with pytest.raises(StsInputError):
        keys.decoder_key(bytes(20), sta_meter)
    with pytest.raises(StsInputError):
        keys.decoder_key(bytes(8), misty_meter)
    assert len(keys.decoder_key(bytes(20), misty_meter)) == 16


def test_common_key_ignores_the_meter_number():
    """KT=3 (common key) zeroes the DRN part of the PAN block (UNVERIFIED rule)."""
    one = KeyParams(pan="600727000000000009", sgc=123456, ti=1, krn=1, kt=3, base_date=2014)
    two = KeyParams(pan="600727123456789013", sgc=123456, ti=1, krn=1, kt=3, base_date=2014)
    assert keys.pan_block(one) == keys.pan_block(two) == bytes.fromhex("0072700000000000")


@pytest.mark.parametrize(
    "changes",
    [
        {"pan": "60072700000000000"},
        {"pan": 600727000000000009},
        {"sgc": 1_000_000},
        {"ti": 100},
        {"krn": 16},
        {"kt": 4},
        {"ken": 256},
        {"dkga": 3},
        {"ea": "MISTY1"},  # DKGA02 cannot make a 128-bit key
        {"base_date": 2000},
    ],
)
def test_key_params_validation(changes):
    values = {"pan": PAN, "sgc": 123456, "ti": 1, "krn": 1, "base_date": 1993} | changes
    with pytest.raises(StsInputError):
        KeyParams(**values)


# === WORKED EXAMPLE === #


def test_worked_token_example():
    """DK e653341f9d5bf36f, electricity, RND 5, 2004-03-01 13:55 (base 1993), 0.1 kWh."""
    dk = bytes.fromhex("e653341f9d5bf36f")
    tid = tid_for(datetime(2004, 3, 1, 13, 55, tzinfo=timezone.utc), 1993)
    token = tokens.credit(Decimal("0.1"), tid, tokens.CreditType.ELECTRICITY, rnd=5)
    digits = tokens.encode_token(token, dk, "STA")
    assert digits == "23716100501183194197"
    decoded = decode_token("2371 6100 5011 8319 4197", dk, cipher.EA.STA)
    assert decoded == token
    assert decoded.amount == Decimal("0.1")
