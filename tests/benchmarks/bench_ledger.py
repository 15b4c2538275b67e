"""Benchmark of the money core: top-ups at the counter and the posting service.

Creates a throw-away database with prepaid_billing installed (no demo data) and open
accounts, then prints:

1. top-ups per second: one sale after the other as the counter makes them (an order, its
   payment: one ledger line, the balance, the delivery), each committed like a request;
2. ledger lines per second through ``prepaid.ledger._post`` in batches of consumption
   charges over all the accounts, as rating will post them, each batch committed.

Run with the project's Python, the project's PostgreSQL cluster started::

    ~/.local/share/prepaid-utilities/venv/bin/python tests/benchmarks/bench_ledger.py
    ... --accounts 100 --topups 500 --lines 20000     # a quicker run
"""

# A standalone benchmark: it commits like requests and crons do.
# pylint: disable=invalid-commit
import argparse
import os
import time

from odoo_bench import default_db_port, say, setup_odoo, throwaway_database


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--topups", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000, help="ledger lines per posting")
    parser.add_argument("--db-port", default=default_db_port())
    parser.add_argument("--database", default=f"bench_ledger_{os.getpid()}")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    return parser.parse_args()


def create_accounts(odoo, registry, count):
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        model = env.ref("prepaid_meter.prepaid_meter_model_acrel_ddsy1352")
        tariff = env["prepaid.tariff"].create({"name": "Bench", "utility": "electricity"})
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
                {"serial_number": f"BENCH{n:06d}", "model_id": model.id, "room_id": room.id}
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
        cr.commit()
        return accounts.ids


def run_topups(odoo, registry, account_ids, count):
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
                    "key": f"rate:{posted + n}",
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

        elapsed = run_topups(odoo, registry, account_ids, args.topups)
        say(
            "top-ups: %d in %.2f s = %.0f top-ups/s (order, payment, ledger line, delivery; "
            "one transaction each)",
            args.topups,
            elapsed,
            args.topups / elapsed,
        )
        posted, elapsed, mismatches = run_postings(
            odoo, registry, account_ids, args.lines, args.batch
        )
        say(
            "postings: %d ledger lines in %.2f s = %.0f lines/s; balances differing from their "
            "ledger: %d",
            posted,
            elapsed,
            posted / elapsed,
            len(mismatches),
        )


if __name__ == "__main__":
    main()
