from odoo import fields, models

DECISIONS = [
    ("cut", "Cut Off"),
    ("deferred", "Deferred (friendly hours)"),
    ("held", "Held (keep power)"),
    ("reconnect", "Reconnected"),
    ("cancelled", "Cut-off Cancelled"),
    ("override_cut", "Cut Off by a Manager"),
    ("override_reconnect", "Reconnected by a Manager"),
    ("failed", "Failed"),
]


class PrepaidSupplyDecision(models.Model):
    """The decision log of cut-off and reconnection: every decision the platform (or a
    manager) took on the supply of an account, with its evidence: the balance, the cut-off
    balance, the rule that held or allowed it, who and when.

    Written only by the cut-off service (in sudo); nobody changes or deletes it."""

    _name = "prepaid.supply.decision"
    _inherit = ["prepaid.access.mixin"]
    _description = "Supply Decision"
    _order = "date desc, id desc"
    _prepaid_immutable = True

    # === FIELDS === #

    account_id = fields.Many2one(
        "prepaid.account", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="account_id.currency_id")
    decision = fields.Selection(DECISIONS, required=True, readonly=True)
    balance = fields.Monetary(readonly=True)
    cutoff_balance = fields.Monetary(
        readonly=True, help="The cut-off threshold less the credit limit, at the time."
    )
    rule = fields.Char(readonly=True, help="The rule that allowed or held the decision.")
    reason = fields.Text(readonly=True, help="The reason a manager gave for an override.")
    meter_ids = fields.Many2many("prepaid.meter", string="Meters", readonly=True)
    user_id = fields.Many2one(
        "res.users", string="Decided By", readonly=True, help="Who posted, or the manager."
    )
    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
