from odoo import fields, models


class PrepaidStsTokenCancel(models.TransientModel):
    """Cancel issued STS tokens with a reason (prepaid administrators)."""

    _name = "prepaid.sts.token.cancel"
    _description = "Cancel STS Tokens"

    token_ids = fields.Many2many("prepaid.sts.token", string="Tokens", required=True)
    reason = fields.Text(required=True)

    def action_confirm(self):
        self.ensure_one()
        self.token_ids._cancel(self.reason)
        return {"type": "ir.actions.act_window_close"}
