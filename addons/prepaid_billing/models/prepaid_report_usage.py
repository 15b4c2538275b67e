from odoo import fields, models
from odoo.tools import SQL

from ..tools.usage import DEFAULT_THRESHOLDS

HABIT_LABELS = [
    ("frequent_small", "Frequent Small"),
    ("frequent", "Frequent"),
    ("monthly", "Monthly"),
    ("rare_large", "Rare Large"),
    ("rare", "Rare"),
    ("single", "Single Top-up"),
    ("dormant", "Dormant"),
]
# The top-ups whose money was taken (a reversed or cancelled one is no habit).
PAID_STATES = ("paid", "delivered", "failed")


class PrepaidReportUsage(models.Model):
    """Usage analysis: per account, its paid top-ups (number, total, mean), the mean and
    median days between two of them, the last one and the days since, and the habit they
    show (rules and thresholds in ``tools/usage.py``).

    One SQL statement for every account: a window (``lag``) over the top-ups gives each its
    interval since the previous one of the account, then one ``GROUP BY`` per account. Days
    are counted on the company's local calendar.
    """

    _name = "prepaid.report.usage"
    _description = "Usage Analysis"
    _auto = False
    _order = "last_topup_at desc, id"
    _rec_name = "account_id"

    account_id = fields.Many2one("prepaid.account", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Tenant", readonly=True)
    room_id = fields.Many2one("prepaid.site", string="Room", readonly=True)
    building_id = fields.Many2one("prepaid.site", string="Building", readonly=True)
    area_id = fields.Many2one("prepaid.site", string="Site", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    topup_count = fields.Integer(string="Number of Top-ups", readonly=True)
    total_amount = fields.Monetary(string="Total Top-ups", readonly=True)
    mean_amount = fields.Monetary(string="Mean Top-up", readonly=True, aggregator="avg")
    mean_gap_days = fields.Float(
        string="Mean Days Between", digits=(16, 1), readonly=True, aggregator="avg"
    )
    median_gap_days = fields.Float(
        string="Median Days Between",
        digits=(16, 1),
        readonly=True,
        aggregator="avg",
        help="Empty with a single top-up.",
    )
    first_topup_at = fields.Datetime(string="First Top-up", readonly=True)
    last_topup_at = fields.Datetime(string="Last Top-up", readonly=True)
    days_since = fields.Integer(string="Days Since Last Top-up", readonly=True, aggregator="avg")
    habit = fields.Selection(HABIT_LABELS, readonly=True)

    @property
    def _table_query(self):
        limits = DEFAULT_THRESHOLDS
        return SQL(
            """
            SELECT s.*,
                   CASE WHEN s.days_since > %(dormant)s THEN 'dormant'
                        WHEN s.topup_count < 2 OR s.median_gap_days IS NULL THEN 'single'
                        WHEN s.median_gap_days <= %(frequent)s AND s.mean_amount <= %(small)s
                             THEN 'frequent_small'
                        WHEN s.median_gap_days <= %(frequent)s THEN 'frequent'
                        WHEN s.median_gap_days <= %(monthly)s THEN 'monthly'
                        WHEN s.mean_amount >= %(large)s THEN 'rare_large'
                        ELSE 'rare' END AS habit
              FROM (
                SELECT a.id, a.id AS account_id, a.partner_id, a.room_id, room.building_id,
                       room.area_id, a.company_id, c.currency_id,
                       g.topup_count, g.total_amount, round(g.mean_exact, 2) AS mean_amount,
                       round(g.mean_gap::numeric, 1) AS mean_gap_days,
                       round(g.median_gap::numeric, 1) AS median_gap_days,
                       g.first_topup_at, g.last_topup_at,
                       (now() AT TIME ZONE COALESCE(p.tz, 'UTC'))::date
                         - (g.last_topup_at AT TIME ZONE 'UTC'
                            AT TIME ZONE COALESCE(p.tz, 'UTC'))::date AS days_since
                  FROM (
                    SELECT t.account_id, count(*) AS topup_count, sum(t.amount) AS total_amount,
                           avg(t.amount) AS mean_exact, avg(t.gap) AS mean_gap,
                           percentile_cont(0.5) WITHIN GROUP (ORDER BY t.gap) AS median_gap,
                           min(t.paid_at) AS first_topup_at, max(t.paid_at) AS last_topup_at
                      FROM (
                        SELECT t.account_id, t.amount, t.paid_at,
                               extract(epoch FROM t.paid_at - lag(t.paid_at) OVER (
                                   PARTITION BY t.account_id ORDER BY t.paid_at, t.id)) / 86400
                                   AS gap
                          FROM prepaid_topup t
                         WHERE t.state IN %(states)s AND t.paid_at IS NOT NULL
                      ) t
                  GROUP BY t.account_id
                  ) g
                  JOIN prepaid_account a ON a.id = g.account_id
                  JOIN res_company c ON c.id = a.company_id
                  JOIN res_partner p ON p.id = c.partner_id
             LEFT JOIN prepaid_site room ON room.id = a.room_id
              ) s
            """,
            states=PAID_STATES,
            dormant=limits.dormant_days,
            frequent=limits.frequent_days,
            monthly=limits.monthly_days,
            small=limits.small_amount,
            large=limits.large_amount,
        )
