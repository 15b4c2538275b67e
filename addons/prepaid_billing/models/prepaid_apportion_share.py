from odoo import api, fields, models
from odoo.exceptions import UserError


class PrepaidApportionShare(models.Model):
    """An account's share of a pool's month: the method, the pool and the account's basis
    are recorded with it (what its statement prints); taken from the wallet or left to bill
    like a fee. Written by the apportionment service only; never changed or deleted."""

    _name = "prepaid.apportion.share"
    _description = "Common-Area Share"
    _inherit = ["prepaid.fee.wallet.mixin", "prepaid.access.mixin"]
    _order = "run_id desc, account_id"
    _prepaid_immutable = True

    run_id = fields.Many2one(
        "prepaid.apportion.run", required=True, index=True, readonly=True, ondelete="cascade"
    )
    pool_id = fields.Many2one(related="run_id.pool_id", store=True, index=True)
    period_key = fields.Char(related="run_id.period_key", store=True, string="Month")
    method = fields.Selection(related="run_id.method")
    pool_amount = fields.Monetary(related="run_id.amount", string="Pool Amount")
    basis_total = fields.Float(related="run_id.basis_total", string="Basis of All")
    account_id = fields.Many2one(
        "prepaid.account", required=True, index=True, readonly=True, ondelete="restrict"
    )
    partner_id = fields.Many2one(related="account_id.partner_id", string="Tenant")
    company_id = fields.Many2one(related="run_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="run_id.currency_id")
    basis = fields.Float(digits=(16, 4), readonly=True, help="The account's basis.")
    basis_note = fields.Char(string="Basis Detail", readonly=True)
    vacant = fields.Boolean(readonly=True, help="The landlord's share of vacant rooms.")
    amount = fields.Monetary(string="Share", readonly=True)
    wallet_amount = fields.Monetary(string="From the Wallet", readonly=True)
    billed_amount = fields.Monetary(string="To Bill", readonly=True)
    residual = fields.Monetary(readonly=True)
    ledger_line_id = fields.Many2one("prepaid.ledger.line", readonly=True)
    state = fields.Selection(
        [("open", "To Bill"), ("paid", "Paid")], required=True, readonly=True, default="open"
    )

    _sql_constraints = [
        ("run_account_uniq", "unique(run_id, account_id)", "One share per account and month."),
    ]

    @api.depends("pool_id", "period_key")
    def _compute_display_name(self):
        for share in self:
            share.display_name = f"{share.pool_id.name} {share.period_key}"

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            vals.setdefault("billed_amount", vals.get("amount", 0.0))
            vals.setdefault("residual", vals["billed_amount"])
        return super().create(vals_list)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("Common-area shares are never deleted."))

    def _get_wallet_charge_mode(self):
        self.ensure_one()
        return self.pool_id.charge_mode

    def _get_wallet_key(self):
        self.ensure_one()
        return f"apportion:{self.pool_id.id}:{self.period_key}"
