from odoo import fields, models


class PrepaidRatingLine(models.Model):
    """What rating charged for one reading (one row per revision).

    The first revision of a reading charges its consumption; a later revision (the cycle was
    rated again because a late reading, a review or a deletion changed it) charges the
    difference, so the sum of a reading's revisions is what the reading costs. Written by
    ``prepaid.rating`` in SQL only; narrow on purpose (one row per reading and run).
    """

    _name = "prepaid.rating.line"
    _description = "Rated Reading"
    _inherit = ["prepaid.access.mixin"]
    _order = "id desc"
    _log_access = False
    _prepaid_immutable = True

    reading_id = fields.Many2one(
        "prepaid.reading",
        readonly=True,
        # A deleted reading keeps its charge here until its cycle is rated again and refunds it.
        ondelete="set null",
        index="btree_not_null",
    )
    account_id = fields.Many2one("prepaid.account", required=True, readonly=True, index=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    utility = fields.Selection(
        [("electricity", "Electricity"), ("water", "Water")], required=True, readonly=True
    )
    cycle = fields.Date(required=True, readonly=True, help="First day of the billing cycle.")
    read_at = fields.Datetime(required=True, readonly=True)
    revision = fields.Integer(required=True, readonly=True, default=1)
    quantity = fields.Float(
        digits=(16, 3), readonly=True, help="The consumption rated (this revision's total)."
    )
    amount = fields.Monetary(
        readonly=True, help="Charged by this revision (a difference for a later revision)."
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    ledger_line_id = fields.Many2one("prepaid.ledger.line", readonly=True)

    _sql_constraints = [
        (
            "reading_revision_uniq",
            "unique(reading_id, revision)",
            "A reading is rated once per revision.",
        ),
    ]


class PrepaidRatingCycle(models.Model):
    """The position of an account's billing cycle for a utility, carried between rating
    runs: the quantity consumed so far (tiered steps continue from it) and the exact,
    unrounded amount charged so far (rounding spans the whole cycle, so a cycle's charges sum
    to its exact total rounded half-up, never drifting). Written by ``prepaid.rating`` only.
    """

    _name = "prepaid.rating.cycle"
    _description = "Billing Cycle Position"
    _inherit = ["prepaid.access.mixin"]
    _order = "cycle desc"
    _log_access = False
    _prepaid_immutable = True

    account_id = fields.Many2one(
        "prepaid.account", required=True, readonly=True, ondelete="cascade"
    )
    utility = fields.Selection(
        [("electricity", "Electricity"), ("water", "Water")], required=True, readonly=True
    )
    cycle = fields.Date(required=True, readonly=True, help="First day of the billing cycle.")
    quantity = fields.Float(digits=(16, 3), readonly=True)
    # Exact (unrounded) amount: numeric with the engine's precision, read in SQL as Decimal.
    exact_amount = fields.Float(digits=(28, 12), readonly=True)
    last_read_at = fields.Datetime(readonly=True)
    # Month-end true-up to the proportional convention (tariffs with month_end_true_up): the
    # position (quantity, exact amount) it was computed at (empty: not yet), the sum of the
    # true-ups posted (charged more: positive) and how many were posted.
    month_end_quantity = fields.Float(digits=(16, 3), readonly=True)
    month_end_exact = fields.Float(digits=(28, 12), readonly=True)
    month_end_amount = fields.Float(digits=(16, 6), readonly=True)
    month_end_revision = fields.Integer(readonly=True)

    _sql_constraints = [
        (
            "account_utility_cycle_uniq",
            "unique(account_id, utility, cycle)",
            "One position per account, utility and cycle.",
        ),
    ]
