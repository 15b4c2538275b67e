from odoo import fields, models
from odoo.tools import SQL


class PrepaidReportEnergy(models.Model):
    """Energy per meter and day (the company's local day), with the TOU bands: the daily,
    monthly and yearly energy reports are the pivot and graph views of this SQL view grouped
    by day, month or year.

    The readings are aggregated per meter and day (``GROUP BY`` on the local date), with no
    window over the result: a filter on the meter or the day is pushed down into the
    aggregation and only the matching readings are read. A reading's TOU kWh are the advance
    of its band registers since its predecessor (``previous_read_at``, found through the
    unique (meter, time) index). Held and rejected readings count nothing (their consumption
    is 0). The account, tenant and sites are the meter's current ones.
    """

    _name = "prepaid.report.energy"
    _description = "Energy Report"
    _auto = False
    _order = "date desc, meter_id"
    _rec_name = "meter_id"

    date = fields.Date(string="Day", readonly=True)
    meter_id = fields.Many2one("prepaid.meter", readonly=True)
    account_id = fields.Many2one("prepaid.account", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Tenant", readonly=True)
    room_id = fields.Many2one("prepaid.site", string="Room", readonly=True)
    building_id = fields.Many2one("prepaid.site", string="Building", readonly=True)
    area_id = fields.Many2one("prepaid.site", string="Site", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    utility = fields.Selection([("electricity", "Electricity"), ("water", "Water")], readonly=True)
    consumption = fields.Float(digits=(16, 3), readonly=True, help="Multiplier applied.")
    kwh_t1 = fields.Float(string="T1 (Sharp)", digits=(16, 3), readonly=True)
    kwh_t2 = fields.Float(string="T2 (Peak)", digits=(16, 3), readonly=True)
    kwh_t3 = fields.Float(string="T3 (Flat)", digits=(16, 3), readonly=True)
    kwh_t4 = fields.Float(string="T4 (Valley)", digits=(16, 3), readonly=True)
    reading_count = fields.Integer(string="Readings", readonly=True)

    def _band_sql(self, band):
        # The advance of a band register since the reading's predecessor (its last good
        # reading), multiplier applied; a register that went down (reset, roll-over) counts
        # nothing rather than negative; held and rejected readings count nothing.
        column = SQL.identifier(band)
        return SQL(
            """COALESCE(sum(GREATEST(r.%(column)s - prev.%(column)s, 0) * m.multiplier)
                   FILTER (WHERE r.review_state IS NULL OR r.review_state = 'accepted'), 0)
               AS %(alias)s""",
            column=column,
            alias=SQL.identifier(f"kwh_{band}"),
        )

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT (d.meter_id::bigint << 20) + (d.date - DATE '1970-01-01') AS id,
                   d.date, d.meter_id, m.account_id, a.partner_id, m.room_id,
                   room.building_id, room.area_id, m.company_id, m.utility,
                   d.consumption, d.reading_count, d.kwh_t1, d.kwh_t2, d.kwh_t3, d.kwh_t4
              FROM (
                SELECT r.meter_id,
                       (r.read_at AT TIME ZONE 'UTC' AT TIME ZONE COALESCE(p.tz, 'UTC'))::date
                           AS date,
                       sum(r.consumption) AS consumption,
                       count(*) AS reading_count,
                       %(bands)s
                  FROM prepaid_reading r
                  JOIN (SELECT id, COALESCE(NULLIF(multiplier, 0), 1) AS multiplier
                          FROM prepaid_meter) m ON m.id = r.meter_id
                  JOIN res_company c ON c.id = r.company_id
                  JOIN res_partner p ON p.id = c.partner_id
                  -- The predecessor through the unique (meter_id, read_at) index.
             LEFT JOIN prepaid_reading prev
                       ON prev.meter_id = r.meter_id AND prev.read_at = r.previous_read_at
              GROUP BY r.meter_id, 2
              ) d
              JOIN prepaid_meter m ON m.id = d.meter_id
         LEFT JOIN prepaid_account a ON a.id = m.account_id
         LEFT JOIN prepaid_site room ON room.id = m.room_id
            """,
            bands=SQL(", ").join(self._band_sql(band) for band in ("t1", "t2", "t3", "t4")),
        )
