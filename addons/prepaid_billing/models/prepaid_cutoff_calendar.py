import pytz

from odoo import api, fields, models
from odoo.exceptions import ValidationError


class PrepaidCutoffCalendar(models.Model):
    """Friendly hours: when the supply is not cut off (nights, weekends, holidays).

    A cut-off that falls in friendly hours is deferred; a scheduled action executes it once
    they are over. A calendar without company applies to every company; every calendar of a
    company applies (a time is friendly when any of them says so)."""

    _name = "prepaid.cutoff.calendar"
    _description = "No-Disconnect Calendar"
    _order = "company_id, name, id"

    # === FIELDS === #

    name = fields.Char(required=True)
    company_id = fields.Many2one(
        "res.company",
        index=True,
        default=lambda self: self.env.company,
        help="Empty: applies to every company.",
    )
    tz = fields.Selection(
        "_tz_get",
        string="Timezone",
        required=True,
        default=lambda self: self.env.user.tz or "Asia/Shanghai",
    )
    night_start = fields.Float(
        string="No Cut-off From", default=18.0, help="Local time (hours) the night begins."
    )
    night_end = fields.Float(
        string="No Cut-off Until", default=9.0, help="Local time (hours) the day begins."
    )
    no_cut_weekends = fields.Boolean(string="Weekends", default=True)
    holiday_calendar_ids = fields.Many2many(
        "prepaid.holiday.calendar",
        string="Holidays",
        help="No cut-off on the holidays of these calendars; their make-up working days (a "
        "Saturday or Sunday worked instead of a holiday) are not weekends.",
    )
    active = fields.Boolean(default=True)

    @api.model
    def _tz_get(self):
        return [(tz, tz) for tz in sorted(pytz.all_timezones, key=lambda tz: tz.lower())]

    @api.constrains("night_start", "night_end")
    def _check_hours(self):
        for calendar in self:
            if not (0 <= calendar.night_start <= 24 and 0 <= calendar.night_end <= 24):
                raise ValidationError(self.env._("Friendly hours are between 0:00 and 24:00."))

    # === BUSINESS METHODS === #

    @api.model
    def _get_friendly_rule(self, company, when=None):
        """Return the rule that makes ``when`` (UTC, now by default) friendly for
        ``company`` (a text naming the calendar and the rule), or ``""`` when the supply may
        be cut."""
        when = when or fields.Datetime.now()
        calendars = self.sudo().search([("company_id", "in", [company.id, False])])
        for calendar in calendars:
            rule = calendar._friendly_rule(when)
            if rule:
                return rule
        return ""

    def _friendly_rule(self, when):
        self.ensure_one()
        local = pytz.utc.localize(when).astimezone(pytz.timezone(self.tz))
        names = {"calendar": self.name}
        hour = local.hour + local.minute / 60.0
        start, end = self.night_start, self.night_end
        if start != end and (
            (start < end and start <= hour < end) or (start > end and (hour >= start or hour < end))
        ):
            return self.env._(
                "%(calendar)s: night (%(start)s-%(end)s)",
                start=self._format_hour(start),
                end=self._format_hour(end),
                **names,
            )
        # The day in the holiday calendars: a holiday, or a make-up working day (调休) that
        # makes a Saturday or Sunday a working day.
        days = (
            self.env["prepaid.holiday"]
            .sudo()
            .search(
                [("calendar_id", "in", self.holiday_calendar_ids.ids), ("date", "=", local.date())]
            )
            if self.holiday_calendar_ids
            else self.env["prepaid.holiday"]
        )
        holiday = days.filtered(lambda day: day.kind == "holiday")[:1]
        if holiday:
            return self.env._("%(calendar)s: holiday %(holiday)s", holiday=holiday.name, **names)
        working = days.filtered(lambda day: day.kind == "working_day")
        if self.no_cut_weekends and local.weekday() >= 5 and not working:
            return self.env._("%(calendar)s: weekend", **names)
        return ""

    @staticmethod
    def _format_hour(value):
        minutes = round(value * 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
