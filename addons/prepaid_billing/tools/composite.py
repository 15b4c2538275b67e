"""The monthly composite energy report (用电综合报表), pure: one row per account from the
aggregates read for a whole site, the changes of kWh against the previous month and the same
month of the previous year, and the totals row.

Amounts and quantities are ``Decimal`` (read from PostgreSQL as text): the totals are exact
sums, equal to the ledger to the cent.
"""

from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal(0)
BANDS = ("t1", "t2", "t3", "t4")
# What a change against a zero (or missing) base prints: no percentage exists.
NOT_AVAILABLE = "n/a"
# The columns that add up in the totals row (registers and ratios do not).
SUMMED = (
    "kwh",
    "kwh_t1",
    "kwh_t2",
    "kwh_t3",
    "kwh_t4",
    "charges",
    "fees",
    "shares",
    "payments",
    "closing_balance",
    "kwh_previous_month",
    "kwh_previous_year",
)


def percent_change(current, base):
    """The change from ``base`` to ``current`` in percent, one decimal, signed
    (``"+12.5%"``, ``"-3.0%"``, ``"0.0%"``); ``"n/a"`` when the base is zero or missing."""
    if not base:
        return NOT_AVAILABLE
    change = ((Decimal(current or 0) - Decimal(base)) * 100 / Decimal(base)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )
    return f"{change:+.1f}%" if change else "0.0%"


@dataclass
class MeterRegisters:
    """The register of a meter at the start of the month (its last reading before the month,
    or its first one in it when it started during the month) and at its end (its last reading
    in the month), with the TOU registers of both."""

    opening: Decimal
    closing: Decimal
    multiplier: Decimal = Decimal(1)
    opening_bands: tuple = (None, None, None, None)
    closing_bands: tuple = (None, None, None, None)

    def band_kwh(self):
        """kWh per TOU band: the band registers' advance times the multiplier (0 for a band the
        meter does not report)."""
        return tuple(
            (closing - opening) * self.multiplier
            if opening is not None and closing is not None
            else ZERO
            for opening, closing in zip(self.opening_bands, self.closing_bands, strict=True)
        )


@dataclass
class CompositeRow:
    account_id: int
    meter_id: int | None = None
    opening: Decimal | None = None
    closing: Decimal | None = None
    multiplier: Decimal | None = None
    kwh: Decimal = ZERO
    kwh_t1: Decimal = ZERO
    kwh_t2: Decimal = ZERO
    kwh_t3: Decimal = ZERO
    kwh_t4: Decimal = ZERO
    charges: Decimal = ZERO
    fees: Decimal = ZERO
    shares: Decimal = ZERO
    payments: Decimal = ZERO
    closing_balance: Decimal = ZERO
    kwh_previous_month: Decimal = ZERO
    kwh_previous_year: Decimal = ZERO
    change_month: str = field(default=NOT_AVAILABLE)
    change_year: str = field(default=NOT_AVAILABLE)

    def as_dict(self):
        return {f.name: getattr(self, f.name) for f in fields(self)}


def composite_rows(account_ids, registers, energy, money):
    """The rows of the report, one per account of ``account_ids`` (in that order).

    :param account_ids: the accounts of the site
    :param registers: ``{account_id: (meter_id, MeterRegisters)}``: the account's main meter
        (accounts without a reading in the month have none)
    :param energy: ``{account_id: {"kwh", "kwh_previous_month", "kwh_previous_year"}}``:
        consumption (multiplier applied) of the month, the month before and the same month a
        year before, over all the account's meters of the utility
    :param money: ``{account_id: {"charges", "fees", "shares", "payments",
        "closing_balance"}}``: charges and fees as positive amounts, payments = top-ups -
        refunds (reversals included), the balance after the account's last ledger line of the
        month
    """
    rows = []
    for account_id in account_ids:
        row = CompositeRow(account_id=account_id)
        for name, value in {**energy.get(account_id, {}), **money.get(account_id, {})}.items():
            setattr(row, name, Decimal(value or 0))
        if account_id in registers:
            row.meter_id, meter = registers[account_id]
            row.opening, row.closing, row.multiplier = (
                meter.opening,
                meter.closing,
                meter.multiplier,
            )
            row.kwh_t1, row.kwh_t2, row.kwh_t3, row.kwh_t4 = meter.band_kwh()
        row.change_month = percent_change(row.kwh, row.kwh_previous_month)
        row.change_year = percent_change(row.kwh, row.kwh_previous_year)
        rows.append(row)
    return rows


def totals_row(rows):
    """The totals of the summed columns and the changes of the total kWh."""
    total = CompositeRow(account_id=0)
    for name in SUMMED:
        setattr(total, name, sum((getattr(row, name) for row in rows), ZERO))
    total.change_month = percent_change(total.kwh, total.kwh_previous_month)
    total.change_year = percent_change(total.kwh, total.kwh_previous_year)
    return total
