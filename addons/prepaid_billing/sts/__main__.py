"""Command line: issue and decode STS tokens.

Support staff run it with ``scripts/sts`` (same arguments), which maps the addon
directory as a bare package: ``prepaid_billing/__init__.py`` imports Odoo models,
so a plain ``PYTHONPATH=addons python -m prepaid_billing.sts`` no longer works.
Examples::

    python -m prepaid_billing.sts issue credit 25.6 --vending-key abababababababab \\
        --pan 600727000000000009 --sgc 123456 --ti 1 --krn 1 --base-date 2014
    python -m prepaid_billing.sts decode "2371 6100 5011 8319 4197" \\
        --decoder-key e653341f9d5bf36f --ea STA --base-date 1993
    python -m prepaid_billing.sts issue key-change --vending-key ... --pan ... \\
        --sgc 123456 --ti 1 --krn 1 --base-date 2014 --new-krn 2
    python -m prepaid_billing.sts issue test --control 0x400

MISTY1 meters: add ``--ea MISTY1`` (DKGA04 is then the default) and the 160-bit
vending key.  ``decode`` derives the decoder key from the same options as
``issue``, or takes ``--decoder-key`` (then ``--base-date`` only dates the token).

Tokens are printed grouped in fours, one per line.  Keys on a command line end
up in shell history: use this for tests and demos, not with production keys.
"""

import argparse
import dataclasses
import json
import sys
from datetime import datetime, timezone

from .amount import to_decimal
from .cipher import EA
from .decoder import decode_token
from .exceptions import StsError, StsInputError, TokenRejected
from .keys import KeyParams, decoder_key
from .provider import SoftwareTokenProvider
from .tid import BASE_DATES, datetime_for
from .tokens import (
    CreditToken,
    CreditType,
    Management,
    ManagementToken,
    TestToken,
    encode_token,
    meter_test,
)
from .transpose import group

_MANAGEMENT = {
    "max-power-limit": Management.MAX_POWER_LIMIT,
    "clear-credit": Management.CLEAR_CREDIT,
    "tariff-rate": Management.TARIFF_RATE,
    "clear-tamper": Management.CLEAR_TAMPER,
    "phase-unbalance-limit": Management.MAX_PHASE_UNBALANCE,
    "water-factor": Management.WATER_FACTOR,
}


def _hex(text):
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not hexadecimal") from None


def _int(text):
    return int(text, 0)


def _when(text):
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _key_options(parser, required):
    group_ = parser.add_argument_group("meter key")
    group_.add_argument("--vending-key", type=_hex, required=required, help="vending key, hex")
    group_.add_argument("--pan", required=required, help="18-digit meter PAN")
    group_.add_argument("--sgc", type=int, required=required, help="supply group code")
    group_.add_argument("--ti", type=int, required=required, help="tariff index")
    group_.add_argument("--krn", type=int, required=required, help="key revision number")
    group_.add_argument("--kt", type=int, default=2, help="key type (default 2)")
    group_.add_argument("--ea", type=EA.parse, help="STA (07, default) or MISTY1 (11)")
    group_.add_argument("--dkga", type=int, choices=(2, 4), help="default: 2 for STA, 4 for MISTY1")
    group_.add_argument(
        "--base-date", type=int, required=required, choices=sorted(BASE_DATES), help="TID base date"
    )
    group_.add_argument("--ken", type=_int, default=0xFF, help="key expiry number (default 0xFF)")


def _params(args, prefix=""):
    def get(name):
        value = getattr(args, prefix + name, None)
        return getattr(args, name) if value is None else value

    if get("base_date") is None:
        raise StsInputError("--base-date is needed to derive a decoder key")
    ea = get("ea") or EA.STA
    dkga = get("dkga") or (2 if ea is EA.STA else 4)
    return KeyParams(
        pan=get("pan"),
        sgc=get("sgc"),
        ti=get("ti"),
        krn=get("krn"),
        kt=get("kt"),
        ea=ea,
        dkga=dkga,
        base_date=get("base_date"),
        ken=get("ken"),
    )


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m prepaid_billing.sts",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    issue = commands.add_parser("issue", help="issue tokens")
    kinds = issue.add_subparsers(dest="kind", required=True)

    credit = kinds.add_parser("credit", help="credit token")
    credit.add_argument("amount", help="units, e.g. 25.6 (kWh); rounded up")
    credit.add_argument(
        "--type", choices=[t.name.lower() for t in CreditType], default="electricity"
    )

    management = kinds.add_parser("management", help="management token")
    management.add_argument("what", choices=sorted(_MANAGEMENT))
    management.add_argument("value", nargs="?", help="watts, register or raw value")

    change = kinds.add_parser("key-change", help="key change tokens (2 or 4)")
    for name, kind in (
        ("krn", int),
        ("ti", int),
        ("sgc", int),
        ("kt", int),
        ("ken", _int),
        ("dkga", int),
        ("base_date", int),
    ):
        change.add_argument(f"--new-{name.replace('_', '-')}", dest=f"new_{name}", type=kind)
    change.add_argument("--new-ea", dest="new_ea", type=EA.parse)
    change.add_argument("--new-vending-key", dest="new_vending_key", type=_hex)

    for sub in (credit, management, change):
        _key_options(sub, required=True)
    for sub in (credit, management):
        sub.add_argument("--at", type=_when, help="issue time, ISO 8601 (default: now, UTC)")
        sub.add_argument("--tid", type=int, help="explicit token identifier")
        sub.add_argument("--rnd", type=int, help="random nibble 0..15 (default: random)")

    test = kinds.add_parser("test", help="class 1 test/display token (no key)")
    test.add_argument("--control", type=_int, required=True, help="control bits, e.g. 0x400")
    test.add_argument("--mfr-code", type=int, default=0)
    test.add_argument("--subclass", type=int, choices=(0, 1), default=0)

    decode = commands.add_parser("decode", help="decode a token")
    decode.add_argument("token", nargs="+", help="20 digits (spaces allowed)")
    decode.add_argument("--decoder-key", type=_hex, help="decoder key, hex (else derive it)")
    decode.add_argument("--json", action="store_true", help="print JSON")
    _key_options(decode, required=False)
    return parser


def describe(token, base_date=None):
    """Return a JSON-friendly dict of a token's fields (with its date if ``base_date`` is known)."""
    data = {
        "class": int(token.token_class),
        "subclass": int(token.subclass),
        "type": f"{token.token_class.name.lower()}/{_subclass_name(token)}",
    }
    for name, value in dataclasses.asdict(token).items():
        if name.startswith("nk"):  # new key parts read best as hex
            data[name] = f"{value:08x}"
        elif name not in data and name != "subclass":
            data[name] = int(value)
    if hasattr(token, "tid") and base_date is not None:
        data["issued_utc"] = datetime_for(token.tid, base_date).strftime("%Y-%m-%dT%H:%MZ")
    if isinstance(token, CreditToken):
        data["amount"] = str(token.amount)
    if isinstance(token, ManagementToken) and token.power_limit is not None:
        data["watts"] = token.power_limit
    return data


def _subclass_name(token):
    if isinstance(token, TestToken):
        return f"test{token.subclass}"
    return token.subclass.name.lower()


def _issue(args, out):
    if args.kind == "test":
        tokens = [encode_token(meter_test(args.control, args.mfr_code, args.subclass))]
    else:
        meter = _params(args)
        rnd = getattr(args, "rnd", None)
        vending_key = args.vending_key

        def key_for(params):
            if params != meter and args.new_vending_key is not None:
                return args.new_vending_key
            return vending_key

        provider = SoftwareTokenProvider(
            key_for if args.kind == "key-change" else vending_key,
            random_nibble=(lambda: rnd) if rnd is not None else None,
        )
        if args.kind == "credit":
            issued = [
                provider.issue_credit(
                    meter,
                    to_decimal(args.amount),
                    credit_type=CreditType[args.type.upper()],
                    issued_at=args.at,
                    tid=args.tid,
                )
            ]
        elif args.kind == "management":
            value = args.value
            if value is not None:
                power = args.what in ("max-power-limit", "phase-unbalance-limit")
                try:
                    value = to_decimal(value) if power else int(value, 0)
                except ValueError:
                    raise StsInputError(f"{value!r} is not an integer") from None
            issued = [
                provider.issue_management(
                    meter, _MANAGEMENT[args.what], value, issued_at=args.at, tid=args.tid
                )
            ]
        else:
            issued = provider.issue_key_change(meter, _params(args, prefix="new_"))
        tokens = [item.digits for item in issued]
    for digits in tokens:
        out.write(group(digits) + "\n")


def _decode(args, out):
    key = args.decoder_key
    if key is None and args.vending_key is not None:
        key = decoder_key(args.vending_key, _params(args))
    ea = args.ea
    if ea is None and key is not None:
        ea = EA.STA if len(key) == EA.STA.key_bytes else EA.MISTY1
    token = decode_token("".join(args.token), key, ea)
    data = describe(token, args.base_date)
    if args.json:
        out.write(json.dumps(data) + "\n")
    else:
        for name, value in data.items():
            out.write(f"{name}: {value}\n")


def main(argv=None, out=None):
    """Run the command line; return the exit status (0 ok, 1 STS error, 2 usage)."""
    out = out or sys.stdout
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "issue":
            _issue(args, out)
        else:
            _decode(args, out)
    except TokenRejected as exc:
        sys.stderr.write(f"rejected ({exc.reason.value}): {exc.message}\n")
        return 1
    except StsError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
