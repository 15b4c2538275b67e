"""The committed Odoo configuration holds no known secret and does not expose the databases."""

import configparser
from pathlib import Path

CONF = Path(__file__).resolve().parent.parent / "odoo.conf"


def options():
    parser = configparser.ConfigParser()
    parser.read(CONF)
    return parser["options"]


def test_no_master_password_is_committed():
    # Generated per machine by scripts/common.sh (machine_conf), like the STS key-store secret.
    assert "admin_passwd" not in options()
    assert "prepaid_sts_key_secret" not in options()


def test_databases_are_not_listed():
    assert options()["list_db"] == "False"
