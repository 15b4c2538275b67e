from datetime import datetime, time, timedelta

import pytz
from dateutil.relativedelta import relativedelta

from odoo import fields, models
from odoo.tools import SQL

# Time-of-use registers of a reading: T1 sharp, T2 peak, T3 flat, T4 valley.
TOU_REGISTERS = ("t1", "t2", "t3", "t4")

# Consumption of good readings per bucket (day or month in the tenant's time zone), split
# over the time-of-use registers in proportion of their increments (the reading's consumption
# already applies the multiplier and roll-overs; the registers only say how it splits). The
# predecessor of the first reading of the period is read too (``margin``), so that the first
# bucket gets its split.
_USAGE_SQL = """
WITH good AS (
    SELECT r.meter_id, r.utility, r.read_at, r.consumption::numeric AS consumption,
           GREATEST(r.t1 - lag(r.t1) OVER w, 0) AS d1,
           GREATEST(r.t2 - lag(r.t2) OVER w, 0) AS d2,
           GREATEST(r.t3 - lag(r.t3) OVER w, 0) AS d3,
           GREATEST(r.t4 - lag(r.t4) OVER w, 0) AS d4
      FROM prepaid_reading r
     WHERE r.meter_id = ANY(%(meter_ids)s)
       AND r.read_at >= %(margin)s AND r.read_at < %(end)s
       AND (r.review_state IS NULL OR r.review_state = 'accepted')
    WINDOW w AS (PARTITION BY r.meter_id ORDER BY r.read_at)
), split AS (
    SELECT date_trunc(%(bucket)s, read_at AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date AS day,
           utility, consumption,
           COALESCE(d1, 0) + COALESCE(d2, 0) + COALESCE(d3, 0) + COALESCE(d4, 0) AS dsum,
           d1, d2, d3, d4
      FROM good
     WHERE read_at >= %(start)s
)
SELECT day, utility,
       sum(consumption)::text,
       sum(CASE WHEN dsum > 0 THEN consumption * COALESCE(d1, 0) / dsum END)::text,
       sum(CASE WHEN dsum > 0 THEN consumption * COALESCE(d2, 0) / dsum END)::text,
       sum(CASE WHEN dsum > 0 THEN consumption * COALESCE(d3, 0) / dsum END)::text,
       sum(CASE WHEN dsum > 0 THEN consumption * COALESCE(d4, 0) / dsum END)::text
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
            first = today - timedelta(days=periods - 1)
            buckets = [first + timedelta(days=i) for i in range(periods)]
            after_last = today + timedelta(days=1)
        else:
            current = today.replace(day=1)
            first = current - relativedelta(months=periods - 1)
            buckets = [first + relativedelta(months=i) for i in range(periods)]
            after_last = current + relativedelta(months=1)

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
                    margin=start - relativedelta(days=35),
                    start=start,
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
