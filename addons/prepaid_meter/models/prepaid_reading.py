import logging
from collections.abc import Mapping
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_datetime

from ..tools.ingest_rows import (
    RowError,
    collect_rows,
    is_record_id,
    new_summary,
    pg_arrays,
    to_number,
)
from .prepaid_ingest_mixin import PrepaidIngestMixin, to_utc_naive

_logger = logging.getLogger(__name__)

SOURCES = [
    ("gateway", "Gateway"),
    ("import", "Import"),
    ("manual", "Manual"),
    ("estimate", "Estimate"),
]

QUALITIES = [
    ("ok", "OK"),
    ("first", "First Reading"),
    ("rollover", "Roll-over"),
    ("backwards", "Backwards"),
    ("jump", "Implausible Jump"),
    ("removed", "After Removal"),
]
# Qualities that need a human look; "first" only says where the series starts.
FLAGGED_QUALITIES = ("rollover", "backwards", "jump", "removed")

# Defaults of the plausibility check, overridable with ir.config_parameter and per meter
# (prepaid.meter.max_load): kW for electricity, m3/h for water.
MAX_LOAD_PARAMS = {
    "electricity": ("prepaid_meter.max_load_electricity", 100.0),
    "water": ("prepaid_meter.max_load_water", 10.0),
}
# Integer digits of a register when the meter does not say (999999.99 wraps to 0).
DEFAULT_REGISTER_DIGITS = 6
# Readings closer than this are judged as if this far apart, so that clock jitter between two
# close readings does not turn normal consumption into an "implausible jump".
MIN_PLAUSIBILITY_HOURS = 0.25
# Rows per INSERT statement: bounds the memory of one statement, not the caller's batch.
INGEST_CHUNK = 50_000
# The columns of a batch, in the order of the row parser's values; the first two are the key.
_INGEST_COLUMNS = ("meter_ids", "read_ats", "totals", "t1", "t2", "t3", "t4", "sources")

# === FLAG RULES === #
# The rules that turn a register value and its predecessor into a quality and a consumption.
# They are SQL so that ingestion stays set-based; both the ingestion statement and the
# recomputation of neighbours select them from a relation with these columns:
#   read_at, total                 the reading
#   prev_at, prev_total            the previous reading of the same meter (NULL for the first)
#   multiplier, initial_reading    of the meter (initial register value, counted by the first)
#   modulus                        10 ** integer digits of the register: where it wraps to zero
#   max_rate                       plausible quantity per hour (kW or m3/h); NULL: no check
#                                  (a drop is then always "backwards")
#   closed_at                      the final reading of a removed (replaced) meter, or NULL
# Rules, in this order:
#   removed    read after the final reading of a removed meter: the series is closed,
#              consumption 0;
#   first      no previous reading: counts from the meter's initial register value
#              (backwards if below it);
#   ok / jump  register went up: consumption = delta x multiplier; "jump" when the delta
#              exceeds max_rate x elapsed hours (at least MIN_PLAUSIBILITY_HOURS), counted but
#              flagged for review;
#   rollover   register went down, but wrapping through the modulus gives a plausible delta:
#              consumption = (delta + modulus) x multiplier;
#   backwards  register went down otherwise: consumption 0. The next reading counts from this
#              value (a reset starts a new base); delete a wrong reading to recompute its
#              neighbour.
_RULES_INPUT_SQL = f"""
    SELECT p.*,
           p.max_rate / NULLIF(p.multiplier, 0)
               * GREATEST(EXTRACT(EPOCH FROM p.read_at - p.prev_at) / 3600.0,
                          {MIN_PLAUSIBILITY_HOURS}) AS allowed
"""
_QUALITY_SQL = """
    CASE
        WHEN read_at > closed_at THEN 'removed'
        WHEN prev_at IS NULL THEN
            CASE WHEN total < initial_reading THEN 'backwards' ELSE 'first' END
        WHEN total >= prev_total THEN
            CASE WHEN total - prev_total > allowed THEN 'jump' ELSE 'ok' END
        WHEN total - prev_total + modulus <= allowed THEN 'rollover'
        ELSE 'backwards'
    END
"""
_CONSUMPTION_SQL = """
    round(multiplier * CASE quality
        WHEN 'ok' THEN total - prev_total
        WHEN 'jump' THEN total - prev_total
        WHEN 'rollover' THEN total - prev_total + modulus
        WHEN 'first' THEN total - initial_reading
        ELSE 0
    END, 3)
"""
# Settings of meter "m" that the rules need.
_METER_SETTINGS_SQL = f"""
    COALESCE(m.multiplier, 1) AS multiplier,
    COALESCE(m.initial_reading, 0) AS initial_reading,
    m.final_reading_at AS closed_at,
    power(10::numeric, COALESCE(NULLIF(m.register_digits, 0), {DEFAULT_REGISTER_DIGITS}))
        AS modulus,
    NULLIF(COALESCE(NULLIF(m.max_load, 0),
                    CASE m.utility WHEN 'water' THEN %(max_water)s::numeric
                                   ELSE %(max_electricity)s::numeric END), 0) AS max_rate
"""

# One statement per chunk: locate each row's predecessor (the previous row of the batch or the
# last stored reading, looked up in the index only for late rows), apply the rules, insert with
# ON CONFLICT DO NOTHING, move the meters' last reading forward, and summarise. JIT compilation
# is switched off for the transaction first (same round trip): for large batches the planner
# would spend seconds compiling this short-lived statement.
_INGEST_SQL = f"""
SET LOCAL jit = off;
WITH batch AS (
    SELECT b.meter_id, b.read_at, round(b.total, 3) AS total,
           round(b.t1, 3) AS t1, round(b.t2, 3) AS t2, round(b.t3, 3) AS t3,
           round(b.t4, 3) AS t4, COALESCE(b.source, %(source)s) AS source
      FROM unnest(%(meter_ids)s::int4[], %(read_ats)s::timestamp[], %(totals)s::numeric[],
                  %(t1)s::numeric[], %(t2)s::numeric[], %(t3)s::numeric[], %(t4)s::numeric[],
                  %(sources)s::varchar[])
           AS b(meter_id, read_at, total, t1, t2, t3, t4, source)
),
located AS (
    SELECT b.*, m.company_id, m.utility, {_METER_SETTINGS_SQL},
           COALESCE(b.read_at <= m.last_reading_at, FALSE) AS is_late,
           m.last_reading_at, m.last_reading_total,
           lag(b.read_at) OVER w AS batch_prev_at,
           lag(b.total) OVER w AS batch_prev_total,
           b.read_at = max(b.read_at) OVER (PARTITION BY b.meter_id) AS is_newest
      FROM batch b
      JOIN prepaid_meter m ON m.id = b.meter_id
    WINDOW w AS (PARTITION BY b.meter_id ORDER BY b.read_at)
),
stored AS (
    -- The stored predecessor: the meter's last reading, unless the row is late; then the
    -- index is searched (scalar subqueries in CASE run for late rows only).
    SELECT l.*,
           CASE WHEN l.is_late THEN (
               SELECT max(r.read_at) FROM prepaid_reading r
                WHERE r.meter_id = l.meter_id AND r.read_at < l.read_at
           ) ELSE l.last_reading_at END AS stored_prev_at,
           CASE WHEN l.is_late THEN (
               SELECT r.total FROM prepaid_reading r
                WHERE r.meter_id = l.meter_id AND r.read_at < l.read_at
             ORDER BY r.read_at DESC
                LIMIT 1
           ) ELSE l.last_reading_total END AS stored_prev_total
      FROM located l
),
paired AS (
    -- The closer of the two predecessors (a stored duplicate wins over its batch copy).
    SELECT s.*,
           CASE WHEN s.batch_prev_at > s.stored_prev_at OR s.stored_prev_at IS NULL
                THEN s.batch_prev_at ELSE s.stored_prev_at END AS prev_at,
           CASE WHEN s.batch_prev_at > s.stored_prev_at OR s.stored_prev_at IS NULL
                THEN s.batch_prev_total ELSE s.stored_prev_total END AS prev_total
      FROM stored s
),
rules_input AS ({_RULES_INPUT_SQL} FROM paired p),
rated AS (SELECT ri.*, {_QUALITY_SQL} AS quality FROM rules_input ri),
ins AS (
    INSERT INTO prepaid_reading (
        meter_id, read_at, total, t1, t2, t3, t4, source, company_id, utility,
        previous_read_at, previous_total, consumption, quality, is_late,
        create_uid, create_date, write_uid, write_date)
    SELECT meter_id, read_at, total, t1, t2, t3, t4, source, company_id, utility,
           prev_at, prev_total, {_CONSUMPTION_SQL}, quality, is_late,
           %(uid)s, %(now)s, %(uid)s, %(now)s
      FROM rated
    ON CONFLICT (meter_id, read_at) DO NOTHING
    RETURNING id, meter_id, read_at, quality, is_late
),
moved AS (
    -- The meters' last reading, from the batch: a row of the batch that was not inserted is
    -- a duplicate of a stored reading, never newer than the meter's last reading.
    UPDATE prepaid_meter m
       SET last_reading_at = l.read_at, last_reading_total = l.total
      FROM located l
     WHERE l.is_newest AND m.id = l.meter_id
       AND (m.last_reading_at IS NULL OR m.last_reading_at < l.read_at)
),
flagged AS (SELECT meter_id, read_at, quality FROM ins WHERE quality IN {FLAGGED_QUALITIES})
SELECT (SELECT count(*) FROM ins),
       (SELECT json_object_agg(quality, n)
          FROM (SELECT quality, count(*) AS n FROM ins GROUP BY quality) q),
       (SELECT array_agg(meter_id) FROM ins WHERE is_late),
       (SELECT array_agg(read_at) FROM ins WHERE is_late),
       (SELECT array_agg(meter_id ORDER BY meter_id, read_at) FROM flagged),
       (SELECT array_agg(read_at ORDER BY meter_id, read_at) FROM flagged),
       (SELECT array_agg(quality ORDER BY meter_id, read_at) FROM flagged),
       CASE WHEN (SELECT count(*) FROM batch) > (SELECT count(*) FROM located) THEN (
           SELECT array_agg(DISTINCT b.meter_id) FROM batch b
            WHERE NOT EXISTS (SELECT FROM prepaid_meter WHERE id = b.meter_id)
       ) END
"""

# Recompute the reading that follows each given point (meter_id, read_at): its predecessor
# changed because a late reading was inserted before it or the reading at the point deleted.
_RECOMPUTE_SQL = f"""
SET LOCAL jit = off;
WITH points AS (
    SELECT * FROM unnest(%(meter_ids)s::int4[], %(read_ats)s::timestamp[]) AS p(meter_id, read_at)
),
targets AS (
    SELECT nxt.id FROM points p
    CROSS JOIN LATERAL (
        SELECT r.id FROM prepaid_reading r
         WHERE r.meter_id = p.meter_id AND r.read_at > p.read_at
      ORDER BY r.read_at
         LIMIT 1
    ) nxt
    UNION
    SELECT unnest(%(ids)s::int4[])
),
paired AS (
    SELECT r.id, r.read_at, r.total, pr.read_at AS prev_at, pr.total AS prev_total,
           {_METER_SETTINGS_SQL}
      FROM targets t
      JOIN prepaid_reading r ON r.id = t.id
      JOIN prepaid_meter m ON m.id = r.meter_id
      LEFT JOIN LATERAL (
          SELECT q.read_at, q.total
            FROM prepaid_reading q
           WHERE q.meter_id = r.meter_id AND q.read_at < r.read_at
        ORDER BY q.read_at DESC
           LIMIT 1
      ) pr ON TRUE
),
rules_input AS ({_RULES_INPUT_SQL} FROM paired p),
rated AS (SELECT ri.*, {_QUALITY_SQL} AS quality FROM rules_input ri),
computed AS (
    SELECT id, prev_at, prev_total, quality, {_CONSUMPTION_SQL} AS consumption FROM rated
)
UPDATE prepaid_reading r
   SET previous_read_at = c.prev_at,
       previous_total = c.prev_total,
       quality = c.quality,
       consumption = c.consumption,
       write_uid = %(uid)s,
       write_date = %(now)s
  FROM computed c
 WHERE r.id = c.id
   AND (r.previous_read_at, r.previous_total, r.quality, r.consumption)
       IS DISTINCT FROM (c.prev_at, c.prev_total, c.quality, c.consumption)
"""

# Move each meter's last reading to its newest stored reading (after deletions).
_RESET_LAST_READING_SQL = """
UPDATE prepaid_meter m
   SET last_reading_at = last.read_at, last_reading_total = last.total
  FROM unnest(%(meter_ids)s::int4[]) AS u(id)
  LEFT JOIN LATERAL (
      SELECT r.read_at, r.total FROM prepaid_reading r
       WHERE r.meter_id = u.id
    ORDER BY r.read_at DESC
       LIMIT 1
  ) last ON TRUE
 WHERE m.id = u.id
"""


class PrepaidReading(PrepaidIngestMixin, models.Model):
    _name = "prepaid.reading"
    _description = "Meter Reading"
    _order = "read_at desc, id desc"

    # Settings of the meter that the ingestion statements read (see _METER_SETTINGS_SQL).
    _ingest_meter_fields = (
        "multiplier",
        "initial_reading",
        "final_reading_at",
        "register_digits",
        "max_load",
        "utility",
        "company_id",
        "last_reading_at",
        "last_reading_total",
    )

    # === FIELDS === #
    # Readings are written by _ingest() in SQL only; the ORM reads them. Fields are readonly.
    meter_id = fields.Many2one(
        "prepaid.meter",
        required=True,
        readonly=True,
        ondelete="cascade",
        # No single-column index: the unique (meter_id, read_at) index serves both the
        # idempotency of ingestion and the time-range reads of one meter.
        index=False,
    )
    read_at = fields.Datetime(string="Read At", required=True, readonly=True)
    total = fields.Float(digits=(16, 3), required=True, readonly=True, aggregator=None)
    t1 = fields.Float(string="T1 (Sharp)", digits=(16, 3), readonly=True, aggregator=None)
    t2 = fields.Float(string="T2 (Peak)", digits=(16, 3), readonly=True, aggregator=None)
    t3 = fields.Float(string="T3 (Flat)", digits=(16, 3), readonly=True, aggregator=None)
    t4 = fields.Float(string="T4 (Valley)", digits=(16, 3), readonly=True, aggregator=None)
    source = fields.Selection(SOURCES, required=True, readonly=True, default="manual")
    quality = fields.Selection(QUALITIES, required=True, readonly=True, default="ok")
    is_late = fields.Boolean(
        string="Late",
        readonly=True,
        help="Arrived after a later reading of the meter was stored; the reading that follows "
        "it was recomputed.",
    )
    previous_read_at = fields.Datetime(
        string="Previous Reading At",
        readonly=True,
        help="Start of the consumption interval: the previous reading of the meter.",
    )
    previous_total = fields.Float(digits=(16, 3), readonly=True, aggregator=None)
    consumption = fields.Float(
        digits=(16, 3),
        readonly=True,
        help="Quantity since the previous reading, multiplier applied.",
    )
    flag_message = fields.Char(compute="_compute_flag_message")
    # Copied from the meter at ingestion (stored for grouping and record rules; no ORM
    # recomputation over millions of rows when a meter changes).
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    utility = fields.Selection(
        [("electricity", "Electricity"), ("water", "Water")], required=True, readonly=True
    )

    _sql_constraints = [
        (
            "meter_read_at_uniq",
            "unique(meter_id, read_at)",
            "A meter has only one reading per timestamp.",
        ),
    ]

    def init(self):
        # Time-range reads across meters (reports, "today") on an append-mostly table: a BRIN
        # index costs next to nothing at ingestion.
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS prepaid_reading_read_at_brin "
            "ON prepaid_reading USING brin (read_at)"
        )
        # Every batch moves the last reading of each polled meter: free space on the pages of
        # the meters lets PostgreSQL update those rows in place (HOT updates, no new index
        # entries in the meter indexes, no bloat).
        self.env.cr.execute("ALTER TABLE prepaid_meter SET (fillfactor = 50)")

    # === COMPUTE METHODS === #
    @api.depends("meter_id.name", "read_at")
    def _compute_display_name(self):
        for reading in self:
            reading.display_name = (
                f"{reading.meter_id.name} @ {format_datetime(self.env, reading.read_at)}"
            )

    @api.depends("quality", "total", "previous_total", "previous_read_at", "consumption")
    def _compute_flag_message(self):
        _ = self.env._
        for reading in self:
            quality = reading.quality
            values = {
                "total": reading.total,
                "previous": reading.previous_total,
                "previous_at": format_datetime(self.env, reading.previous_read_at),
                "consumption": reading.consumption,
            }
            if quality == "first":
                message = _("First reading of the meter: counted from its initial register value.")
            elif quality == "rollover":
                message = _(
                    "Register rolled over from %(previous)s to %(total)s: counted through zero.",
                    **values,
                )
            elif quality == "backwards":
                if reading.previous_read_at:
                    message = _(
                        "Register went backwards from %(previous)s (%(previous_at)s) to "
                        "%(total)s: no consumption counted.",
                        **values,
                    )
                else:
                    message = _(
                        "Register %(total)s is below the meter's initial value: no consumption "
                        "counted.",
                        **values,
                    )
            elif quality == "jump":
                message = _(
                    "Implausible jump from %(previous)s (%(previous_at)s) to %(total)s: "
                    "%(consumption)s counted, to be reviewed.",
                    **values,
                )
            elif quality == "removed":
                message = _("Read after the meter was removed: not counted.")
            else:
                message = False
            if reading.is_late and quality:
                late = _("Arrived late: the following reading was recomputed.")
                message = f"{message} {late}" if message else late
            reading.flag_message = message

    # === CRUD METHODS === #
    @api.model_create_multi
    def create(self, vals_list):  # pylint: disable=method-required-super
        """Route ORM creations (form, import of records) through :meth:`_ingest`.

        Readings have one way in, so that every source gets the same idempotency, flags and
        consumption. A reading that already exists for the meter and timestamp is returned as is.
        """
        rows = []
        for vals in vals_list:
            rows.append(
                {
                    "meter_id": vals.get("meter_id"),
                    "read_at": fields.Datetime.to_datetime(vals.get("read_at")),
                    "total": vals.get("total"),
                    **{key: vals.get(key) for key in ("t1", "t2", "t3", "t4")},
                    "source": vals.get("source") or "manual",
                }
            )
        summary = self._ingest(rows)
        if summary["rejected"]:
            raise UserError(
                self.env._(
                    "The reading could not be recorded: %(reasons)s",
                    reasons="; ".join(reason for _index, reason in summary["errors"]),
                )
            )
        stored = self.search(
            [
                ("meter_id", "in", [row["meter_id"] for row in rows]),
                ("read_at", "in", [row["read_at"] for row in rows]),
            ]
        )
        by_key = {(reading.meter_id.id, reading.read_at): reading for reading in stored}
        return self.concat(*(by_key[row["meter_id"], row["read_at"]] for row in rows))

    def write(self, vals):
        protected = {"meter_id", "read_at", "total", "t1", "t2", "t3", "t4"} & set(vals)
        if protected:
            raise UserError(
                self.env._(
                    "Readings are immutable snapshots of a register; delete a wrong reading and "
                    "record the right one instead."
                )
            )
        return super().write(vals)

    def unlink(self):
        """Delete readings, then recompute the reading that followed each of them and move the
        meters' last reading back if needed."""
        points = [(reading.meter_id.id, reading.read_at) for reading in self]
        meter_ids = list({meter_id for meter_id, _read_at in points})
        result = super().unlink()
        if points:
            self._recompute_after(points)
            self.env.cr.execute(_RESET_LAST_READING_SQL, {"meter_ids": meter_ids})
            self.env["prepaid.meter"].invalidate_model(["last_reading_at", "last_reading_total"])
        return result

    # === ACTION METHODS === #
    def action_recompute(self):
        """Recompute the consumption and quality of the selected readings from their
        predecessors and the meters' current settings (multiplier, initial value, plausible
        load), e.g. after correcting a meter."""
        self._recompute_after([], ids=self.ids)
        return True

    # === BUSINESS METHODS === #
    @api.model
    def _ingest(self, rows, source="gateway"):
        """Store register readings from any source in set-based SQL; the only way in.

        :param rows: iterable of dicts with keys ``meter_id``, ``read_at`` (naive UTC or aware
            datetime, or an Odoo datetime string), ``total`` and optionally ``t1``..``t4`` and
            ``source``; or tuples ``(meter_id, read_at, total[, t1, t2, t3, t4[, source]])``.
            Numbers are int, float, Decimal or numeric strings.
        :param str source: the source of rows that do not name one (see ``SOURCES``).
        :return: summary dict::

            {
                "received": int,     # rows given
                "inserted": int,     # new readings stored
                "duplicates": int,   # (meter, read_at) already stored or repeated in the batch
                "rejected": int,     # invalid rows and rows of unknown meters (see "errors")
                "flagged": int,      # inserted with a quality in FLAGGED_QUALITIES
                "late": int,         # inserted before an already stored reading
                "recomputed": int,   # stored readings recomputed because a late one arrived
                "qualities": {quality: count of inserted readings},
                "flagged_rows": [(meter_id, read_at, quality)],
                "errors": [(row index, reason)],
            }

        Idempotent on (meter_id, read_at): a replayed batch inserts nothing and reports its rows
        as duplicates; the first stored value of a timestamp wins. Readings arriving out of order
        are inserted with the stored reading before them as predecessor and flagged ``is_late``;
        the reading that follows each of them is recomputed in one more statement. Implausible
        values are flagged (see the FLAG RULES above), never rejected.

        Callers serialise the ingestion of one meter (e.g. one polling worker per gateway
        channel); should two transactions still race on a meter, the update of its last reading
        makes one of them fail with a serialization error (REPEATABLE READ), which Odoo retries.
        """
        self.check_access("create")
        prepared = self._ingest_prepare(rows, source)
        summary = new_summary(
            prepared, flagged=0, late=0, recomputed=0, qualities={}, flagged_rows=[]
        )
        columns = prepared["columns"]
        if not columns["meter_ids"]:
            return summary
        self._ingest_check_meters(columns["meter_ids"])

        self._flush_ingest_inputs()
        params = {**self._ingest_settings(), "source": prepared["source"]}
        late_points = []
        unknown = set()
        for start in range(0, len(columns["meter_ids"]), INGEST_CHUNK):
            chunk = {name: values[start : start + INGEST_CHUNK] for name, values in columns.items()}
            self.env.cr.execute(_INGEST_SQL, {**params, **pg_arrays(chunk)})
            (
                inserted,
                qualities,
                late_meters,
                late_times,
                flagged_meters,
                flagged_times,
                flagged_qualities,
                missing,
            ) = self.env.cr.fetchone()
            summary["inserted"] += inserted
            for quality, count in (qualities or {}).items():
                summary["qualities"][quality] = summary["qualities"].get(quality, 0) + count
            late_points += zip(late_meters or [], late_times or [], strict=True)
            summary["flagged_rows"] += zip(
                flagged_meters or [], flagged_times or [], flagged_qualities or [], strict=True
            )
            unknown.update(missing or [])

        self._ingest_account(summary, columns, unknown)
        summary["flagged"] = len(summary["flagged_rows"])
        summary["late"] = len(late_points)
        if late_points:
            summary["recomputed"] = self._recompute_after(late_points)
        self.invalidate_model()
        self.env["prepaid.meter"].invalidate_model(["last_reading_at", "last_reading_total"])
        if summary["flagged"] or summary["rejected"]:
            _logger.info(
                "Readings ingested: %(inserted)s new, %(duplicates)s duplicates, "
                "%(flagged)s flagged, %(rejected)s rejected",
                summary,
            )
        return summary

    @api.model
    def _ingest_settings(self):
        """Statement parameters that do not depend on the rows."""
        get_param = self.env["ir.config_parameter"].sudo().get_param
        params = {
            "uid": self.env.uid,
            "now": fields.Datetime.now(),
        }
        for utility, (key, default) in MAX_LOAD_PARAMS.items():
            try:
                params[f"max_{utility}"] = float(get_param(key, default))
            except ValueError:
                _logger.warning("Ignoring the non-numeric system parameter %s", key)
                params[f"max_{utility}"] = default
        return params

    @api.model
    def _ingest_prepare(self, rows, source):
        """Validate rows and split them into columns ready for :data:`_INGEST_SQL`.

        Invalid rows become ``errors`` (index, reason); repeated (meter, timestamp) keys inside
        the batch are dropped (the first one wins) and counted as duplicates.
        """
        source_keys = {key for key, _label in SOURCES}
        if source not in source_keys:
            raise ValueError(f"Unknown reading source {source!r}")
        _ = self.env._

        def parse_row(row):
            if isinstance(row, Mapping):
                meter_id, read_at, total = row.get("meter_id"), row.get("read_at"), row.get("total")
                raw_tous = [row.get("t1"), row.get("t2"), row.get("t3"), row.get("t4")]
                row_source = row.get("source")
            else:
                meter_id, read_at, total, *rest = row
                rest += [None] * (5 - len(rest))
                raw_tous, row_source = rest[:4], rest[4]
            if not is_record_id(meter_id):
                raise RowError(_("Missing or invalid meter."))
            read_at = to_utc_naive(read_at)
            if read_at is None:
                raise RowError(_("Missing or invalid timestamp."))
            total = to_number(total)
            if total is None:
                raise RowError(_("Missing or invalid register total."))
            tous = [None if raw in (None, "", False) else to_number(raw) for raw in raw_tous]
            bad = [
                f"T{n}"
                for n, (raw, value) in enumerate(zip(raw_tous, tous, strict=True), 1)
                if value is None and raw not in (None, "", False)
            ]
            if bad:
                raise RowError(_("Invalid register %(register)s.", register=bad[0]))
            if row_source and row_source not in source_keys:
                raise RowError(_("Unknown reading source %(name)s.", name=row_source))
            return meter_id, read_at, total, *tous, row_source or source

        prepared = collect_rows(rows, parse_row, _INGEST_COLUMNS, key_size=2)
        columns = prepared["columns"]
        if all(value == source for value in columns["sources"]):
            columns["sources"] = [None] * len(columns["sources"])
        return {**prepared, "source": source}

    @api.model
    def _recompute_after(self, points, ids=()):
        """Recompute the reading that follows each ``(meter_id, read_at)`` point, plus the
        readings ``ids``, from their current predecessor. Return the number of readings updated.
        """
        self._flush_ingest_inputs()
        params = self._ingest_settings()
        self.env.cr.execute(
            _RECOMPUTE_SQL,
            {
                **params,
                "meter_ids": [meter_id for meter_id, _read_at in points],
                "read_ats": [read_at for _meter_id, read_at in points],
                "ids": list(ids),
            },
        )
        self.invalidate_model()
        return self.env.cr.rowcount

    # === DEMO === #
    @api.model
    def _demo_generate_readings(self, days=7):
        """Ingest a week of hourly readings for the demo meters (called from demo data)."""
        meters = self.env["prepaid.meter"].search([("state", "!=", "removed")])
        end = fields.Datetime.now().replace(minute=0, second=0, microsecond=0)
        start = end - timedelta(days=days)
        rows = []
        for meter in meters:
            # Deterministic per meter: a base load and a daily shape, no randomness.
            base = 0.2 + (meter.id % 7) * 0.15 if meter.utility == "electricity" else 0.01
            register = meter.initial_reading or 0.0
            moment = start
            while moment <= end:
                hour = moment.hour
                shape = 2.5 if 8 <= hour < 20 else 1.0
                register += base * shape
                rows.append(
                    {
                        "meter_id": meter.id,
                        "read_at": moment,
                        "total": round(register, 3),
                        "source": "gateway",
                    }
                )
                moment += timedelta(hours=1)
        return self._ingest(rows)
