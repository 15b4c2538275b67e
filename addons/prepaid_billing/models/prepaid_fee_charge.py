from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError

CHARGE_STATES = [
    ("flagged", "Flagged"),
    ("open", "To Bill"),
    ("paid", "Paid"),
]


class PrepaidFeeCharge(models.Model):
    """What one fee item charged one account for one period: the amount (prorated by day),
    the part taken from the wallet (its ledger line) and the part left to bill.

    One per account, item and period (the idempotency key of the fee: a rerun finds it and
    charges nothing new). Written by the fee service only (in sudo); never deleted, except
    the flagged ones (bad data: a room without area), charged again once the data is fixed.
    """

    _name = "prepaid.fee.charge"
    _description = "Fee Charge"
    _inherit = ["prepaid.fee.wallet.mixin", "prepaid.access.mixin"]
    _order = "period_start desc, id desc"
    _prepaid_immutable = True

    # === FIELDS === #

    item_id = fields.Many2one(
        "prepaid.fee.item", string="Fee Item", required=True, readonly=True, ondelete="restrict"
    )
    kind = fields.Selection(related="item_id.kind", store=True)
    account_id = fields.Many2one(
        "prepaid.account", required=True, readonly=True, index=True, ondelete="restrict"
    )
    partner_id = fields.Many2one(related="account_id.partner_id", string="Tenant")
    room_id = fields.Many2one(related="account_id.room_id")
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="account_id.currency_id")
    period_key = fields.Char(
        string="Period", required=True, readonly=True, help="2026-03, 2026-Q1, 2026 or once."
    )
    period_start = fields.Date(required=True, readonly=True)
    period_end = fields.Date(required=True, readonly=True)
    date = fields.Date(string="Due Date", readonly=True)
    days = fields.Integer(
        string="Days Charged", readonly=True, help="Days of the period in service."
    )
    period_days = fields.Integer(string="Days in Period", readonly=True)
    basis = fields.Float(
        digits=(12, 2), readonly=True, help="The room's area (m²), the quantity, or 1 (fixed)."
    )
    amount = fields.Monetary(readonly=True, help="The fee of the period, prorated by day.")
    wallet_amount = fields.Monetary(
        string="From the Wallet",
        readonly=True,
        help="Taken from the wallet (credit above the cut-off threshold only).",
    )
    billed_amount = fields.Monetary(string="To Bill", readonly=True)
    recovered_amount = fields.Monetary(
        string="Recovered", readonly=True, help="Paid by debt recovery on top-ups."
    )
    residual = fields.Monetary(readonly=True, help="What the tenant still owes of this charge.")
    ledger_line_id = fields.Many2one("prepaid.ledger.line", readonly=True)
    state = fields.Selection(CHARGE_STATES, required=True, readonly=True, default="open")
    note = fields.Char(readonly=True)

    _sql_constraints = [
        (
            "account_item_period_uniq",
            "unique(account_id, item_id, period_key)",
            "This fee item already charged this account for this period.",
        ),
    ]

    # === COMPUTE METHODS === #

    @api.depends("item_id", "period_key")
    def _compute_display_name(self):
        for charge in self:
            charge.display_name = f"{charge.item_id.name} {charge.period_key}"

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            vals.setdefault("billed_amount", vals.get("amount", 0.0))
            vals.setdefault("residual", vals["billed_amount"])
            if vals.get("state", "open") == "open" and not vals["residual"]:
                vals["state"] = "paid"
        return super().create(vals_list)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_flagged(self):
        # The fee service (sudo) drops flagged charges to charge them again.
        if not self.env.su or any(charge.state != "flagged" for charge in self):
            raise UserError(
                self.env._("Fee charges are never deleted: they are what the tenants owe.")
            )

    # === BUSINESS METHODS === #

    def _get_wallet_charge_mode(self):
        self.ensure_one()
        return self.item_id.charge_mode

    def _get_wallet_key(self):
        self.ensure_one()
        return f"fee:{self.item_id.id}:{self.period_key}"

    def _apply_recovery(self, amount):
        """Settle ``amount`` (a Decimal) on the charges' residuals, oldest first; return what
        is left of it."""
        for charge in self.sorted(lambda c: (c.period_start, c.id)):
            unit = Decimal(1).scaleb(-charge.currency_id.decimal_places)
            residual = Decimal(str(charge.residual)).quantize(unit)
            paid = min(residual, amount)
            if paid <= 0:
                continue
            amount -= paid
            charge.write(
                {
                    "recovered_amount": charge.recovered_amount + float(paid),
                    "residual": float(residual - paid),
                    "state": "paid" if residual == paid else "open",
                }
            )
        return amount

    def _undo_recovery(self, amount):
        """Give back ``amount`` (a Decimal) recovered on the charges, newest first."""
        for charge in self.sorted(lambda c: (c.period_start, c.id), reverse=True):
            unit = Decimal(1).scaleb(-charge.currency_id.decimal_places)
            recovered = Decimal(str(charge.recovered_amount)).quantize(unit)
            back = min(recovered, amount)
            if back <= 0:
                continue
            amount -= back
            charge.write(
                {
                    "recovered_amount": float(recovered - back),
                    "residual": charge.residual + float(back),
                    "state": "open",
                }
            )
        return amount
