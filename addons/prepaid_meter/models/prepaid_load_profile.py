from collections.abc import Mapping
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import format_datetime

from ..tools.ingest_rows import RowError, collect_rows, is_record_id, to_number
from .prepaid_ingest_mixin import PrepaidIngestMixin, to_utc_naive

# The keys of a row given as a dict, in the order of a row given as a tuple.
_ROW_KEYS = (
    "meter_id",
    "interval_start",
    "interval_minutes",
    "quantity",
    "demand",
    "voltage",
    "current",
)
# The columns of a batch, in the order of the row parser's values; the first two are the key.
_INGEST_COLUMNS = (
    "meter_ids",
    "starts",
    "minutes",
    "quantities",
    "demands",
    "voltages",
    "currents",
)
_INGEST_SQL = """
WITH batch AS (
    SELECT *
      FROM unnest(%(meter_ids)s::int4[], %(starts)s::timestamp[], %(minutes)s::int4[],
                  %(quantities)s::numeric[], %(demands)s::numeric[], %(voltages)s::numeric[],
                  %(currents)s::numeric[])
           AS b(meter_id, interval_start, interval_minutes, quantity, demand, voltage, current)
),
ins AS (
    INSERT INTO prepaid_load_profile (
        meter_id, interval_start, interval_minutes, quantity, consumption, demand, voltage,
        current, company_id, create_uid, create_date, write_uid, write_date)
    SELECT b.meter_id, b.interval_start, b.interval_minutes, round(b.quantity, 3),
           round(b.quantity * COALESCE(m.multiplier, 1), 3), round(b.demand, 3),
           round(b.voltage, 2), round(b.current, 3), m.company_id,
           %(uid)s, %(now)s, %(uid)s, %(now)s
      FROM batch b
      JOIN prepaid_meter m ON m.id = b.meter_id
    ON CONFLICT (meter_id, interval_start) DO NOTHING
    RETURNING id
)
SELECT (SELECT count(*) FROM ins),
       (SELECT array_agg(DISTINCT b.meter_id)
          FROM batch b
         WHERE NOT EXISTS (SELECT FROM prepaid_meter WHERE id = b.meter_id))
"""


class PrepaidLoadProfile(PrepaidIngestMixin, models.Model):
    """One interval of a meter's load profile (e.g. 15 minutes of energy), as the meter logged
    it. Reports read these for load curves; billing reads the register readings."""

    _name = "prepaid.load.profile"
    _inherit = ["prepaid.access.mixin"]
    # Logged by the meter: immutable.
    _prepaid_immutable = True
    _description = "Load Profile Interval"
    _order = "interval_start desc, id desc"
    _rec_name = "interval_start"

    # Settings of the meter that _INGEST_SQL reads.
    _ingest_meter_fields = ("company_id", "multiplier")

    # === FIELDS === #
    meter_id = fields.Many2one(
        "prepaid.meter",
        required=True,
        readonly=True,
        ondelete="cascade",
        # Covered by the unique (meter_id, interval_start) index.
        index=False,
    )
    interval_start = fields.Datetime(string="Interval Start", required=True, readonly=True)
    interval_minutes = fields.Integer(string="Minutes", required=True, readonly=True, default=15)
    interval_end = fields.Datetime(compute="_compute_interval_end")
    quantity = fields.Float(
        digits=(16, 3),
        readonly=True,
        help="Quantity of the interval as the meter logged it (kWh or m3, before multiplier).",
    )
    consumption = fields.Float(
        digits=(16, 3), readonly=True, help="Quantity of the interval, multiplier applied."
    )
    unit_label = fields.Char(string="Unit", related="meter_id.unit_label")
    demand = fields.Float(digits=(16, 3), readonly=True, help="Average demand (kW) as logged.")
    voltage = fields.Float(digits=(8, 2), readonly=True, aggregator="avg")
    current = fields.Float(digits=(10, 3), readonly=True, aggregator="avg")
    company_id = fields.Many2one("res.company", required=True, readonly=True)

    _sql_constraints = [
        (
            "meter_interval_uniq",
            "unique(meter_id, interval_start)",
            "A meter has only one load profile interval per start time.",
        ),
        ("interval_minutes_positive", "CHECK(interval_minutes > 0)", "Intervals last minutes."),
    ]

    # === COMPUTE METHODS === #
    @api.depends("interval_start", "interval_minutes")
    def _compute_interval_end(self):
        for row in self:
            row.interval_end = row.interval_start and row.interval_start + timedelta(
                minutes=row.interval_minutes
            )

    @api.depends("meter_id.name", "interval_start")
    def _compute_display_name(self):
        for row in self:
            row.display_name = (
                f"{row.meter_id.name} @ {format_datetime(self.env, row.interval_start)}"
            )

    # === BUSINESS METHODS === #
    @api.model
    def _ingest(self, rows):
        """Store load profile intervals in one set-based statement, idempotent on
        (meter_id, interval_start).

        :param rows: dicts with ``meter_id``, ``interval_start`` (naive UTC or aware datetime),
            ``interval_minutes`` (default 15), ``quantity`` and optionally ``demand``,
            ``voltage``, ``current``; or tuples in that order.
        :return: ``{"received", "inserted", "duplicates", "rejected", "errors"}``, errors being
            ``[(row index, reason)]``.
        """
        self.check_access("create")
        _ = self.env._

        def parse_row(row):
            if isinstance(row, Mapping):
                values = [row.get(key) for key in _ROW_KEYS]
            else:
                values = list(row) + [None] * (7 - len(row))
            meter_id, start, minutes, quantity, *measures = values
            if not is_record_id(meter_id):
                raise RowError(_("Missing or invalid meter."))
            start = to_utc_naive(start)
            if start is None:
                raise RowError(_("Missing or invalid interval start."))
            minutes = 15 if minutes is None else minutes
            if not is_record_id(minutes):
                raise RowError(_("Invalid interval length."))
            quantity = None if quantity is None else to_number(quantity)
            measures = [None if value is None else to_number(value) for value in measures]
            if (quantity, *measures).count(None) != (values[3], *values[4:]).count(None):
                raise RowError(_("Invalid number."))
            return meter_id, start, minutes, quantity, *measures

        prepared = collect_rows(rows, parse_row, _INGEST_COLUMNS, key_size=2)
        return self._ingest_columns(prepared, _INGEST_SQL)
