from odoo import fields, models

from .prepaid_alarm_rule import ALARM_LEVELS


class PrepaidSite(models.Model):
    """The money of a room's current account, for the room monitoring cards."""

    _inherit = "prepaid.site"

    account_balance = fields.Monetary(
        string="Balance", related="account_id.balance", currency_field="account_currency_id"
    )
    account_currency_id = fields.Many2one(related="account_id.currency_id")
    account_alarm_level = fields.Selection(
        ALARM_LEVELS, string="Alarm Level", related="account_id.alarm_level"
    )
