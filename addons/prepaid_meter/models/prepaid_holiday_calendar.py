from odoo import api, fields, models


class PrepaidHolidayCalendar(models.Model):
    """A list of public holidays; tariffs rate these days with their holiday band periods."""

    _name = "prepaid.holiday.calendar"
    _description = "Holiday Calendar"
    _order = "name, id"

    # === FIELDS === #

    name = fields.Char(required=True)
    holiday_ids = fields.One2many("prepaid.holiday", "calendar_id", string="Holidays", copy=True)
    holiday_count = fields.Integer(compute="_compute_holiday_count")
    company_id = fields.Many2one(
        "res.company",
        index=True,
        default=lambda self: self.env.company,
        help="Empty: shared by every company.",
    )
    active = fields.Boolean(default=True)

    # === COMPUTE METHODS === #

    @api.depends("holiday_ids")
    def _compute_holiday_count(self):
        for calendar in self:
            calendar.holiday_count = len(calendar.holiday_ids)
