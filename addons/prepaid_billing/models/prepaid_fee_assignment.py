from odoo import api, fields, models
from odoo.exceptions import ValidationError


class PrepaidFeeAssignment(models.Model):
    """A fee item assigned to one account: with its quantity (per-unit fees: parking spaces,
    bins) and, when it differs from the item's, its own dates."""

    _name = "prepaid.fee.assignment"
    _description = "Fee Assignment"
    _inherit = ["prepaid.access.mixin"]
    _order = "item_id, account_id"
    _check_company_auto = True

    item_id = fields.Many2one(
        "prepaid.fee.item", string="Fee Item", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="item_id.company_id", store=True)
    account_id = fields.Many2one(
        "prepaid.account",
        required=True,
        index=True,
        check_company=True,
        ondelete="restrict",
        domain="[('state', '!=', 'closed')]",
    )
    quantity = fields.Float(default=1.0, digits=(12, 2), help="Per-unit fees: the units.")
    date_from = fields.Date(help="Empty: from the item's start.")
    date_to = fields.Date(help="Empty: until the item's end.")

    _sql_constraints = [
        (
            "item_account_uniq",
            "unique(item_id, account_id)",
            "The account is already assigned to this fee item.",
        ),
        ("quantity_positive", "CHECK(quantity > 0)", "The quantity must be positive."),
    ]

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        for assignment in self:
            if assignment.date_from and assignment.date_to:
                if assignment.date_to < assignment.date_from:
                    raise ValidationError(self.env._("An assignment cannot end before it starts."))
