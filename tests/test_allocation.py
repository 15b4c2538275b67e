"""The month end's pure helpers: exact sharing (largest remainder) and proration by day."""

import subprocess
import sys
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from bare_addons import ADDONS
from hypothesis import given, settings
from hypothesis import strategies as st

from prepaid_billing.tools.allocation import allocate
from prepaid_billing.tools.periods import due_date, overlap_days, period_of, prorate
from prepaid_billing.tools.recovery import Agreement, split_topup

CENT = Decimal("0.01")
cents = st.integers(min_value=-(10**9), max_value=10**9).map(lambda n: Decimal(n) * CENT)
weights = st.lists(
    st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=60,
).filter(lambda ws: sum(ws) > 0)


# === ALLOCATION === #


def test_the_documented_example():
    # 100.00 over three equal shares: 33.33 each and the cent left over to the first.
    assert allocate(Decimal("100.00"), [1, 1, 1]) == [
        Decimal("33.34"),
        Decimal("33.33"),
        Decimal("33.33"),
    ]


def test_the_largest_remainder_gets_the_cent():
    # Exact: 3.333.., 6.666..: the second share has the larger remainder.
    assert allocate(Decimal("10.00"), [1, 2]) == [Decimal("3.33"), Decimal("6.67")]
    # Areas 45.5 m2, 30 m2, 24.5 m2 of 1234.57
    shares = allocate("1234.57", ["45.5", "30", "24.5"])
    assert shares == [Decimal("561.73"), Decimal("370.37"), Decimal("302.47")]
    assert sum(shares) == Decimal("1234.57")


def test_zero_weights_get_nothing_and_a_credit_is_shared_like_a_charge():
    assert allocate("-0.05", [0, 1, 1]) == [Decimal("0.00"), Decimal("-0.03"), Decimal("-0.02")]
    assert allocate("0", [3, 1]) == [Decimal("0.00"), Decimal("0.00")]


@pytest.mark.parametrize(
    ("total", "ws", "message"),
    [
        ("10", [0, 0], "positive"),
        ("10", [], "positive"),
        ("10", [1, -1, 2], "negative"),
        ("10.005", [1, 1], "multiple"),
    ],
)
def test_bad_input_is_refused(total, ws, message):
    with pytest.raises(ValueError, match=message):
        allocate(total, ws)


@settings(max_examples=1000, deadline=None)
@given(total=cents, ws=weights)
def test_shares_add_up_exactly_and_stay_within_a_cent(total, ws):
    shares = allocate(total, ws)
    assert len(shares) == len(ws)
    assert sum(shares) == total  # zero drift, to the cent
    weight_sum = sum(Fraction(w) for w in ws)
    for share, weight in zip(shares, ws, strict=True):
        assert share == share.quantize(CENT)
        exact = Fraction(total) * Fraction(weight) / weight_sum
        assert abs(Fraction(share) - exact) < Fraction(1, 100)
        if weight == 0:
            assert share == 0


@settings(max_examples=200, deadline=None)
@given(total=cents, ws=weights)
def test_shares_follow_the_weights(total, ws):
    shares = allocate(abs(total), ws)
    for i in range(len(ws)):
        for j in range(len(ws)):
            if ws[i] > ws[j]:
                assert shares[i] >= shares[j]


# === PERIODS AND PRORATION === #


@pytest.mark.parametrize(
    ("day", "key", "first", "last", "days"),
    [
        (date(2026, 1, 15), "2026-01", date(2026, 1, 1), date(2026, 1, 31), 31),
        (date(2026, 4, 30), "2026-04", date(2026, 4, 1), date(2026, 4, 30), 30),
        (date(2026, 2, 1), "2026-02", date(2026, 2, 1), date(2026, 2, 28), 28),
        (date(2028, 2, 29), "2028-02", date(2028, 2, 1), date(2028, 2, 29), 29),
    ],
)
def test_monthly_periods_have_their_month_length(day, key, first, last, days):
    assert period_of("monthly", day) == (key, first, last)
    assert overlap_days(first, last) == days


def test_quarters_years_and_once():
    assert period_of("quarterly", date(2026, 5, 9)) == (
        "2026-Q2",
        date(2026, 4, 1),
        date(2026, 6, 30),
    )
    assert period_of("yearly", date(2028, 7, 1)) == ("2028", date(2028, 1, 1), date(2028, 12, 31))
    assert period_of("once", date(2026, 3, 3)) == ("once", date(2026, 3, 3), date(2026, 3, 3))
    with pytest.raises(ValueError):
        period_of("weekly", date(2026, 3, 3))


@pytest.mark.parametrize(
    ("first", "last", "move_in", "move_out", "days", "share"),
    [
        # 300.00 a month; moved in on the 21st of a 31-day month: 11 days.
        (date(2026, 1, 1), date(2026, 1, 31), date(2026, 1, 21), None, 11, "106.45"),
        # 30-day month, moved in on the 16th: 15 of 30 days.
        (date(2026, 4, 1), date(2026, 4, 30), date(2026, 4, 16), None, 15, "150.00"),
        # February 2026 (28 days), moved out on the 14th: 14 days.
        (date(2026, 2, 1), date(2026, 2, 28), None, date(2026, 2, 14), 14, "150.00"),
        # Leap February 2028 (29 days), moved out on the 14th: 14 of 29.
        (date(2028, 2, 1), date(2028, 2, 29), None, date(2028, 2, 14), 14, "144.83"),
        # In and out within the month: 10th to 19th of June (30 days): 10 days.
        (date(2026, 6, 1), date(2026, 6, 30), date(2026, 6, 10), date(2026, 6, 19), 10, "100.00"),
        # The whole month, and no day at all.
        (date(2026, 3, 1), date(2026, 3, 31), date(2025, 1, 1), None, 31, "300.00"),
        (date(2026, 3, 1), date(2026, 3, 31), date(2026, 4, 1), None, 0, "0.00"),
    ],
)
def test_proration_by_day(first, last, move_in, move_out, days, share):
    held = overlap_days(first, last, starts=[move_in], ends=[move_out])
    assert held == days
    total = overlap_days(first, last)
    assert prorate(Decimal("300.00"), held, total) == Decimal(share)


def test_due_dates():
    assert due_date("monthly", date(2026, 2, 1), charge_day=31) == date(2026, 2, 28)
    assert due_date("quarterly", date(2026, 4, 1), charge_day=5) == date(2026, 4, 5)
    assert due_date("yearly", date(2026, 1, 1), charge_day=15, charge_month=3) == date(2026, 3, 15)
    assert due_date("once", date(2026, 7, 9)) == date(2026, 7, 9)


def test_the_tools_do_not_import_odoo():
    probe = (
        "import sys; sys.modules['odoo'] = None; "
        f"sys.path.insert(0, {str(ADDONS.parent / 'tests')!r}); "
        "import bare_addons; bare_addons.register(); "
        "import prepaid_billing.tools.allocation, prepaid_billing.tools.periods, "
        "prepaid_billing.tools.recovery; print('ok')"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "ok", result.stderr


# === DEBT RECOVERY ON TOP-UPS === #


def test_a_30_percent_portion_ends_a_debt_of_50_exactly():
    debt = Decimal("50.00")
    recovered = []
    for _topup in range(3):
        amount = split_topup(Decimal("100.00"), [Agreement(debt, percent=Decimal(30))])[0]
        recovered.append(amount)
        debt -= amount
    assert recovered == [Decimal("30.00"), Decimal("20.00"), Decimal("0.00")]
    assert debt == 0


def test_arrears_minimum_fixed_priority_and_the_available_credit():
    late = Agreement(
        Decimal(500), percent=Decimal(10), arrears_percent=Decimal(40), in_arrears=True
    )
    small = Agreement(Decimal(500), percent=Decimal(1), minimum=Decimal("5.00"))
    fixed = Agreement(Decimal(500), mode="fixed", fixed_amount=Decimal("25.00"))
    assert split_topup(Decimal(100), [late, small, fixed]) == [
        Decimal("40.00"),
        Decimal("5.00"),
        Decimal("25.00"),
    ]
    # The top-up is shared in priority order; the later agreements get what is left.
    assert split_topup(Decimal(50), [late, fixed, small]) == [
        Decimal("20.00"),
        Decimal("25.00"),
        Decimal("5.00"),
    ]
    # Never more than the credit above the cut-off threshold.
    assert split_topup(Decimal(100), [late, fixed], available=Decimal("30.00")) == [
        Decimal("30.00"),
        Decimal("0.00"),
    ]
    assert split_topup(Decimal(100), [late], available=Decimal("-5")) == [Decimal("0.00")]


@settings(max_examples=300, deadline=None)
@given(
    topup=st.integers(min_value=1, max_value=10**7).map(lambda n: Decimal(n) * CENT),
    residuals=st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=5),
    percent=st.integers(min_value=0, max_value=100),
)
def test_recovery_never_exceeds_the_topup_nor_the_debts(topup, residuals, percent):
    agreements = [Agreement(Decimal(r) * CENT, percent=Decimal(percent)) for r in residuals]
    amounts = split_topup(topup, agreements)
    assert sum(amounts) <= topup
    for amount, agreement in zip(amounts, agreements, strict=True):
        assert 0 <= amount <= agreement.residual
