"""Modbus RTU / TCP on pymodbus: register maps (application), framing, driver."""

from .driver import ModbusDriver
from .framing import RtuFraming, SocketFraming
from .registermap import RegisterMap
