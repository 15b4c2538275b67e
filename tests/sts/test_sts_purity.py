"""The STS package is pure Python: importable and usable without Odoo."""

import ast
import subprocess
import sys
from pathlib import Path

ADDONS = Path(__file__).resolve().parents[2] / "addons"
PACKAGE = ADDONS / "prepaid_billing" / "sts"

PROBE = """
import importlib, pkgutil, sys, types
sys.modules["odoo"] = None  # any "import odoo" now raises ImportError
# The addon as a bare package, as tests/conftest.py and scripts/sts map it: the addon's own
# __init__ imports its Odoo models, the sts sub-package must not need them.
package = types.ModuleType("prepaid_billing")
package.__path__ = [ADDON_DIR]
sys.modules["prepaid_billing"] = package
import prepaid_billing.sts as sts
for module in pkgutil.iter_modules(sts.__path__):
    importlib.import_module(f"prepaid_billing.sts.{module.name}")
loaded = sorted(n for n in sys.modules if n.split(".")[0] == "odoo" and sys.modules[n])
assert not loaded, loaded
print("ok", len(sts.__all__))
""".replace("ADDON_DIR", repr(str(ADDONS / "prepaid_billing")))


def test_imports_without_odoo():
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok ")


def _absolute_imports():
    """(file, module) for every absolute import statement in the package."""
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                yield from ((path.name, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                yield path.name, node.module


def test_no_odoo_import_in_source():
    assert [(f, m) for f, m in _absolute_imports() if m.split(".")[0] == "odoo"] == []


def test_only_relative_imports_inside_the_package():
    """The package must work under any parent name (bare namespace package in tests)."""
    assert [(f, m) for f, m in _absolute_imports() if m.startswith("prepaid_billing")] == []


def test_public_api_is_complete():
    import prepaid_billing.sts as sts

    assert all(hasattr(sts, name) for name in sts.__all__)
    assert sts.__doc__ and "Public API" in sts.__doc__


def test_usage_example_in_the_package_docstring_runs():
    import textwrap

    import prepaid_billing.sts as sts

    doc = sts.__doc__
    start = doc.index("Typical use::") + len("Typical use::")
    example = textwrap.dedent(doc[start : doc.index("Public API")])
    exec(compile(example, "prepaid_billing.sts docstring", "exec"), {"print": lambda *a: None})
