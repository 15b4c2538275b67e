from decimal import Decimal

from odoo import api, fields, models
from odoo.tools import float_repr

from ..tools.tariff_data import BANDS, Tier
from ..tools.tariff_validation import validate_price
from .prepaid_tariff import QUANTITY_DIGITS, TARIFF_PRICE_PRECISION


class PrepaidTariffTier(models.Model):
    """A monthly step of a tiered version, from ``quantity_from`` (cycle-to-date) on.

    Steps are listed in increasing order of ``quantity_from``, the first from 0; the last one
    has no upper limit (checked on the version, also when a step is written on its own).
    Tiered versions use ``unit_price``; tiered + time-of-use versions add ``price_adder`` to
    the price of the band, or, priced by a grid, read the step's price of each band (a row of
    the grid; 0 counts as no price).
    """

    _name = "prepaid.tariff.tier"
    _inherit = ["prepaid.tariff.version.detail"]
    _description = "Tariff Step"
    _order = "version_id, sequence, id"

    # === FIELDS === #

    version_id = fields.Many2one(
        "prepaid.tariff.version", required=True, ondelete="cascade", index=True
    )
    sequence = fields.Integer(default=10)
    quantity_from = fields.Float(
        string="From Quantity",
        digits=(16, QUANTITY_DIGITS),
        required=True,
        default=0.0,
        help="Consumption of the billing cycle (kWh, m³) from which this step applies.",
    )
    unit_price = fields.Float(digits=TARIFF_PRICE_PRECISION, help="Tiered versions.")
    price_adder = fields.Float(
        string="Adder",
        digits=TARIFF_PRICE_PRECISION,
        help="Tiered + time-of-use versions: added to the price of the band.",
    )

    grid_price_sharp = fields.Float(string="Sharp", digits=TARIFF_PRICE_PRECISION)
    grid_price_peak = fields.Float(string="Peak", digits=TARIFF_PRICE_PRECISION)
    grid_price_flat = fields.Float(string="Flat", digits=TARIFF_PRICE_PRECISION)
    grid_price_valley = fields.Float(string="Valley", digits=TARIFF_PRICE_PRECISION)
    grid_price_deep_valley = fields.Float(string="Deep Valley", digits=TARIFF_PRICE_PRECISION)

    # === CONSTRAINT METHODS === #

    @api.constrains(
        "unit_price",
        "price_adder",
        "grid_price_sharp",
        "grid_price_peak",
        "grid_price_flat",
        "grid_price_valley",
        "grid_price_deep_valley",
    )
    def _check_prices(self):
        """No negative price, even on a step not yet used by its version's kind."""
        for tier in self:
            grid = [tier[f"grid_price_{band}"] for band in BANDS]
            for value in (tier.unit_price, tier.price_adder, *grid):
                issues = validate_price(
                    tier._engine_price(value), "tier_price_negative", {"tier": tier._step_number()}
                )
                if issues:
                    tier._raise_engine_issues(issues)

    # === BUSINESS METHODS === #

    def _step_number(self):
        """1-based position of the step in its version (for messages)."""
        steps = self.version_id.tier_ids.ids
        return steps.index(self.id) + 1 if self.id in steps else len(steps) + 1

    def _engine_price(self, value):
        digits = self.env["decimal.precision"].precision_get(TARIFF_PRICE_PRECISION)
        return Decimal(float_repr(value, digits))

    def _engine_tier(self, kind):
        """The step as the engine's ``Tier`` for a version of ``kind``."""
        self.ensure_one()
        price = self.price_adder if kind == "tiered_tou" else self.unit_price
        return Tier(
            start=Decimal(float_repr(self.quantity_from, QUANTITY_DIGITS)),
            price=self._engine_price(price),
        )
