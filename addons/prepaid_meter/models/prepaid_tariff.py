from odoo import fields, models


class PrepaidTariff(models.Model):
    _name = "prepaid.tariff"
    _description = "Tariff"

    name = fields.Char(required=True)
    utility = fields.Selection(
        [("electricity", "Electricity"), ("water", "Water")], required=True, default="electricity"
    )
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    currency_id = fields.Many2one(related="company_id.currency_id")
    active = fields.Boolean(default=True)
