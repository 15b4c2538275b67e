"""Transports: byte streams with deadlines (TCP, serial, in memory)."""

from .base import PartialTimeout, Transport
from .memory import MemoryTransport, ResponderTransport
from .serial import SerialTransport
from .tcp import TcpTransport
