"""Benchmark of the sales report and the usage analysis.

Creates a throw-away database with prepaid_billing installed (no demo data), a site with N
open accounts (one meter each) and T paid top-ups per account spread over the last months
(top-ups and their ledger lines written in SQL: the benchmark measures the reports, not the
counter; channels, amounts and intervals vary per account so that every habit occurs). Then
times, as the superuser, the usage analysis grouped by habit, its XLSX export of every account,
the sales per month, channel and operator, and the sales XLSX export, and prints their SQL
query counts.

Run with the project's Python, the project's PostgreSQL cluster started::

    ~/.local/share/prepaid-utilities/venv/bin/python tests/benchmarks/bench_report_usage.py
    ... --accounts 1000 --topups 6     # a quicker run
"""

# A standalone benchmark: it commits like crons do.
# pylint: disable=invalid-commit
import argparse
import os
import statistics
import time
from datetime import date

from odoo_bench import default_db_port, say, setup_odoo, throwaway_database


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10000, help="accounts of the site")
    parser.add_argument("--topups", type=int, default=12, help="top-ups per account")
    parser.add_argument("--runs", type=int, default=3, help="runs measured per report")
    parser.add_argument("--db-port", default=default_db_port())
    parser.add_argument("--database", default=f"bench_report_usage_{os.getpid()}")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    return parser.parse_args()


def create_data(odoo, registry, accounts, topups):
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        env.company.partner_id.tz = "Asia/Shanghai"
        area = env["prepaid.site"].create({"name": "Bench Plaza", "site_type": "area"})
        building = env["prepaid.site"].create(
            {"name": "Bench U", "site_type": "building", "parent_id": area.id}
        )
        floor = env["prepaid.site"].create(
            {"name": "Bench U 1F", "site_type": "floor", "parent_id": building.id}
        )
        rooms = env["prepaid.site"].create(
            [
                {"name": f"U{n:05d}", "site_type": "room", "parent_id": floor.id}
                for n in range(accounts)
            ]
        )
        tariff = env["prepaid.tariff"].create({"name": "Bench", "utility": "electricity"})
        model = env.ref("prepaid_meter.prepaid_meter_model_acrel_ddsy1352")
        meters = env["prepaid.meter"].create(
            [
                {
                    "serial_number": f"BENCHU{n:06d}",
                    "name": f"Bench meter {n}",
                    "model_id": model.id,
                    "room_id": room.id,
                    "max_load": 1000,
                    "install_date": date(2024, 1, 1),
                }
                for n, room in enumerate(rooms)
            ]
        )
        tenant = env["res.partner"].create({"name": "Bench Tenant"})
        created = env["prepaid.account"].create(
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
        for account in created:
            account._open()
        cashiers = env["res.users"].create(
            [{"name": f"Bench Cashier {n}", "login": f"bench_cashier_{n}"} for n in range(4)]
        )
        cr.commit()
        # Per account: an interval of 2 to 59 days, an amount of 30 to 2,430, the last top-up
        # 0 to 149 days ago; the channel and cashier turn with each top-up.
        cr.execute(
            """
            INSERT INTO prepaid_topup (account_id, company_id, name, payment_method, state,
                                       amount, utility, paid_at, paid_by_id, create_uid,
                                       create_date, write_uid, write_date)
            SELECT a.id, a.company_id, 'BENCH/' || a.id || '/' || k,
                   (ARRAY['cash', 'wechat', 'alipay', 'bank_card'])[1 + (a.id + k) %% 4],
                   'delivered', 30 + (a.id %% 9) * 300 + k, 'electricity',
                   now() - make_interval(days => (a.id %% 150) + k * (2 + a.id %% 58)),
                   (%s::int[])[1 + (a.id + k) %% 4], 1, now(), 1, now()
              FROM prepaid_account a CROSS JOIN generate_series(0, %s - 1) k
             WHERE a.id IN %s
            """,
            (cashiers.ids, topups, tuple(created.ids)),
        )
        cr.execute(
            """
            INSERT INTO prepaid_ledger_line (account_id, company_id, kind, idempotency_key,
                                             amount, utility, res_model, res_id, create_uid,
                                             create_date)
            SELECT t.account_id, t.company_id, 'topup', 'bench-topup:' || t.id, t.amount,
                   t.utility, 'prepaid.topup', t.id, t.paid_by_id, t.paid_at
              FROM prepaid_topup t
             WHERE t.name LIKE 'BENCH/%%'
            """
        )
        cr.execute("ANALYZE prepaid_topup")
        cr.execute("ANALYZE prepaid_ledger_line")
        cr.commit()
        cr.execute("SELECT count(*) FROM prepaid_topup")
        return area.id, cr.fetchone()[0]


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
        "Sales and usage benchmark: %d accounts with %d top-ups each (database %s)",
        args.accounts,
        args.topups,
        args.database,
    )
    started = time.perf_counter()
    with throwaway_database(args.database, "prepaid_billing", keep=args.keep) as registry:
        area_id, topups = create_data(odoo, registry, args.accounts, args.topups)
        say("  set-up (install, %d top-ups): %.1f s", topups, time.perf_counter() - started)
        today = date.today()

        def usage_export(env):
            export = env["prepaid.report.usage.export"].create({"site_id": area_id})
            export.action_export()

        def sales_export(env):
            export = env["prepaid.report.sales.export"].create(
                {"date_from": today.replace(year=today.year - 2), "date_to": today,
                 "period": "month", "site_id": area_id}
            )  # fmt: skip
            export.action_export()

        figures = [
            (
                "usage analysis per habit",
                lambda env: env["prepaid.report.usage"]._read_group(
                    [("room_id", "child_of", area_id)],
                    ["habit"],
                    ["__count", "mean_amount:avg", "median_gap_days:avg"],
                ),
            ),
            ("usage analysis XLSX export (every account)", usage_export),
            (
                "sales per month, channel and operator",
                lambda env: env["prepaid.report.sales"]._read_group(
                    [("room_id", "child_of", area_id)],
                    ["date:month", "payment_method", "user_id"],
                    ["amount:sum"],
                ),
            ),
            ("sales XLSX export per month, channel and operator", sales_export),
        ]
        for name, work in figures:
            seconds, queries = timed(odoo, registry, args.runs, work)
            say("%s: median %.0f ms, %d SQL queries", name, seconds * 1000, queries)


if __name__ == "__main__":
    main()
