"""Day types with China's 2026 calendar: holidays and make-up working days (调休)."""

from datetime import date, timedelta

from tariff_builders import definition, interval, periods, tou_version

from prepaid_meter.tools.tariff_engine import rate_intervals

# 2026: the working Saturdays/Sundays and some of the holidays they make up for.
WORKING_DAYS_2026 = frozenset(
    date(2026, month, day) for month, day in ((1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10))
)
HOLIDAYS_2026 = frozenset(
    [date(2026, 1, 1), date(2026, 1, 2), date(2026, 5, 1), date(2026, 5, 5)]
    + [date(2026, 2, 16) + timedelta(days=n) for n in range(5)]
    + [date(2026, 10, 1) + timedelta(days=n) for n in range(7)]
)
WEEKDAY = (("valley", "00:00", "08:00"), ("peak", "08:00", "24:00"))
WEEKEND = (("flat", "00:00", "24:00"),)
HOLIDAY = (("valley", "00:00", "24:00"),)


def china_2026(**kwargs):
    version = tou_version(
        valid_from=date(2026, 1, 1),
        periods=periods(WEEKDAY, "weekday")
        + periods(WEEKEND, "weekend")
        + periods(HOLIDAY, "holiday"),
    )
    return definition(version, holidays=HOLIDAYS_2026, **kwargs)


def noon_band(tariff, day):
    moment = day.isoformat()
    return (
        rate_intervals(tariff, [interval(f"{moment} 12:00", f"{moment} 13:00", "1")]).lines[0].band
    )


def test_make_up_working_days_price_as_weekdays():
    tariff = china_2026(working_days=WORKING_DAYS_2026)
    for day in sorted(WORKING_DAYS_2026):
        assert day.weekday() >= 5, day  # each is a Saturday or a Sunday...
        assert noon_band(tariff, day) == "peak", day  # ...priced as a weekday
    # Other weekend days stay weekends, holidays stay holidays (even on a weekday).
    assert noon_band(tariff, date(2026, 1, 3)) == "flat"  # Saturday
    assert noon_band(tariff, date(2026, 1, 2)) == "valley"  # Friday, holiday
    assert noon_band(tariff, date(2026, 10, 3)) == "valley"  # Saturday, holiday
    assert noon_band(tariff, date(2026, 1, 5)) == "peak"  # Monday


def test_without_working_days_the_weekend_schedule_applies():
    tariff = china_2026()
    assert noon_band(tariff, date(2026, 1, 4)) == "flat"


def test_a_holiday_that_is_also_listed_as_working_wins():
    tariff = china_2026(working_days=WORKING_DAYS_2026 | {date(2026, 1, 1)})
    assert noon_band(tariff, date(2026, 1, 1)) == "valley"
