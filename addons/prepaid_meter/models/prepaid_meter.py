from odoo import fields, models


class PrepaidMeter(models.Model):
    _name = "prepaid.meter"
    _description = "Meter"
    _inherit = ["mail.thread", "mail.activity.mixin"]

    name = fields.Char(required=True)
    serial_number = fields.Char(required=True)
    utility = fields.Selection(
        [("electricity", "Electricity"), ("water", "Water")], required=True, default="electricity"
    )
    model_id = fields.Many2one("prepaid.meter.model", required=True)
    comm_address = fields.Char(string="Communication Address")
    multiplier = fields.Float(default=1.0, digits=(12, 4))
    initial_reading = fields.Float(digits=(16, 3))
    room_id = fields.Many2one("prepaid.site", domain="[('site_type', '=', 'room')]", index=True)
    account_id = fields.Many2one("prepaid.account", index=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    state = fields.Selection(
        [("draft", "Draft"), ("active", "Active"), ("suspended", "Suspended"), ("removed", "Removed")],
        default="draft",
        required=True,
    )
