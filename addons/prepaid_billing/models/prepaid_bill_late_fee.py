"""Late fees of postpaid bills (滞纳金), optional per account (the contract): a daily rate of
the residual of each overdue bill, at least a minimum the first time, at most a cap per bill.

They are computed by the next bill run and billed as lines of the next bill, so the user sees
them before confirming. Each overdue bill remembers the day its late fee was charged to and how
much was charged (``late_fee_through``, ``late_fee_amount``): a later run charges only the days
after, and never more than the cap.
"""

from decimal import ROUND_HALF_UP, Decimal

from odoo import fields, models

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import MANAGER


class PrepaidAccount(models.Model):
    _inherit = "prepaid.account"

    late_fee_rate = fields.Float(
        string="Late Fee (% per day)",
        digits=(6, 4),
        help="Charged on the residual of each overdue postpaid bill, per day past its due date, "
        "on the next bill (0: no late fee).",
    )
    late_fee_min = fields.Monetary(
        string="Late Fee Minimum", help="At least this much the first time a bill is late."
    )
    late_fee_cap = fields.Monetary(
        string="Late Fee Cap", help="At most this much in all per overdue bill (0: no cap)."
    )

    def _get_write_groups(self):
        groups = dict.fromkeys(("late_fee_rate", "late_fee_min", "late_fee_cap"), MANAGER)
        return {**super()._get_write_groups(), **groups}


class PrepaidBill(models.Model):
    _inherit = "prepaid.bill"

    late_fee_through = fields.Date(
        readonly=True, help="The late fee of this bill was charged up to this day."
    )
    late_fee_amount = fields.Monetary(
        string="Late Fees Charged", readonly=True, help="Late fees of this bill charged so far."
    )


class PrepaidBillLine(models.Model):
    _inherit = "prepaid.bill.line"

    late_fee_bill_id = fields.Many2one(
        "prepaid.bill", string="Overdue Bill", readonly=True, help="The bill this late fee is for."
    )

    def _mark_late_fees_billed(self, through):
        """Record on each overdue bill the late fee these (generated) lines charged."""
        for line in self.filtered("late_fee_bill_id"):
            bill = line.late_fee_bill_id.sudo()
            bill.write(
                {
                    "late_fee_through": through,
                    "late_fee_amount": bill.late_fee_amount + line.amount,
                }
            )


class PrepaidBillRun(models.Model):
    _inherit = "prepaid.bill.run"

    def _get_late_fee_bills(self, accounts):
        """The bills of earlier months of ``accounts`` (with a late fee rate) still owed and
        past due before the end of the run's month."""
        first, last = self._get_period()
        return (
            self.env["prepaid.bill"]
            .sudo()
            .search(
                [
                    ("account_id", "in", accounts.filtered("late_fee_rate").ids),
                    ("month", "<", first),
                    ("move_state", "=", "posted"),
                    ("payment_state", "in", ("not_paid", "partial")),
                    ("amount_residual", ">", 0),
                    ("invoice_date_due", "<", last),
                ],
                order="month, id",
            )
        )

    def _get_late_fee_values(self, account):
        """A late fee line per overdue bill of ``account``: the residual x the daily rate x
        the days overdue since its due date (or since the day charged to last), at least the
        minimum the first time, at most what is left of the cap; rounded half-up."""
        if not account.late_fee_rate:
            return []
        _first, last = self._get_period()
        unit = Decimal(1).scaleb(-account.currency_id.decimal_places)
        rate = Decimal(str(account.late_fee_rate)) / 100
        minimum = Decimal(str(account.late_fee_min)).quantize(unit)
        cap = Decimal(str(account.late_fee_cap)).quantize(unit)
        values = []
        for bill in self._get_late_fee_bills(account):
            since = max(bill.invoice_date_due, bill.late_fee_through or bill.invoice_date_due)
            days = (last - since).days
            if days <= 0:
                continue
            residual = Decimal(str(bill.amount_residual)).quantize(unit)
            charged = Decimal(str(bill.late_fee_amount)).quantize(unit)
            amount = (residual * rate * days).quantize(unit, ROUND_HALF_UP)
            if not charged:
                amount = max(amount, minimum)
            if cap:
                amount = min(amount, cap - charged)
            if amount <= 0:
                continue
            values.append(
                {
                    "kind": "late_fee",
                    "name": self.env._(
                        "Late fee on %(invoice)s: %(days)s days x %(rate)s%% of %(residual)s",
                        invoice=bill.move_id.name,
                        days=days,
                        rate=format(Decimal(str(account.late_fee_rate)).normalize(), "f"),
                        residual=residual,
                    ),
                    "quantity": days,
                    "unit_price": float(amount / days),
                    "amount": float(amount),
                    "late_fee_bill_id": bill.id,
                }
            )
        return values
