"""Command line: ``python -m prepaid_billing.sts issue ...`` / ``decode ...``."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prepaid_billing.sts.__main__ import main

LAUNCHER = Path(__file__).resolve().parents[2] / "scripts" / "sts"
STA_KEY = (
    "--vending-key abababababababab --pan 600727000000000009 --sgc 123456 --ti 1 --krn 1"
    " --base-date 1993"
).split()
MISTY_KEY = (
    "--vending-key abababababababab949494949494949401234567 --pan 600727000000000009"
    " --sgc 123457 --ti 1 --krn 1 --ea MISTY1 --dkga 4 --base-date 1993"
).split()


def run_cli(*args):
    """Run the CLI in a fresh interpreter through ``scripts/sts``, as support staff do (the
    launcher maps the addon as a bare package: its ``__init__`` imports Odoo)."""
    env = dict(os.environ, STS_PYTHON=sys.executable)
    return subprocess.run(
        [str(LAUNCHER), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def run_main(*args):
    out = io.StringIO()
    status = main(list(args), out=out)
    return status, out.getvalue()


@pytest.mark.parametrize("key", [STA_KEY, MISTY_KEY], ids=["STA", "MISTY1"])
def test_issue_then_decode_round_trip(key):
    issued = run_cli("issue", "credit", "2000", *key, "--at", "2004-04-01T00:45Z", "--rnd", "5")
    assert issued.returncode == 0, issued.stderr
    line = issued.stdout.strip()
    groups = line.split(" ")
    assert [len(g) for g in groups] == [4, 4, 4, 4, 4]
    decoded = run_cli("decode", line, *key, "--json")
    assert decoded.returncode == 0, decoded.stderr
    fields = json.loads(decoded.stdout)
    assert fields["type"] == "credit/electricity"
    assert fields["amount"] == "2000.4"  # rounded up
    assert fields["tid"] == 5915565
    assert fields["rnd"] == 5
    assert fields["issued_utc"] == "2004-04-01T00:45Z"


def test_issue_matches_worked_example():
    status, out = run_main(
        "issue", "credit", "0.1", *STA_KEY, "--at", "2004-03-01T13:55", "--rnd", "5"
    )
    assert status == 0
    assert out == "2371 6100 5011 8319 4197\n"


def test_decode_with_decoder_key_text_output():
    status, out = run_main(
        "decode", "2371", "6100", "5011", "8319", "4197", "--decoder-key", "e653341f9d5bf36f"
    )
    assert status == 0
    assert "amount: 0.1\n" in out and "tid: 5871715\n" in out


def test_management_and_test_tokens():
    status, out = run_main(
        "issue", "management", "max-power-limit", "1000", *STA_KEY, "--tid", "5910301", "--rnd", "5"
    )
    assert status == 0
    assert out.replace(" ", "").strip() == "50901894209860263092"  # conformance CTSA03
    status, out = run_main("issue", "test", "--control", "0x400")
    assert out.strip() == "0000 0000 0173 1410 5857"
    status, out = run_main("decode", out.strip(), "--json")
    assert json.loads(out)["control"] == 0x400


def test_key_change_prints_all_sections():
    status, out = run_main("issue", "key-change", *MISTY_KEY, "--new-ti", "2")
    assert status == 0
    assert out.splitlines() == [
        "3481 2744 9152 1113 3004",
        "4690 3925 2085 2367 4737",
        "7146 4563 8470 8861 0152",
        "6790 4239 4026 1764 3990",
    ]


def test_rejection_exit_status(capsys):
    status, _ = run_main("decode", "23716100501183194198", "--decoder-key", "e653341f9d5bf36f")
    assert status == 1
    assert capsys.readouterr().err.startswith("rejected (crc)")
    status, _ = run_main("issue", "credit", "-1", *STA_KEY)
    assert status == 1
    assert "negative" in capsys.readouterr().err


def test_base_date_is_explicit(capsys):
    status, _ = run_main("decode", "2371 6100 5011 8319 4197", *STA_KEY[:-2], "--json")
    assert status == 1
    assert "--base-date" in capsys.readouterr().err
    status, out = run_main("decode", "2371 6100 5011 8319 4197", *STA_KEY, "--json")
    assert json.loads(out)["issued_utc"] == "2004-03-01T13:55Z"
