from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools.translate import LazyTranslate

from .prepaid_access_mixin import ADMIN

_lt = LazyTranslate(__name__)


class PrepaidHolidayCalendar(models.Model):
    """A list of public holidays and make-up working days (调休); tariffs rate the holidays
    with their holiday band periods and the working days as weekdays. Filled by hand or, for a
    year and a country, from the ``holidays`` package (``prepaid.holiday.fill``).

    A calendar without company is shared by every company: only administrators create,
    change or delete it (and its holidays). Holidays do not take part in the rules of a valid
    tariff (a version must price every day type anyway), so changing them checks no version.
    """

    _name = "prepaid.holiday.calendar"
    _inherit = ["prepaid.access.mixin"]
    _description = "Holiday Calendar"
    _order = "name, id"

    # === FIELDS === #

    name = fields.Char(required=True, translate=True)
    holiday_ids = fields.One2many("prepaid.holiday", "calendar_id", string="Holidays", copy=True)
    holiday_count = fields.Integer(compute="_compute_holiday_count")
    company_id = fields.Many2one(
        "res.company",
        index=True,
        default=lambda self: self.env.company,
        help="Empty: shared by every company.",
    )
    active = fields.Boolean(default=True)

    # === CONSTRAINT METHODS === #

    @api.constrains("company_id")
    def _check_company_of_users(self):
        """A calendar used by the tariffs of another company must stay theirs (or shared)."""
        for calendar in self.filtered("company_id"):
            tariffs = (
                self.env["prepaid.tariff"]
                .sudo()
                .with_context(active_test=False)
                .search([("holiday_calendar_id", "=", calendar.id)])
            )
            if tariffs.company_id - calendar.company_id:
                raise ValidationError(
                    self.env._(
                        "The holiday calendar %(calendar)s is used by the tariffs of another "
                        "company: it cannot belong to %(company)s only.",
                        calendar=calendar.name,
                        company=calendar.company_id.name,
                    )
                )

    # === COMPUTE METHODS === #

    @api.depends("holiday_ids")
    def _compute_holiday_count(self):
        for calendar in self:
            calendar.holiday_count = len(calendar.holiday_ids)

    # === ACTION METHODS === #

    def action_fill_from_package(self):
        """Open the wizard that fills the calendar from the ``holidays`` package."""
        self.ensure_one()
        return self.env["prepaid.holiday.fill"]._action_open(self)

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        if any("company_id" in vals and not vals["company_id"] for vals in vals_list):
            self._check_group(ADMIN, _lt("create holiday calendars shared by every company"))
        return super().create(vals_list)

    def write(self, vals):
        if any(not calendar.company_id for calendar in self) or (
            "company_id" in vals and not vals["company_id"]
        ):
            self._check_group(ADMIN, _lt("change holiday calendars shared by every company"))
        return super().write(vals)

    def unlink(self):
        # Before the access rules, which would refuse with a less precise message.
        if any(not calendar.company_id for calendar in self):
            self._check_group(ADMIN, _lt("delete holiday calendars shared by every company"))
        return super().unlink()
