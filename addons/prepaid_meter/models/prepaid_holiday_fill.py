import holidays as holidays_package

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import get_lang


class PrepaidHolidayFill(models.TransientModel):
    """Fill a holiday calendar for a year and a country from the PyPI package ``holidays``
    (MIT): its public holidays, and its make-up working days (调休) where the country has them
    (China: the weekend days worked around the Spring Festival, National Day...).

    Days already in the calendar are left as they are (they may have been edited by hand);
    the days added can be edited or deleted afterwards like any other.
    """

    _name = "prepaid.holiday.fill"
    _description = "Fill a Holiday Calendar"

    calendar_id = fields.Many2one("prepaid.holiday.calendar", required=True, ondelete="cascade")
    country_id = fields.Many2one(
        "res.country",
        required=True,
        default=lambda self: self.env.company.country_id or self.env.ref("base.cn"),
    )
    subdivision = fields.Char(
        help="Optional: a state or province code of the country (e.g. CA for California), "
        "for its own holidays."
    )
    year = fields.Integer(required=True, default=lambda self: fields.Date.context_today(self).year)

    # === ACTION METHODS === #

    def action_fill(self):
        """Add the year's holidays and make-up working days missing from the calendar."""
        self.ensure_one()
        days = self._get_package_days()
        existing = set(self.calendar_id.holiday_ids.mapped("date"))
        to_add = [
            {"calendar_id": self.calendar_id.id, "date": day, "name": name, "kind": kind}
            for day, (name, kind) in sorted(days.items())
            if day not in existing
        ]
        self.env["prepaid.holiday"].create(to_add)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._(
                    "%(added)s days added to %(calendar)s (%(kept)s already listed were kept).",
                    added=len(to_add),
                    calendar=self.calendar_id.display_name,
                    kept=len(days) - len(to_add),
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    # === BUSINESS METHODS === #

    def _get_package_days(self):
        """``{date: (name, kind)}`` of the year from the ``holidays`` package.

        :raises UserError: the package does not know the country, subdivision or year
        """
        self.ensure_one()
        code = self.country_id.code
        supported = holidays_package.list_supported_countries()
        if code not in supported:
            raise UserError(
                self.env._(
                    "The holidays package has no calendar for %(country)s.",
                    country=self.country_id.name,
                )
            )
        subdivision = (self.subdivision or "").strip().upper() or None
        if subdivision and subdivision not in supported[code]:
            raise UserError(
                self.env._(
                    "The holidays package knows no subdivision %(subdivision)s of %(country)s "
                    "(known: %(known)s).",
                    subdivision=subdivision,
                    country=self.country_id.name,
                    known=", ".join(supported[code]) or "-",
                )
            )
        if not 1900 <= self.year <= 2100:
            raise UserError(self.env._("Choose a year between 1900 and 2100."))
        country = holidays_package.country_holidays(code, subdiv=subdivision, years=self.year)
        language = get_lang(self.env).code
        if language in (country.supported_languages or ()):
            country = holidays_package.country_holidays(
                code, subdiv=subdivision, years=self.year, language=language
            )
        days = {day: (name, "holiday") for day, name in country.items()}
        working_name = self.env._("Make-up working day")
        for day in getattr(country, "weekend_workdays", ()):
            if day.year == self.year and day not in days:
                days[day] = (working_name, "working_day")
        return days

    @api.model
    def _action_open(self, calendar):
        """The wizard's window for ``calendar`` (the calendar form's button)."""
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Fill from the holidays package"),
            "res_model": self._name,
            "view_mode": "form",
            "target": "new",
            "context": {"default_calendar_id": calendar.id},
        }
