from calendar import month_abbr

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools.translate import LazyTranslate

from ..tools.tariff_data import Season
from ..tools.tariff_validation import validate_seasons
from .prepaid_access_mixin import ADMIN

_lt = LazyTranslate(__name__)

MONTHS = [(str(month), month_abbr[month]) for month in range(1, 13)]


class PrepaidTariffSeason(models.Model):
    """A season: a range of days in every year (e.g. summer, July 1 to September 30).

    Seasons are shared by the tariffs: band periods refer to them, and a version may not use
    two seasons that overlap. A season ending before it starts wraps over the new year.

    A season without company is shared by every company: only administrators create, change
    or delete those. Any change of a season checks every version using it, in every company.
    """

    _name = "prepaid.tariff.season"
    _inherit = ["prepaid.access.mixin"]
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
        # New dates may make two seasons of a version overlap, a new name (the season's code
        # for the engine) may clash with another season of a version: in any company.
        self._get_using_versions()._check_engine_rules()

    @api.constrains("company_id")
    def _check_company_of_users(self):
        """A season used by the tariffs of another company must stay theirs (or shared)."""
        for season in self.filtered("company_id"):
            companies = season._get_using_versions().sudo().company_id
            if companies - season.company_id:
                raise ValidationError(
                    self.env._(
                        "The season %(season)s is used by the tariffs of another company: "
                        "it cannot belong to %(company)s only.",
                        season=season.name,
                        company=season.company_id.name,
                    )
                )

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

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        if any("company_id" in vals and not vals["company_id"] for vals in vals_list):
            self._check_group(ADMIN, _lt("create seasons shared by every company"))
        return super().create(vals_list)

    def write(self, vals):
        if any(not season.company_id for season in self) or (
            "company_id" in vals and not vals["company_id"]
        ):
            self._check_group(ADMIN, _lt("change seasons shared by every company"))
        return super().write(vals)

    def unlink(self):
        # Before the access rules, which would refuse with a less precise message.
        if any(not season.company_id for season in self):
            self._check_group(ADMIN, _lt("delete seasons shared by every company"))
        return super().unlink()

    # === BUSINESS METHODS === #

    def _get_using_versions(self):
        """The tariff versions whose band periods use the seasons, in every company.

        Searched in sudo (a shared season is used by other companies); returned in the
        environment of ``self``, so that what is shown of them depends on the user.
        """
        bands = self.env["prepaid.tariff.band"].sudo().search([("season_id", "in", self.ids)])
        return self.env["prepaid.tariff.version"].browse(bands.version_id.ids)

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
