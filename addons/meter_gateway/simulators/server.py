"""Serve a simulated line over a loopback TCP port (a serial server / DTU / Modbus TCP device)
or a pseudo-terminal (a serial port), with fault injection and line timing.

All servers run on one asyncio loop in a background thread (``SimulatorHost``), so a benchmark
can host a hundred gateways cheaply while the drivers under test run in ordinary threads.
One line is half duplex: a per-line lock keeps one request/reply on it at a time, even when a
master opens several connections, and ``overlaps`` counts requests that arrived while a reply
was still being produced (a master that does not wait for replies).
"""
# Pure protocol code: read/write here are not ORM methods.
# pylint: disable=method-required-super

import asyncio
import contextlib
import os
import threading
import time
import tty

from .faults import Fault


class SimulatorHost:
    """An event loop in a daemon thread that runs simulator servers."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, daemon=True, name="meter-simulators"
        )
        self._thread.start()

    def call(self, coroutine, timeout=10):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self):
        if self.loop.is_running():

            async def cancel_all():
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

            with contextlib.suppress(Exception):
                self.call(cancel_all())
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
        if not self.loop.is_running():
            self.loop.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LineServer:
    """One simulated line: a protocol front end (DL/T 645 or Modbus) and its meters.

    ``line`` (``LineTiming``) delays each reply by the wire time of request and reply plus the
    device latency; without it replies go out at once (loopback speed).
    """

    def __init__(self, host, frontend, line=None):
        self.host = host
        self.frontend = frontend
        self.line = line
        self.port = None
        self.pty_path = None
        self.requests = 0
        self.overlaps = 0
        self._busy = 0
        self._server = None
        self._pty = None
        self._writers = set()
        self._tasks = set()
        self._lock = None

    @property
    def meters(self):
        return self.frontend.meters

    # === LIFE CYCLE === #

    def start_tcp(self, address="127.0.0.1", port=0):
        """Listen on ``address:port`` (0: any free port); returns the port."""

        async def start():
            self._lock = asyncio.Lock()
            self._server = await asyncio.start_server(self._serve_tcp, address, port)
            return self._server.sockets[0].getsockname()[1]

        self.port = self.host.call(start())
        return self.port

    def start_pty(self):
        """Serve on a new pseudo-terminal; returns the path a serial client opens."""
        master, slave = os.openpty()
        tty.setraw(slave)
        self.pty_path = os.ttyname(slave)
        self._pty = (master, slave)

        async def start():
            self._lock = asyncio.Lock()
            reader = asyncio.StreamReader()

            def readable():
                try:
                    data = os.read(master, 4096)
                except OSError:
                    data = b""
                if data:
                    reader.feed_data(data)

            self.host.loop.add_reader(master, readable)
            self._tasks.add(asyncio.ensure_future(self._serve(reader, _PtyWriter(master))))

        self.host.call(start())
        return self.pty_path

    def stop(self):
        async def stop():
            if self._server is not None:
                self._server.close()
                for writer in list(self._writers):
                    writer.close()
            if self._pty is not None:
                self.host.loop.remove_reader(self._pty[0])
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._server is not None:
                await self._server.wait_closed()

        with contextlib.suppress(Exception):
            self.host.call(stop())
        if self._pty is not None:
            for fd in self._pty:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._pty = None

    # === SERVING === #

    async def _serve_tcp(self, reader, writer):
        task = asyncio.current_task()
        self._writers.add(writer)
        self._tasks.add(task)
        try:
            # Shutdown cancels the handler: asyncio's stream callback would log it as an error.
            with contextlib.suppress(asyncio.CancelledError):
                await self._serve(reader, writer)
        finally:
            self._writers.discard(writer)
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, reader, writer):
        """Read requests as they come (bytes arriving while a reply is pending on the line are
        counted as overlaps: on RS-485 they would collide) and answer them in order."""
        pending = asyncio.Queue()
        worker = asyncio.ensure_future(self._answer_all(pending, writer))
        buffer = bytearray()
        try:
            while not worker.done():
                try:
                    data = await reader.read(4096)
                except (ConnectionError, OSError):
                    return
                if not data:
                    # The master hung up: what is already on the line is still carried out
                    # (a broadcast time sync has no reply to wait for), then the line stops.
                    pending.put_nowait(None)
                    await asyncio.gather(worker, return_exceptions=True)
                    return
                if self._busy:
                    self.overlaps += 1
                buffer += data
                while buffer:
                    consumed, request = self.frontend.split(buffer)
                    if not consumed:
                        break
                    del buffer[:consumed]
                    if request is not None:
                        self._busy += 1
                        pending.put_nowait(request)
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)

    async def _answer_all(self, pending, writer):
        while True:
            request = await pending.get()
            if request is None:
                return
            try:
                alive = await self._transaction(request, writer)
            except (ConnectionError, OSError):
                alive = False  # the master is gone: nobody to answer
            finally:
                self._busy -= 1
            if not alive:
                return

    async def _transaction(self, request, writer):
        """Answer one request; False when the connection has been dropped."""
        async with self._lock:
            self.requests += 1
            started = time.monotonic()
            meter, reply = self.frontend.handle(request)
            fault, delay = meter.faults.take() if meter is not None else (None, 0.0)
            if fault is Fault.NO_ANSWER:
                reply = None
            elif reply and fault in (Fault.CRC_ERROR, Fault.GARBLED):
                reply = (
                    self.frontend.corrupt(reply)
                    if fault is Fault.CRC_ERROR
                    else (self.frontend.garble(reply))
                )
            elif reply and fault is Fault.WRONG_ADDRESS:
                reply = self.frontend.wrong_address(reply)
            wait = (
                self.line.transaction_time(len(request), len(reply or b"")) if (self.line) else 0.0
            )
            if fault is Fault.LATE_ANSWER:
                wait += delay
            wait -= time.monotonic() - started
            if wait > 0:
                await asyncio.sleep(wait)
            if not reply:
                return True
            if fault in (Fault.TRUNCATED, Fault.DROP_CONNECTION):
                writer.write(reply[: len(reply) // 2])
                await writer.drain()
                if fault is Fault.DROP_CONNECTION:
                    writer.close()
                    return False
                return True
            writer.write(reply)
            await writer.drain()
            return True


class _PtyWriter:
    """The few StreamWriter methods the server uses, on a pty master fd."""

    def __init__(self, fd):
        self.fd = fd

    def write(self, data):
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    async def drain(self):
        return None

    def close(self):
        return None
