"""The usage analysis's pure core: the habit rules at and around each threshold, and the
median used for the days between top-ups."""

from decimal import Decimal

import pytest

from prepaid_billing.tools.usage import (
    DEFAULT_THRESHOLDS,
    HABITS,
    HabitThresholds,
    classify_habit,
    median,
)

D = Decimal


@pytest.mark.parametrize(
    ("count", "mean", "gap", "since", "habit"),
    [
        # Dormant first: more than 90 days since the last top-up, whatever the history.
        (30, D(50), 3, 91, "dormant"),
        (1, D(5000), None, 91, "dormant"),
        (30, D(50), 3, 90, "frequent_small"),
        # One top-up: no interval yet.
        (1, D(50), None, 0, "single"),
        # Frequent: a median of at most 10 days; small up to 200 inclusive.
        (5, D(200), 10, 2, "frequent_small"),
        (5, D("200.01"), 10, 2, "frequent"),
        (5, D(50), D("10.5"), 2, "monthly"),
        # Monthly: up to 45 days.
        (4, D(300), 30, 20, "monthly"),
        (4, D(5000), 45, 20, "monthly"),
        # Rare: above 45 days; large from 1,000 inclusive.
        (3, D(1000), 46, 20, "rare_large"),
        (3, D("999.99"), 60, 20, "rare"),
    ],
)
def test_habit_rules(count, mean, gap, since, habit):
    assert classify_habit(count, mean, gap, since) == habit
    assert habit in HABITS


def test_floats_from_the_database_are_compared_exactly():
    # 200.0 read as a float is still "small"; 10.0 days is still "frequent".
    assert classify_habit(3, 200.0, 10.0, 1) == "frequent_small"


def test_thresholds_can_be_chosen():
    strict = HabitThresholds(dormant_days=30, frequent_days=7)
    assert classify_habit(5, D(50), 10, 31, strict) == "dormant"
    assert classify_habit(5, D(50), 10, 1, strict) == "monthly"
    assert classify_habit(5, D(50), 10, 1, DEFAULT_THRESHOLDS) == "frequent_small"


def test_an_account_without_topups_has_no_habit():
    with pytest.raises(ValueError):
        classify_habit(0, D(0), None, 0)


def test_median():
    assert median([]) is None
    assert median([7]) == 7
    assert median([30, 1, 2]) == 2
    assert median([1, 2, 3, 30]) == D("2.5")
