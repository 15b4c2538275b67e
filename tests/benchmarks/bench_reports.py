"""Benchmark of the reports: the monthly composite report of a site and the energy report.

Creates a throw-away database with prepaid_billing installed (no demo data), a site with N
open accounts (one TOU electricity meter each) and D days of hourly readings per meter from
the first day of the month two months ago, a top-up and a consumption line per account and
month in the ledger. Then times, as the superuser (the operators' record rules add a site
filter), the composite report of the second month for the whole site (its four statements
and the rows), its XLSX export, and the energy report grouped by month for the site and by
day for one meter, and prints their SQL query counts.

Run with the project's Python, the project's PostgreSQL cluster started::

    ~/.local/share/prepaid-utilities/venv/bin/python tests/benchmarks/bench_reports.py
    ... --accounts 200 --days 40     # a quicker run
"""

# A standalone benchmark: it commits like crons do.
# pylint: disable=invalid-commit
import argparse
import os
import statistics
import time
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from odoo_bench import default_db_port, say, setup_odoo, throwaway_database


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000, help="accounts of the site")
    parser.add_argument("--days", type=int, default=62, help="days of hourly readings")
    parser.add_argument("--runs", type=int, default=5, help="runs measured per report")
    parser.add_argument("--db-port", default=default_db_port())
    parser.add_argument("--database", default=f"bench_reports_{os.getpid()}")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    return parser.parse_args()


def first_month():
    """The first day of the month before last: readings start there, the report is on the
    month after it (the previous month, complete)."""
    return date.today().replace(day=1) - relativedelta(months=2)


def create_data(odoo, registry, accounts, days):
    start_day = first_month()
    start = datetime.combine(start_day, datetime.min.time())
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        env.company.partner_id.tz = "Asia/Shanghai"
        area = env["prepaid.site"].create({"name": "Bench Plaza", "site_type": "area"})
        building = env["prepaid.site"].create(
            {"name": "Bench A", "site_type": "building", "parent_id": area.id}
        )
        floor = env["prepaid.site"].create(
            {"name": "Bench A 1F", "site_type": "floor", "parent_id": building.id}
        )
        rooms = env["prepaid.site"].create(
            [
                {"name": f"A{n:04d}", "site_type": "room", "parent_id": floor.id}
                for n in range(accounts)
            ]
        )
        tariff = env["prepaid.tariff"].create({"name": "Bench", "utility": "electricity"})
        model = env.ref("prepaid_meter.prepaid_meter_model_acrel_ddsy1352")
        meters = env["prepaid.meter"].create(
            [
                {
                    "serial_number": f"BENCHR{n:06d}",
                    "name": f"Bench meter {n}",
                    "model_id": model.id,
                    "room_id": room.id,
                    "max_load": 1000,
                    "ct_ratio": 1 + n % 3 * 19,
                    "install_date": start_day,
                }
                for n, room in enumerate(rooms)
            ]
        )
        tenant = env["res.partner"].create({"name": "Bench Tenant"})
        accounts = env["prepaid.account"].create(
            [
                {
                    "partner_id": tenant.id,
                    "room_id": meter.room_id.id,
                    "electricity_tariff_id": tariff.id,
                    "meter_ids": [odoo.Command.set(meter.ids)],
                }
                for meter in meters
            ]
        )
        for account in accounts:
            account._open()
        entries = []
        for account in accounts:
            for month in range(3):
                entries += [
                    {"account": account, "kind": "topup", "amount": 300.0,
                     "key": f"topup-{month}"},
                    {"account": account, "kind": "consumption", "utility": "electricity",
                     "amount": -120.0, "key": f"consumption-{month}"},
                ]  # fmt: skip
        env["prepaid.ledger"]._post(entries)
        cr.commit()
        for chunk in range(0, len(meters), 100):
            rows = []
            for meter in meters[chunk : chunk + 100]:
                registers = [0.0, 0.0, 0.0, 0.0]
                for hour in range(days * 24):
                    moment = start + timedelta(hours=hour)
                    band = 0 if moment.hour in (10, 11) else 1 if 8 <= moment.hour < 20 else 3
                    registers[band] += 0.2 + meter.id % 5 / 10
                    rows.append(
                        (meter.id, moment, round(sum(registers), 3),
                         *(round(r, 3) for r in registers))
                    )  # fmt: skip
            env["prepaid.reading"]._ingest(rows, "gateway")
            cr.commit()
        cr.execute("ANALYZE prepaid_reading")
        cr.execute("SELECT count(*) FROM prepaid_reading")
        return area.id, meters[0].id, cr.fetchone()[0]


def timed(odoo, registry, runs, work):
    """Median seconds and SQL queries of ``work(env)``, each run on a fresh cursor."""
    timings, queries = [], []
    for _run in range(runs + 1):
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            before = odoo.sql_db.sql_counter
            started = time.perf_counter()
            work(env)
            timings.append(time.perf_counter() - started)
            queries.append(odoo.sql_db.sql_counter - before)
            cr.rollback()
    # The first run warms the registry's caches.
    return statistics.median(timings[1:]), max(queries[1:])


def main():
    args = parse_args()
    odoo = setup_odoo(args.db_port, [f"--db-filter=^{args.database}$"])
    say(
        "Reports benchmark: a site of %d accounts with %d days of hourly TOU readings "
        "(database %s)",
        args.accounts,
        args.days,
        args.database,
    )
    started = time.perf_counter()
    month = first_month() + relativedelta(months=1)
    with throwaway_database(args.database, "prepaid_billing", keep=args.keep) as registry:
        area_id, meter_id, readings = create_data(odoo, registry, args.accounts, args.days)
        say("  set-up (install, %d readings): %.1f s", readings, time.perf_counter() - started)

        def report(env):
            return env["prepaid.report.composite"].create({"month": month, "site_id": area_id})

        figures = [
            ("composite report of the site (rows)", lambda env: report(env)._compute_rows()),
            ("composite report XLSX export", lambda env: report(env).action_export()),
            (
                "energy report of the site per month",
                lambda env: env["prepaid.report.energy"]._read_group(
                    [("room_id", "child_of", area_id)], ["date:month"], ["consumption:sum"]
                ),
            ),
            (
                "energy report of a meter per day, one month",
                lambda env: env["prepaid.report.energy"]._read_group(
                    [
                        ("meter_id", "=", meter_id),
                        ("date", ">=", month),
                        ("date", "<", month + timedelta(days=28)),
                    ],
                    ["date:day"],
                    ["consumption:sum", "kwh_t1:sum", "kwh_t2:sum", "kwh_t4:sum"],
                ),
            ),
        ]
        for name, work in figures:
            seconds, queries = timed(odoo, registry, args.runs, work)
            say("%s: median %.0f ms, %d SQL queries", name, seconds * 1000, queries)


if __name__ == "__main__":
    main()
