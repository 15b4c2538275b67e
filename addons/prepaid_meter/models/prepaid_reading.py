import logging
from collections.abc import Mapping
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, float_compare, format_datetime, formatLang

from ..tools.ingest_rows import (
    MAX_RECORD_ID,
    NumberError,
    RowError,
    collect_rows,
    is_record_id,
    new_summary,
    parse_number,
    pg_arrays,
)
from .prepaid_access_mixin import MANAGER, PROCESS, _lt, requires_group
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
# Flagged qualities that are not plausible: such a reading is held for review (review state
# "pending"): it counts nothing and does not move the register state until a manager accepts
# it. A roll-over is plausible (the register wraps through zero): counted, not held.
HELD_QUALITIES = ("backwards", "jump", "removed")

REVIEW_STATES = [
    ("pending", "To Review"),
    ("accepted", "Accepted"),
    ("rejected", "Rejected"),
]

# The fields that make a reading: a snapshot of a register, never changed once stored.
REGISTER_FIELDS = ("meter_id", "read_at", "total", "t1", "t2", "t3", "t4", "source")

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
# The rules that turn a register value and its predecessor into a quality, a review state and
# a consumption. They are SQL so that ingestion stays set-based; the ingestion statement and
# the recomputation walk apply them (:func:`_rate_sql`) to a relation with these columns:
#   read_at, total                 the reading
#   prev_at, prev_total            its predecessor: the last *good* reading of the same meter
#                                  before it (NULL for none); good = not held for review
#                                  (review state NULL or "accepted")
#   multiplier, initial_reading    of the meter (initial register value, counted by the first)
#   modulus                        10 ** integer digits of the register: where it wraps to zero
#   max_rate                       plausible quantity per hour (kW or m3/h); NULL: no check
#                                  (a drop is then always "backwards")
#   closed_at                      the final reading of a removed (replaced) meter, or NULL
#   old_review_state               the review state stored so far (NULL for a new reading)
# Quality, in this order:
#   removed    read after the final reading of a removed meter: the series is closed;
#   first      no previous good reading: counts from the meter's initial register value
#              (backwards if below it);
#   ok / jump  register went up: consumption = delta x multiplier; "jump" when the delta
#              exceeds max_rate x elapsed hours (at least MIN_PLAUSIBILITY_HOURS);
#   rollover   register went down, but wrapping through the modulus gives a plausible delta:
#              consumption = (delta + modulus) x multiplier (plausible: counted, not held);
#   backwards  register went down otherwise.
# Review state: a decision of a manager ("accepted", "rejected") stays; otherwise a reading of
# a HELD_QUALITIES quality is "pending", any other has none.
# Consumption: 0 while pending or rejected. Accepted, a jump counts its delta (the manager
# confirms the quantity), a backwards reading counts 0 and becomes the base of the next ones
# (a register reset), a reading after removal counts 0.
# Held readings are nobody's predecessor: the next reading counts from the last good one.


def _is_blank(value):
    """Whether a row gives no value (0 is a value)."""
    return value is None or value is False or (isinstance(value, str) and not value.strip())


def _good(alias):
    """SQL condition: the reading ``alias`` is good (may be a predecessor)."""
    column = SQL.identifier(alias, "review_state")
    return SQL("(%s IS NULL OR %s = 'accepted')", column, column)


def _rate_sql(relation):
    """SELECT the columns of ``relation`` (see FLAG RULES) plus ``quality``, ``review_state``,
    ``consumption`` and ``good``.

    Each level is fenced with ``OFFSET 0``: flattened, the planner would copy the expressions
    of a level (and the index lookups of ``relation``) into every reference of the next one.
    """
    return SQL(
        """
        SELECT q.*,
               CASE WHEN q.review_state IN ('pending', 'rejected') THEN 0::numeric
                    ELSE round(q.multiplier * CASE q.quality
                        WHEN 'ok' THEN q.total - q.prev_total
                        WHEN 'jump' THEN q.total - q.prev_total
                        WHEN 'rollover' THEN q.total - q.prev_total + q.modulus
                        WHEN 'first' THEN q.total - q.initial_reading
                        ELSE 0
                    END, 3)
               END AS consumption,
               (q.review_state IS NULL OR q.review_state = 'accepted') AS good
          FROM (
            SELECT a.*,
                   CASE WHEN a.old_review_state IN ('accepted', 'rejected')
                            THEN a.old_review_state
                        WHEN a.quality IN %(held)s THEN 'pending'::varchar
                   END AS review_state
              FROM (
                SELECT i.*,
                       CASE
                           WHEN i.read_at > i.closed_at THEN 'removed'
                           WHEN i.prev_at IS NULL THEN
                               CASE WHEN i.total < i.initial_reading THEN 'backwards'
                                    ELSE 'first' END
                           WHEN i.total >= i.prev_total THEN
                               CASE WHEN i.total - i.prev_total > i.allowed THEN 'jump'
                                    ELSE 'ok' END
                           WHEN i.total - i.prev_total + i.modulus <= i.allowed THEN 'rollover'
                           ELSE 'backwards'
                       END::varchar AS quality
                  FROM (
                    SELECT p.*,
                           p.max_rate / NULLIF(p.multiplier, 0)
                               * GREATEST(EXTRACT(EPOCH FROM p.read_at - p.prev_at) / 3600.0,
                                          %(min_hours)s) AS allowed
                      FROM (%(relation)s) p
                    OFFSET 0
                  ) i
                OFFSET 0
              ) a
            OFFSET 0
          ) q
        """,
        held=HELD_QUALITIES,
        min_hours=MIN_PLAUSIBILITY_HOURS,
        relation=relation,
    )


def _meter_settings_sql(settings):
    """The settings of meter ``m`` that the rules need (see FLAG RULES), as columns."""
    return SQL(
        """
        COALESCE(m.multiplier, 1) AS multiplier,
        COALESCE(m.initial_reading, 0) AS initial_reading,
        m.final_reading_at AS closed_at,
        power(10::numeric, COALESCE(NULLIF(m.register_digits, 0), %(digits)s)) AS modulus,
        NULLIF(COALESCE(NULLIF(m.max_load, 0),
                        CASE m.utility WHEN 'water' THEN %(max_water)s::numeric
                                       ELSE %(max_electricity)s::numeric END), 0) AS max_rate
        """,
        digits=DEFAULT_REGISTER_DIGITS,
        max_water=settings["max_water"],
        max_electricity=settings["max_electricity"],
    )


def _ingest_sql(settings, arrays):
    """One statement per chunk of a batch.

    Locate each row's predecessor: the previous row of the batch, or the meter's last good
    reading from its register state (``prepaid_meter_reading_state``), looked up in the index
    only for rows before it. Apply the rules, insert with ON CONFLICT DO NOTHING, move the
    register state of the meters forward (an upsert of the narrow state row: the meter row is
    only read), and summarise. A batch predecessor may turn out held: such rows, and late rows,
    are returned as points for :meth:`PrepaidReading._recompute_after`, which settles their
    followers. JIT compilation is switched off for the transaction first (same round trip): for
    large batches the planner would spend seconds compiling this short-lived statement.
    """
    return SQL(
        """
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
    SELECT b.*, m.company_id, m.utility, %(meter_settings)s,
           COALESCE(b.read_at <= st.newest_read_at, FALSE) AS is_late,
           st.last_reading_at, st.last_reading_total,
           lag(b.read_at) OVER w AS batch_prev_at,
           lag(b.total) OVER w AS batch_prev_total
      FROM batch b
      JOIN prepaid_meter m ON m.id = b.meter_id
      LEFT JOIN prepaid_meter_reading_state st ON st.meter_id = b.meter_id
    WINDOW w AS (PARTITION BY b.meter_id ORDER BY b.read_at)
),
stored AS (
    -- The stored predecessor: the meter's last good reading, unless the row comes before it;
    -- then the index is searched (scalar subqueries in CASE run for those rows only).
    SELECT l.*,
           CASE WHEN l.read_at <= l.last_reading_at THEN (
               SELECT max(r.read_at) FROM prepaid_reading r
                WHERE r.meter_id = l.meter_id AND r.read_at < l.read_at AND %(good_r)s
           ) ELSE l.last_reading_at END AS stored_prev_at,
           CASE WHEN l.read_at <= l.last_reading_at THEN (
               SELECT r.total FROM prepaid_reading r
                WHERE r.meter_id = l.meter_id AND r.read_at < l.read_at AND %(good_r)s
             ORDER BY r.read_at DESC
                LIMIT 1
           ) ELSE l.last_reading_total END AS stored_prev_total
      FROM located l
    OFFSET 0  -- evaluate the lookups once per row, not once per reference below
),
paired AS (
    -- The closer of the two predecessors (a stored duplicate wins over its batch copy).
    SELECT s.*,
           CASE WHEN s.batch_prev_at > s.stored_prev_at OR s.stored_prev_at IS NULL
                THEN s.batch_prev_at ELSE s.stored_prev_at END AS prev_at,
           CASE WHEN s.batch_prev_at > s.stored_prev_at OR s.stored_prev_at IS NULL
                THEN s.batch_prev_total ELSE s.stored_prev_total END AS prev_total,
           NULL::varchar AS old_review_state
      FROM stored s
),
rated AS (%(rated)s),
ins AS (
    INSERT INTO prepaid_reading (
        meter_id, read_at, total, t1, t2, t3, t4, source, company_id, utility,
        previous_read_at, previous_total, consumption, quality, review_state, is_late,
        create_uid, create_date, write_uid, write_date)
    SELECT meter_id, read_at, total, t1, t2, t3, t4, source, company_id, utility,
           prev_at, prev_total, consumption, quality, review_state, is_late,
           %(uid)s, %(now)s, %(uid)s, %(now)s
      FROM rated
    ON CONFLICT (meter_id, read_at) DO NOTHING
    RETURNING id, meter_id, read_at, total, quality, review_state, is_late
),
tails AS (
    -- The newest inserted reading of each meter (a row of the batch that was not inserted
    -- is a duplicate of a stored reading, already counted in the state).
    SELECT DISTINCT ON (meter_id) meter_id, read_at, total, review_state IS NULL AS good
      FROM ins
  ORDER BY meter_id, read_at DESC
),
moved AS (
    -- When the newest reading is held, the last good one does not move; when it follows a
    -- held row of the batch, the row is a point and the recomputation settles the state.
    INSERT INTO prepaid_meter_reading_state AS st
           (meter_id, last_reading_at, last_reading_total, newest_read_at)
    SELECT meter_id,
           CASE WHEN good THEN read_at END, CASE WHEN good THEN total END, read_at
      FROM tails
    ON CONFLICT (meter_id) DO UPDATE
       SET last_reading_at = CASE
               WHEN st.last_reading_at IS NULL OR EXCLUDED.last_reading_at > st.last_reading_at
               THEN COALESCE(EXCLUDED.last_reading_at, st.last_reading_at)
               ELSE st.last_reading_at END,
           last_reading_total = CASE
               WHEN st.last_reading_at IS NULL OR EXCLUDED.last_reading_at > st.last_reading_at
               THEN COALESCE(EXCLUDED.last_reading_total, st.last_reading_total)
               ELSE st.last_reading_total END,
           newest_read_at = GREATEST(st.newest_read_at, EXCLUDED.newest_read_at)
),
points AS (SELECT meter_id, read_at FROM ins WHERE is_late OR review_state IS NOT NULL),
flagged AS (SELECT meter_id, read_at, quality FROM ins WHERE quality IN %(flagged)s)
SELECT (SELECT count(*) FROM ins),
       (SELECT min(id) FROM ins),
       (SELECT json_object_agg(quality, n)
          FROM (SELECT quality, count(*) AS n FROM ins GROUP BY quality) q),
       (SELECT count(*) FROM ins WHERE is_late),
       (SELECT count(*) FROM ins WHERE review_state IS NOT NULL),
       (SELECT array_agg(meter_id) FROM points),
       (SELECT array_agg(read_at) FROM points),
       (SELECT array_agg(meter_id ORDER BY meter_id, read_at) FROM flagged),
       (SELECT array_agg(read_at ORDER BY meter_id, read_at) FROM flagged),
       (SELECT array_agg(quality ORDER BY meter_id, read_at) FROM flagged),
       CASE WHEN (SELECT count(*) FROM batch) > (SELECT count(*) FROM located) THEN (
           SELECT array_agg(DISTINCT b.meter_id) FROM batch b
            WHERE NOT EXISTS (SELECT FROM prepaid_meter WHERE id = b.meter_id)
       ) END
""",
        meter_settings=_meter_settings_sql(settings),
        good_r=_good("r"),
        rated=_rate_sql(SQL("SELECT * FROM paired")),
        flagged=FLAGGED_QUALITIES,
        source=settings["source"],
        uid=settings["uid"],
        now=settings["now"],
        **arrays,
    )


def _recompute_sql(settings, meter_ids, after_ats, ids):
    """Recompute, per meter, the readings from the first one after the earliest point to the
    first one after the latest point, and on while the recomputation changes what the next
    reading counts from; then settle the meters' register state.

    A point ``(meter_id, after_at)`` says that the readings after ``after_at`` may count from
    another predecessor (a late reading was inserted, a reading deleted or reviewed); ``ids``
    are readings to recompute themselves (their point is just before them).

    Whether a reading is good depends on its own predecessor, so the readings are walked in
    order (a recursive query, one index step per reading), carrying the last good reading. The
    walk stops after a reading that is good (or held) as before and, if held, counts from the
    same predecessor as before: nothing after it changes. Returns the readings changed, with
    their values before and after.
    """
    rate_from_walk = _rate_sql(
        SQL(
            """
            SELECT r.read_at, r.total, w.good_at AS prev_at, w.good_total AS prev_total,
                   w.multiplier, w.initial_reading, w.closed_at, w.modulus, w.max_rate,
                   r.review_state AS old_review_state
            """
        )
    )
    rate_from_start = _rate_sql(
        SQL(
            """
            SELECT r.read_at, r.total, g.read_at AS prev_at, g.total AS prev_total,
                   s.multiplier, s.initial_reading, s.closed_at, s.modulus, s.max_rate,
                   r.review_state AS old_review_state
            """
        )
    )

    def walk_columns(source):
        # The columns of a step of the walk; ``source`` carries the walk's end (until_at).
        return SQL(
            """
        r.id, r.meter_id, r.read_at, r.total, %(until)s AS until_at,
        c.multiplier, c.initial_reading, c.closed_at, c.modulus, c.max_rate,
        r.previous_read_at AS old_prev_at, r.previous_total AS old_prev_total,
        r.quality AS old_quality, r.review_state AS old_review_state,
        r.consumption AS old_consumption,
        c.prev_at, c.prev_total, c.quality, c.review_state, c.consumption, c.good,
        CASE WHEN c.good THEN r.read_at ELSE c.prev_at END AS good_at,
        CASE WHEN c.good THEN r.total ELSE c.prev_total END AS good_total,
        c.good = %(good_r)s
            AND (c.good OR (c.prev_at IS NOT DISTINCT FROM r.previous_read_at
                            AND c.prev_total IS NOT DISTINCT FROM r.previous_total)) AS settled
            """,
            good_r=_good("r"),
            until=SQL.identifier(source, "until_at"),
        )

    return SQL(
        """
SET LOCAL jit = off;
WITH RECURSIVE points AS (
    SELECT * FROM unnest(%(meter_ids)s::int4[], %(after_ats)s::timestamp[]) AS p(meter_id, after_at)
    UNION ALL
    SELECT r.meter_id, r.read_at - interval '1 microsecond'
      FROM prepaid_reading r
     WHERE r.id = ANY(%(ids)s::int4[])
),
starts AS (
    SELECT p.meter_id, min(p.after_at) AS after_at, max(p.after_at) AS until_at,
           %(meter_settings)s
      FROM points p
      JOIN prepaid_meter m ON m.id = p.meter_id
  GROUP BY p.meter_id, m.id
),
walk AS (
    SELECT %(walk_columns)s
      FROM starts s
     CROSS JOIN LATERAL (
        SELECT r.* FROM prepaid_reading r
         WHERE r.meter_id = s.meter_id AND r.read_at > s.after_at
      ORDER BY r.read_at
         LIMIT 1
     ) r
      LEFT JOIN LATERAL (
        SELECT g.read_at, g.total FROM prepaid_reading g
         WHERE g.meter_id = s.meter_id AND g.read_at < r.read_at AND %(good_g)s
      ORDER BY g.read_at DESC
         LIMIT 1
     ) g ON TRUE
     CROSS JOIN LATERAL (%(rate_from_start)s) c
    UNION ALL
    SELECT %(walk_step_columns)s
      FROM walk w
     CROSS JOIN LATERAL (
        SELECT r.* FROM prepaid_reading r
         WHERE r.meter_id = w.meter_id AND r.read_at > w.read_at
      ORDER BY r.read_at
         LIMIT 1
     ) r
     CROSS JOIN LATERAL (%(rate_from_walk)s) c
     WHERE w.read_at <= w.until_at OR NOT w.settled
),
changed AS (
    UPDATE prepaid_reading r
       SET previous_read_at = w.prev_at,
           previous_total = w.prev_total,
           quality = w.quality,
           review_state = w.review_state,
           consumption = w.consumption,
           write_uid = %(uid)s,
           write_date = %(now)s
      FROM walk w
     WHERE r.id = w.id
       AND (r.previous_read_at, r.previous_total, r.quality, r.review_state, r.consumption)
           IS DISTINCT FROM (w.prev_at, w.prev_total, w.quality, w.review_state, w.consumption)
 RETURNING r.id, r.meter_id, r.read_at, w.old_quality, w.quality, w.old_review_state,
           w.review_state, w.old_consumption, w.consumption
),
walked AS (
    SELECT meter_id, min(read_at) AS min_at, max(read_at) AS max_at,
           max(read_at) FILTER (WHERE good) AS good_at,
           (array_agg(total ORDER BY read_at DESC) FILTER (WHERE good))[1] AS good_total
      FROM walk
  GROUP BY meter_id
),
settled AS (
    -- The last good reading of each meter: the newest stored one if it lies beyond the walk
    -- (untouched), else the newest good one of the walk, else the newest before the walk.
    SELECT s.meter_id,
           CASE WHEN k.meter_id IS NULL OR a.read_at > k.max_at THEN a.read_at
                WHEN k.good_at IS NOT NULL THEN k.good_at
                ELSE b.read_at END AS last_reading_at,
           CASE WHEN k.meter_id IS NULL OR a.read_at > k.max_at THEN a.total
                WHEN k.good_at IS NOT NULL THEN k.good_total
                ELSE b.total END AS last_reading_total,
           (SELECT max(r.read_at) FROM prepaid_reading r WHERE r.meter_id = s.meter_id)
               AS newest_read_at
      FROM starts s
      LEFT JOIN walked k ON k.meter_id = s.meter_id
      LEFT JOIN LATERAL (
        SELECT g.read_at, g.total FROM prepaid_reading g
         WHERE g.meter_id = s.meter_id AND %(good_g)s
      ORDER BY g.read_at DESC
         LIMIT 1
     ) a ON TRUE
      LEFT JOIN LATERAL (
        SELECT g.read_at, g.total FROM prepaid_reading g
         WHERE g.meter_id = s.meter_id AND %(good_g)s AND g.read_at < k.min_at
      ORDER BY g.read_at DESC
         LIMIT 1
     ) b ON TRUE
),
state AS (
    INSERT INTO prepaid_meter_reading_state AS st
           (meter_id, last_reading_at, last_reading_total, newest_read_at)
    SELECT meter_id, last_reading_at, last_reading_total, newest_read_at FROM settled
    ON CONFLICT (meter_id) DO UPDATE
       SET last_reading_at = EXCLUDED.last_reading_at,
           last_reading_total = EXCLUDED.last_reading_total,
           newest_read_at = EXCLUDED.newest_read_at
     WHERE (st.last_reading_at, st.last_reading_total, st.newest_read_at)
           IS DISTINCT FROM (EXCLUDED.last_reading_at, EXCLUDED.last_reading_total,
                             EXCLUDED.newest_read_at)
)
SELECT id, meter_id, read_at, old_quality, quality, old_review_state, review_state,
       old_consumption, consumption
  FROM changed
""",
        meter_ids=meter_ids,
        after_ats=after_ats,
        ids=ids,
        meter_settings=_meter_settings_sql(settings),
        walk_columns=walk_columns("s"),
        walk_step_columns=walk_columns("w"),
        rate_from_start=rate_from_start,
        rate_from_walk=rate_from_walk,
        good_g=_good("g"),
        uid=settings["uid"],
        now=settings["now"],
    )


class PrepaidReading(PrepaidIngestMixin, models.Model):
    """A snapshot of a meter's registers, and the consumption it counts since the last good
    reading of the meter.

    Readings come in through :meth:`_ingest` only (gateways, imports, the form) and are
    immutable: the register values never change, and the computed values (quality,
    consumption, review) change only through the ingestion, review and recomputation paths,
    which write in SQL or as superuser. Implausible readings are held for review
    (``review_state``) until a manager accepts or rejects them.
    """

    _name = "prepaid.reading"
    _inherit = ["prepaid.access.mixin"]
    _description = "Meter Reading"
    _order = "read_at desc, id desc"

    # Settings of the meter that the ingestion statements read (see _meter_settings_sql).
    _ingest_meter_fields = (
        "multiplier",
        "initial_reading",
        "final_reading_at",
        "register_digits",
        "max_load",
        "utility",
        "company_id",
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
        help="Start of the consumption interval: the last good reading of the meter before "
        "this one (readings held for review or rejected are skipped).",
    )
    previous_total = fields.Float(digits=(16, 3), readonly=True, aggregator=None)
    consumption = fields.Float(
        digits=(16, 3),
        readonly=True,
        help="Quantity since the previous reading, multiplier applied. 0 while the reading is "
        "held for review or when it is rejected.",
    )
    flag_message = fields.Char(compute="_compute_flag_message")
    # Indexed (partial index, see init) for the managers' queue of readings to review.
    review_state = fields.Selection(
        REVIEW_STATES,
        string="Review",
        readonly=True,
        copy=False,
        help="Implausible readings (backwards, implausible jump, after removal) are held: they "
        "count nothing and the next reading counts from the last good one, until a manager "
        "accepts them (counted) or rejects them (never counted).",
    )
    reviewed_by_id = fields.Many2one("res.users", string="Reviewed By", readonly=True, copy=False)
    reviewed_at = fields.Datetime(string="Reviewed At", readonly=True, copy=False)
    review_note = fields.Char(string="Review Reason", readonly=True, copy=False)
    # Copied from the meter at ingestion (stored for grouping and record rules; no ORM
    # recomputation over millions of rows when a meter changes).
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    utility = fields.Selection(
        [("electricity", "Electricity"), ("water", "Water")], required=True, readonly=True
    )
    unit_label = fields.Char(string="Unit", compute="_compute_unit_label")

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
        # The managers' queue: few readings wait for review among millions.
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS prepaid_reading_review_pending_idx "
            "ON prepaid_reading (read_at) WHERE review_state = 'pending'"
        )
        # Databases of an earlier version kept the register state on the meter: build the
        # state table from the readings once (readings stored before the review existed are
        # good ones).
        self.env.cr.execute(
            """
            INSERT INTO prepaid_meter_reading_state
                   (meter_id, last_reading_at, last_reading_total, newest_read_at)
            SELECT DISTINCT ON (r.meter_id) r.meter_id, r.read_at, r.total,
                   max(r.read_at) OVER (PARTITION BY r.meter_id)
              FROM prepaid_reading r
             WHERE NOT EXISTS (SELECT FROM prepaid_meter_reading_state)
               AND (r.review_state IS NULL OR r.review_state = 'accepted')
          ORDER BY r.meter_id, r.read_at DESC
            """
        )

    # === POLICY === #
    def _get_write_groups(self):
        """Every field of a reading is kept by the system: the register values are refused
        outright (see :meth:`write`), the others change only through ingestion, review and
        recomputation, as superuser or in SQL."""
        return {
            **super()._get_write_groups(),
            **dict.fromkeys(
                (name for name in self._fields if name not in REGISTER_FIELDS), PROCESS
            ),
        }

    # === COMPUTE METHODS === #
    @api.depends("utility")
    def _compute_unit_label(self):
        for reading in self:
            reading.unit_label = self.env["prepaid.meter"]._get_unit_label(reading.utility)

    @api.depends("meter_id.name", "read_at")
    def _compute_display_name(self):
        for reading in self:
            reading.display_name = (
                f"{reading.meter_id.name} @ {format_datetime(self.env, reading.read_at)}"
            )

    @api.depends(
        "quality",
        "total",
        "previous_total",
        "previous_read_at",
        "consumption",
        "is_late",
        "review_state",
        "reviewed_by_id",
        "reviewed_at",
    )
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
                        "Register went backwards from %(previous)s (%(previous_at)s) to %(total)s.",
                        **values,
                    )
                else:
                    message = _(
                        "Register %(total)s is below the meter's initial value.",
                        **values,
                    )
            elif quality == "jump":
                message = _(
                    "Implausible jump from %(previous)s (%(previous_at)s) to %(total)s.",
                    **values,
                )
            elif quality == "removed":
                message = _("Read after the meter was removed: not counted.")
            else:
                message = False
            review = reading._get_review_message()
            if review:
                message = f"{message} {review}" if message else review
            if reading.is_late and quality:
                late = _("Arrived late: the following reading was recomputed.")
                message = f"{message} {late}" if message else late
            reading.flag_message = message

    def _get_review_message(self):
        self.ensure_one()
        _ = self.env._
        if self.review_state == "pending":
            return _(
                "Held for review: not counted, and the next reading counts from the last good "
                "one, until a manager accepts or rejects it."
            )
        values = {
            "user": self.reviewed_by_id.name or "",
            "date": format_datetime(self.env, self.reviewed_at),
        }
        if self.review_state == "accepted":
            if self.quality == "jump":
                return _("Accepted by %(user)s on %(date)s: counted.", **values)
            return _(
                "Accepted by %(user)s on %(date)s: the next readings count from this value.",
                **values,
            )
        if self.review_state == "rejected":
            return _("Rejected by %(user)s on %(date)s: never counted.", **values)
        return False

    # === CRUD METHODS === #
    @api.model_create_multi
    def create(self, vals_list):  # pylint: disable=method-required-super
        """Route ORM creations (form, import of records) through :meth:`_ingest`.

        Readings have one way in, so that every source gets the same idempotency, flags and
        consumption. A reading that already exists for the meter and timestamp is returned as is.
        Only the register values are given; the computed ones are refused like in :meth:`write`.
        """
        self._check_write_groups(
            {name for vals in vals_list for name in vals} - set(REGISTER_FIELDS)
        )
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
        """Readings are immutable: the register values for everyone, the other fields for all
        but the processes that own them (see :meth:`_get_write_groups`)."""
        if set(REGISTER_FIELDS) & set(vals):
            raise UserError(
                self.env._(
                    "Readings are immutable snapshots of a register; delete a wrong reading and "
                    "record the right one instead."
                )
            )
        return super().write(vals)

    def unlink(self):
        """Delete readings, then recompute the readings that followed each of them and settle
        the meters' register state."""
        points = [(reading.meter_id.id, reading.read_at) for reading in self]
        result = super().unlink()
        if points:
            self._recompute_after(points)
        return result

    # === ACTION METHODS === #
    @requires_group(MANAGER, _lt("recompute readings"))
    def action_recompute(self):
        """Recompute the consumption and quality of the selected readings from their
        predecessors and the meters' current settings (multiplier, initial value, plausible
        load), e.g. after correcting a meter; the following readings too when what they count
        from changes."""
        self.check_access("write")
        self._recompute_after([], ids=self.ids)
        return True

    @requires_group(MANAGER, _lt("accept flagged readings"))
    def action_accept(self, reason=None):
        """Accept held (or rejected) readings: a jump counts its consumption from its
        predecessor, a backwards reading becomes the base of the next ones (a register reset).
        The following readings are recomputed; the meter's chatter keeps who did what.

        :param str reason: why, for the audit trail (optional).
        """
        return self._review("accepted", ("pending", "rejected"), reason)

    @requires_group(MANAGER, _lt("reject flagged readings"))
    def action_reject(self, reason=None):
        """Reject held (or accepted) readings: they never count, and the next readings count
        from the last good one. The following readings are recomputed; the meter's chatter
        keeps who did what.

        :param str reason: why, for the audit trail (optional).
        """
        return self._review("rejected", ("pending", "accepted"), reason)

    # === BUSINESS METHODS: REVIEW === #
    def _review(self, decision, allowed, reason=None):
        """Record the ``decision`` on the readings in a review state of ``allowed`` (those
        already decided so are skipped; any other is refused, and nothing changes), recompute
        them and their followers, and post the audit on the meters' chatter."""
        self.check_access("write")
        labels = dict(self._fields["review_state"]._description_selection(self.env))
        illegal = self.filtered(
            lambda r: r.review_state != decision and r.review_state not in allowed
        )
        if illegal:
            lines = "\n".join(
                f"- {reading.display_name}: "
                f"{labels.get(reading.review_state) or reading._get_quality_label()}"
                for reading in illegal
            )
            if decision == "accepted":
                message = self.env._(
                    "Only readings to review or rejected can be accepted; not these:\n%(lines)s",
                    lines=lines,
                )
            else:
                message = self.env._(
                    "Only readings to review or accepted can be rejected; not these:\n%(lines)s",
                    lines=lines,
                )
            raise UserError(message)
        readings = self - self.filtered(lambda r: r.review_state == decision)
        if not readings:
            return True
        before = {reading.id: reading.consumption for reading in readings}
        readings.sudo().write(
            {
                "review_state": decision,
                "reviewed_by_id": self.env.uid,
                "reviewed_at": fields.Datetime.now(),
                "review_note": reason or False,
            }
        )
        changes = self._recompute_after(
            [(reading.meter_id.id, reading.read_at) for reading in readings], ids=readings.ids
        )
        readings._post_review_audit(decision, before, changes, reason)
        return True

    def _post_review_audit(self, decision, before, changes, reason):
        """Post on the chatter of each meter who decided what on which readings, and how the
        consumption of those readings and of the following ones changed."""
        _ = self.env._
        for meter in self.meter_id:
            readings = self.filtered(lambda r, meter=meter: r.meter_id == meter).sorted("read_at")
            unit = meter._get_unit_label(meter.utility)
            lines = []
            for reading in readings:
                lines.append(
                    _(
                        "%(date)s, register %(total)s (%(quality)s): consumption %(old)s → "
                        "%(new)s %(unit)s",
                        date=format_datetime(self.env, reading.read_at),
                        total=formatLang(self.env, reading.total, digits=3),
                        quality=reading._get_quality_label(),
                        old=formatLang(self.env, before[reading.id], digits=3),
                        new=formatLang(self.env, reading.consumption, digits=3),
                        unit=unit,
                    )
                )
            followers = [
                change
                for change in changes
                if change["meter_id"] == meter.id
                and change["id"] not in before
                and float_compare(change["old_consumption"], change["consumption"], 3)
            ]
            for change in sorted(followers, key=lambda change: change["read_at"]):
                lines.append(
                    _(
                        "Following reading %(date)s recomputed: consumption %(old)s → %(new)s "
                        "%(unit)s",
                        date=format_datetime(self.env, change["read_at"]),
                        old=formatLang(self.env, change["old_consumption"], digits=3),
                        new=formatLang(self.env, change["consumption"], digits=3),
                        unit=unit,
                    )
                )
            if decision == "accepted":
                title = _("Readings accepted by %(user)s", user=self.env.user.name)
            else:
                title = _("Readings rejected by %(user)s", user=self.env.user.name)
            body = Markup("<p>%s</p><ul>%s</ul>") % (
                title,
                Markup().join(Markup("<li>%s</li>") % line for line in lines),
            )
            if reason:
                body += Markup("<p>%s</p>") % _("Reason: %(reason)s", reason=reason)
            meter.sudo().message_post(body=body, subtype_xmlid="mail.mt_note")

    def _get_quality_label(self):
        self.ensure_one()
        return dict(self._fields["quality"]._description_selection(self.env)).get(self.quality, "")

    # === BUSINESS METHODS: INGESTION === #
    @api.model
    def _ingest(self, rows, source="gateway"):
        """Store register readings from any source in set-based SQL; the only way in.

        :param rows: iterable of dicts with keys ``meter_id``, ``read_at`` (naive UTC or aware
            datetime, or an Odoo datetime string), ``total`` and optionally ``t1``..``t4`` and
            ``source``; or tuples ``(meter_id, read_at, total[, t1, t2, t3, t4[, source]])``.
            Numbers are int, float, Decimal or numeric strings of at most 13 integer digits
            (decimals beyond 3 are rounded); meter ids are 1..2147483647.
        :param str source: the source of rows that do not name one (see ``SOURCES``).
        :return: summary dict::

            {
                "received": int,     # rows given
                "inserted": int,     # new readings stored
                "duplicates": int,   # (meter, read_at) already stored or repeated in the batch
                "rejected": int,     # invalid rows and rows of unknown meters (see "errors")
                "flagged": int,      # inserted with a quality in FLAGGED_QUALITIES
                "held": int,         # inserted and held for review (not counted)
                "late": int,         # inserted before an already stored reading
                "recomputed": int,   # stored readings recomputed (late readings, held ones)
                "qualities": {quality: count of inserted readings},
                "flagged_rows": [(meter_id, read_at, quality)],
                "errors": [(row index, reason)],
            }

        Idempotent on (meter_id, read_at): a replayed batch inserts nothing and reports its rows
        as duplicates; the first stored value of a timestamp wins. Each reading counts from the
        last good reading of its meter (see the FLAG RULES above): implausible values are held
        for review, never rejected, and never move the meter's register state. Readings
        arriving out of order are flagged ``is_late`` and the readings that follow them are
        recomputed in one more statement (as are those following a held reading of the batch).

        Ingestion reads the meter rows and writes the narrow register state rows
        (``prepaid.meter.reading.state``), never the meters: a token sale or any other update of
        a meter neither waits for it nor breaks it. Callers serialise the ingestion of one meter
        (e.g. one polling worker per gateway channel); should two transactions still race on a
        meter, the upsert of its register state makes one of them fail with a serialization
        error (REPEATABLE READ), which Odoo retries.
        """
        self.check_access("create")
        prepared = self._ingest_prepare(rows, source)
        summary = new_summary(
            prepared, flagged=0, held=0, late=0, recomputed=0, qualities={}, flagged_rows=[]
        )
        columns = prepared["columns"]
        if not columns["meter_ids"]:
            return summary
        self._ingest_check_meters(columns["meter_ids"])

        self._flush_ingest_inputs()
        settings = {**self._ingest_settings(), "source": prepared["source"]}
        points = []
        unknown = set()
        first_id = None
        for start in range(0, len(columns["meter_ids"]), INGEST_CHUNK):
            chunk = {name: values[start : start + INGEST_CHUNK] for name, values in columns.items()}
            self.env.cr.execute(_ingest_sql(settings, pg_arrays(chunk)))
            (
                inserted,
                min_id,
                qualities,
                late,
                held,
                point_meters,
                point_times,
                flagged_meters,
                flagged_times,
                flagged_qualities,
                missing,
            ) = self.env.cr.fetchone()
            summary["inserted"] += inserted
            summary["late"] += late
            summary["held"] += held
            if min_id is not None and first_id is None:
                first_id = min_id
            for quality, count in (qualities or {}).items():
                summary["qualities"][quality] = summary["qualities"].get(quality, 0) + count
            points += zip(point_meters or [], point_times or [], strict=True)
            summary["flagged_rows"] += zip(
                flagged_meters or [], flagged_times or [], flagged_qualities or [], strict=True
            )
            unknown.update(missing or [])

        self._ingest_account(summary, columns, unknown)
        if points:
            self._ingest_settle(summary, self._recompute_after(points), first_id)
        summary["flagged"] = len(summary["flagged_rows"])
        self.invalidate_model()
        self._invalidate_register_state()
        if summary["flagged"] or summary["rejected"]:
            _logger.info(
                "Readings ingested: %(inserted)s new, %(duplicates)s duplicates, "
                "%(flagged)s flagged (%(held)s held for review), %(rejected)s rejected",
                summary,
            )
        return summary

    @api.model
    def _ingest_settle(self, summary, changes, first_id):
        """Complete ``summary`` with the ``changes`` of the recomputation that followed the
        insertion: readings of the batch (ids from ``first_id``: the sequence is increasing)
        whose batch predecessor turned out held move to their final quality; the others are
        stored readings recomputed."""
        flagged = {
            (meter_id, read_at): quality for meter_id, read_at, quality in summary["flagged_rows"]
        }
        qualities = summary["qualities"]
        for change in changes:
            if first_id is None or change["id"] < first_id:
                summary["recomputed"] += 1
                continue
            old, new = change["old_quality"], change["quality"]
            qualities[old] -= 1
            qualities[new] = qualities.get(new, 0) + 1
            if not qualities[old]:
                del qualities[old]
            key = (change["meter_id"], change["read_at"])
            flagged.pop(key, None)
            if new in FLAGGED_QUALITIES:
                flagged[key] = new
            summary["held"] += (change["review_state"] == "pending") - (
                change["old_review_state"] == "pending"
            )
        summary["flagged_rows"] = sorted(
            (meter_id, read_at, quality) for (meter_id, read_at), quality in flagged.items()
        )

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
        """Validate rows and split them into columns ready for :func:`_ingest_sql`.

        Invalid rows become ``errors`` (index, reason); repeated (meter, timestamp) keys inside
        the batch are dropped (the first one wins) and counted as duplicates.
        """
        source_keys = {key for key, _label in SOURCES}
        if source not in source_keys:
            raise ValueError(f"Unknown reading source {source!r}")
        _ = self.env._
        register_label = _("Register total")
        tou_labels = [_("Register T%(number)s", number=number) for number in range(1, 5)]

        def number(raw, label):
            try:
                return parse_number(raw)
            except NumberError as error:
                raise RowError(self._number_error_reason(label, raw, error)) from None

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
                if isinstance(meter_id, int) and not isinstance(meter_id, bool) and meter_id > 0:
                    raise RowError(
                        _(
                            "Meter id %(meter)s is out of range (1 to %(max)s).",
                            meter=meter_id,
                            max=MAX_RECORD_ID,
                        )
                    )
                raise RowError(_("Missing or invalid meter."))
            read_at = to_utc_naive(read_at)
            if read_at is None:
                raise RowError(_("Missing or invalid timestamp."))
            if _is_blank(total):
                raise RowError(_("Missing or invalid register total."))
            total = number(total, register_label)
            tous = [
                None if _is_blank(raw) else number(raw, label)
                for raw, label in zip(raw_tous, tou_labels, strict=True)
            ]
            if row_source and row_source not in source_keys:
                raise RowError(_("Unknown reading source %(name)s.", name=row_source))
            return meter_id, read_at, total, *tous, row_source or source

        prepared = collect_rows(rows, parse_row, _INGEST_COLUMNS, key_size=2)
        columns = prepared["columns"]
        if all(value == source for value in columns["sources"]):
            columns["sources"] = [None] * len(columns["sources"])
        return {**prepared, "source": source}

    @api.model
    def _number_error_reason(self, label, raw, error):
        """The reason to report for a row whose value ``raw`` of ``label`` is refused."""
        _ = self.env._
        shown = str(raw)
        if len(shown) > 24:
            shown = f"{shown[:21]}..."
        if error.kind == "not_finite":
            return _("%(label)s %(value)s is not a finite number.", label=label, value=shown)
        if error.kind == "too_large":
            return _(
                "%(label)s %(value)s is out of range: at most %(digits)s digits before the "
                "decimal point.",
                label=label,
                value=shown,
                digits=error.limit,
            )
        if error.kind == "too_long":
            return _(
                "%(label)s %(value)s has too many digits (at most %(limit)s characters).",
                label=label,
                value=shown,
                limit=error.limit,
            )
        return _("%(label)s %(value)s is not a number.", label=label, value=shown)

    @api.model
    def _recompute_after(self, points, ids=()):
        """Recompute the readings that follow each ``(meter_id, read_at)`` point, plus the
        readings ``ids``, from their last good predecessor, and the readings after them while
        what they count from changes; settle the register state of the meters concerned.

        :return: the readings changed, as dicts (``id``, ``meter_id``, ``read_at``,
            ``old_quality``, ``quality``, ``old_review_state``, ``review_state``,
            ``old_consumption``, ``consumption``).
        """
        self._flush_ingest_inputs()
        self.env.cr.execute(
            _recompute_sql(
                self._ingest_settings(),
                [meter_id for meter_id, _read_at in points],
                [read_at for _meter_id, read_at in points],
                list(ids),
            )
        )
        names = [description[0] for description in self.env.cr.description]
        changes = [dict(zip(names, row, strict=True)) for row in self.env.cr.fetchall()]
        self.invalidate_model()
        self._invalidate_register_state()
        return changes

    @api.model
    def _invalidate_register_state(self):
        """Forget what the ORM cached of the register state the statements wrote (nothing to
        flush first: the ORM never writes it)."""
        self.env["prepaid.meter.reading.state"].invalidate_model(flush=False)
        self.env["prepaid.meter"].invalidate_model(
            ["last_reading_at", "last_reading_total", "last_reading_id"], flush=False
        )

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
