"""Benchmark of the tariff engine: rate 1,000,000 hourly intervals.

A realistic month-cycled run: meters on a tiered time-of-use electricity
tariff (sharp/peak/flat/valley, a summer season, weekend and holiday
schedules, three monthly steps with adders), each rated one calendar month of
2025 at a time with the cycle restarting at 0, the way the billing cron rates
a meter's cycle. The intervals are built before the clock starts; the figure
is the rating alone, on one core.

    ~/.local/share/prepaid-utilities/venv/bin/python tests/benchmarks/bench_tariff_engine.py
    ... --intervals 200000 --profile     # cProfile of the hot path
"""

import argparse
import cProfile
import pstats
import random
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bare_addons

bare_addons.register()

from prepaid_meter.tools.tariff_engine import (  # noqa: E402
    BandPeriod,
    Interval,
    Season,
    TariffDefinition,
    TariffVersion,
    Tier,
    rate_intervals,
)

TARGET = 100_000  # intervals per second


def tiered_tou_tariff():
    """A commercial tariff: summer sharp band, weekend/holiday all-day flat-valley."""
    weekday = [
        ("valley", "00:00", "08:00"),
        ("flat", "08:00", "10:30"),
        ("peak", "10:30", "12:00"),
        ("flat", "12:00", "17:00"),
        ("peak", "17:00", "21:00"),
        ("flat", "21:00", "23:00"),
        ("valley", "23:00", "24:00"),
    ]
    summer = [
        ("valley", "00:00", "08:00"),
        ("flat", "08:00", "10:30"),
        ("peak", "10:30", "11:15"),
        ("sharp", "11:15", "12:00"),
        ("flat", "12:00", "17:00"),
        ("peak", "17:00", "19:45"),
        ("sharp", "19:45", "21:00"),
        ("flat", "21:00", "23:00"),
        ("valley", "23:00", "24:00"),
    ]
    weekend = [
        ("valley", "00:00", "08:00"),
        ("flat", "08:00", "22:00"),
        ("valley", "22:00", "24:00"),
    ]
    periods = [BandPeriod(band, start, end, "weekday") for band, start, end in weekday]
    periods += [BandPeriod(band, start, end, "weekday", "summer") for band, start, end in summer]
    periods += [BandPeriod(band, start, end, "weekend") for band, start, end in weekend]
    version = TariffVersion(
        valid_from=date(2025, 1, 1),
        kind="tiered_tou",
        band_prices={
            "sharp": Decimal("1.2875"),
            "peak": Decimal("1.0728"),
            "flat": Decimal("0.6386"),
            "valley": Decimal("0.2966"),
        },
        seasons=[Season("summer", 7, 1, 9, 30)],
        periods=periods,
        tiers=[Tier(0, 0), Tier(200, "0.05"), Tier(400, "0.30")],
    )
    holidays = {date(2025, 1, 1), date(2025, 5, 1), date(2025, 5, 2), date(2025, 10, 1)}
    holidays |= {date(2025, 10, 1) + timedelta(days=offset) for offset in range(7)}
    return TariffDefinition([version], holidays=holidays, name="bench tiered TOU")


def monthly_cycles(total, seed=20250601):
    """``[(intervals of one meter-month), ...]`` with ``total`` intervals in all."""
    rng = random.Random(seed)
    # A daily load shape (kWh per hour) scaled per meter, 3 decimals like the readings.
    shape = [0.3] * 7 + [0.8, 1.4, 1.8, 2.0, 2.0, 1.6, 1.7, 1.9, 2.0, 1.8, 1.5, 1.3, 1.1, 0.9]
    shape += [0.7, 0.5, 0.4]
    hour = timedelta(hours=1)
    cycles = []
    count = 0
    meter = 0
    while count < total:
        month = meter % 12 + 1
        start = datetime(2025, month, 1)
        end = datetime(2025 + month // 12, month % 12 + 1, 1)
        scale = rng.uniform(0.3, 1.6)
        intervals = []
        moment = start
        while moment < end and count < total:
            kwh = shape[moment.hour] * scale * rng.uniform(0.7, 1.3)
            quantity = Decimal(int(kwh * 1000)).scaleb(-3)
            intervals.append(Interval(moment, moment + hour, quantity))
            moment += hour
            count += 1
        cycles.append(intervals)
        meter += 1
    return cycles


def run(definition, cycles):
    lines = 0
    for intervals in cycles:
        lines += len(rate_intervals(definition, intervals).lines)
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", type=int, default=1_000_000)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the run")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs; the best one is reported (as timeit does)"
    )
    args = parser.parse_args()
    definition = tiered_tou_tariff()
    cycles = monthly_cycles(args.intervals)
    rate_intervals(definition, cycles[0][:24])  # compile and validate outside the clock
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(run, definition, cycles)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
    timings = []
    for _run in range(max(args.repeat, 1)):
        began = time.perf_counter()
        lines = run(definition, cycles)
        timings.append(time.perf_counter() - began)
    best = min(timings)
    rate = args.intervals / best
    verdict = "OK" if rate >= TARGET else "BELOW TARGET"
    print(
        f"tariff engine: {rate:,.0f} intervals/s on one core (target {TARGET:,}/s: {verdict}) - "
        f"{args.intervals:,} hourly intervals, {len(cycles):,} meter-months, {lines:,} charge "
        f"lines, best of {len(timings)} runs: " + ", ".join(f"{timing:.2f} s" for timing in timings)
    )


if __name__ == "__main__":
    main()
