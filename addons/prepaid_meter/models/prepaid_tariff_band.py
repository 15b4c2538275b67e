from odoo import api, fields, models

from ..tools.tariff_data import BandPeriod
from ..tools.tariff_validation import validate_period


class PrepaidTariffBand(models.Model):
    """A band period: band ``band`` applies from ``hour_from`` to ``hour_to``.

    Times are on 15-minute boundaries; the periods of one (season, day type) of a version
    cover the whole day without overlap (checked on the version, where all the periods are
    known, also when a period is written on its own: ``prepaid.tariff.version.detail``). A
    period crossing midnight is entered as two periods.
    """

    _name = "prepaid.tariff.band"
    _inherit = ["prepaid.tariff.version.detail"]
    _description = "Tariff Band Period"
    _order = "version_id, season_id, day_type, hour_from, id"
    _check_company_auto = True

    # === FIELDS === #

    version_id = fields.Many2one(
        "prepaid.tariff.version", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="version_id.company_id")
    season_id = fields.Many2one(
        "prepaid.tariff.season",
        ondelete="restrict",
        check_company=True,
        index="btree_not_null",  # a season change looks up the versions using it
        help="Empty: all year, i.e. the days outside the seasons of the other periods.",
    )
    day_type = fields.Selection(
        [
            ("all", "All Days"),
            ("weekday", "Weekdays"),
            ("weekend", "Weekends"),
            ("holiday", "Holidays"),
        ],
        required=True,
        default="all",
        help="Holidays (from the holiday calendar of the tariff) without periods of their own "
        "use the weekend periods, then the periods of all days.",
    )
    hour_from = fields.Float(string="From", required=True, default=0.0)
    hour_to = fields.Float(string="To", required=True, default=24.0)
    band = fields.Selection(
        [
            ("sharp", "Sharp"),
            ("peak", "Peak"),
            ("flat", "Flat"),
            ("valley", "Valley"),
            ("deep_valley", "Deep Valley"),
        ],
        required=True,
        default="flat",
    )

    # === CONSTRAINT METHODS === #

    @api.constrains("hour_from", "hour_to", "band", "day_type")
    def _check_period(self):
        """The rules of one period on its own; the version checks overlaps and gaps."""
        for period in self:
            issues = validate_period(period._engine_period())
            if issues:
                period._raise_engine_issues(issues)

    # === BUSINESS METHODS === #

    def _engine_period(self):
        """The period as the engine's ``BandPeriod`` (times in minutes of the day)."""
        self.ensure_one()
        return BandPeriod(
            band=self.band,
            start=round(self.hour_from * 60),
            end=round(self.hour_to * 60),
            day_type=self.day_type,
            season=self.season_id.name or None,
        )
