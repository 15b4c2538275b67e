"""Meter polling throughput of the gateway drivers against the simulators, over loopback TCP.

Run: ``python tests/benchmarks/bench_gateway.py [--seconds 3] [--gateways 100 --meters 100]``
(``make bench``). Prints figures, asserts nothing.

* one RS-485 bus, RTU carried over TCP, with line timing emulated by the simulator (9600 baud,
  11-bit characters, 50 ms device latency): DDSY1352 energy block polls per second (one
  17-register request, the catalogue's map) and the ratio to the physical limit
  ``1 / ((request + reply bytes) x t_char + 2 x t3.5 + latency)`` (PROTOCOLS.md section 6);
* eight such buses polled in parallel (one thread per bus), ratio to eight times the limit;
* the same with DL/T 645 (one request per data identifier: five energy registers);
* without line timing, polls per second of one bus per protocol (the software cost);
* a full cycle over ``gateways x meters`` Modbus TCP meters without line timing (the issue's
  10,000-meter case), buses polled in parallel by a thread pool; ingestion is not included;
* the same full cycle through Odoo (``--no-odoo`` skips it): a throw-away database with
  meter_gateway installed, the gateways and meters created, then the polling scheduled action
  (``meter.gateway._cron_run``) run until no gateway is due - claims, parallel visits, readings
  through ``prepaid.reading._ingest``, meter states - committed like the cron does.
"""

import argparse
import json
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bare_addons

bare_addons.register()

from meter_gateway.drivers import Bus  # noqa: E402
from meter_gateway.drivers.dlt645 import Dlt645Driver  # noqa: E402
from meter_gateway.drivers.modbus import ModbusDriver, SocketFraming  # noqa: E402
from meter_gateway.drivers.transport import TcpTransport  # noqa: E402
from meter_gateway.simulators import (  # noqa: E402
    LineTiming,
    SimClock,
    SimulatorHost,
    make_meters,
    start_line,
)

LINE = LineTiming(baudrate=9600, bits_per_char=11, latency=0.050)
DLT645_ENERGY_MAP = {
    "registers": {
        name: {"address": di, "type": "bcd", "bytes": 4, "scale": "0.01"}
        for name, di in (
            ("energy_total", "00010000"),
            ("energy_t1", "00010100"),
            ("energy_t2", "00010200"),
            ("energy_t3", "00010300"),
            ("energy_t4", "00010400"),
        )
    }
}


def ddsy1352_map():
    """The DDSY1352 register map of prepaid_meter's catalogue (the same JSON the addon holds)."""
    xml = (bare_addons.ADDONS / "prepaid_meter/data/prepaid_meter_model_data.xml").read_text()
    record = xml[xml.index('<field name="model_code">DDSY1352</field>') :]
    return json.loads(re.search(r'<field name="register_map">(.*?)</field>', record, re.S)[1])


def drivers_for(protocol, server, meters, register_map):
    bus = Bus(TcpTransport("127.0.0.1", server.port), timeout=2.0, recovery=0.05)
    if protocol == "dlt645":
        return [Dlt645Driver(bus, m.address, DLT645_ENERGY_MAP, read_clock=False) for m in meters]
    framing = SocketFraming() if protocol == "modbus_tcp" else "rtu"
    return [ModbusDriver(bus, m.unit, register_map, framing) for m in meters]


def poll_for(drivers, seconds):
    """Round-robin reads over the drivers of one bus for ``seconds``; returns polls/s."""
    polls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        drivers[polls % len(drivers)].read()
        polls += 1
    return polls / elapsed


def parallel(buses, seconds):
    rates = [0.0] * len(buses)

    def run(index):
        rates[index] = poll_for(buses[index], seconds)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(buses))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(rates)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--gateways", type=int, default=100)
    parser.add_argument("--meters", type=int, default=100)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--no-odoo", action="store_true", help="skip the cycle through Odoo")
    args = parser.parse_args()
    register_map = ddsy1352_map()
    clock = SimClock(datetime(2025, 3, 1, 10, 0), speed=0)

    with SimulatorHost() as host:

        def line(protocol, count=10, timing=LINE):
            meters = make_meters(clock, count)
            server = start_line(host, protocol, meters, line=timing, register_map=register_map)
            return drivers_for(protocol, server, meters, register_map)

        # The physical limit of one DDSY1352 poll: FC03 request 8 bytes, reply 5 + 34 bytes.
        modbus_limit = 1 / LINE.transaction_time(8, 5 + 2 * 17)
        one = poll_for(line("modbus_rtu"), args.seconds)
        print(
            f"modbus RTU/TCP, 1 bus @9600 baud + 50 ms: {one:6.2f} polls/s, "
            f"limit {modbus_limit:.2f}, ratio {one / modbus_limit:.3f}"
        )
        eight = parallel([line("modbus_rtu") for _ in range(8)], args.seconds)
        print(
            f"modbus RTU/TCP, 8 buses in parallel:      {eight:6.2f} polls/s, "
            f"limit {8 * modbus_limit:.2f}, ratio {eight / (8 * modbus_limit):.3f}"
        )

        # DL/T 645: five reads (energy total, T1..T4) of 16-byte requests and 20-byte replies;
        # the simulator does not time the 4-byte FE preamble, so neither does the limit.
        dlt_limit = 1 / (5 * LINE.transaction_time(16, 20))
        dlt = poll_for(line("dlt645"), args.seconds)
        print(
            f"dlt645, 1 bus @9600 baud + 50 ms:          {dlt:6.2f} readings/s "
            f"(5 DIs), limit {dlt_limit:.2f}, ratio {dlt / dlt_limit:.3f}"
        )

        for protocol in ("modbus_rtu", "modbus_tcp", "dlt645"):
            rate = poll_for(line(protocol, timing=None), args.seconds)
            unit = "readings/s (5 DIs)" if protocol == "dlt645" else "polls/s"
            print(f"{protocol}, 1 bus, no line timing:    {rate:8.0f} {unit}")

        gateways = [line("modbus_tcp", args.meters, None) for _ in range(args.gateways)]
        started = time.perf_counter()
        with ThreadPoolExecutor(args.workers) as pool:
            list(pool.map(lambda drivers: [d.read() for d in drivers], gateways))
        elapsed = time.perf_counter() - started
        total = args.gateways * args.meters
        print(
            f"full cycle, {args.gateways} Modbus TCP gateways x {args.meters} meters = "
            f"{total} meters, {args.workers} threads: {elapsed:.1f} s "
            f"({total / elapsed:.0f} polls/s; target <= 300 s with ingestion)"
        )
        for drivers in gateways:
            drivers[0].bus.close()

        if not args.no_odoo:
            odoo_cycle(args, host, clock, register_map)


def odoo_cycle(args, host, clock, register_map):
    """Poll and ingest ``gateways x meters`` simulated Modbus TCP meters through Odoo."""
    # A standalone benchmark: it commits like the cron does.
    # pylint: disable=invalid-commit
    import os

    from odoo_bench import default_db_port, setup_odoo, throwaway_database

    odoo = setup_odoo(default_db_port())
    servers = [
        start_line(host, "modbus_tcp", make_meters(clock, args.meters), register_map=register_map)
        for _ in range(args.gateways)
    ]
    total = args.gateways * args.meters
    with throwaway_database(f"bench_gateway_{os.getpid()}", "meter_gateway") as registry:
        context = {"tracking_disable": True, "mail_create_nolog": True, "mail_notrack": True}
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, context)
            model = env["prepaid.meter.model"].create(
                {
                    "name": "Bench DDSY1352 over Modbus TCP",
                    "utility": "electricity",
                    "protocol": "modbus_tcp",
                    "register_map": json.dumps(register_map),
                }
            )
            gateways = env["meter.gateway"].create(
                [
                    {
                        "name": f"Bench gateway {index}",
                        "kind": "modbus_tcp",
                        "host": "127.0.0.1",
                        "port": server.port,
                        "timeout": 1.0,
                        "tz": "UTC",
                    }
                    for index, server in enumerate(servers)
                ]
            )
            for gateway, server in zip(gateways, servers, strict=True):
                env["prepaid.meter"].create(
                    [
                        {
                            "name": f"G{gateway.id}-{meter.unit}",
                            "serial_number": f"G{gateway.id}-{meter.unit}",
                            "model_id": model.id,
                            "comm_address": str(meter.unit),
                            "gateway_id": gateway.id,
                        }
                        for meter in server.meters
                    ]
                )
            cr.commit()
        started = time.perf_counter()
        runs = 0
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            while env["meter.gateway"]._cron_run():
                runs += 1
            cr.commit()
            elapsed = time.perf_counter() - started
            cr.execute("SELECT count(*) FROM prepaid_reading")
            readings = cr.fetchone()[0]
            cr.execute("SELECT count(*) FROM prepaid_meter WHERE online_state = 'online'")
            online = cr.fetchone()[0]
        print(
            f"full cycle through Odoo (poll + ingest), {args.gateways} x {args.meters} = {total} "
            f"meters, {runs} cron runs: {elapsed:.1f} s ({total / elapsed:.0f} meters/s), "
            f"{readings} readings stored, {online} meters online; target <= 300 s"
        )
    for server in servers:
        server.stop()


if __name__ == "__main__":
    main()
