"""Pytest set-up: the pure sub-packages (tariff engine, STS codec, drivers, simulators)
import without Odoo, so they stay testable without a database (see bare_addons.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bare_addons

bare_addons.register()
