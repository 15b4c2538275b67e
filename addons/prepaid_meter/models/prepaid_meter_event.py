import logging
from collections.abc import Mapping

from odoo import api, fields, models
from odoo.tools import format_datetime

from ..tools.ingest_rows import RowError, collect_rows, is_record_id
from .prepaid_ingest_mixin import PrepaidIngestMixin, to_utc_naive

_logger = logging.getLogger(__name__)

EVENT_TYPES = [
    ("tamper", "Tamper"),
    ("cover_open", "Cover Open"),
    ("reverse_energy", "Reverse Energy"),
    ("power_fail", "Power Failure"),
    ("power_restore", "Power Restored"),
    ("relay_on", "Relay On"),
    ("relay_off", "Relay Off"),
    ("magnetic", "Magnetic Interference"),
    ("low_battery", "Low Battery"),
    ("clock_error", "Clock Error"),
    ("other", "Other"),
]
SEVERITIES = [("info", "Information"), ("warning", "Warning"), ("critical", "Critical")]
# Severity of an event when the source does not say: tampering is critical, supply problems
# are warnings, normal operations are information.
DEFAULT_SEVERITY = {
    "tamper": "critical",
    "cover_open": "critical",
    "magnetic": "critical",
    "reverse_energy": "warning",
    "power_fail": "warning",
    "low_battery": "warning",
    "clock_error": "warning",
    "power_restore": "info",
    "relay_on": "info",
    "relay_off": "info",
    "other": "info",
}

# The columns of a batch, in the order of the row parser's values; the first three are the key.
_INGEST_COLUMNS = ("meter_ids", "types", "occurred", "severities", "messages")
_INGEST_SQL = """
WITH batch AS (
    SELECT *
      FROM unnest(%(meter_ids)s::int4[], %(types)s::varchar[], %(occurred)s::timestamp[],
                  %(severities)s::varchar[], %(messages)s::text[])
           AS b(meter_id, event_type, occurred_at, severity, message)
),
ins AS (
    INSERT INTO prepaid_meter_event (
        meter_id, event_type, occurred_at, severity, message, acknowledged, company_id,
        create_uid, create_date, write_uid, write_date)
    SELECT b.meter_id, b.event_type, b.occurred_at, b.severity, b.message, FALSE, m.company_id,
           %(uid)s, %(now)s, %(uid)s, %(now)s
      FROM batch b
      JOIN prepaid_meter m ON m.id = b.meter_id
    ON CONFLICT (meter_id, event_type, occurred_at) DO NOTHING
    RETURNING id
)
SELECT (SELECT count(*) FROM ins),
       (SELECT array_agg(DISTINCT b.meter_id)
          FROM batch b
         WHERE NOT EXISTS (SELECT FROM prepaid_meter WHERE id = b.meter_id))
"""


class PrepaidMeterEvent(PrepaidIngestMixin, models.Model):
    _name = "prepaid.meter.event"
    _inherit = ["prepaid.access.mixin"]
    # Reported by the meter: immutable (acknowledging is action_acknowledge's, in sudo).
    _prepaid_immutable = True
    _description = "Meter Event"
    _order = "occurred_at desc, id desc"
    _rec_name = "event_type"

    # === FIELDS === #
    # Events are written by _ingest() in SQL; only the acknowledgement changes afterwards.
    meter_id = fields.Many2one(
        "prepaid.meter",
        required=True,
        readonly=True,
        ondelete="cascade",
        # Covered by the unique (meter_id, event_type, occurred_at) index.
        index=False,
    )
    event_type = fields.Selection(EVENT_TYPES, string="Event", required=True, readonly=True)
    occurred_at = fields.Datetime(string="Occurred At", required=True, readonly=True)
    severity = fields.Selection(SEVERITIES, required=True, readonly=True, default="info")
    message = fields.Text(readonly=True)
    acknowledged = fields.Boolean(readonly=True, copy=False)
    acknowledged_by_id = fields.Many2one(
        "res.users", string="Acknowledged By", readonly=True, copy=False
    )
    acknowledged_at = fields.Datetime(string="Acknowledged At", readonly=True, copy=False)
    room_id = fields.Many2one(related="meter_id.room_id")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)

    _sql_constraints = [
        (
            "meter_type_occurred_uniq",
            "unique(meter_id, event_type, occurred_at)",
            "This event of the meter is already recorded.",
        ),
    ]

    def init(self):
        # The operators' queue: open events, newest first.
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS prepaid_meter_event_open_idx "
            "ON prepaid_meter_event (occurred_at DESC) WHERE NOT acknowledged"
        )

    # === COMPUTE METHODS === #
    @api.depends("meter_id.name", "event_type", "occurred_at")
    def _compute_display_name(self):
        labels = dict(self._fields["event_type"]._description_selection(self.env))
        for event in self:
            event.display_name = (
                f"{event.meter_id.name} - {labels.get(event.event_type, '')} "
                f"@ {format_datetime(self.env, event.occurred_at)}"
            )

    # === ACTION METHODS === #
    def action_acknowledge(self):
        """Acknowledge the events: who saw them, and when.

        Operators may acknowledge the events they can read without the right to edit them,
        hence the write as superuser once read access is checked.
        """
        self.check_access("read")
        open_events = self.filtered(lambda event: not event.acknowledged)
        open_events.sudo().write(
            {
                "acknowledged": True,
                "acknowledged_by_id": self.env.uid,
                "acknowledged_at": fields.Datetime.now(),
            }
        )
        return True

    # === BUSINESS METHODS === #
    @api.model
    def _ingest(self, rows):
        """Store meter events in one set-based statement, idempotent on
        (meter_id, event_type, occurred_at).

        :param rows: dicts with ``meter_id``, ``event_type``, ``occurred_at`` (naive UTC or
            aware datetime) and optionally ``severity`` and ``message``; or tuples in that order.
            An unknown event type is stored as ``other`` with the original code in the message,
            so that nothing is lost; the severity defaults from the type (``DEFAULT_SEVERITY``).
        :return: ``{"received", "inserted", "duplicates", "rejected", "errors"}``, errors being
            ``[(row index, reason)]``.
        """
        self.check_access("create")
        _ = self.env._
        types = set(DEFAULT_SEVERITY)
        severities = {key for key, _label in SEVERITIES}

        def parse_row(row):
            if isinstance(row, Mapping):
                meter_id, event_type, occurred_at = (
                    row.get("meter_id"),
                    row.get("event_type"),
                    row.get("occurred_at"),
                )
                severity, message = row.get("severity"), row.get("message")
            else:
                meter_id, event_type, occurred_at, *rest = row
                rest += [None] * (2 - len(rest))
                severity, message = rest[:2]
            if not is_record_id(meter_id):
                raise RowError(_("Missing or invalid meter."))
            occurred_at = to_utc_naive(occurred_at)
            if occurred_at is None:
                raise RowError(_("Missing or invalid timestamp."))
            if event_type not in types:
                message = f"[{event_type}] {message or ''}".strip()
                event_type = "other"
            if severity not in severities:
                severity = DEFAULT_SEVERITY[event_type]
            return meter_id, event_type, occurred_at, severity, message or None

        prepared = collect_rows(rows, parse_row, _INGEST_COLUMNS, key_size=3)
        # Free text: let psycopg2 quote it.
        return self._ingest_columns(prepared, _INGEST_SQL, raw=("messages",))
