from contextlib import contextmanager
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import float_is_zero, float_repr, format_date

from ..tools.tariff_data import BANDS, TIERED_KINDS, TOU_KINDS, TariffVersion
from ..tools.tariff_validation import validate_version, validate_version_dates
from .prepaid_tariff import KIND_SELECTION, QUANTITY_DIGITS, TARIFF_PRICE_PRECISION

# Key of ``cr.cache``: the ids of the versions to check when the outermost operation on tariff
# data ends (see ``_defer_engine_checks``). On the cursor, not in the context, so that no
# client can switch the checks off.
_PENDING_CHECKS = "prepaid_tariff_version_pending_checks"


class PrepaidTariffVersion(models.Model):
    """The prices of a tariff in force from ``date_from`` to ``date_to`` (both included).

    The ``kind`` says which prices apply: ``unit_price`` (flat), the band prices and band
    periods (time of use), the steps (tiered), or band price + step adder (tiered + time of
    use). Fixed charges apply to every kind. The rules (no overlap or gap in a day, ordered
    steps, no negative price...) are the engine's ``validate_version``.

    They hold however the version is written: its details (band periods, steps, fixed
    charges) check their version when they are created, changed, moved or deleted on their
    own (``prepaid.tariff.version.detail``), and a season checks every version using it, in
    every company. The checks run once, when the outermost write ends, so that a form saving
    its lines one after the other is judged on the result.

    Versions are not locked once used: nothing rates consumption yet (the ledger of
    prepaid_billing does not exist). When it does, a version that has rated consumption must
    refuse changes of its prices and periods (a new version is dated instead).
    """

    _name = "prepaid.tariff.version"
    _description = "Tariff Version"
    _order = "tariff_id, date_from desc, id desc"
    _check_company_auto = True

    # === FIELDS === #

    tariff_id = fields.Many2one("prepaid.tariff", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="tariff_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="tariff_id.currency_id")
    quantity_unit = fields.Char(string="Unit", compute="_compute_units")
    price_unit = fields.Char(string="Price Unit", compute="_compute_units")
    date_from = fields.Date(string="Valid From", required=True, default=fields.Date.context_today)
    date_to = fields.Date(
        string="Valid To", help="Last day the version is in force (included); empty: no end."
    )
    kind = fields.Selection(
        KIND_SELECTION,
        required=True,
        default="flat",
        help="Flat: one unit price. Time of use: a price per band (sharp, peak, flat, valley, "
        "deep valley) and band periods by season and day type. Tiered: monthly steps, "
        "cumulative in the billing cycle, each with its unit price. Tiered + time of use: the "
        "band price plus the adder of the step the consumption falls in.",
    )
    tou_pricing = fields.Selection(
        [("adder", "Band Price + Step Adder"), ("grid", "Price Grid (Band x Step)")],
        string="Prices of Steps and Bands",
        required=True,
        default="adder",
        help="Tiered + time of use. Band price + step adder: each step adds the same amount to "
        "every band. Price grid: each step has its own price in each band.",
    )
    unit_price = fields.Float(digits=TARIFF_PRICE_PRECISION, help="Price per unit (kWh, m³).")
    price_sharp = fields.Float(string="Sharp Price", digits=TARIFF_PRICE_PRECISION)
    price_peak = fields.Float(string="Peak Price", digits=TARIFF_PRICE_PRECISION)
    price_flat = fields.Float(string="Flat Price", digits=TARIFF_PRICE_PRECISION)
    price_valley = fields.Float(string="Valley Price", digits=TARIFF_PRICE_PRECISION)
    price_deep_valley = fields.Float(
        string="Deep Valley Price",
        digits=TARIFF_PRICE_PRECISION,
        help="Deep valley (深谷): the cheapest band of some provinces, e.g. midday solar hours.",
    )
    band_ids = fields.One2many(
        "prepaid.tariff.band", "version_id", string="Band Periods", copy=True
    )
    tier_ids = fields.One2many("prepaid.tariff.tier", "version_id", string="Steps", copy=True)
    fixed_charge_ids = fields.One2many(
        "prepaid.tariff.fixed.charge", "version_id", string="Fixed Charges", copy=True
    )
    is_current = fields.Boolean(string="In Force", compute="_compute_is_current")
    summary = fields.Char(compute="_compute_summary")
    note = fields.Text(string="Notes")

    # === CONSTRAINT METHODS === #

    @api.constrains(
        "date_from",
        "date_to",
        "kind",
        "tou_pricing",
        "unit_price",
        "price_sharp",
        "price_peak",
        "price_flat",
        "price_valley",
        "price_deep_valley",
        "band_ids",
        "tier_ids",
        "fixed_charge_ids",
    )
    def _check_engine_rules(self):
        """Refuse what the engine refuses: overlaps and gaps in a day, unordered steps,
        negative prices, versions of a tariff overlapping each other.

        Inside ``_defer_engine_checks`` the versions are only noted, and checked when the
        outermost block ends.
        """
        pending = self.env.cr.cache.get(_PENDING_CHECKS)
        if pending is not None:
            pending.update(self.ids)
            return
        self._validate_engine_rules()

    # === COMPUTE METHODS === #

    @api.depends("tariff_id.utility", "currency_id")
    def _compute_units(self):
        Meter = self.env["prepaid.meter"]
        for version in self:
            unit = Meter._get_unit_label(version.tariff_id.utility)
            version.quantity_unit = unit
            version.price_unit = f"{version.currency_id.symbol or ''}/{unit}"

    @api.depends("date_from", "date_to")
    def _compute_display_name(self):
        for version in self:
            if not version.date_from:
                version.display_name = self.env._("New Version")
            elif version.date_to:
                version.display_name = self.env._(
                    "%(date_from)s to %(date_to)s",
                    date_from=format_date(self.env, version.date_from),
                    date_to=format_date(self.env, version.date_to),
                )
            else:
                version.display_name = self.env._(
                    "from %(date_from)s", date_from=format_date(self.env, version.date_from)
                )

    @api.depends("date_from", "date_to")
    @api.depends_context("tz")
    def _compute_is_current(self):
        today = fields.Date.context_today(self)
        for version in self:
            version.is_current = bool(
                version.date_from
                and version.date_from <= today
                and (not version.date_to or today <= version.date_to)
            )

    @api.depends("kind", "band_ids", "tier_ids", "fixed_charge_ids")
    def _compute_summary(self):
        for version in self:
            parts = []
            if version.kind in TOU_KINDS:
                parts.append(self.env._("Band periods: %(count)s", count=len(version.band_ids)))
            if version.kind in TIERED_KINDS:
                parts.append(self.env._("Steps: %(count)s", count=len(version.tier_ids)))
            if version.fixed_charge_ids:
                parts.append(
                    self.env._("Fixed charges: %(count)s", count=len(version.fixed_charge_ids))
                )
            version.summary = " · ".join(parts)

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        with self._defer_engine_checks():
            versions = super().create(vals_list)
        for version in versions:
            version._post_tariff_message(
                self.env._("Version %(version)s created.", version=version.display_name)
            )
        return versions

    def write(self, vals):
        with self._defer_engine_checks():
            result = super().write(vals)
        changed = [
            self._fields[name]._description_string(self.env)
            for name in vals
            if name in self._fields
        ]
        for version in self:
            version._post_tariff_message(
                self.env._(
                    "Version %(version)s changed: %(fields)s.",
                    version=version.display_name,
                    fields=", ".join(changed),
                )
            )
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_post_tariff_message(self):
        for version in self:
            version._post_tariff_message(
                self.env._("Version %(version)s deleted.", version=version.display_name)
            )

    # === BUSINESS METHODS: INTEGRITY === #

    @contextmanager
    def _defer_engine_checks(self):
        """Check the versions touched inside the block once, when the outermost block ends.

        A version is only whole again when its last line is written: the web client saves
        the band periods of a form one after the other (moving a boundary shrinks one period
        before growing the next), an import or a script may do the same. Inside the block,
        ``_check_engine_rules`` notes its versions; they are checked on the way out, unless
        the block fails (its changes are then rolled back with it).
        """
        cache = self.env.cr.cache
        if _PENDING_CHECKS in cache:
            yield
            return
        pending = cache[_PENDING_CHECKS] = set()
        try:
            yield
        finally:
            del cache[_PENDING_CHECKS]
        self.env["prepaid.tariff.version"].browse(sorted(pending))._validate_engine_rules()

    def _validate_engine_rules(self):
        """Raise a ValidationError for the first version of ``self`` the engine refuses.

        Checked in sudo: a shared season is used by the versions of every company. The
        message names the tariff and the version when the user may read them, and only says
        that a tariff of another company would become invalid otherwise.
        """
        versions = self.sudo().exists()
        readable = set(self.browse(versions.ids)._filtered_access("read").ids)
        for version in versions:
            issues = validate_version(version._engine_version(), QUANTITY_DIGITS)
            siblings = version.tariff_id.version_ids.sorted("date_from")
            issues += validate_version_dates([sibling._engine_dates() for sibling in siblings])
            if not issues:
                continue
            if version.id not in readable:
                raise ValidationError(
                    self.env._(
                        "This change would make a tariff of another company invalid. Ask an "
                        "administrator of the tariffs to change it."
                    )
                )
            tariff = version.tariff_id
            raise ValidationError(
                "\n".join(
                    [
                        self.env._(
                            "Tariff %(tariff)s, version %(version)s:",
                            tariff=tariff.display_name,
                            version=version.display_name,
                        ),
                        *(tariff._tariff_issue_message(i.code, i.params) for i in issues),
                    ]
                )
            )

    # === BUSINESS METHODS === #

    def _post_tariff_message(self, body):
        """Price changes are tracked in the chatter of the tariff (who, when, what)."""
        if not self.env.context.get("tracking_disable") and self.tariff_id:
            self.tariff_id.message_post(body=body, message_type="notification")

    def _engine_dates(self):
        """The version as an engine ``TariffVersion`` carrying only its dates."""
        self.ensure_one()
        return TariffVersion(
            valid_from=self.date_from, valid_to=self.date_to or None, label=self.display_name
        )

    def _engine_version(self):
        """The version as the plain data of the engine (``TariffVersion``).

        Float prices are read at their decimal precision, so the Decimals are exactly the
        prices entered. A band price of 0 counts as missing: the engine refuses band periods
        whose band has no price.
        """
        self.ensure_one()
        digits = self.env["decimal.precision"].precision_get(TARIFF_PRICE_PRECISION)

        def price(value):
            return Decimal(float_repr(value, digits))

        bands = self.band_ids
        grid = {}
        if self.kind == "tiered_tou" and self.tou_pricing == "grid":
            for step, tier in enumerate(self.tier_ids, start=1):
                grid.update(
                    ((band, step), price(tier[f"grid_price_{band}"]))
                    for band in BANDS
                    if not float_is_zero(tier[f"grid_price_{band}"], precision_digits=digits)
                )
        return TariffVersion(
            valid_from=self.date_from,
            valid_to=self.date_to or None,
            kind=self.kind,
            unit_price=price(self.unit_price),
            band_prices={
                band: price(self[f"price_{band}"])
                for band in BANDS
                if not float_is_zero(self[f"price_{band}"], precision_digits=digits)
            },
            seasons=tuple(season._engine_season() for season in bands.season_id),
            periods=tuple(band._engine_period() for band in bands),
            tiers=tuple(tier._engine_tier(self.kind) for tier in self.tier_ids),
            fixed_charges=tuple(charge._engine_fixed_charge() for charge in self.fixed_charge_ids),
            label=self.display_name,
            pricing=self.tou_pricing or "adder",
            price_grid=grid,
        )


class PrepaidTariffVersionDetail(models.AbstractModel):
    """The lines of a version (band periods, steps, fixed charges): checked with it.

    However they are written (the version form, RPC, an import, a server action), creating,
    changing or deleting a line checks the engine rules of its version when the operation
    ends; moving a line to another version checks both, and needs the right to change the
    other version.
    """

    _name = "prepaid.tariff.version.detail"
    _description = "Tariff Version Line"

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        with self.env["prepaid.tariff.version"]._defer_engine_checks():
            lines = super().create(vals_list)
            lines.version_id._check_engine_rules()
        return lines

    def write(self, vals):
        Version = self.env["prepaid.tariff.version"]
        with Version._defer_engine_checks():
            versions = self.version_id
            if vals.get("version_id"):
                target = Version.browse(vals["version_id"])
                # The line changes the target version: the user must be allowed to change it.
                target.check_access("write")
                versions |= target
            result = super().write(vals)
            versions._check_engine_rules()
        return result

    # === BUSINESS METHODS === #

    def _raise_engine_issues(self, issues):
        """Raise the engine issues of one line as a ValidationError naming its version."""
        self.ensure_one()
        tariff = self.version_id.tariff_id
        raise ValidationError(
            "\n".join(
                [
                    self.env._(
                        "Tariff %(tariff)s, version %(version)s:",
                        tariff=tariff.display_name,
                        version=self.version_id.display_name,
                    ),
                    *(tariff._tariff_issue_message(i.code, i.params) for i in issues),
                ]
            )
        )

    def unlink(self):
        with self.env["prepaid.tariff.version"]._defer_engine_checks():
            versions = self.version_id
            result = super().unlink()
            versions._check_engine_rules()
        return result
