import logging
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_repr, format_date

from odoo.addons.base.models.res_partner import _tz_get

from ..tools.tariff_data import Interval, TariffDefinition, TariffError
from ..tools.tariff_engine import rate_fixed_charges, rate_intervals
from ..tools.tariff_validation import validate_definition, validate_version_dates

_logger = logging.getLogger(__name__)

# Quantities (kWh, m3) are rated with the precision of the readings: 3 decimals (Wh, litres).
QUANTITY_DIGITS = 3
TARIFF_PRICE_PRECISION = "Prepaid Tariff Price"
# The kinds of the engine (tools/tariff_data.KINDS) with their labels.
KIND_SELECTION = [
    ("flat", "Flat"),
    ("tou", "Time of Use"),
    ("tiered", "Tiered"),
    ("tiered_tou", "Tiered + Time of Use"),
]


class PrepaidTariff(models.Model):
    """A tariff: dated versions of prices (flat, time of use, tiered, tiered + time of use).

    The rating itself is done by the pure engine of ``tools/tariff_engine.py``:
    ``_engine_definition()`` turns the records into its plain data and
    ``_rate_intervals()`` rates consumption with it. The rules of a valid tariff
    also live in the engine (``validate_definition``); the constraints of the
    tariff models translate its issues with ``_tariff_issue_message()``.
    """

    _name = "prepaid.tariff"
    _description = "Tariff"
    _inherit = ["mail.thread"]
    _order = "utility, name, id"
    _check_company_auto = True

    # === FIELDS === #

    name = fields.Char(required=True, tracking=True, translate=True)
    utility = fields.Selection(
        [("electricity", "Electricity"), ("water", "Water")],
        required=True,
        default="electricity",
        tracking=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    active = fields.Boolean(default=True, tracking=True)
    tz = fields.Selection(
        _tz_get,
        string="Timezone",
        required=True,
        default=lambda self: self.env.context.get("tz") or self.env.user.tz or "UTC",
        tracking=True,
        help="Band periods and version dates are local times of this timezone; consumption "
        "recorded in UTC is converted before it is rated.",
    )
    holiday_calendar_id = fields.Many2one(
        "prepaid.holiday.calendar",
        ondelete="restrict",  # deleting it would silently change the rating
        check_company=True,
        tracking=True,
        help="Days rated with the holiday band periods (or, without them, the weekend ones).",
    )
    month_end_true_up = fields.Boolean(
        string="Month-End True-Up",
        tracking=True,
        help="Platform billing charges each reading in real time, the steps taken in time "
        "order. With this option, when a month ends its charges are trued up to the "
        "proportional convention: each step shared among the bands in proportion to the "
        "month's use (as NREL SAM's utility rate model does). The difference posts as one "
        "true-up line per account and month. It only changes anything for tiered + time of use "
        "versions priced by a grid.",
    )
    month_end_true_up_from = fields.Date(
        string="True-Up From",
        compute="_compute_month_end_true_up_from",
        store=True,
        readonly=False,
        tracking=True,
        help="The first month trued up: months before it keep their real-time charges (by "
        "default the month the option is switched on, so that it never reaches back).",
    )
    version_ids = fields.One2many("prepaid.tariff.version", "tariff_id", copy=True)
    version_count = fields.Integer(compute="_compute_current_version")
    # Not stored: "current" moves with the date.
    current_version_id = fields.Many2one(
        "prepaid.tariff.version",
        string="Version in Force",
        compute="_compute_current_version",
        help="The version in force today.",
    )
    kind = fields.Selection(
        KIND_SELECTION, string="Current Kind", compute="_compute_current_version"
    )
    note = fields.Html(string="Notes")

    # === CONSTRAINT METHODS === #

    @api.constrains("version_ids")
    def _check_version_dates(self):
        """Versions of a tariff must not overlap (the rule lives in the engine)."""
        for tariff in self:
            versions = tariff.version_ids.sorted("date_from")
            issues = validate_version_dates([version._engine_dates() for version in versions])
            if issues:
                raise ValidationError(tariff._tariff_issues_text(issues))

    # === COMPUTE METHODS === #

    @api.depends("month_end_true_up")
    @api.depends_context("tz")
    def _compute_month_end_true_up_from(self):
        first_of_month = fields.Date.context_today(self).replace(day=1)
        for tariff in self:
            if not tariff.month_end_true_up:
                tariff.month_end_true_up_from = False
            elif not tariff.month_end_true_up_from:
                tariff.month_end_true_up_from = first_of_month

    @api.depends("version_ids.date_from", "version_ids.date_to", "version_ids.kind")
    @api.depends_context("tz")
    def _compute_current_version(self):
        today = fields.Date.context_today(self)
        for tariff in self:
            tariff.version_count = len(tariff.version_ids)
            tariff.current_version_id = tariff.version_ids.filtered(
                lambda version: (
                    version.date_from <= today and (not version.date_to or today <= version.date_to)
                )
            )[:1]
            tariff.kind = tariff.current_version_id.kind

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        # Versions written through the tariff are checked once all of them are written.
        with self.env["prepaid.tariff.version"]._defer_engine_checks():
            return super().create(vals_list)

    def write(self, vals):
        with self.env["prepaid.tariff.version"]._defer_engine_checks():
            return super().write(vals)

    # === BUSINESS METHODS: ENGINE === #

    def _engine_definition(self):
        """Return the tariff as the plain data of the engine (a ``TariffDefinition``).

        :raises ValidationError: the tariff breaks a rule of the engine (translated).
        """
        self.ensure_one()
        definition = TariffDefinition(
            versions=tuple(version._engine_version() for version in self.version_ids),
            holidays=frozenset(
                day.date for day in self.holiday_calendar_id.holiday_ids if day.kind == "holiday"
            ),
            working_days=frozenset(
                day.date
                for day in self.holiday_calendar_id.holiday_ids
                if day.kind == "working_day"
            ),
            currency_digits=self.currency_id.decimal_places,
            quantity_digits=QUANTITY_DIGITS,
            name=self.name,
            # Consumption is rated on UTC instants, each local day's band boundaries
            # converted: daylight-saving days last 23 or 25 hours.
            tz=self.tz or "UTC",
        )
        issues = validate_definition(definition)
        if issues:
            raise ValidationError(self._tariff_issues_text(issues, definition))
        return definition

    def _rate_intervals(self, intervals, cycle_quantity=0, cycle_amount=0):
        """Rate consumption intervals with the tariff (the hook billing calls).

        :param intervals: ``Interval`` objects of the engine, or ``(start, end, quantity)``
            / ``(start, end, quantity, band_split)`` tuples. Times are naive UTC datetimes
            (as Odoo stores them), rated by the wall clock of ``tz`` (the engine converts each
            local day's band boundaries to UTC); quantities are Decimals, or floats taken at 3
            decimals.
        :param cycle_quantity: quantity already consumed in the billing cycle (tiered steps).
        :param cycle_amount: exact amount already charged in the cycle (the ``cycle_amount``
            of the previous result), so that rounding spans the whole cycle.
        :return: the engine's ``RatingResult``; its line times are naive UTC.
        :raises UserError: the consumption cannot be rated (no version in force, overlapping
            intervals...), with a translated message.
        """
        self.ensure_one()
        definition = self._engine_definition()
        try:
            result = rate_intervals(
                definition,
                [self._engine_interval(interval) for interval in intervals],
                self._engine_quantity(cycle_quantity),
                cycle_amount,
            )
        except TariffError as error:
            raise UserError(
                self.env._(
                    "Tariff %(tariff)s cannot rate this consumption: %(reason)s",
                    tariff=self.display_name,
                    reason=self._tariff_issue_message(error.code, error.params),
                )
            ) from error
        return result

    def _rate_fixed_charges(self, date_from, date_to):
        """Return the fixed charges due from ``date_from`` to ``date_to`` (inclusive dates).

        A daily charge is due each day a version is in force, a monthly charge on the first
        day of each month. Lines are those of the engine (``charge`` names the charge).
        """
        self.ensure_one()
        return rate_fixed_charges(self._engine_definition(), date_from, date_to)

    @api.model
    def _engine_quantity(self, value):
        """A quantity as an exact Decimal; floats are read at the quantity precision."""
        if isinstance(value, float):
            return Decimal(float_repr(value, QUANTITY_DIGITS))
        return value

    @api.model
    def _engine_interval(self, interval):
        """An ``Interval`` of the engine from an interval or a ``(start, end, quantity[,
        band_split])`` tuple of naive UTC times; float quantities read at 3 decimals."""
        if isinstance(interval, Interval):
            return interval
        split = interval[3] if len(interval) > 3 else None
        return Interval(
            interval[0],
            interval[1],
            self._engine_quantity(interval[2]),
            tuple((band, self._engine_quantity(qty)) for band, qty in dict(split).items())
            if split
            else None,
        )

    # === BUSINESS METHODS: MESSAGES === #

    def _tariff_issues_text(self, issues, definition=None):
        """One translated text for engine issues, each line naming its version."""
        lines = []
        for issue in issues:
            message = self._tariff_issue_message(issue.code, issue.params)
            if definition is not None and issue.version is not None:
                message = self.env._(
                    "Version %(version)s: %(message)s",
                    version=definition.versions[issue.version].label,
                    message=message,
                )
            lines.append(message)
        return "\n".join(
            [self.env._("Tariff %(tariff)s:", tariff=self.display_name or self.name or ""), *lines]
        )

    @api.model
    def _tariff_issue_message(self, code, params):
        """The translated message of an engine issue or error code.

        The engine (``tools/tariff_data.MESSAGES``) has the English source of every code; the
        strings here are their translatable twins, with the raw parameters (band, day type,
        season, kind codes; dates; Decimals) turned into labels.
        """
        _ = self.env._
        p = self._tariff_message_params(params)
        messages = {
            "kind_unknown": lambda: _("Unknown tariff kind %(kind)s.", **p),
            "version_dates": lambda: _(
                "The version ends (%(valid_to)s) before it starts (%(valid_from)s).", **p
            ),
            "version_overlap": lambda: _("Versions %(first)s and %(second)s overlap.", **p),
            "digits_invalid": lambda: _(
                "The currency and quantity precisions must be between 0 and %(max)s.", **p
            ),
            "unit_price_negative": lambda: _("The unit price cannot be negative (%(price)s).", **p),
            "band_price_negative": lambda: _(
                "The price of band %(band)s cannot be negative (%(price)s).", **p
            ),
            "band_price_missing": lambda: _(
                "Band %(band)s is used by the band periods but has no price.", **p
            ),
            "grid_price_missing": lambda: _(
                "Band %(band)s is used by the band periods but step %(tier)s of the price grid "
                "has no price for it.",
                **p,
            ),
            "grid_price_negative": lambda: _(
                "The grid price of band %(band)s in step %(tier)s cannot be negative (%(price)s).",
                **p,
            ),
            "grid_step_unknown": lambda: _(
                "The price grid refers to step %(tier)s, which does not exist.", **p
            ),
            "pricing_unknown": lambda: _("Unknown pricing %(pricing)s of steps and bands.", **p),
            "tier_price_negative": lambda: _(
                "The price of step %(tier)s cannot be negative (%(price)s).", **p
            ),
            "fixed_charge_negative": lambda: _(
                "The fixed charge %(name)s cannot be negative (%(price)s).", **p
            ),
            "fixed_period_unknown": lambda: _(
                "The fixed charge %(name)s has an unknown period %(period)s.", **p
            ),
            "price_precision": lambda: _(
                "The price %(price)s has more than %(digits)s decimals.", **p
            ),
            "tiers_missing": lambda: _("A tiered version needs at least one step."),
            "tier_first_start": lambda: _("The first step must start at 0, not at %(start)s.", **p),
            "tier_order": lambda: _(
                "Step %(tier)s starts at %(start)s, which is not above the start of the "
                "previous step (%(previous)s): list the steps in increasing order.",
                **p,
            ),
            "tier_precision": lambda: _(
                "The step start %(start)s has more than %(digits)s decimals.", **p
            ),
            "season_date": lambda: _(
                "Season %(season)s has an invalid date %(month)s/%(day)s.", **p
            ),
            "season_month": lambda: _("Season %(season)s has an invalid month %(month)s.", **p),
            "season_duplicate": lambda: _(
                "Two seasons named %(season)s are used by the same version.", **p
            ),
            "season_overlap": lambda: _(
                "Seasons %(first)s and %(second)s overlap on %(month)s/%(day)s.", **p
            ),
            "season_unknown": lambda: _(
                "A band period refers to the undefined season %(season)s.", **p
            ),
            "band_unknown": lambda: _("Unknown band %(band)s.", **p),
            "day_type_unknown": lambda: _("Unknown day type %(day_type)s.", **p),
            "periods_missing": lambda: _("A time-of-use version needs band periods."),
            "period_boundary": lambda: _(
                "The time %(time)s is not on a 15-minute boundary between 00:00 and 24:00.",
                **p,
            ),
            "period_empty": lambda: _(
                "The band period %(start)s-%(end)s ends before it starts (split a period "
                "crossing midnight in two).",
                **p,
            ),
            "period_overlap": lambda: _(
                "Band periods %(first)s and %(second)s overlap (%(season)s, %(day_type)s).", **p
            ),
            "period_gap": lambda: _(
                "No band is defined from %(start)s to %(end)s (%(season)s, %(day_type)s).", **p
            ),
            "schedule_missing": lambda: _(
                "No band periods apply to %(day_type)s (%(season)s).", **p
            ),
            "definition_invalid": lambda: _("The tariff definition is invalid: %(issues)s", **p),
            "no_version": lambda: _("No tariff version is in force on %(date)s.", **p),
            "cycle_quantity_invalid": lambda: _(
                "The cycle-to-date quantity %(quantity)s must be a non-negative Decimal with "
                "at most %(digits)s decimals.",
                **p,
            ),
            "cycle_amount_invalid": lambda: _(
                "The cycle-to-date amount %(amount)s must be a non-negative Decimal with at "
                "most %(digits)s decimals.",
                **p,
            ),
            "interval_empty": lambda: _(
                "The interval %(start)s - %(end)s does not end after it starts.", **p
            ),
            "interval_overlap": lambda: _(
                "The interval starting %(start)s overlaps the previous one.", **p
            ),
            "interval_aware": lambda: _("Interval times must be naive datetimes."),
            "timezone_unknown": lambda: _("Unknown timezone %(tz)s.", **p),
            "quantity_negative": lambda: _("The quantity %(quantity)s cannot be negative.", **p),
            "quantity_precision": lambda: _(
                "The quantity %(quantity)s has more than %(digits)s decimals.", **p
            ),
            "quantity_type": lambda: _(
                "The quantity %(quantity)s must be a Decimal or an integer.", **p
            ),
            "split_sum": lambda: _(
                "The register split %(split)s does not add up to the quantity %(quantity)s.",
                **p,
            ),
            "register_band_unpriced": lambda: _(
                "The register of band %(band)s reports %(quantity)s but the version in force "
                "on %(date)s has no %(band)s band periods.",
                **p,
            ),
        }
        message = messages.get(code)
        if message is None:  # a code added to the engine without its translation here
            _logger.warning("Tariff engine code %s has no translated message", code)
            return str(TariffError(code, **params))
        return message()

    @api.model
    def _tariff_message_params(self, params):
        """Labels for the raw parameters of an engine issue."""
        band_model = self.env["prepaid.tariff.band"]
        bands = dict(band_model._fields["band"]._description_selection(self.env))
        day_types = dict(band_model._fields["day_type"]._description_selection(self.env))
        kinds = dict(
            self.env["prepaid.tariff.version"]._fields["kind"]._description_selection(self.env)
        )
        labels = {}
        for key, value in params.items():
            if key == "season":
                value = value if value is not None else self.env._("all year")
            elif key == "band":
                value = bands.get(value, value)
            elif key == "day_type":
                value = day_types.get(value, value)
            elif key == "kind":
                value = kinds.get(value, value)
            elif key in ("date", "valid_from", "valid_to") and value:
                value = format_date(self.env, value)
            labels[key] = value if isinstance(value, str) else str(value)
        return labels
