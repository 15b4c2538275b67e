from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    prepaid_prepayment_account_id = fields.Many2one(
        related="company_id.prepaid_prepayment_account_id", readonly=False
    )
    prepaid_revenue_electricity_account_id = fields.Many2one(
        related="company_id.prepaid_revenue_electricity_account_id", readonly=False
    )
    prepaid_revenue_water_account_id = fields.Many2one(
        related="company_id.prepaid_revenue_water_account_id", readonly=False
    )
    prepaid_adjustment_account_id = fields.Many2one(
        related="company_id.prepaid_adjustment_account_id", readonly=False
    )
    prepaid_summary_journal_id = fields.Many2one(
        related="company_id.prepaid_summary_journal_id", readonly=False
    )
    prepaid_cash_journal_id = fields.Many2one(
        related="company_id.prepaid_cash_journal_id", readonly=False
    )
    prepaid_bank_journal_id = fields.Many2one(
        related="company_id.prepaid_bank_journal_id", readonly=False
    )
    prepaid_refund_manager_limit = fields.Monetary(
        related="company_id.prepaid_refund_manager_limit", readonly=False
    )
    prepaid_electricity_tax_id = fields.Many2one(
        related="company_id.prepaid_electricity_tax_id", readonly=False
    )
    prepaid_water_tax_id = fields.Many2one(
        related="company_id.prepaid_water_tax_id", readonly=False
    )
    prepaid_meter_balance_tolerance = fields.Monetary(
        related="company_id.prepaid_meter_balance_tolerance", readonly=False
    )
    prepaid_unbilled_account_id = fields.Many2one(
        related="company_id.prepaid_unbilled_account_id", readonly=False
    )
