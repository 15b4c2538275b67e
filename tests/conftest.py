"""Pytest set-up for the pure packages and the end-to-end suites.

Each addon directory is registered as a bare namespace package, so that
``import prepaid_meter.tools.tariff_engine`` works without importing Odoo:
the pure sub-packages (tariff engine, STS codec, drivers, simulators) must
stay importable and testable without a database.
"""

import sys
import types
from pathlib import Path

ADDONS = Path(__file__).resolve().parent.parent / "addons"
for _addon in ("prepaid_meter", "prepaid_billing", "meter_gateway"):
    if _addon not in sys.modules and (ADDONS / _addon).is_dir():
        _pkg = types.ModuleType(_addon)
        _pkg.__path__ = [str(ADDONS / _addon)]
        sys.modules[_addon] = _pkg
