"""Benchmark of the month end: fee items and common-area pools over a large site, and a large
XLSX export.

Creates a throw-away database with prepaid_billing installed (no demo data), a site with N
open accounts (a room with its floor area and an electricity meter each, credit in the wallet)
and P common meters with a month of readings, then times:

1. the month end as its scheduled actions run it: 5 monthly fee items on the whole site
   (property fee per m² and garbage fee taken from the wallets, rent, service fee and a
   per-unit fee billed) charged by ``prepaid.fee.item._cron_charge_fees``, then the P pools
   (by area, ratio, usage and equally, N / P rooms each) shared by
   ``prepaid.apportion.pool._cron_apportion``; a rerun of both must charge nothing new
   (target: 10,000 accounts x 5 items + 100 pools in 5 min or less);
2. the monthly composite report of the whole site exported to XLSX, one row per account
   (target: 10,000 rows in 30 s or less).

It checks what it measured: one charge per account and item, every pool shared to the cent,
the wallets equal to their ledger.

Run with the project's Python, the project's PostgreSQL cluster started::

    ~/.local/share/prepaid-utilities/venv/bin/python tests/benchmarks/bench_month_end.py
    ... --accounts 1000 --pools 10     # a quicker run

Wall-clock figures depend on what else runs on the machine.
"""

# A standalone benchmark: it commits like the scheduled actions do.
# pylint: disable=invalid-commit
import argparse
import os
import sys
import time
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from odoo_bench import default_db_port, say, setup_odoo, throwaway_database

FEE_ITEMS = [
    # name, kind, amount type, amount, charge mode
    ("Property fee", "property", "area", 3.5, "wallet"),
    ("Garbage fee", "garbage", "fixed", 15.0, "wallet"),
    ("Rent", "rent", "fixed", 1800.0, "bill"),
    ("Service fee", "service", "fixed", 120.0, "bill"),
    ("Parking", "other", "unit", 300.0, "bill"),
]
POOL_METHODS = ("area", "ratio", "usage", "equal")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--pools", type=int, default=100)
    parser.add_argument("--db-port", default=default_db_port())
    parser.add_argument("--database", default=f"bench_month_end_{os.getpid()}")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    return parser.parse_args()


def months():
    """The month before last (accounts opened), last month (readings, pools shared) and the
    first day of this month (the scheduled actions' day)."""
    this_month = date.today().replace(day=1)
    return this_month - relativedelta(months=2), this_month - relativedelta(months=1), this_month


def create_site(odoo, registry, count, pool_count):
    opened_on, last_month, _today = months()
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        Site = env["prepaid.site"]
        area = Site.create({"name": "Bench Plaza", "site_type": "area"})
        building = Site.create({"name": "Bench A", "site_type": "building", "parent_id": area.id})
        floor = Site.create({"name": "Bench A 1F", "site_type": "floor", "parent_id": building.id})
        rooms = Site.create(
            [
                {
                    "name": f"M{n:05d}",
                    "site_type": "room",
                    "parent_id": floor.id,
                    "floor_area": 20 + n % 37 * 1.5,
                }
                for n in range(count)
            ]
        )
        common_rooms = Site.create(
            [
                {"name": f"Common {n:03d}", "site_type": "room", "parent_id": floor.id}
                for n in range(pool_count)
            ]
        )
        model = env.ref("prepaid_meter.prepaid_meter_model_acrel_ddsy1352")
        meters = env["prepaid.meter"].create(
            [
                {
                    "serial_number": f"BENCHM{n:06d}",
                    "model_id": model.id,
                    "room_id": room.id,
                    "initial_reading": 0,
                    "install_date": opened_on,
                }
                for n, room in enumerate(rooms + common_rooms)
            ]
        )
        tariff = env["prepaid.tariff"].create({"name": "Bench", "utility": "electricity"})
        tenant = env["res.partner"].create({"name": "Bench Tenant"})
        accounts = env["prepaid.account"].create(
            [
                {
                    "partner_id": tenant.id,
                    "room_id": meter.room_id.id,
                    "electricity_tariff_id": tariff.id,
                    "meter_ids": [odoo.Command.set(meter.ids)],
                }
                for meter in meters[:count]
            ]
        )
        accounts._open()
        # Opened before the month charged: no proration; credit enough for the fees taken from
        # the wallets (none goes below its cut-off threshold).
        env.flush_all()
        cr.execute(
            "UPDATE prepaid_account SET date_open = %s WHERE id = ANY(%s)",
            (opened_on, accounts.ids),
        )
        env.invalidate_all()
        env["prepaid.ledger"]._post(
            [
                {"account": account, "kind": "opening", "amount": 5000.0, "key": "opening"}
                for account in accounts
            ]
        )
        # A month of readings of every meter (two a meter: the start and the end of last
        # month), for the pools by usage and their common meters.
        start = datetime.combine(last_month, datetime.min.time()) + timedelta(minutes=5)
        end = datetime.combine(last_month + relativedelta(months=1), datetime.min.time())
        env["prepaid.reading"]._ingest(
            [(meter.id, start, 0) for meter in meters]
            + [
                (meter.id, end - timedelta(minutes=5), 50 + n % 23 * 7.25)
                for n, meter in enumerate(meters)
            ],
            "manual",
        )
        for name, kind, amount_type, amount, mode in FEE_ITEMS:
            item = env["prepaid.fee.item"].create(
                {
                    "name": name,
                    "kind": kind,
                    "amount_type": amount_type,
                    "amount": amount,
                    "recurrence": "monthly",
                    "charge_day": 1,
                    "charge_mode": mode,
                    "date_from": opened_on,
                    "site_ids": [odoo.Command.set(building.ids)] if kind != "other" else [],
                }
            )
            if kind == "other":
                # Assigned one by one: two parking spaces each.
                env["prepaid.fee.assignment"].create(
                    [
                        {"item_id": item.id, "account_id": account.id, "quantity": 2}
                        for account in accounts
                    ]
                )
        per_pool = max(1, count // pool_count)
        env["prepaid.apportion.pool"].create(
            [
                {
                    "name": f"Pool {n:03d}",
                    "meter_id": common.id,
                    "unit_price": 1.05,
                    "method": POOL_METHODS[n % len(POOL_METHODS)],
                    "charge_mode": "wallet" if n % 2 else "bill",
                    "date_from": opened_on,
                    "member_ids": [
                        odoo.Command.create({"room_id": room.id, "ratio": 1 + i % 3})
                        for i, room in enumerate(rooms[n * per_pool : (n + 1) * per_pool])
                    ],
                }
                for n, common in enumerate(meters[count:])
            ]
        )
        cr.commit()
        return accounts.ids


def run_month_end(odoo, registry):
    _opened_on, _last_month, today = months()
    figures = {}
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        for label in ("first", "rerun"):
            started = time.perf_counter()
            env["prepaid.fee.item"]._cron_charge_fees(today=today)
            fees = time.perf_counter() - started
            started = time.perf_counter()
            env["prepaid.apportion.pool"]._cron_apportion(today=today)
            pools = time.perf_counter() - started
            cr.execute(
                "SELECT count(*), count(*) FILTER (WHERE state = 'flagged') FROM prepaid_fee_charge"
            )
            charges, flagged = cr.fetchone()
            cr.execute(
                "SELECT count(*), count(*) FILTER (WHERE state = 'flagged')"
                " FROM prepaid_apportion_run"
            )
            runs, flagged_runs = cr.fetchone()
            cr.execute("SELECT count(*) FROM prepaid_apportion_share")
            shares = cr.fetchone()[0]
            figures[label] = {
                "fees": fees,
                "pools": pools,
                "charges": charges,
                "flagged": flagged,
                "runs": runs,
                "flagged_runs": flagged_runs,
                "shares": shares,
            }
            env.invalidate_all()
        # Every pool's shares add up to its amount to the cent.
        cr.execute(
            """
            SELECT count(*) FROM (
                SELECT r.id FROM prepaid_apportion_run r
                  JOIN prepaid_apportion_share s ON s.run_id = r.id
              GROUP BY r.id HAVING sum(s.amount) != max(r.amount)
            ) drift
            """
        )
        figures["drifting_pools"] = cr.fetchone()[0]
        figures["mismatches"] = len(env["prepaid.account"]._check_ledger_balances())
    return figures


def run_export(odoo, registry):
    _opened_on, last_month, _today = months()
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        building = env["prepaid.site"].search([("name", "=", "Bench A")])
        report = env["prepaid.report.composite"].create(
            {"month": last_month, "site_id": building.id}
        )
        started = time.perf_counter()
        report.action_export()
        elapsed = time.perf_counter() - started
        import base64
        import io

        import openpyxl

        sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(report.file_data))).active
        # Title, blank, headers, the rows, the totals row.
        rows = sheet.max_row - 4
        cr.rollback()
    return elapsed, rows


def main():
    args = parse_args()
    odoo = setup_odoo(args.db_port)
    say(
        "Month-end benchmark: %d accounts x %d fee items + %d pools (database %s)",
        args.accounts,
        len(FEE_ITEMS),
        args.pools,
        args.database,
    )
    started = time.perf_counter()
    with throwaway_database(args.database, "prepaid_billing", keep=args.keep) as registry:
        account_ids = create_site(odoo, registry, args.accounts, args.pools)
        say(
            "  set-up (install, %d accounts, %d pools): %.1f s",
            len(account_ids),
            args.pools,
            time.perf_counter() - started,
        )
        figures = run_month_end(odoo, registry)
        first, rerun = figures["first"], figures["rerun"]
        say(
            "month end: fees %.1f s (%d charges, %d flagged) + pools %.1f s (%d runs, %d "
            "flagged, %d shares) = %.1f s (target: 10,000 accounts x 5 items + 100 pools in "
            "300 s)",
            first["fees"],
            first["charges"],
            first["flagged"],
            first["pools"],
            first["runs"],
            first["flagged_runs"],
            first["shares"],
            first["fees"] + first["pools"],
        )
        say(
            "  rerun: %.1f s, %d new charges, %d new runs; pools whose shares differ from "
            "their amount: %d; balances differing from their ledger: %d",
            rerun["fees"] + rerun["pools"],
            rerun["charges"] - first["charges"],
            rerun["runs"] - first["runs"],
            figures["drifting_pools"],
            figures["mismatches"],
        )
        elapsed, rows = run_export(odoo, registry)
        say(
            "XLSX export: composite report of %d rows in %.1f s (target: 10,000 rows in 30 s)",
            rows,
            elapsed,
        )
    failures = [
        text
        for text, failed in (
            ("a rerun charged again", rerun["charges"] != first["charges"]),
            ("a rerun shared again", rerun["runs"] != first["runs"]),
            ("flagged charges or pools", first["flagged"] or first["flagged_runs"]),
            ("shares not adding up to their pool", figures["drifting_pools"]),
            ("balances differing from their ledger", figures["mismatches"]),
            ("rows missing from the export", rows != args.accounts),
        )
        if failed
    ]
    if failures:
        sys.exit("FAILED: " + ", ".join(failures))


if __name__ == "__main__":
    main()
