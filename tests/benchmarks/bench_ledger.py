"""Benchmark of the money core: top-ups at the counter and the posting service.

Creates a throw-away database with prepaid_billing installed (no demo data) and open
accounts, then prints:

1. top-ups per second: one sale after the other as the counter makes them (an order, its
   payment: one ledger line, the balance, the delivery), each committed like a request;
2. ledger lines per second through ``prepaid.ledger._post`` in batches of consumption
   charges over all the accounts, each batch committed;
3. a billing run: every meter gets a day of hourly readings (one ingestion batch per hour),
   then the rating scheduled action rates them all with a tiered tariff (target: 10,000
   meters x 24 readings in 60 s or less).

Run with the project's Python, the project's PostgreSQL cluster started::

    ~/.local/share/prepaid-utilities/venv/bin/python tests/benchmarks/bench_ledger.py
    ... --accounts 100 --topups 500 --lines 20000     # a quicker run
    ... --accounts 1000 --topups 0 --lines 0 --profile /tmp/rating.prof   # the billing run only

Wall-clock figures depend on what else runs on the machine: the billing run also prints the CPU
time it took, in this process (Odoo) and in its PostgreSQL backend.
"""

# A standalone benchmark: it commits like requests and crons do.
# pylint: disable=invalid-commit
import argparse
import cProfile
import os
import time
from pathlib import Path

from odoo_bench import default_db_port, say, setup_odoo, throwaway_database


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--topups", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000, help="ledger lines per posting")
    parser.add_argument("--hours", type=int, default=24, help="hourly readings per meter")
    parser.add_argument("--db-port", default=default_db_port())
    parser.add_argument("--database", default=f"bench_ledger_{os.getpid()}")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--profile", metavar="FILE", help="write a cProfile of the rating run to FILE"
    )
    return parser.parse_args()


def create_accounts(odoo, registry, count):
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        model = env.ref("prepaid_meter.prepaid_meter_model_acrel_ddsy1352")
        tariff = env["prepaid.tariff"].create(
            {
                "name": "Bench",
                "utility": "electricity",
                "tz": "Asia/Shanghai",
                "version_ids": [
                    odoo.Command.create(
                        {
                            "date_from": "2020-01-01",
                            "kind": "tiered",
                            "tier_ids": [
                                odoo.Command.create({"quantity_from": 0, "unit_price": 0.52}),
                                odoo.Command.create({"quantity_from": 20, "unit_price": 0.57}),
                                odoo.Command.create({"quantity_from": 40, "unit_price": 0.82}),
                            ],
                        }
                    )
                ],
            }
        )
        floor = env["prepaid.site"].create({"name": "Bench", "site_type": "area"})
        floor = env["prepaid.site"].create(
            {"name": "Bench B", "site_type": "building", "parent_id": floor.id}
        )
        rooms = env["prepaid.site"].create(
            [
                {"name": f"R{n:05d}", "site_type": "room", "parent_id": floor.id}
                for n in range(count)
            ]
        )
        meters = env["prepaid.meter"].create(
            [
                {
                    "serial_number": f"BENCH{n:06d}",
                    "model_id": model.id,
                    "room_id": room.id,
                    "initial_reading": 0,
                }
                for n, room in enumerate(rooms)
            ]
        )
        tenant = env["res.partner"].create({"name": "Bench Tenant"})
        accounts = env["prepaid.account"].create(
            [
                {
                    "partner_id": tenant.id,
                    "room_id": room.id,
                    "electricity_tariff_id": tariff.id,
                    "meter_ids": [odoo.Command.set(meter.ids)],
                }
                for room, meter in zip(rooms, meters, strict=True)
            ]
        )
        accounts._open()
        # Every wallet starts with credit: the runs below measure selling and rating, not ten
        # thousand first alarms and cut-offs.
        env["prepaid.ledger"]._post(
            [
                {"account": account, "kind": "opening", "amount": 5000.0, "key": "opening"}
                for account in accounts
            ]
        )
        cr.commit()
        return accounts.ids


def run_topups(odoo, registry, account_ids, count):
    if not count:
        return 0.0
    started = time.perf_counter()
    for number in range(count):
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
            topup = env["prepaid.topup"].create(
                {
                    "account_id": account_ids[number % len(account_ids)],
                    "amount": 50.0,
                    "payment_method": "cash",
                }
            )
            topup.action_confirm_payment()
            cr.commit()
    return time.perf_counter() - started


def run_postings(odoo, registry, account_ids, count, batch):
    if not count:
        return 0, 0.0, []
    elapsed = 0.0
    posted = 0
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        accounts = env["prepaid.account"].browse(account_ids)
        while posted < count:
            size = min(batch, count - posted)
            entries = [
                {
                    "account": accounts[(posted + n) % len(accounts)],
                    "kind": "consumption",
                    "amount": -0.37,
                    # Not rating's keys (rate:<reading id>): the billing run posts those.
                    "key": f"bench-posting:{posted + n}",
                    "utility": "electricity",
                }
                for n in range(size)
            ]
            started = time.perf_counter()
            env["prepaid.ledger"]._post(entries)
            cr.commit()
            elapsed += time.perf_counter() - started
            posted += size
            env.invalidate_all()
        mismatches = env["prepaid.account"]._check_ledger_balances()
    return posted, elapsed, mismatches


def backend_cpu_seconds(cr):
    """CPU time (user + system) used so far by the PostgreSQL backend of ``cr``."""
    cr.execute("SELECT pg_backend_pid()")
    fields = Path(f"/proc/{cr.fetchone()[0]}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_billing(odoo, registry, hours, profile=None):
    """A day of hourly readings for every meter, then one rating run; return the figures."""
    from datetime import datetime, timedelta
    from datetime import time as day_time

    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        cr.execute("SELECT id FROM prepaid_meter ORDER BY id")
        meter_ids = [row[0] for row in cr.fetchall()]
        start = datetime.combine(datetime.utcnow().date(), day_time())
        for hour in range(hours + 1):
            read_at = start + timedelta(hours=hour)
            env["prepaid.reading"]._ingest(
                [(meter_id, read_at, hour * (0.8 + meter_id % 7 * 0.3)) for meter_id in meter_ids]
            )
            cr.commit()
            env.invalidate_all()
        profiler = cProfile.Profile() if profile else None
        backend_started = backend_cpu_seconds(cr)
        cpu_started = time.process_time()
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        env["prepaid.rating"]._cron_rate()
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        backend_cpu = backend_cpu_seconds(cr) - backend_started
        cr.execute("SELECT count(*) FROM prepaid_rating_line")
        rated = cr.fetchone()[0]
        # The charges of the readings (the postings above are consumption lines too).
        cr.execute(
            "SELECT count(*) FROM prepaid_ledger_line"
            " WHERE kind = 'consumption' AND res_model = 'prepaid.reading'"
        )
        lines = cr.fetchone()[0]
        mismatches = env["prepaid.account"]._check_ledger_balances()
    return {
        "meters": len(meter_ids),
        "rated": rated,
        "lines": lines,
        "elapsed": elapsed,
        "cpu": cpu,
        "backend_cpu": backend_cpu,
        "mismatches": len(mismatches),
    }


def main():
    args = parse_args()
    odoo = setup_odoo(args.db_port)
    say(
        "Ledger benchmark: %d accounts, %d top-ups, %d ledger lines in batches of %d (database %s)",
        args.accounts,
        args.topups,
        args.lines,
        args.batch,
        args.database,
    )
    started = time.perf_counter()
    with throwaway_database(args.database, "prepaid_billing", keep=args.keep) as registry:
        account_ids = create_accounts(odoo, registry, args.accounts)
        say(
            "  set-up (install, %d accounts): %.1f s",
            len(account_ids),
            time.perf_counter() - started,
        )

        if args.topups:
            elapsed = run_topups(odoo, registry, account_ids, args.topups)
            say(
                "top-ups: %d in %.2f s = %.0f top-ups/s (order, payment, ledger line, delivery; "
                "one transaction each)",
                args.topups,
                elapsed,
                args.topups / elapsed,
            )
        if args.lines:
            posted, elapsed, mismatches = run_postings(
                odoo, registry, account_ids, args.lines, args.batch
            )
            say(
                "postings: %d ledger lines in %.2f s = %.0f lines/s; balances differing from "
                "their ledger: %d",
                posted,
                elapsed,
                posted / elapsed,
                len(mismatches),
            )
        run = run_billing(odoo, registry, args.hours, profile=args.profile)
        elapsed = run["elapsed"] or float("inf")
        say(
            "billing run: %d meters x %d hourly readings: %d readings rated, %d consumption "
            "lines in %.1f s = %.0f lines/s (target: 10,000 x 24 in 60 s); CPU %.1f s in Odoo "
            "+ %.1f s in PostgreSQL; balances differing from their ledger: %d",
            run["meters"],
            args.hours,
            run["rated"],
            run["lines"],
            run["elapsed"],
            run["lines"] / elapsed,
            run["cpu"],
            run["backend_cpu"],
            run["mismatches"],
        )
        if args.profile:
            say("  profile of the rating run: %s", args.profile)


if __name__ == "__main__":
    main()
