"""TCP client transport: Modbus TCP, and RTU or DL/T 645 carried over TCP by serial servers
and 4G DTUs (they pass the serial bytes through unchanged).

The connection is opened lazily and dropped on any error, so the next request reconnects: a
DTU that lost its cellular link comes back without the caller managing sockets.
"""
# Pure protocol code: read/write here are not ORM methods.
# pylint: disable=method-required-super

import select
import socket

from ..exceptions import ConnectionLost, ResponseTimeout
from .base import Transport


class TcpTransport(Transport):
    def __init__(self, host, port, connect_timeout=3.0):
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self._sock = None

    def __repr__(self):
        return f"TcpTransport({self.host}:{self.port})"

    def _socket(self):
        if self._sock is None:
            try:
                sock = socket.create_connection((self.host, self.port), self.connect_timeout)
            except OSError as exc:
                raise ConnectionLost(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            self._sock = sock
        return self._sock

    def _fail(self, what, exc):
        self.close()
        raise ConnectionLost(f"{self.host}:{self.port}: {what}: {exc}") from exc

    def write(self, data):
        sock = self._socket()
        try:
            sock.setblocking(True)
            sock.settimeout(self.connect_timeout)
            sock.sendall(data)
        except OSError as exc:
            self._fail("send failed", exc)
        finally:
            if self._sock is not None:
                sock.setblocking(False)

    def read(self, size, deadline):
        sock = self._socket()
        while True:
            left = self.remaining(deadline)
            try:
                ready, _, _ = select.select([sock], [], [], left)
            except (OSError, ValueError) as exc:
                self._fail("wait failed", exc)
            if not ready:
                raise ResponseTimeout(f"{self.host}:{self.port}: no data before the deadline")
            try:
                data = sock.recv(size)
            except BlockingIOError:
                continue
            except OSError as exc:
                self._fail("receive failed", exc)
            if not data:
                self.close()
                raise ConnectionLost(f"{self.host}:{self.port}: connection closed by the peer")
            return data

    def reset_input(self):
        if self._sock is None:
            return
        try:
            while select.select([self._sock], [], [], 0)[0]:
                if not self._sock.recv(4096):
                    self.close()  # the peer closed: reconnect on the next write
                    return
        except OSError:
            self.close()

    def close(self):
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
