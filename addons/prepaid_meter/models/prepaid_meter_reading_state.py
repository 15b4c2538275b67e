from odoo import fields, models


class PrepaidMeterReadingState(models.Model):
    """The register state of a meter as its readings leave it: one narrow row per meter.

    Written only by the readings' ingestion, review and recomputation statements (SQL), never
    through the ORM. It lives off the wide ``prepaid_meter`` row so that ingesting readings
    never updates (hence never locks) the meter: a token sale, a gateway poll or a user editing
    the meter does not wait for a batch of readings, nor makes it fail with a serialization
    error. ``prepaid.meter`` shows it as read-only fields (``last_reading_*``).
    """

    _name = "prepaid.meter.reading.state"
    _description = "Meter Register State"
    # Updated by every batch for every polled meter: no audit columns to maintain.
    _log_access = False
    _rec_name = "meter_id"

    meter_id = fields.Many2one(
        "prepaid.meter",
        required=True,
        readonly=True,
        ondelete="cascade",
        # Indexed by the unique constraint, the conflict target of the ingestion's upsert.
        index=False,
    )
    last_reading_at = fields.Datetime(
        string="Last Reading At",
        readonly=True,
        help="The last good reading (not held for review, not rejected): where the next "
        "reading counts from.",
    )
    last_reading_total = fields.Float(
        string="Last Register Value", digits=(16, 3), readonly=True, aggregator=None
    )
    newest_read_at = fields.Datetime(
        string="Newest Reading At",
        readonly=True,
        help="The newest stored reading, held ones included: a reading before it arrives late.",
    )

    _sql_constraints = [
        ("meter_uniq", "unique(meter_id)", "A meter has one register state."),
    ]

    def init(self):
        # Every batch updates the row of each polled meter: free space on its page lets
        # PostgreSQL update it in place (HOT updates: no new index entry, no bloat).
        self.env.cr.execute("ALTER TABLE prepaid_meter_reading_state SET (fillfactor = 50)")
