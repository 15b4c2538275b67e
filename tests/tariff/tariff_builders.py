"""Small builders shared by the tariff engine tests (plain data, no Odoo)."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from prepaid_meter.tools.tariff_engine import (
    BandPeriod,
    Interval,
    TariffDefinition,
    TariffVersion,
    Tier,
)

D = Decimal
START_2025 = date(2025, 1, 1)

# valley 00:00-08:00, flat 08:00-10:30, peak 10:30-21:00, valley 21:00-24:00
DAY_SCHEDULE = (
    ("valley", "00:00", "08:00"),
    ("flat", "08:00", "10:30"),
    ("peak", "10:30", "21:00"),
    ("valley", "21:00", "24:00"),
)
BAND_PRICES = {"sharp": D("1.3"), "peak": D("1.0"), "flat": D("0.6"), "valley": D("0.3")}


def periods(schedule=DAY_SCHEDULE, day_type="all", season=None):
    return [BandPeriod(band, start, end, day_type, season) for band, start, end in schedule]


def tiers(*pairs):
    """``tiers((0, "0.5"), (100, "0.6"))`` -> [Tier, ...]."""
    return [Tier(D(str(start)), D(str(price))) for start, price in pairs]


def flat_version(price="0.55", valid_from=START_2025, valid_to=None, **kwargs):
    return TariffVersion(valid_from, valid_to, "flat", unit_price=D(price), **kwargs)


def tou_version(schedule=DAY_SCHEDULE, valid_from=START_2025, valid_to=None, **kwargs):
    kwargs.setdefault("band_prices", BAND_PRICES)
    kwargs.setdefault("periods", periods(schedule))
    return TariffVersion(valid_from, valid_to, "tou", **kwargs)


def tiered_version(steps=((0, "0.5"), (100, "0.6"), (200, "0.8")), **kwargs):
    kwargs.setdefault("valid_from", START_2025)
    return TariffVersion(kind="tiered", tiers=tiers(*steps), **kwargs)


def tiered_tou_version(steps=((0, "0"), (10, "0.05"), (20, "0.3")), **kwargs):
    kwargs.setdefault("valid_from", START_2025)
    kwargs.setdefault("band_prices", BAND_PRICES)
    kwargs.setdefault("periods", periods())
    return TariffVersion(kind="tiered_tou", tiers=tiers(*steps), **kwargs)


def definition(*versions, **kwargs):
    return TariffDefinition(list(versions), **kwargs)


def at(text):
    """``at("2025-03-03 10:30")`` -> datetime."""
    return datetime.fromisoformat(text)


def interval(start, end, quantity, band_split=None):
    return Interval(at(start), at(end), D(str(quantity)), band_split)


def hourly(start, count, quantity):
    first = at(start)
    hour = timedelta(hours=1)
    return [
        Interval(first + n * hour, first + (n + 1) * hour, D(str(quantity))) for n in range(count)
    ]


def total(lines, attribute="amount"):
    return sum((getattr(line, attribute) for line in lines), D(0))
