from decimal import Decimal

from odoo import api, fields, models
from odoo.tools import float_repr

from ..tools.tariff_data import FixedCharge
from ..tools.tariff_validation import validate_price


class PrepaidTariffFixedCharge(models.Model):
    """A fixed amount due per day or per calendar month while its version is in force."""

    _name = "prepaid.tariff.fixed.charge"
    _inherit = ["prepaid.tariff.version.detail"]
    _description = "Tariff Fixed Charge"
    _order = "version_id, id"

    # === FIELDS === #

    version_id = fields.Many2one(
        "prepaid.tariff.version", required=True, ondelete="cascade", index=True
    )
    currency_id = fields.Many2one(related="version_id.currency_id")
    name = fields.Char(required=True, help="Shown on the bills, e.g. Meter rental.")
    amount = fields.Monetary(required=True)
    period = fields.Selection(
        [("day", "Per Day"), ("month", "Per Month")],
        required=True,
        default="month",
        help="Per day: due every day. Per month: due on the first day of each month.",
    )

    # === CONSTRAINT METHODS === #

    @api.constrains("amount")
    def _check_amount(self):
        for charge in self:
            engine_charge = charge._engine_fixed_charge()
            issues = validate_price(
                engine_charge.amount, "fixed_charge_negative", {"name": charge.name}
            )
            if issues:
                charge._raise_engine_issues(issues)

    # === BUSINESS METHODS === #

    def _engine_fixed_charge(self):
        """The charge as the engine's ``FixedCharge`` (amount at the currency precision)."""
        self.ensure_one()
        digits = self.currency_id.decimal_places if self.currency_id else 2
        return FixedCharge(
            name=self.name, amount=Decimal(float_repr(self.amount, digits)), period=self.period
        )
