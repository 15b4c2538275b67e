from odoo import fields, models

from .prepaid_alarm_rule import ALARM_LEVELS


class PrepaidAlarm(models.Model):
    """One low-balance notice sent to a tenant (the alarm history of an account): the level,
    the balance that triggered it, the channels it went through and those that failed.

    Written only by the alarm service (in sudo); nobody changes or deletes it."""

    _name = "prepaid.alarm"
    _inherit = ["prepaid.access.mixin"]
    _description = "Low-Balance Alarm"
    _order = "date desc, id desc"
    _prepaid_immutable = True

    # === FIELDS === #

    account_id = fields.Many2one(
        "prepaid.account", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="account_id.currency_id")
    partner_id = fields.Many2one("res.partner", string="Tenant", readonly=True)
    level = fields.Selection(ALARM_LEVELS, required=True, readonly=True)
    sequence = fields.Integer(
        string="Notice", readonly=True, help="1 for the first notice of a crossing, then repeats."
    )
    balance = fields.Monetary(readonly=True)
    threshold = fields.Monetary(readonly=True, help="The threshold of the level at the time.")
    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    channels = fields.Char(string="Sent Through", readonly=True)
    failures = fields.Text(readonly=True)
    state = fields.Selection(
        [("sent", "Sent"), ("partial", "Partly Sent"), ("failed", "Failed")],
        required=True,
        readonly=True,
        default="sent",
    )
