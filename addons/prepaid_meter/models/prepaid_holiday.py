from odoo import api, fields, models
from odoo.tools.translate import LazyTranslate

from .prepaid_access_mixin import ADMIN

_lt = LazyTranslate(__name__)


class PrepaidHoliday(models.Model):
    """A day of a holiday calendar: a public holiday (or any day a tariff prices as one), or a
    make-up working day (调休: a Saturday or Sunday worked instead of a holiday, e.g. Sunday
    2026-01-04 in China), which tariffs price as a weekday and cut-off treats as one.

    The holidays of a shared calendar (without company) are changed by administrators only,
    like the calendar itself.
    """

    _name = "prepaid.holiday"
    _inherit = ["prepaid.access.mixin"]
    _description = "Holiday"
    _order = "date, id"

    # === FIELDS === #

    calendar_id = fields.Many2one(
        "prepaid.holiday.calendar", required=True, ondelete="cascade", index=True
    )
    date = fields.Date(required=True)
    name = fields.Char(required=True, translate=True)
    kind = fields.Selection(
        [("holiday", "Holiday"), ("working_day", "Working Day")],
        string="Day Kind",
        required=True,
        default="holiday",
        help="Holiday: priced with the holiday band periods, no cut-off that day (when the "
        "no-disconnect calendar lists this calendar). Working day: a weekend day worked to make "
        "up for holidays (调休), priced and treated as a weekday.",
    )

    _sql_constraints = [
        (
            "date_unique",
            "unique(calendar_id, date)",
            "A day can only be listed once in a holiday calendar.",
        ),
    ]

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        calendars = self.env["prepaid.holiday.calendar"].browse(
            {vals["calendar_id"] for vals in vals_list if vals.get("calendar_id")}
        )
        self._check_shared_calendars(calendars)
        return super().create(vals_list)

    def write(self, vals):
        calendars = self.calendar_id
        if vals.get("calendar_id"):
            calendars |= calendars.browse(vals["calendar_id"])
        self._check_shared_calendars(calendars)
        return super().write(vals)

    def unlink(self):
        self._check_shared_calendars(self.calendar_id)
        return super().unlink()

    # === BUSINESS METHODS === #

    def _check_shared_calendars(self, calendars):
        """Refuse non-administrators when ``calendars`` hold a shared one (before the access
        rules, which would refuse with a less precise message)."""
        if any(not calendar.company_id for calendar in calendars.sudo()):
            self._check_group(
                ADMIN, _lt("change the holidays of calendars shared by every company")
            )
