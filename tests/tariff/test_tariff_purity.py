"""prepaid_meter.tools is pure Python: importable and usable without Odoo."""

import ast
import os
import subprocess
import sys
from pathlib import Path

ADDONS = Path(__file__).resolve().parents[2] / "addons"
PACKAGE = ADDONS / "prepaid_meter" / "tools"

# The addon's own __init__ imports Odoo models, so the probe registers the
# addon directory as a bare package (as tests/conftest.py does) before
# importing every module of tools/ with "odoo" blocked.
PROBE = f"""
import importlib, pkgutil, sys, types
sys.modules["odoo"] = None  # any "import odoo" now raises ImportError
package = types.ModuleType("prepaid_meter")
package.__path__ = [{str(ADDONS / "prepaid_meter")!r}]
sys.modules["prepaid_meter"] = package
import prepaid_meter.tools as tools
for module in pkgutil.iter_modules(tools.__path__):
    importlib.import_module(f"prepaid_meter.tools.{{module.name}}")
from datetime import date, datetime
from decimal import Decimal
from prepaid_meter.tools.tariff_engine import (
    Interval, TariffDefinition, TariffVersion, rate_intervals,
)
tariff = TariffDefinition([TariffVersion(date(2025, 1, 1), unit_price=Decimal("0.5"))])
result = rate_intervals(
    tariff, [Interval(datetime(2025, 1, 1), datetime(2025, 1, 1, 1), Decimal(2))]
)
loaded = sorted(n for n in sys.modules if n.split(".")[0] == "odoo" and sys.modules[n])
assert not loaded, loaded
print("ok", result.amount)
"""


def test_imports_and_rates_without_odoo():
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=""),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok 1.00"


def _absolute_imports():
    """(file, module) for every absolute import statement of tools/."""
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                yield from ((path.name, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                yield path.name, node.module


def test_no_odoo_import_in_source():
    assert [(f, m) for f, m in _absolute_imports() if m.split(".")[0] == "odoo"] == []


def test_only_relative_imports_inside_the_package():
    """The package must work under any parent name (bare package in tests, addon in Odoo)."""
    assert [(f, m) for f, m in _absolute_imports() if m.startswith("prepaid_meter")] == []


def test_public_api_is_complete():
    from prepaid_meter.tools import tariff_engine

    assert all(hasattr(tariff_engine, name) for name in tariff_engine.__all__)
    assert "Public API" in tariff_engine.__doc__ and "Rounding" in tariff_engine.__doc__
