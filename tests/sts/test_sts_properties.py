"""Property-based round trips (hypothesis)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from prepaid_billing.sts import amount, tokens
from prepaid_billing.sts.cipher import EA
from prepaid_billing.sts.decoder import decode_token
from prepaid_billing.sts.keys import KeyParams
from prepaid_billing.sts.transpose import extract_class, insert_class, parse_digits

TIDS = st.integers(0, (1 << 24) - 1)
NIBBLES = st.integers(0, 15)
WORDS = st.integers(0, (1 << 32) - 1)


@given(st.integers(0, amount.MAX_STEPS))
def test_amount_code_is_the_smallest_code_not_below_the_value(steps):
    code = amount.encode_steps(steps)
    assert amount.decode_steps(code) >= steps
    assert code == 0 or amount.decode_steps(code - 1) < steps


@given(st.decimals(min_value=0, max_value=amount.MAX_CREDIT, places=2))
def test_credit_encodes_at_least_the_value(value):
    code = amount.encode_credit(value)
    carried = amount.decode_credit(code)
    assert carried >= value
    assert code == 0 or amount.decode_credit(code - 1) < value
    assert carried.as_tuple().exponent == -1  # exact tenths, no binary noise
    assert isinstance(carried, Decimal)


@given(st.integers(0, 3), st.integers(0, (1 << 64) - 1))
def test_transposition_round_trip(token_class, block):
    number = insert_class(token_class, block)
    assert parse_digits(f"{number:020d}") == number
    assert extract_class(number) == (token_class, block)


def _standard(cls, subclasses):
    return st.builds(
        cls, st.sampled_from(sorted(subclasses)), TIDS, st.integers(0, 0xFFFF), NIBBLES
    )


ENCRYPTED_TOKENS = st.one_of(
    _standard(tokens.CreditToken, tokens.CreditType),
    _standard(tokens.ManagementToken, tokens.STANDARD_MANAGEMENT),
    st.builds(
        tokens.KeyChange1,
        NIBBLES,
        NIBBLES,
        st.integers(0, 1),
        st.integers(0, 3),
        WORDS,
        st.integers(0, 1),
    ),
    st.builds(tokens.KeyChange2, NIBBLES, st.integers(0, 255), WORDS),
    st.builds(tokens.KeyChange3, st.integers(0, 0xFFF), WORDS),
    st.builds(tokens.KeyChange4, st.integers(0, 0xFFF), WORDS),
)
KEYS = st.one_of(
    st.tuples(st.just(EA.STA), st.binary(min_size=8, max_size=8)),
    st.tuples(st.just(EA.MISTY1), st.binary(min_size=16, max_size=16)),
)


@given(ENCRYPTED_TOKENS, KEYS)
def test_token_round_trip(token, key):
    ea, decoder_key = key
    digits = tokens.encode_token(token, decoder_key, ea)
    assert len(digits) == 20 and digits.isdigit()
    assert decode_token(digits, decoder_key, ea) == token


@given(st.integers(0, 1), st.integers(0, (1 << 36) - 1), st.integers(0, 255))
def test_test_token_round_trip(subclass, control, mfr_code):
    if subclass == 1:
        control >>= 8
    token = tokens.meter_test(control, mfr_code, subclass)
    assert decode_token(tokens.encode_token(token)) == token


@given(
    st.integers(0, 999_999), st.sampled_from([0, 0xFF, 0xAA]), st.binary(min_size=16, max_size=16)
)
def test_key_change_round_trip(sgc, ken, key):
    new = KeyParams(
        pan="600727000000000009",
        sgc=sgc,
        ti=7,
        krn=3,
        ken=ken,
        ea=EA.MISTY1,
        dkga=4,
        base_date=2014,
    )
    sections = tokens.key_change(key, new, ro=True)
    assert tokens.assemble_key_change(reversed(sections), 16) == tokens.NewKey(
        key, ken=ken, krn=3, kt=2, ti=7, ro=True, sgc=sgc
    )
