"""Command line: start simulated meter lines on loopback ports (or ptys) until Ctrl-C.

Run it with ``scripts/meter-simulators`` (the addon mapped as a bare package, without Odoo)::

    scripts/meter-simulators --protocol modbus_rtu --meters 10 --port 5020 --lines 2 \\
        --baudrate 9600 --latency 0.05 --speed 60
    scripts/meter-simulators --protocol dlt645 --meters 5 --pty

Each line gets ``--meters`` meters (unit ids 1..N, DL/T 645 addresses 000000000001..) on port
``--port + i`` (0: any free port). ``--speed`` runs the world clock faster than real time.
"""

import argparse
import contextlib
import signal
import sys
import threading

from . import PROTOCOLS, LineTiming, SimClock, SimulatorHost, make_meters, start_line


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m meter_gateway.simulators")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="modbus_rtu")
    parser.add_argument("--meters", type=int, default=10, help="meters per line")
    parser.add_argument("--lines", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="first TCP port (0: any free)")
    parser.add_argument("--pty", action="store_true", help="serve on pseudo-terminals")
    parser.add_argument("--baudrate", type=int, default=0, help="emulate line timing (0: off)")
    parser.add_argument("--latency", type=float, default=0.05, help="device latency, s")
    parser.add_argument("--speed", type=float, default=1.0, help="world clock speed")
    args = parser.parse_args(argv)

    line = LineTiming(args.baudrate, latency=args.latency) if args.baudrate else None
    clock = SimClock(speed=args.speed)
    stop = threading.Event()
    with SimulatorHost() as host:
        servers = []
        for index in range(args.lines):
            meters = make_meters(clock, args.meters, first_address=1 + index * 1000)
            port = args.port + index if args.port else 0
            server = start_line(host, args.protocol, meters, port, args.host, line, args.pty)
            servers.append(server)
            where = server.pty_path if args.pty else f"{args.host}:{server.port}"
            sys.stdout.write(
                f"{args.protocol} line {index + 1}: {where}, {len(meters)} meters "
                f"(units 1..{len(meters)}, addresses {meters[0].address}..)\n"
            )
            sys.stdout.flush()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops the simulators
            stop.wait()
        for server in servers:
            server.stop()


if __name__ == "__main__":
    main()
