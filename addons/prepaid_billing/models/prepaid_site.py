from odoo import fields, models
from odoo.exceptions import UserError

from .prepaid_alarm_rule import ALARM_LEVELS


class PrepaidSite(models.Model):
    """The money of a room's current account, for the room monitoring cards."""

    _inherit = "prepaid.site"

    # Computed on read like the current account they come from (not stored, no dependency:
    # the account of a room is itself looked up on read).
    account_balance = fields.Monetary(
        string="Balance", compute="_compute_account_money", currency_field="account_currency_id"
    )
    account_currency_id = fields.Many2one("res.currency", compute="_compute_account_money")
    account_alarm_level = fields.Selection(
        ALARM_LEVELS, string="Alarm Level", compute="_compute_account_money"
    )

    def _compute_account_money(self):
        for site in self:
            account = site.account_id
            site.account_balance = account.balance
            site.account_currency_id = account.currency_id
            site.account_alarm_level = account.alarm_level or False

    def action_sell_credit(self):
        """Sell credit for the room's current account: the counter screen, account filled in."""
        self.ensure_one()
        if self.account_id.state != "open":
            raise UserError(
                self.env._("Room %(room)s has no open account to top up.", room=self.name)
            )
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_billing.prepaid_topup_counter_action"
        )
        action["context"] = {"default_account_id": self.account_id.id}
        return action
