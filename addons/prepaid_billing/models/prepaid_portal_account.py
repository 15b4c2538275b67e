from datetime import datetime, time

import pytz
from dateutil.relativedelta import relativedelta

from odoo import fields, models
from odoo.tools import SQL

# Time-of-use registers of a reading: T1 sharp, T2 peak, T3 flat, T4 valley.
TOU_REGISTERS = ("t1", "t2", "t3", "t4")

# Consumption of good readings per bucket (day or month in the tenant's time zone) and meter,
# the part read with time-of-use registers split over them in proportion of the registers'
# increase over the bucket (the reading's consumption already applies the multiplier and
# roll-overs; the registers only say how it splits). Grouped before the window function: a
# year of hourly readings is aggregated in one pass, the increases are taken between buckets.
# ``margin`` is the start of the bucket before the first: its registers start the first one (a
# bucket without a predecessor starts from its own first registers).
_USAGE_SQL = """
WITH buckets AS (
    SELECT r.meter_id, r.utility,
           date_trunc(%(bucket)s, r.read_at AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date AS day,
           COALESCE(sum(r.consumption) FILTER (WHERE r.t1 IS NOT NULL), 0)::numeric AS timed,
           COALESCE(sum(r.consumption) FILTER (WHERE r.t1 IS NULL), 0)::numeric AS untimed,
           max(r.t1) AS t1, max(r.t2) AS t2, max(r.t3) AS t3, max(r.t4) AS t4,
           min(r.t1) AS t1_min, min(r.t2) AS t2_min, min(r.t3) AS t3_min, min(r.t4) AS t4_min
      FROM prepaid_reading r
     WHERE r.meter_id = ANY(%(meter_ids)s)
       AND r.read_at >= %(margin)s AND r.read_at < %(end)s
       AND (r.review_state IS NULL OR r.review_state = 'accepted')
     GROUP BY 1, 2, 3
), increases AS (
    SELECT day, utility, timed, untimed,
           GREATEST(COALESCE(t1 - COALESCE(lag(t1) OVER w, t1_min), 0), 0) AS d1,
           GREATEST(COALESCE(t2 - COALESCE(lag(t2) OVER w, t2_min), 0), 0) AS d2,
           GREATEST(COALESCE(t3 - COALESCE(lag(t3) OVER w, t3_min), 0), 0) AS d3,
           GREATEST(COALESCE(t4 - COALESCE(lag(t4) OVER w, t4_min), 0), 0) AS d4
      FROM buckets
    WINDOW w AS (PARTITION BY meter_id ORDER BY day)
), split AS (
    SELECT day, utility, timed + untimed AS total, timed, d1, d2, d3, d4,
           d1 + d2 + d3 + d4 AS dsum
      FROM increases
     WHERE day >= %(first)s
)
SELECT day, utility,
       sum(total)::text,
       sum(CASE WHEN dsum > 0 THEN timed * d1 / dsum END)::text,
       sum(CASE WHEN dsum > 0 THEN timed * d2 / dsum END)::text,
       sum(CASE WHEN dsum > 0 THEN timed * d3 / dsum END)::text,
       sum(CASE WHEN dsum > 0 THEN timed * d4 / dsum END)::text
  FROM split
 GROUP BY day, utility
"""
# What rating charged per bucket and utility (the revisions of a reading sum to its cost).
_COST_SQL = """
SELECT date_trunc(%(bucket)s, l.read_at AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date AS day,
       l.utility, sum(l.amount)::text
  FROM prepaid_rating_line l
 WHERE l.account_id = %(account_id)s AND l.read_at >= %(start)s AND l.read_at < %(end)s
 GROUP BY 1, 2
"""


class PrepaidAccount(models.Model):
    """Utility accounts on the tenant portal: the tenant (the account's partner, its
    commercial partner and contacts) and the co-tenants invited on the account see it under
    ``/my/utilities``; the access token (``portal.mixin``) opens its top-up page without a
    login, e.g. from the QR label of the room."""

    _name = "prepaid.account"
    _inherit = ["prepaid.account", "portal.mixin"]

    portal_partner_ids = fields.Many2many(
        "res.partner",
        "prepaid_account_portal_partner_rel",
        "account_id",
        "partner_id",
        string="Co-tenants",
        help="People who share the account on the portal besides the tenant and its "
        "contacts: they see its balance, consumption and ledger and may top it up.",
    )

    # Staff notes are not the tenant's to read (portal users read their own accounts).
    note = fields.Html(groups="base.group_user")

    # === COMPUTE METHODS === #

    def _compute_access_url(self):  # pylint: disable=missing-return
        super()._compute_access_url()
        for account in self:
            account.access_url = f"/my/utilities/{account.id}"

    # === PORTAL === #

    def _get_portal_tz(self):
        """The time zone of days and months on the portal: the viewer's, else the tenant's,
        else the company's."""
        self.ensure_one()
        return (
            self.env.context.get("tz")
            or self.env.user.tz
            or self.partner_id.tz
            or self.company_id.partner_id.tz
            or "UTC"
        )

    def _get_portal_usage(self, bucket, periods, today=None):
        """Consumption and cost of the account per ``bucket`` ("day" or "month") for the last
        ``periods`` buckets up to ``today`` (the tenant's local date), by utility.

        :return: ``{utility: [{"date", "total", "t1".."t4", "cost"}, ...]}`` oldest first, one
            entry per bucket (zeros where nothing was read); numbers are floats for display
        """
        self.ensure_one()
        tz_name = self._get_portal_tz()
        tz = pytz.timezone(tz_name)
        today = today or fields.Datetime.now().replace(tzinfo=pytz.utc).astimezone(tz).date()
        if bucket == "day":
            step = relativedelta(days=1)
            first = today - step * (periods - 1)
        else:
            step = relativedelta(months=1)
            first = today.replace(day=1) - step * (periods - 1)
        buckets = [first + step * i for i in range(periods)]
        after_last = buckets[-1] + step

        def utc(day):
            local = tz.localize(datetime.combine(day, time.min))
            return local.astimezone(pytz.utc).replace(tzinfo=None)

        start, end = utc(first), utc(after_last)
        meters = self.sudo().with_context(active_test=False).meter_ids
        utilities = sorted(set(meters.mapped("utility"))) or []
        series = {
            utility: {
                day: {"date": day, "total": 0.0, "cost": 0.0, **dict.fromkeys(TOU_REGISTERS, 0.0)}
                for day in buckets
            }
            for utility in utilities
        }
        if meters:
            self.env.flush_all()
            self.env.cr.execute(
                SQL(
                    _USAGE_SQL,
                    meter_ids=meters.ids,
                    margin=utc(first - step),
                    first=first,
                    end=end,
                    bucket=bucket,
                    tz=tz_name,
                )
            )
            for day, utility, total, *tou in self.env.cr.fetchall():
                entry = series.get(utility, {}).get(day)
                if entry is not None:
                    entry["total"] = float(total or 0)
                    for name, value in zip(TOU_REGISTERS, tou, strict=True):
                        entry[name] = float(value or 0)
            self.env.cr.execute(
                SQL(
                    _COST_SQL,
                    account_id=self.id,
                    start=start,
                    end=end,
                    bucket=bucket,
                    tz=tz_name,
                )
            )
            for day, utility, cost in self.env.cr.fetchall():
                entry = series.get(utility, {}).get(day)
                if entry is not None:
                    entry["cost"] = float(cost or 0)
        return {utility: list(days.values()) for utility, days in series.items()}

    def _get_portal_notices(self):
        """What the tenant must know now: low balance and cut-off, as ``(level, message)``
        with level a Bootstrap contextual class."""
        self.ensure_one()
        account = self.sudo()
        notices = []
        if account.cutoff_state == "cut":
            notices.append(
                (
                    "danger",
                    self.env._(
                        "The supply is cut off: top up to have it reconnected automatically."
                    ),
                )
            )
        elif account.cutoff_state in ("deferred", "held") or account.keep_power_active:
            notices.append(
                (
                    "warning",
                    self.env._(
                        "The balance is below the cut-off level: the supply is kept for now; "
                        "top up to avoid a cut-off."
                    ),
                )
            )
        elif account.alarm_level not in (False, "none"):
            labels = dict(account._fields["alarm_level"]._description_selection(self.env))
            notices.append(
                (
                    "warning",
                    self.env._(
                        "Low balance (%(level)s): please top up.",
                        level=labels.get(account.alarm_level, account.alarm_level),
                    ),
                )
            )
        return notices


class PrepaidMeter(models.Model):
    _inherit = "prepaid.meter"

    # Staff notes are not the tenant's to read (portal users read the meters of their accounts).
    note = fields.Html(groups="base.group_user")
