"""Benchmark of the reading ingestion against a plain PostgreSQL COPY.

Creates a throw-away database with prepaid_meter installed (no demo data), creates the meters,
then in the same run:

1. ingests the readings through ``prepaid.reading._ingest`` in batches (one poll of every
   meter per batch, committed like a cron would), with consumption, flags, review holds and
   the meters' register state (``prepaid_meter_reading_state``) computed;
2. truncates the table and COPYs the same rows into it, in batches of the same size and
   committed the same way;

and prints the rows per second of each and their ratio (target: ingestion at least half the
speed of COPY). The database is dropped at the end unless ``--keep`` is given.

Run with the project's Python, the PostgreSQL cluster of the project started
(``scripts/odoo.sh`` or ``make setup`` starts it)::

    ~/.local/share/prepaid-utilities/venv/bin/python tests/benchmarks/bench_ingestion.py
    ... --meters 1000 --readings 100000     # a quicker run
"""

# A standalone benchmark: it commits each batch like a cron would.
# pylint: disable=invalid-commit
import argparse
import io
import os
import time
from datetime import datetime, timedelta

from odoo_bench import default_db_port, say, setup_odoo, throwaway_database

START = datetime(2024, 1, 1)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meters", type=int, default=10_000)
    parser.add_argument("--readings", type=int, default=1_000_000)
    parser.add_argument(
        "--batch", type=int, default=0, help="rows per batch (default: one reading per meter)"
    )
    parser.add_argument("--db-port", default=default_db_port())
    parser.add_argument("--database", default=f"bench_ingestion_{os.getpid()}")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    return parser.parse_args()


def create_meters(odoo, registry, count):
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        model = env["prepaid.meter.model"].create(
            {"name": "Bench Meter", "utility": "electricity", "protocol": "modbus_tcp"}
        )
        ids = []
        for start in range(0, count, 1000):
            meters = env["prepaid.meter"].create(
                [
                    {"name": f"B{n:06d}", "serial_number": f"B{n:06d}", "model_id": model.id}
                    for n in range(start, min(start + 1000, count))
                ]
            )
            ids += meters.ids
        return ids


def batches(meter_ids, readings, batch_size):
    """Yield lists of (meter_id, read_at, total): hourly polls of every meter, in order."""
    rows = []
    for poll in range(readings // len(meter_ids) + 1):
        read_at = START + timedelta(hours=poll)
        for meter_id in meter_ids:
            rows.append((meter_id, read_at, round(poll * 0.75 + (meter_id % 13) * 0.01, 2)))
            if len(rows) == batch_size:
                yield rows
                rows = []
            readings -= 1
            if not readings:
                if rows:
                    yield rows
                return


def reset(odoo, registry):
    with registry.cursor() as cr:
        cr.execute("TRUNCATE prepaid_reading, prepaid_meter_reading_state")
        cr.commit()
        cr._cnx.autocommit = True
        cr.execute("VACUUM ANALYZE prepaid_meter")
        cr.execute("CHECKPOINT")
        cr._cnx.autocommit = False


def run_ingest(odoo, registry, meter_ids, args):
    inserted = flagged = 0
    elapsed = 0.0
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        reading = env["prepaid.reading"]
        for rows in batches(meter_ids, args.readings, args.batch):
            started = time.perf_counter()
            summary = reading._ingest(rows)
            cr.commit()
            elapsed += time.perf_counter() - started
            inserted += summary["inserted"]
            flagged += summary["flagged"]
            env.invalidate_all()
        cr.execute(
            "SELECT count(*), count(*) FILTER (WHERE quality = 'ok'), sum(consumption)"
            " FROM prepaid_reading"
        )
        count, ok, consumption = cr.fetchone()
    say(
        "  stored %d readings (%d ok, %d flagged), consumption %.2f kWh",
        count,
        ok,
        flagged,
        consumption or 0,
    )
    return inserted, elapsed


def run_copy(odoo, registry, meter_ids, args):
    copied = 0
    elapsed = 0.0
    columns = (
        "meter_id, read_at, total, source, quality, company_id, utility, "
        "create_uid, create_date, write_uid, write_date"
    )
    with registry.cursor() as cr:
        cr.execute("SELECT company_id FROM prepaid_meter LIMIT 1")
        company_id = cr.fetchone()[0]
        now = datetime.now().replace(microsecond=0)
        tail = f"\tgateway\tok\t{company_id}\telectricity\t1\t{now}\t1\t{now}\n"
        for rows in batches(meter_ids, args.readings, args.batch):
            started = time.perf_counter()
            buffer = io.StringIO(
                "".join(
                    f"{meter_id}\t{read_at}\t{total}{tail}" for meter_id, read_at, total in rows
                )
            )
            cr._obj.copy_expert(f"COPY prepaid_reading ({columns}) FROM STDIN", buffer)
            cr.commit()
            elapsed += time.perf_counter() - started
            copied += len(rows)
    return copied, elapsed


def main():
    args = parse_args()
    args.batch = args.batch or args.meters
    odoo = setup_odoo(args.db_port)
    say(
        "Ingestion benchmark: %d readings for %d meters, batches of %d rows, database %s",
        args.readings,
        args.meters,
        args.batch,
        args.database,
    )
    started = time.perf_counter()
    with throwaway_database(args.database, "prepaid_meter", keep=args.keep) as registry:
        meter_ids = create_meters(odoo, registry, args.meters)
        say("  set-up (install, %d meters): %.1f s", len(meter_ids), time.perf_counter() - started)

        reset(odoo, registry)
        inserted, ingest_time = run_ingest(odoo, registry, meter_ids, args)
        ingest_rate = inserted / ingest_time
        say("_ingest: %d rows in %.2f s = %.0f rows/s", inserted, ingest_time, ingest_rate)

        reset(odoo, registry)
        copied, copy_time = run_copy(odoo, registry, meter_ids, args)
        copy_rate = copied / copy_time
        say("COPY:    %d rows in %.2f s = %.0f rows/s", copied, copy_time, copy_rate)

        ratio = ingest_rate / copy_rate
        verdict = "meets" if ratio >= 0.5 else "MISSES"
        say("ratio _ingest/COPY: %.2f (%s the target of 0.50)", ratio, verdict)


if __name__ == "__main__":
    main()
