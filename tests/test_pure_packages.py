"""The pure sub-packages never import Odoo and only import themselves relatively.

They must run where Odoo is absent (support tools, the STS command line, simulators)
and under any parent package name (a bare package here, ``odoo.addons.<addon>`` in Odoo).
"""

import ast
import subprocess
import sys

import pytest
from bare_addons import ADDONS

PURE_PACKAGES = [
    ("prepaid_meter", "tools"),
    ("prepaid_billing", "sts"),
    ("meter_gateway", "drivers"),
    ("meter_gateway", "simulators"),
]

PROBE = """
import importlib, pkgutil, sys
sys.modules["odoo"] = None  # any "import odoo" now raises ImportError
sys.path.insert(0, {tests!r})
import bare_addons
bare_addons.register()
package = importlib.import_module({package!r})
for module in pkgutil.iter_modules(package.__path__):
    importlib.import_module(f"{package}.{{module.name}}")
loaded = sorted(n for n in sys.modules if n.split(".")[0] == "odoo" and sys.modules[n])
assert not loaded, loaded
print("ok")
"""


def _absolute_imports(folder):
    """(file, module) for every absolute import statement of a package folder."""
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                yield from ((path.name, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                yield path.name, node.module


@pytest.mark.parametrize(("addon", "sub"), PURE_PACKAGES)
def test_every_module_imports_with_odoo_blocked(addon, sub):
    probe = PROBE.format(tests=str(ADDONS.parent / "tests"), package=f"{addon}.{sub}")
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize(("addon", "sub"), PURE_PACKAGES)
def test_no_odoo_and_no_absolute_self_import(addon, sub):
    imports = list(_absolute_imports(ADDONS / addon / sub))
    assert [(f, m) for f, m in imports if m.split(".")[0] == "odoo"] == []
    assert [(f, m) for f, m in imports if m.split(".")[0] == addon] == []
