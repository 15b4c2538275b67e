from collections.abc import Mapping
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import format_datetime

from .prepaid_reading import _pg_array, _to_number, _to_utc_naive

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


class PrepaidLoadProfile(models.Model):
    """One interval of a meter's load profile (e.g. 15 minutes of energy), as the meter logged
    it. Reports read these for load curves; billing reads the register readings."""

    _name = "prepaid.load.profile"
    _description = "Load Profile Interval"
    _order = "interval_start desc, id desc"
    _rec_name = "interval_start"

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
        names = (
            "indexes",
            "meter_ids",
            "starts",
            "minutes",
            "quantities",
            "demands",
            "voltages",
            "currents",
        )
        columns = {name: [] for name in names}
        errors = []
        seen = set()
        received = duplicates = 0
        for index, row in enumerate(rows):
            received += 1
            if isinstance(row, Mapping):
                values = [
                    row.get(key)
                    for key in (
                        "meter_id",
                        "interval_start",
                        "interval_minutes",
                        "quantity",
                        "demand",
                        "voltage",
                        "current",
                    )
                ]
            else:
                values = list(row) + [None] * (7 - len(row))
            meter_id, start, minutes, quantity, *measures = values
            if not isinstance(meter_id, int) or isinstance(meter_id, bool) or meter_id <= 0:
                errors.append((index, _("Missing or invalid meter.")))
                continue
            start = _to_utc_naive(start)
            if start is None:
                errors.append((index, _("Missing or invalid interval start.")))
                continue
            minutes = 15 if minutes is None else minutes
            if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes <= 0:
                errors.append((index, _("Invalid interval length.")))
                continue
            quantity = None if quantity is None else _to_number(quantity)
            measures = [None if value is None else _to_number(value) for value in measures]
            if (quantity, *measures).count(None) != (values[3], *values[4:]).count(None):
                errors.append((index, _("Invalid number.")))
                continue
            key = (meter_id, start)
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
            for name, value in zip(
                names, (index, meter_id, start, minutes, quantity, *measures), strict=True
            ):
                columns[name].append(value)
        summary = {
            "received": received,
            "inserted": 0,
            "duplicates": duplicates,
            "rejected": len(errors),
            "errors": errors,
        }
        if not columns["meter_ids"]:
            return summary
        if not self.env.su:
            self.env["prepaid.meter"].browse(set(columns["meter_ids"])).exists().check_access(
                "read"
            )
        self.env["prepaid.meter"].flush_model(["company_id", "multiplier"])
        self.flush_model()
        self.env.cr.execute(
            _INGEST_SQL,
            {
                **{name: _pg_array(columns[name]) for name in names[1:]},
                "uid": self.env.uid,
                "now": fields.Datetime.now(),
            },
        )
        inserted, unknown = self.env.cr.fetchone()
        unknown = set(unknown or [])
        rejected_known = 0
        for position, meter_id in enumerate(columns["meter_ids"]):
            if meter_id in unknown:
                rejected_known += 1
                errors.append(
                    (columns["indexes"][position], _("Unknown meter id %(meter)s.", meter=meter_id))
                )
        summary.update(
            inserted=inserted,
            rejected=len(errors),
            duplicates=duplicates + len(columns["meter_ids"]) - inserted - rejected_known,
        )
        self.invalidate_model()
        return summary
