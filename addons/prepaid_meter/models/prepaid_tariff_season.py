from calendar import month_abbr

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools.tariff_data import Season
from ..tools.tariff_validation import validate_seasons

MONTHS = [(str(month), month_abbr[month]) for month in range(1, 13)]


class PrepaidTariffSeason(models.Model):
    """A season: a range of days in every year (e.g. summer, July 1 to September 30).

    Seasons are shared by the tariffs: band periods refer to them, and a version may not use
    two seasons that overlap. A season ending before it starts wraps over the new year.
    """

    _name = "prepaid.tariff.season"
    _description = "Tariff Season"
    _order = "start_month_number, start_day, id"

    # === FIELDS === #

    name = fields.Char(required=True)
    start_month = fields.Selection(MONTHS, required=True, default="1")
    start_day = fields.Integer(required=True, default=1)
    end_month = fields.Selection(MONTHS, required=True, default="12")
    end_day = fields.Integer(
        required=True,
        default=31,
        help="Included. To end a season with February, use the 29th: it covers leap years.",
    )
    # Stored to sort the seasons in calendar order (the selection values are strings).
    start_month_number = fields.Integer(compute="_compute_start_month_number", store=True)
    company_id = fields.Many2one(
        "res.company",
        index=True,
        default=lambda self: self.env.company,
        help="Empty: shared by every company.",
    )
    active = fields.Boolean(default=True)

    # === CONSTRAINT METHODS === #

    @api.constrains("name", "start_month", "start_day", "end_month", "end_day")
    def _check_dates(self):
        tariff = self.env["prepaid.tariff"]
        for season in self:
            issues = validate_seasons([season._engine_season()])
            if issues:
                raise ValidationError(
                    "\n".join(tariff._tariff_issue_message(i.code, i.params) for i in issues)
                )
        # New dates may make two seasons of a version overlap.
        bands = self.env["prepaid.tariff.band"].search([("season_id", "in", self.ids)])
        bands.version_id._check_engine_rules()

    # === COMPUTE METHODS === #

    @api.depends("start_month")
    def _compute_start_month_number(self):
        for season in self:
            season.start_month_number = int(season.start_month or 0)

    @api.depends("name", "start_month", "start_day", "end_month", "end_day")
    def _compute_display_name(self):
        for season in self:
            if not (season.start_month and season.end_month):
                season.display_name = season.name
                continue
            season.display_name = self.env._(
                "%(name)s (%(start_month)s %(start_day)s - %(end_month)s %(end_day)s)",
                name=season.name,
                start_month=dict(MONTHS)[season.start_month],
                start_day=season.start_day,
                end_month=dict(MONTHS)[season.end_month],
                end_day=season.end_day,
            )

    # === BUSINESS METHODS === #

    def _engine_season(self):
        """The season as the engine's ``Season`` (its name is its code)."""
        self.ensure_one()
        return Season(
            code=self.name,
            start_month=int(self.start_month),
            start_day=self.start_day,
            end_month=int(self.end_month),
            end_day=self.end_day,
        )
