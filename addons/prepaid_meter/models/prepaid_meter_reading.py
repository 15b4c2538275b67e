from odoo import api, fields, models
from odoo.osv.expression import NEGATIVE_TERM_OPERATORS, OR
from odoo.tools import SQL

from ..tools.related_counts import set_related_counts
from .prepaid_access_mixin import PROCESS


class PrepaidMeter(models.Model):
    """The reading side of a meter: its register state as ingestion leaves it, the series it
    continues or closes (replacement), and its readings, events and load profile."""

    _inherit = "prepaid.meter"

    # === READINGS === #
    # The register state (last good reading) lives in prepaid.meter.reading.state, one narrow
    # row per meter that ingestion upserts in SQL: ingestion never updates (hence never locks)
    # the meter row. These fields show it, read-only and searchable. last_reading_id is
    # derived from (meter, last_reading_at) through the readings' unique index instead of
    # being stored: a stored foreign key would add a referential check to every state update
    # of the ingestion and a reverse lookup to every reading deletion.
    last_reading_at = fields.Datetime(
        string="Last Reading At",
        compute="_compute_last_reading",
        search="_search_last_reading_at",
        compute_sudo=True,
        help="The last good reading: readings held for review or rejected do not count.",
    )
    last_reading_total = fields.Float(
        string="Last Register Value",
        digits=(16, 3),
        compute="_compute_last_reading",
        search="_search_last_reading_total",
        compute_sudo=True,
    )
    last_reading_id = fields.Many2one(
        "prepaid.reading",
        string="Last Reading",
        compute="_compute_last_reading_id",
        search="_search_last_reading_id",
    )
    register_digits = fields.Integer(
        default=6,
        help="Integer digits of the total register: with 6 it shows up to 999999.99 and then "
        "rolls over to zero. Used to count consumption through a roll-over.",
    )
    max_load = fields.Float(
        string="Max Plausible Load",
        digits=(12, 3),
        help="kW for electricity, m3/h for water, after the multiplier. A reading implying more "
        "is flagged as an implausible jump. 0: the default of the utility (system parameters "
        "prepaid_meter.max_load_electricity and prepaid_meter.max_load_water).",
    )
    replaced_meter_id = fields.Many2one(
        "prepaid.meter",
        string="Replaces",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The meter this one replaced: its series of readings continues in this one.",
    )
    replacement_meter_id = fields.Many2one(
        "prepaid.meter",
        string="Replaced By",
        readonly=True,
        copy=False,
        index="btree_not_null",
    )
    final_reading = fields.Float(
        string="Final Register Value", digits=(16, 3), readonly=True, copy=False
    )
    final_reading_at = fields.Datetime(
        string="Final Reading At",
        readonly=True,
        copy=False,
        help="Readings after this moment are flagged and not counted: the series is closed.",
    )
    reading_count = fields.Integer(compute="_compute_reading_count")
    open_event_count = fields.Integer(string="Open Events", compute="_compute_open_event_count")

    # === POLICY === #
    def _get_write_groups(self):
        # The series of readings: closed by the replacement wizard, reopened by the reset to
        # draft, each after its own checks, in sudo.
        return {
            **super()._get_write_groups(),
            **dict.fromkeys(
                ("final_reading", "final_reading_at", "replaced_meter_id", "replacement_meter_id"),
                PROCESS,
            ),
        }

    # === COMPUTE METHODS === #
    def _compute_last_reading(self):
        states = self.env["prepaid.meter.reading.state"]
        if self.ids:
            states = states.search_fetch(
                [("meter_id", "in", self.ids)],
                ["meter_id", "last_reading_at", "last_reading_total"],
            )
        by_meter = {state.meter_id.id: state for state in states}
        for meter in self:
            state = by_meter.get(meter.id)
            meter.last_reading_at = state.last_reading_at if state else False
            meter.last_reading_total = state.last_reading_total if state else 0.0

    def _compute_last_reading_id(self):
        dated = self.filtered("last_reading_at")
        readings = self.env["prepaid.reading"]
        if dated.ids:
            readings = readings.search_fetch(
                [
                    ("meter_id", "in", dated.ids),
                    ("read_at", "in", list(set(dated.mapped("last_reading_at")))),
                ],
                ["meter_id", "read_at"],
            )
        by_key = {(reading.meter_id.id, reading.read_at): reading for reading in readings}
        for meter in self:
            meter.last_reading_id = by_key.get((meter.id, meter.last_reading_at), False)

    def _search_last_reading_at(self, operator, value):
        return self._search_reading_state("last_reading_at", operator, value)

    def _search_last_reading_total(self, operator, value):
        return self._search_reading_state("last_reading_total", operator, value)

    @api.model
    def _search_reading_state(self, field_name, operator, value):
        """Domain on the meters whose register state matches ``(field_name, operator, value)``;
        a meter without state (never read) has no last reading: it matches what a NULL does."""
        State = self.env["prepaid.meter.reading.state"].sudo()
        matching = State._search([(field_name, operator, value)])
        domain = [("id", "in", matching.subselect("meter_id"))]
        values = value if isinstance(value, (list, tuple)) else [value]
        value_is_null = any(item is False or item is None for item in values)
        if (operator in NEGATIVE_TERM_OPERATORS) != value_is_null:
            domain = OR([domain, [("id", "not in", State._search([]).subselect("meter_id"))]])
        return domain

    @api.model
    def _search_last_reading_id(self, operator, value):
        """Meters whose last good reading matches ``(operator, value)`` on readings."""
        if operator in ("=", "!=") and not value:
            # No last reading: no state, or a state without a good reading.
            return [("last_reading_at", operator, False)]
        readings = self.env["prepaid.reading"]._search([("id", operator, value)])
        return [
            (
                "id",
                "in",
                SQL(
                    """
                    (SELECT s.meter_id
                      FROM prepaid_meter_reading_state s
                      JOIN prepaid_reading r
                        ON r.meter_id = s.meter_id AND r.read_at = s.last_reading_at
                     WHERE r.id IN %s)
                    """,
                    readings.subselect(),
                ),
            )
        ]

    def _compute_reading_count(self):
        set_related_counts(self, "reading_count", "prepaid.reading", "meter_id")

    def _compute_open_event_count(self):
        set_related_counts(
            self,
            "open_event_count",
            "prepaid.meter.event",
            "meter_id",
            domain=[("acknowledged", "=", False)],
        )

    def action_view_readings(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_meter.prepaid_reading_action"
        )
        action["domain"] = [("meter_id", "=", self.id)]
        action["context"] = {"default_meter_id": self.id}
        return action

    def action_view_events(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_meter.prepaid_meter_event_action"
        )
        action["domain"] = [("meter_id", "=", self.id)]
        action["context"] = {"default_meter_id": self.id}
        return action

    def action_view_load_profile(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_meter.prepaid_load_profile_action"
        )
        action["domain"] = [("meter_id", "=", self.id)]
        return action

    def action_open_replace_wizard(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_meter.prepaid_meter_replace_action"
        )
        action["context"] = {"default_old_meter_id": self.id}
        return action
