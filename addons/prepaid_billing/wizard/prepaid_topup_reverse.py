from odoo import fields, models


class PrepaidTopupReverse(models.TransientModel):
    _name = "prepaid.topup.reverse"
    _description = "Reverse Top-ups"

    topup_ids = fields.Many2many("prepaid.topup", string="Top-ups", required=True)
    reason = fields.Text(required=True)

    def action_reverse(self):
        self.topup_ids.action_reverse(self.reason)
        return {"type": "ir.actions.act_window_close"}
