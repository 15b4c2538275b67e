from odoo import api, fields, models


class PrepaidPrepaymentCheck(models.TransientModel):
    """The accountants' check: per company, the utility prepayments account against the sum
    of the wallet balances (see ``prepaid.ledger.accounting._get_prepayment_figures``)."""

    _name = "prepaid.prepayment.check"
    _description = "Prepayments Check"

    line_ids = fields.One2many("prepaid.prepayment.check.line", "check_id", readonly=True)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        figures = self.env["prepaid.ledger.accounting"]._get_prepayment_figures(self.env.companies)
        values["line_ids"] = [
            fields.Command.create({"company_id": company.id, **numbers})
            for company, numbers in figures.items()
        ]
        return values


class PrepaidPrepaymentCheckLine(models.TransientModel):
    _name = "prepaid.prepayment.check.line"
    _description = "Prepayments Check Line"

    check_id = fields.Many2one("prepaid.prepayment.check", required=True, ondelete="cascade")
    company_id = fields.Many2one("res.company", required=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    wallets = fields.Monetary(string="Wallet Balances")
    accounting = fields.Monetary(string="Prepayments Account")
    pending = fields.Monetary(
        string="Not Yet in Accounting",
        help="Consumption, fees and adjustments of today: summarised in accounting once the "
        "day is over.",
    )
    difference = fields.Monetary(help="Must be zero.")
