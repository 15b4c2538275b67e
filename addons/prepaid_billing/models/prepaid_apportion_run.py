from odoo import api, fields, models
from odoo.exceptions import UserError

from .prepaid_apportion_pool import METHODS


class PrepaidApportionRun(models.Model):
    """One month of a pool: its consumption and amount, and the shares. One per pool and
    month (the idempotency of the apportionment); written by the apportionment service only
    (in sudo). A flagged run (bad readings, no basis) is done again at the next run."""

    _name = "prepaid.apportion.run"
    _description = "Common-Area Apportionment"
    _inherit = ["prepaid.access.mixin"]
    _order = "period_start desc, id desc"
    _prepaid_immutable = True

    pool_id = fields.Many2one(
        "prepaid.apportion.pool", required=True, index=True, readonly=True, ondelete="restrict"
    )
    company_id = fields.Many2one(related="pool_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="pool_id.currency_id")
    period_key = fields.Char(string="Month", required=True, readonly=True)
    period_start = fields.Date(required=True, readonly=True)
    period_end = fields.Date(required=True, readonly=True)
    method = fields.Selection(METHODS, readonly=True)
    meter_quantity = fields.Float(string="Meter", digits=(16, 3), readonly=True)
    sub_quantity = fields.Float(string="Sub-meters", digits=(16, 3), readonly=True)
    quantity = fields.Float(string="Pool Quantity", digits=(16, 3), readonly=True)
    amount = fields.Monetary(string="Pool Amount", readonly=True)
    basis_total = fields.Float(digits=(16, 4), readonly=True)
    share_ids = fields.One2many("prepaid.apportion.share", "run_id", string="Shares")
    state = fields.Selection(
        [("done", "Shared"), ("flagged", "Flagged")], required=True, readonly=True, default="done"
    )
    note = fields.Char(readonly=True)

    _sql_constraints = [
        (
            "pool_period_uniq",
            "unique(pool_id, period_key)",
            "This pool was already shared for this month.",
        ),
    ]

    def _compute_display_name(self):
        for run in self:
            run.display_name = f"{run.pool_id.name} {run.period_key}"

    @api.ondelete(at_uninstall=False)
    def _unlink_only_flagged(self):
        # The apportionment service (sudo) drops flagged runs to share the month again.
        if not self.env.su or any(run.state != "flagged" for run in self):
            raise UserError(self.env._("Common-area apportionments are never deleted."))
