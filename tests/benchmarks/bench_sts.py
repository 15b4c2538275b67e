"""Throughput of STS credit token generation, in tokens per second.

Run: ``python tests/benchmarks/bench_sts.py [--seconds 2]`` (``make bench``).

Each case calls ``SoftwareTokenProvider.issue_credit`` - amount encoding, TID,
CRC, encryption, transposition and formatting - for about ``--seconds`` and
prints the median rate of eight equal time windows:

* cached: one meter, its decoder key and cipher key schedule stay cached;
* uncached: the decoder key cache is off and the tokens go round 4096
  meters, more than the cipher key-schedule caches hold, so every token pays
  the full DKGA02 (DES) or DKGA04 (HMAC-SHA-256) derivation and key set-up.
"""

import argparse
import itertools
import platform
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bare_addons

bare_addons.register()

from prepaid_billing.sts import EA, KeyParams, SoftwareTokenProvider  # noqa: E402

METERS = 4096
CASES = {
    "STA": (EA.STA, 2, bytes.fromhex("abababababababab")),
    "MISTY1": (EA.MISTY1, 4, bytes.fromhex("abababababababab949494949494949401234567")),
}


def _meters(ea, dkga, count):
    return [
        KeyParams(
            pan=f"6007270{n:010d}0", sgc=123456, ti=1, krn=1, ea=ea, dkga=dkga, base_date=2014
        )
        for n in range(count)
    ]


def measure(provider, meters, seconds, windows=8):
    """Issue credit tokens, going round ``meters``, for ``seconds``; return tokens per second.

    The time is cut into ``windows`` equal windows and the median window rate
    is returned, so that a short burst of load from other processes on the
    machine does not decide the figure.
    """
    amount = Decimal("25.6")
    issue = provider.issue_credit
    batches = itertools.cycle([meters[i : i + 64] for i in range(0, len(meters), 64)])
    rates = []
    for _ in range(windows):
        count = 0
        start = time.perf_counter()
        deadline = start + seconds / windows
        while True:
            batch = next(batches)
            for meter in batch:
                issue(meter, amount)
            count += len(batch)
            now = time.perf_counter()
            if now >= deadline:
                break
        rates.append(count / (now - start))
    return statistics.median(rates)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="duration of each case")
    args = parser.parse_args(argv)
    out = sys.stdout
    out.write(
        f"STS credit tokens, {platform.python_implementation()} {platform.python_version()}\n"
    )
    for name, (ea, dkga, vending_key) in CASES.items():
        one = _meters(ea, dkga, 1)  # the same meter over and over
        many = _meters(ea, dkga, METERS)
        cached = SoftwareTokenProvider(vending_key)
        uncached = SoftwareTokenProvider(vending_key, cache_size=0)
        for label, provider, meters in (("cached", cached, one), ("uncached", uncached, many)):
            rate = measure(provider, meters, args.seconds)
            out.write(
                f"{name:<6} DKGA0{dkga} decoder key {label:<8}: {rate:>9,.0f} credit tokens/s\n"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
