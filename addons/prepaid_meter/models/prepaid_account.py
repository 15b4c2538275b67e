from odoo import fields, models


class PrepaidAccount(models.Model):
    _name = "prepaid.account"
    _description = "Utility Account"
    _inherit = ["mail.thread", "mail.activity.mixin"]

    name = fields.Char(required=True, copy=False, readonly=True, default=lambda self: self.env._("New"))
    partner_id = fields.Many2one("res.partner", string="Tenant", required=True)
    room_id = fields.Many2one("prepaid.site", domain="[('site_type', '=', 'room')]")
    meter_ids = fields.One2many("prepaid.meter", "account_id")
    electricity_tariff_id = fields.Many2one("prepaid.tariff", domain="[('utility', '=', 'electricity')]")
    water_tariff_id = fields.Many2one("prepaid.tariff", domain="[('utility', '=', 'water')]")
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    currency_id = fields.Many2one(related="company_id.currency_id")
    state = fields.Selection(
        [("draft", "Draft"), ("open", "Open"), ("suspended", "Suspended"), ("closed", "Closed")],
        default="draft",
        required=True,
        tracking=True,
    )
