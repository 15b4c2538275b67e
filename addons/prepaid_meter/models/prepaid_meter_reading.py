from odoo import api, fields, models

from ..tools.related_counts import set_related_counts


class PrepaidMeter(models.Model):
    """The reading side of a meter: its register state as ingestion leaves it, the series it
    continues or closes (replacement), and its readings, events and load profile."""

    _inherit = "prepaid.meter"

    # === READINGS === #
    # The last reading is maintained by prepaid.reading._ingest() in SQL, one statement per
    # batch, never by per-record ORM writes. last_reading_id is derived from (meter,
    # last_reading_at) through the readings' unique index instead of being stored: a stored
    # foreign key would add a referential check to every meter update of the ingestion and a
    # reverse lookup to every reading deletion.
    last_reading_at = fields.Datetime(string="Last Reading At", readonly=True, copy=False)
    last_reading_total = fields.Float(
        string="Last Register Value", digits=(16, 3), readonly=True, copy=False
    )
    last_reading_id = fields.Many2one(
        "prepaid.reading", string="Last Reading", compute="_compute_last_reading_id"
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

    @api.depends("last_reading_at")
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
