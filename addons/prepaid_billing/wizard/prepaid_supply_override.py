from odoo import fields, models


class PrepaidSupplyOverride(models.TransientModel):
    """A manager cuts off or reconnects the supply now, with a reason (recorded in the
    decision log). The account methods check the group."""

    _name = "prepaid.supply.override"
    _description = "Cut Off or Reconnect Now"

    account_ids = fields.Many2many("prepaid.account", string="Accounts", required=True)
    mode = fields.Selection([("cut", "Cut Off Now"), ("reconnect", "Reconnect Now")], required=True)
    reason = fields.Text(required=True)

    def action_confirm(self):
        self.ensure_one()
        if self.mode == "cut":
            self.account_ids.action_cut_now(reason=self.reason)
        else:
            self.account_ids.action_reconnect_now(reason=self.reason)
        return {"type": "ir.actions.act_window_close"}
