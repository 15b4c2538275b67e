from odoo import api, fields, models

# Alarm levels of an account, from no alarm to the cut-off level, in order of gravity.
ALARM_LEVELS = [
    ("none", "No Alarm"),
    ("alarm1", "Alarm 1"),
    ("alarm2", "Alarm 2"),
    ("alarm3", "Alarm 3"),
    ("cutoff", "Cut-off"),
]
ALARM_RANK = {level: rank for rank, (level, _label) in enumerate(ALARM_LEVELS)}


class PrepaidAlarmRule(models.Model):
    """How an alarm level is notified: the mail and SMS templates, and how many times and how
    often the notice is repeated while the account stays at that level.

    A rule without company is shared; a company's own rule for a level takes precedence."""

    _name = "prepaid.alarm.rule"
    _description = "Low-Balance Alarm Rule"
    _order = "level, company_id, id"

    # === FIELDS === #

    level = fields.Selection([level for level in ALARM_LEVELS if level[0] != "none"], required=True)
    company_id = fields.Many2one(
        "res.company", index=True, help="Empty: the rule of every company without its own."
    )
    send_mail = fields.Boolean(string="Send Email", default=True)
    mail_template_id = fields.Many2one(
        "mail.template",
        string="Email Template",
        domain="[('model', '=', 'prepaid.account')]",
        ondelete="restrict",
    )
    send_sms = fields.Boolean(string="Send SMS", default=True)
    sms_template_id = fields.Many2one(
        "sms.template",
        string="SMS Template",
        domain="[('model', '=', 'prepaid.account')]",
        ondelete="restrict",
    )
    repeat_count = fields.Integer(
        string="Repeats",
        default=0,
        help="How many times the notice is sent again while the account stays at this level "
        "(0: sent once per downward crossing).",
    )
    repeat_interval = fields.Integer(
        string="Repeat Every (Hours)", default=24, help="Hours between two notices."
    )
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("repeat_count_positive", "CHECK(repeat_count >= 0)", "Repeats cannot be negative."),
        (
            "repeat_interval_positive",
            "CHECK(repeat_interval > 0)",
            "The repeat interval must be at least one hour.",
        ),
    ]

    # === BUSINESS METHODS === #

    @api.model
    def _get_rule(self, company, level):
        """The rule of ``level`` for ``company``: its own, else the shared one (or none)."""
        rules = self.sudo().search(
            [("level", "=", level), ("company_id", "in", [company.id, False])]
        )
        return rules.filtered("company_id")[:1] or rules[:1]
