from odoo import fields, models


class PrepaidHoliday(models.Model):
    """A public holiday (or any day a tariff prices as one) of a holiday calendar."""

    _name = "prepaid.holiday"
    _description = "Holiday"
    _order = "date, id"

    # === FIELDS === #

    calendar_id = fields.Many2one(
        "prepaid.holiday.calendar", required=True, ondelete="cascade", index=True
    )
    date = fields.Date(required=True)
    name = fields.Char(required=True)

    _sql_constraints = [
        (
            "date_unique",
            "unique(calendar_id, date)",
            "A day can only be listed once in a holiday calendar.",
        ),
    ]
