from odoo import fields, models


class PrepaidAccountOpenLine(models.TransientModel):
    _name = "prepaid.account.open.line"
    _description = "Open Utility Accounts: Result"
    _order = "result desc, id"

    wizard_id = fields.Many2one("prepaid.account.open", required=True, ondelete="cascade")
    account_id = fields.Many2one("prepaid.account", required=True, ondelete="cascade")
    partner_id = fields.Many2one(related="account_id.partner_id")
    result = fields.Selection([("opened", "Opened"), ("failed", "Failed")], required=True)
    message = fields.Text(string="Reason")
