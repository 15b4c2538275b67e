"""Import the pure sub-packages of the addons without importing Odoo.

``register()`` maps each addon directory to a bare package, so that
``import prepaid_meter.tools.tariff_engine`` or ``import prepaid_billing.sts`` runs
neither the addon's ``__init__`` nor its Odoo models. Used by tests/conftest.py, the
benchmarks and scripts/sts.
"""

import sys
import types
from pathlib import Path

ADDONS = Path(__file__).resolve().parent.parent / "addons"
ADDON_NAMES = ("prepaid_meter", "prepaid_billing", "meter_gateway")


def register():
    for addon in ADDON_NAMES:
        if addon not in sys.modules and (ADDONS / addon).is_dir():
            package = types.ModuleType(addon)
            package.__path__ = [str(ADDONS / addon)]
            sys.modules[addon] = package
