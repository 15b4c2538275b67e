from datetime import date

from babel.dates import format_skeleton

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools.misc import babel_locale_parse, get_lang
from odoo.tools.translate import LazyTranslate

from ..tools.tariff_data import Season
from ..tools.tariff_validation import validate_seasons
from .prepaid_access_mixin import ADMIN

_lt = LazyTranslate(__name__)


class PrepaidTariffSeason(models.Model):
    """A season: a range of days in every year (e.g. summer, July 1 to September 30), or a
    set of months (e.g. July, August and January).

    Month names are shown in the user's language (babel), in the selections and in the
    season's name alike. Seasons are shared by the tariffs: band periods refer to them, and a
    version may not use two seasons that overlap. A season ending before it starts wraps over
    the new year.

    A season without company is shared by every company: only administrators create, change
    or delete those. Any change of a season checks every version using it, in every company.
    """

    _name = "prepaid.tariff.season"
    _inherit = ["prepaid.access.mixin"]
    _description = "Tariff Season"
    _order = "start_month_number, start_day, id"

    # === FIELDS === #

    name = fields.Char(required=True, translate=True)
    season_type = fields.Selection(
        [("range", "Date Range"), ("months", "Months")],
        string="Defined By",
        required=True,
        default="range",
        help="Date range: from a day to a day of every year (it may wrap over the new year). "
        "Months: whole months, which need not follow each other.",
    )
    month_ids = fields.Many2many(
        "prepaid.tariff.month",
        string="Months",
        help="The months of a season defined by months.",
    )
    start_month = fields.Selection("_month_selection", required=True, default="1")
    start_day = fields.Integer(required=True, default=1)
    end_month = fields.Selection("_month_selection", required=True, default="12")
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

    @api.constrains(
        "name", "start_month", "start_day", "end_month", "end_day", "season_type", "month_ids"
    )
    def _check_dates(self):
        tariff = self.env["prepaid.tariff"]
        for season in self:
            if season.season_type == "months" and not season.month_ids:
                raise ValidationError(
                    self.env._("Season %(season)s needs at least one month.", season=season.name)
                )
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

    @api.depends("start_month", "season_type", "month_ids")
    def _compute_start_month_number(self):
        for season in self:
            if season.season_type == "months":
                season.start_month_number = min(season.month_ids.mapped("number"), default=0)
            else:
                season.start_month_number = int(season.start_month or 0)

    @api.depends("name", "start_month", "start_day", "end_month", "end_day", "season_type")
    @api.depends("month_ids")
    @api.depends_context("lang")
    def _compute_display_name(self):
        locale = babel_locale_parse(get_lang(self.env).code)
        months = self.env["prepaid.tariff.month"]._month_names()
        for season in self:
            if season.season_type == "months":
                numbers = sorted(season.month_ids.mapped("number"))
                period = self.env._(", ").join(months[number] for number in numbers)
            elif season.start_month and season.end_month:
                period = self.env._(
                    "%(start)s - %(end)s",
                    start=_month_day(season.start_month, season.start_day, locale),
                    end=_month_day(season.end_month, season.end_day, locale),
                )
            else:
                period = ""
            season.display_name = (
                self.env._("%(name)s (%(period)s)", name=season.name, period=period)
                if period
                else season.name
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

    @api.model
    def _month_selection(self):
        """The months, named in the user's language (``1月`` in zh_CN, ``Jan`` in English)."""
        names = self.env["prepaid.tariff.month"]._month_names()
        return [(str(month), names[month]) for month in range(1, 13)]

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
            months=tuple(self.month_ids.mapped("number")) if self.season_type == "months" else (),
        )


def _month_day(month, day, locale):
    """``Jul 1`` / ``7月1日``: a day of every year in the user's language (any valid day of a
    leap year; an invalid one is shown as numbers, the constraint refuses it)."""
    try:
        return format_skeleton("MMMd", date(2000, int(month), day), locale=locale)
    except ValueError:
        return f"{month}/{day}"
