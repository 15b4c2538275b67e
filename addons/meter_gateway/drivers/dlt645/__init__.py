"""DL/T 645-2007: codec (framing), application (data identifiers), driver."""

from .driver import DEFAULT_MAP, Dlt645Driver
