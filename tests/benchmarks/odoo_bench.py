"""What the benchmarks that run Odoo share: find the Odoo source recorded by `make setup`,
configure Odoo for a throw-away database, install addons into it and drop it afterwards."""

import contextlib
import logging
import os
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
PREPAID_HOME = Path(
    os.environ.get("PREPAID_HOME")
    or Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local/share") / "prepaid-utilities"
)


def say(message, *args):
    sys.stdout.write((message % args if args else message) + "\n")
    sys.stdout.flush()


def default_db_port():
    return os.environ.get("PREPAID_PG_PORT") or os.environ.get("PG_PORT", "5439")


def odoo_source():
    """The Odoo source tree recorded by `make setup` (or given by scripts/bench.sh)."""
    path_file = PREPAID_HOME / "odoo-src-path"
    if path_file.is_file():
        source = Path(path_file.read_text().strip())
    elif os.environ.get("PREPAID_ODOO_SRC"):
        source = Path(os.environ["PREPAID_ODOO_SRC"])
    else:
        sys.exit(f"No Odoo source recorded in {path_file}: run `make setup` first.")
    if not (source / "odoo" / "release.py").is_file():
        sys.exit(f"{source} (from {path_file}) is not an Odoo source tree.")
    return source


def setup_odoo(db_port, extra_options=()):
    """Import and configure the project's Odoo; return the ``odoo`` package."""
    source = odoo_source()
    sys.path.insert(0, str(source))
    import odoo
    from odoo.tools import config

    addons = [source / "odoo" / "addons", source / "addons", PROJECT_DIR / "addons"]
    config.parse_config(
        [
            "--addons-path=" + ",".join(str(path) for path in addons if path.is_dir()),
            f"--db_port={db_port}",
            f"--data-dir={PREPAID_HOME / 'filestore'}",
            "--without-demo=all",
            "--log-level=warn",
            "--max-cron-threads=0",
            *extra_options,
        ]
    )
    logging.getLogger("odoo").setLevel(logging.WARNING)
    return odoo


def install(database, addon):
    """Create ``database`` and install ``addon`` in it; return its registry."""
    from odoo.modules.registry import Registry
    from odoo.service import db as db_service
    from odoo.tools import config

    db_service._create_empty_database(database)
    config["init"] = {addon: 1}
    registry = Registry.new(database, update_module=True)
    config["init"] = {}
    return registry


@contextlib.contextmanager
def throwaway_database(database, addon, keep=False):
    """Install ``addon`` in a new ``database``, yield its registry, drop it at the end."""
    try:
        yield install(database, addon)
    finally:
        from odoo.modules.registry import Registry
        from odoo.service import db as db_service
        from odoo.sql_db import close_all

        Registry.delete(database)
        close_all()
        if not keep:
            db_service.exp_drop(database)
            say("  dropped database %s", database)
