from odoo import fields, models


class PrepaidDebtRecovery(models.Model):
    """What one top-up paid to one debt: its fee line on the wallet. Written by the recovery
    service only (in sudo), never changed or deleted; a reversed top-up gives it back with a
    counter line."""

    _name = "prepaid.debt.recovery"
    _description = "Debt Recovery"
    _inherit = ["prepaid.access.mixin"]
    _order = "id desc"
    _prepaid_immutable = True

    debt_id = fields.Many2one(
        "prepaid.debt", required=True, index=True, readonly=True, ondelete="restrict"
    )
    topup_id = fields.Many2one(
        "prepaid.topup",
        string="Top-up",
        required=True,
        index=True,
        readonly=True,
        ondelete="restrict",
    )
    account_id = fields.Many2one(related="debt_id.account_id", store=True, index=True)
    company_id = fields.Many2one(related="debt_id.company_id", store=True)
    currency_id = fields.Many2one(related="debt_id.currency_id")
    amount = fields.Monetary(readonly=True)
    ledger_line_id = fields.Many2one("prepaid.ledger.line", readonly=True)
    reversal_line_id = fields.Many2one(
        "prepaid.ledger.line", readonly=True, help="Given back: the top-up was reversed."
    )
    date = fields.Datetime(related="ledger_line_id.create_date", string="Date")
