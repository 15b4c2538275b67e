"""Benchmark of the tenant portal: the account page of a tenant with a year of readings.

Creates a throw-away database with prepaid_billing installed (no demo data), one open account
billed on the platform with 3 meters (2 electricity with TOU registers, 1 water) and a year of
hourly readings per meter, rated by the rating service, a year of top-ups and a tenant with a
portal login. Then requests the account page ``/my/utilities/<id>`` through Odoo's WSGI
application as the logged-in tenant (a real session, routing, rules, QWeb rendering and the
SQL of the page; no network) and prints the server time (median, p95, max) and the number of
SQL queries per page (target: p95 <= 300 ms).

Run with the project's Python, the project's PostgreSQL cluster started::

    ~/.local/share/prepaid-utilities/venv/bin/python tests/benchmarks/bench_portal.py
    ... --days 90 --requests 20     # a quicker run
"""

# A standalone benchmark: it commits like requests and crons do.
# pylint: disable=invalid-commit
import argparse
import math
import os
import statistics
import time
from datetime import datetime, timedelta

from odoo_bench import default_db_port, say, setup_odoo, throwaway_database

LOGIN = "bench.tenant"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365, help="days of hourly readings")
    parser.add_argument("--requests", type=int, default=50, help="page requests measured")
    parser.add_argument("--db-port", default=default_db_port())
    parser.add_argument("--database", default=f"bench_portal_{os.getpid()}")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    return parser.parse_args()


def hourly_rows(meter, start, hours, tou):
    """Deterministic hourly registers: a daily shape, split over T1..T4 by the hour."""
    rows = []
    registers = [0.0, 0.0, 0.0, 0.0]
    for hour in range(hours):
        moment = start + timedelta(hours=hour)
        load = (0.4 if 8 <= moment.hour < 20 else 0.15) * (1 + (meter.id % 3) / 10)
        band = 0 if moment.hour in (10, 11) else 1 if 8 <= moment.hour < 20 else 3
        registers[band] += load
        total = round(sum(registers), 3)
        if tou:
            rows.append((meter.id, moment, total, *(round(r, 3) for r in registers)))
        else:
            rows.append((meter.id, moment, total))
    return rows


def create_data(odoo, registry, days):
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        Command = odoo.Command
        start = datetime.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=days)
        tariff_e = env["prepaid.tariff"].create(
            {
                "name": "Bench electricity",
                "utility": "electricity",
                "tz": "Asia/Shanghai",
                "version_ids": [
                    Command.create({"date_from": "2020-01-01", "kind": "flat", "unit_price": 0.6})
                ],
            }
        )
        tariff_w = env["prepaid.tariff"].create(
            {
                "name": "Bench water",
                "utility": "water",
                "tz": "Asia/Shanghai",
                "version_ids": [
                    Command.create({"date_from": "2020-01-01", "kind": "flat", "unit_price": 4.5})
                ],
            }
        )
        area = env["prepaid.site"].create({"name": "Bench", "site_type": "area"})
        building = env["prepaid.site"].create(
            {"name": "Bench B", "site_type": "building", "parent_id": area.id}
        )
        room = env["prepaid.site"].create(
            {"name": "B101", "site_type": "room", "parent_id": building.id}
        )
        model_e = env.ref("prepaid_meter.prepaid_meter_model_acrel_ddsy1352")
        model_w = env.ref("prepaid_meter.prepaid_meter_model_water_valve")
        meters = env["prepaid.meter"].create(
            [
                {
                    "serial_number": f"BENCHP{n}",
                    "name": f"Bench meter {n}",
                    "model_id": model.id,
                    "room_id": room.id,
                    "initial_reading": 0,
                    "max_load": 1000,
                    "install_date": start.date(),
                }
                for n, model in enumerate((model_e, model_e, model_w))
            ]
        )
        tenant = env["res.partner"].create({"name": "Bench Tenant", "tz": "Asia/Shanghai"})
        account = env["prepaid.account"].create(
            {
                "partner_id": tenant.id,
                "room_id": room.id,
                "electricity_tariff_id": tariff_e.id,
                "water_tariff_id": tariff_w.id,
                "meter_ids": [Command.set(meters.ids)],
            }
        )
        account._open()
        account.date_open = start.date()
        env["prepaid.ledger"]._post(
            [{"account": account, "kind": "opening", "amount": 100000.0, "key": "opening"}]
        )
        env["res.users"].create(
            {
                "login": LOGIN,
                "password": LOGIN,
                "partner_id": tenant.id,
                "groups_id": [Command.set([env.ref("base.group_portal").id])],
            }
        )
        # A top-up a week, as the counter sells them.
        for week in range(days // 7):
            env["prepaid.ledger"]._post(
                [{"account": account, "kind": "topup", "amount": 50.0, "key": f"week-{week}"}]
            )
        cr.commit()
        hours = days * 24
        for meter in meters:
            rows = hourly_rows(meter, start, hours, tou=meter.utility == "electricity")
            env["prepaid.reading"]._ingest(rows, "gateway")
            cr.commit()
        env["prepaid.rating"]._rate_accounts(account)
        cr.commit()
        cr.execute("SELECT count(*) FROM prepaid_reading")
        readings = cr.fetchone()[0]
        cr.execute("SELECT count(*) FROM prepaid_ledger_line")
        lines = cr.fetchone()[0]
        return account.id, readings, lines


def measure(odoo, database, account_id, count):
    from werkzeug.test import Client

    client = Client(odoo.http.root)
    environ = {"REMOTE_ADDR": "127.0.0.1"}
    reply = client.post(
        "/web/session/authenticate",
        json={
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"db": database, "login": LOGIN, "password": LOGIN},
        },
        environ_base=environ,
    )
    if "error" in reply.json:
        raise SystemExit(f"Login failed: {reply.json['error']}")
    url = f"/my/utilities/{account_id}"
    first = client.get(url, environ_base=environ)  # warm the caches (templates, assets, registry)
    if first.status_code != 200 or b"o_prepaid_chart" not in first.data:
        raise SystemExit(f"{url} answered {first.status_code}")
    timings, queries = [], []
    for _index in range(count):
        before = odoo.sql_db.sql_counter
        started = time.perf_counter()
        response = client.get(url, environ_base=environ)
        timings.append(time.perf_counter() - started)
        queries.append(odoo.sql_db.sql_counter - before)
        assert response.status_code == 200
    return timings, queries


def main():
    args = parse_args()
    odoo = setup_odoo(args.db_port, [f"--db-filter=^{args.database}$"])
    say(
        "Portal benchmark: an account with 3 meters and %d days of hourly readings, %d page "
        "requests (database %s)",
        args.days,
        args.requests,
        args.database,
    )
    started = time.perf_counter()
    with throwaway_database(args.database, "prepaid_billing", keep=args.keep) as registry:
        account_id, readings, lines = create_data(odoo, registry, args.days)
        say(
            "  set-up (install, %d readings, rated: %d ledger lines): %.1f s",
            readings,
            lines,
            time.perf_counter() - started,
        )
        timings, queries = measure(odoo, args.database, account_id, args.requests)
        ordered = sorted(timings)
        p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
        say(
            "account page /my/utilities/<id>: median %.0f ms, p95 %.0f ms, max %.0f ms "
            "(target: p95 <= 300 ms); SQL queries per page: %d (min %d, max %d)",
            statistics.median(timings) * 1000,
            p95 * 1000,
            ordered[-1] * 1000,
            round(statistics.median(queries)),
            min(queries),
            max(queries),
        )


if __name__ == "__main__":
    main()
