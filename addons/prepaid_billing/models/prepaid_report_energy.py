from odoo import fields, models
from odoo.tools import SQL


class PrepaidReportEnergy(models.Model):
    """Energy per meter and day (the company's local day), with the TOU bands: the daily,
    monthly and yearly energy reports are the pivot and graph views of this SQL view grouped
    by day, month or year.

    The readings are aggregated once per meter and day (``GROUP BY`` on the local date, the
    time range served by the readings' BRIN index); only those daily rows go through the
    window that turns the TOU registers into kWh. Held and rejected readings count nothing
    (their consumption is 0) and their registers are left out.
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
        # The advance of a band register since the meter's previous day with readings; a
        # register that went down (reset, replaced meter) counts nothing rather than negative.
        column = SQL.identifier(band)
        return SQL(
            "COALESCE(GREATEST(d.%(column)s - lag(d.%(column)s) OVER meter_days, 0), 0)"
            " * d.multiplier",
            column=column,
        )

    @property
    def _table_query(self):
        bands = [
            SQL("%s AS %s", self._band_sql(band), SQL.identifier(f"kwh_{band}"))
            for band in ("t1", "t2", "t3", "t4")
        ]
        return SQL(
            """
            SELECT (d.meter_id::bigint << 20) + (d.date - DATE '1970-01-01') AS id,
                   d.date, d.meter_id, m.account_id, a.partner_id, m.room_id,
                   room.building_id, room.area_id, m.company_id, m.utility,
                   d.consumption, d.reading_count, %(bands)s
              FROM (
                SELECT r.meter_id,
                       (r.read_at AT TIME ZONE 'UTC' AT TIME ZONE COALESCE(p.tz, 'UTC'))::date
                           AS date,
                       sum(r.consumption) AS consumption,
                       count(*) AS reading_count,
                       max(r.t1) FILTER (WHERE %(good)s) AS t1,
                       max(r.t2) FILTER (WHERE %(good)s) AS t2,
                       max(r.t3) FILTER (WHERE %(good)s) AS t3,
                       max(r.t4) FILTER (WHERE %(good)s) AS t4,
                       COALESCE(min(mm.multiplier), 1) AS multiplier
                  FROM prepaid_reading r
                  JOIN prepaid_meter mm ON mm.id = r.meter_id
                  JOIN res_company c ON c.id = r.company_id
                  JOIN res_partner p ON p.id = c.partner_id
              GROUP BY r.meter_id, 2
              ) d
              JOIN prepaid_meter m ON m.id = d.meter_id
         LEFT JOIN prepaid_account a ON a.id = m.account_id
         LEFT JOIN prepaid_site room ON room.id = m.room_id
            WINDOW meter_days AS (PARTITION BY d.meter_id ORDER BY d.date)
            """,
            bands=SQL(", ").join(bands),
            good=SQL("r.review_state IS NULL OR r.review_state = 'accepted'"),
        )
