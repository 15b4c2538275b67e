import functools
import logging
import threading
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytz

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from odoo.addons.prepaid_meter.tools.tariff_data import TariffError
from odoo.addons.prepaid_meter.tools.tariff_engine import (
    compile_definition,
    proportional_true_up,
    rate_intervals,
)

from .prepaid_ledger import array_literal

_logger = logging.getLogger(__name__)

# Accounts rated per transaction by the scheduled action (it commits and goes on).
CRON_BATCH = 200

# (account, utility) pairs with work: good readings not rated yet, readings whose consumption
# changed since they were rated (a late reading, a review) and charges of deleted readings.
_WORK_SQL = """
SELECT a.id, r.utility
  FROM prepaid_reading r
  JOIN prepaid_meter m ON m.id = r.meter_id
  JOIN prepaid_account a ON a.id = m.account_id
 WHERE a.state = 'open' AND a.billing_mode = 'prepaid_platform'
   AND r.consumption > 0 AND r.previous_read_at >= a.date_open
   AND NOT EXISTS (SELECT FROM prepaid_rating_line l WHERE l.reading_id = r.id)
   AND %(accounts)s
UNION
SELECT l.account_id, l.utility
  FROM (SELECT DISTINCT ON (reading_id) reading_id, account_id, utility, quantity
          FROM prepaid_rating_line WHERE reading_id IS NOT NULL
      ORDER BY reading_id, revision DESC) l
  JOIN prepaid_reading r ON r.id = l.reading_id
  JOIN prepaid_account a ON a.id = l.account_id
 WHERE a.state = 'open' AND r.consumption <> l.quantity AND %(accounts)s
UNION
SELECT l.account_id, l.utility
  FROM prepaid_rating_line l
  JOIN prepaid_account a ON a.id = l.account_id
 WHERE l.reading_id IS NULL AND a.state = 'open' AND %(accounts)s
 GROUP BY l.account_id, l.utility, l.cycle
HAVING sum(l.amount) <> 0
UNION
SELECT c.account_id, c.utility
  FROM prepaid_rating_cycle c
  JOIN prepaid_account a ON a.id = c.account_id
  JOIN prepaid_tariff t ON t.id = CASE c.utility WHEN 'electricity' THEN a.electricity_tariff_id
                                                 ELSE a.water_tariff_id END
 WHERE a.state = 'open' AND a.billing_mode = 'prepaid_platform' AND t.month_end_true_up
   AND c.cycle < %(closed_before)s AND c.cycle >= t.month_end_true_up_from
   AND (c.month_end_exact IS NULL OR c.month_end_quantity <> c.quantity
        OR c.month_end_exact <> c.exact_amount)
   AND %(accounts)s
 ORDER BY 1, 2
"""


class PrepaidRating(models.AbstractModel):
    """Platform-side billing (后台计费): rate the readings of accounts billed on the platform
    with their tariff and charge them on the wallet, exactly once per reading.

    Rating is chronological per account and utility: each reading's consumption (the interval
    from the previous reading) is priced at the tier the billing cycle has reached, the
    cycle's position (quantity, exact amount) carried between runs in
    ``prepaid.rating.cycle``; several meters of one utility share the cycle. Cycles are
    calendar months of the tariff's timezone; a reading belongs to the month its interval ends
    in. Each reading is charged ``R(exact after) - R(exact before)`` of its cycle, so that a
    cycle's charges add up to its exact total rounded half-up.

    A reading is charged once: its rating line and its ledger key (``rate:<reading id>``)
    are written in the same transaction as the ledger line. When a cycle changes behind the
    rated readings (a late reading before them, a held reading accepted, a reading deleted),
    the cycle is rated again from its start and each reading's difference posts as a
    true-up line. A crash leaves nothing half done: the transaction is rolled back and the
    next run rates the same readings the same way.
    """

    _name = "prepaid.rating"
    _description = "Platform Rating Service"

    @api.model
    def _rate_accounts(self, accounts=None, work=None):
        """Rate the pending readings of ``accounts`` (all accounts billed on the platform
        when None); each account and utility on its own: one that cannot be rated (no tariff
        in force...) is logged and left for the next run, the others are charged.

        :param work: the ``(account id, utility)`` pairs to rate, when the caller looked them
            up already (the scheduled action, batch by batch)
        :return: ``{"rated": readings charged, "lines": ledger lines posted,
            "failed": {(account, utility): message}}``
        """
        work = self._get_work(accounts) if work is None else work
        summary = {"rated": 0, "lines": 0, "failed": {}}
        entries, rows, cycles = [], [], []
        engines = {}  # tariff id -> (timezone, compiled tariff): built once per run
        # One recordset for the batch, so that the accounts and their tariffs are read in one
        # query each; what rating reads of the database is read for the whole batch too.
        batch = self.env["prepaid.account"].browse(dict.fromkeys(pair[0] for pair in work))
        accounts_by_id = {account.id: account for account in batch}
        data = self._get_data(work)
        for account_id, utility in work:
            account = accounts_by_id[account_id]
            try:
                plan = self._plan(account, utility, engines, data[(account_id, utility)])
            except (TariffError, UserError, ValidationError) as error:
                if isinstance(error, TariffError):
                    message = account._get_tariff(utility)._tariff_issue_message(
                        error.code, error.params
                    )
                else:
                    message = str(error.args[0]) if error.args else str(error)
                summary["failed"][(account, utility)] = message
                _logger.warning(
                    "Rating of account %s (%s) failed: %s", account_id, utility, message
                )
                continue
            entries += plan["entries"]
            rows += plan["rows"]
            cycles += plan["cycles"]
        lines = self.env["prepaid.ledger"]._post(entries) if entries else []
        line_by_key = {entry["key"]: line.id for entry, line in zip(entries, lines, strict=True)}
        self._store(rows, cycles, line_by_key)
        summary["rated"] = len({row["reading_id"] for row in rows if row["reading_id"]})
        summary["lines"] = len(entries)
        return summary

    @api.model
    def _cron_rate(self):
        """Scheduled action (and the safety net of near-real-time rating after ingestion):
        rate every account with pending readings, a bounded batch per transaction."""
        work = self._get_work(None)
        by_account = {}
        for account_id, utility in work:
            by_account.setdefault(account_id, []).append((account_id, utility))
        account_ids = list(by_account)
        cron = self.env["ir.cron"]
        for start in range(0, len(account_ids), CRON_BATCH):
            batch_ids = account_ids[start : start + CRON_BATCH]
            self._rate_accounts(work=[pair for key in batch_ids for pair in by_account[key]])
            cron._notify_progress(
                done=start + len(batch_ids), remaining=len(account_ids) - start - len(batch_ids)
            )
            if not getattr(threading.current_thread(), "testing", False):
                self.env.cr.commit()  # pylint: disable=invalid-commit

    # === STEPS === #

    @api.model
    def _get_work(self, accounts):
        if accounts is not None and not accounts:
            return []
        self.env["prepaid.reading"].flush_model()
        self.env["prepaid.account"].flush_model(["state", "billing_mode", "date_open"])
        self.env["prepaid.meter"].flush_model(["account_id"])
        self.env["prepaid.rating.line"].flush_model()
        where = SQL("a.id IN %s", tuple(accounts.ids)) if accounts else SQL("TRUE")
        # Cycles that may have ended: months before the current one of the most advanced
        # timezone (UTC+14); _plan_month_end decides with the tariff's own timezone.
        ahead = fields.Datetime.now() + timedelta(hours=14)
        self.env.cr.execute(
            SQL(_WORK_SQL, accounts=where, closed_before=date(ahead.year, ahead.month, 1))
        )
        return self.env.cr.fetchall()

    @api.model
    def _plan(self, account, utility, engines=None, data=None):
        """What to post for ``account`` and ``utility``: ``{"entries": ledger entries,
        "rows": rating lines, "cycles": cycle positions}``.

        :param engines: ``{tariff id: (timezone, compiled tariff)}`` shared by the accounts
            of a run, so that a tariff is read and compiled once
        :param data: the account's ``{"readings", "rated", "positions"}`` (see ``_get_data``)
            when the caller read them for a whole batch
        """
        tariff = account._get_tariff(utility)
        if not tariff:
            raise UserError(
                self.env._(
                    "Account %(account)s has no %(utility)s tariff.",
                    account=account.display_name,
                    utility=utility,
                )
            )
        engines = {} if engines is None else engines
        if tariff.id not in engines:
            engines[tariff.id] = (
                pytz.timezone(tariff.tz or "UTC"),
                compile_definition(tariff._engine_definition()),
            )
        tz, compiled = engines[tariff.id]
        if data is None:
            data = self._get_data([(account.id, utility)])[(account.id, utility)]
        readings, rated, positions = data["readings"], data["rated"], data["positions"]

        by_cycle = defaultdict(list)
        for reading in readings:
            by_cycle[_cycle_of(reading["read_at"], tz)].append(reading)
        for row in rated.values():
            by_cycle.setdefault(row["cycle"], [])
        # The company is read once per account: its charges are thousands of rows in a run.
        plan = {
            "entries": [],
            "rows": [],
            "cycles": [],
            "company_id": account.company_id.id,
            "origin_model": self.env["prepaid.reading"],  # what the charges come from
        }
        for cycle in sorted(by_cycle):
            cycle_readings = by_cycle[cycle]
            position = positions.get(cycle)
            unrated = [r for r in cycle_readings if r["id"] not in rated]
            changed = any(
                row["cycle"] == cycle
                and (row["changed"] or (not row["reading_id"] and row["charged"]))
                for row in rated.values()
            )
            late = position and unrated and unrated[0]["read_at"] <= position["last_read_at"]
            if changed or late:
                self._plan_cycle_again(
                    plan, account, utility, cycle, cycle_readings, rated, compiled, tz
                )
            elif unrated:
                self._plan_new_readings(
                    plan, account, utility, cycle, unrated, position, compiled, tz
                )
        if tariff.month_end_true_up:
            first = tariff.month_end_true_up_from or date.min
            self._plan_month_end(plan, account, utility, by_cycle, positions, compiled, tz, first)
        return plan

    @api.model
    def _plan_month_end(
        self, plan, account, utility, by_cycle, positions, compiled, tz, first_cycle
    ):
        """Month-end true-up to the proportional convention (tariffs with
        ``month_end_true_up``; see the engine's ``proportional_true_up``): for each cycle that
        has ended (from ``first_cycle`` on: the option never reaches back before it was
        switched on) and was not trued up at its current position, rate it again from its start,
        post the difference between its proportional and chronological totals less what
        earlier true-ups of the cycle posted, as one ``trueup`` line keyed per account and
        cycle (a later change of the cycle, a late reading, posts a numbered correction)."""
        current = _cycle_of(fields.Datetime.now() + timedelta(microseconds=1), tz)
        planned = {entry["cycle"]: entry for entry in plan["cycles"]}
        for cycle in sorted(set(by_cycle) | set(positions)):
            stored = positions.get(cycle)
            entry = planned.get(cycle)
            if cycle >= current or cycle < first_cycle or not (entry or stored):
                continue
            if entry is None:
                entry = {
                    "account_id": account.id,
                    "utility": utility,
                    "cycle": cycle,
                    "quantity": stored["quantity"],
                    "exact": stored["exact"],
                    "last_read_at": stored["last_read_at"],
                }
            if (
                stored
                and stored["month_end_exact"] is not None
                and (stored["month_end_quantity"], stored["month_end_exact"])
                == (entry["quantity"], entry["exact"])
            ):
                continue  # trued up at this position already
            readings = by_cycle.get(cycle, [])
            lines = self._charge(compiled, tz, readings, Decimal(0), Decimal(0))[3]
            target = proportional_true_up(compiled, lines).amount
            posted = stored["month_end_amount"] if stored else Decimal(0)
            revision = stored["month_end_revision"] if stored else 0
            if target != posted:
                revision += 1
                key = f"month-end:{utility}:{cycle:%Y-%m}"
                plan["entries"].append(
                    {
                        "account": account,
                        "kind": "trueup",
                        "amount": posted - target,
                        "key": key if revision == 1 else f"{key}:{revision}",
                        "utility": utility,
                        "description": self.env._(
                            "Month-end true-up %(month)s: tiers allocated to the time-of-use "
                            "bands in proportion to the month's use",
                            month=cycle.strftime("%Y-%m"),
                        ),
                    }
                )
            entry.update(
                month_end_quantity=entry["quantity"],
                month_end_exact=entry["exact"],
                month_end_amount=target,
                month_end_revision=revision,
            )
            if cycle not in planned:
                plan["cycles"].append(entry)

    @api.model
    def _plan_new_readings(self, plan, account, utility, cycle, readings, position, compiled, tz):
        """The usual case: readings after the cycle's last rated one, rated from its position."""
        quantity = position["quantity"] if position else Decimal(0)
        exact = position["exact"] if position else Decimal(0)
        charges, quantity, exact, _lines = self._charge(compiled, tz, readings, quantity, exact)
        for reading, charge in zip(readings, charges, strict=True):
            self._add_charge(plan, account, utility, cycle, reading, charge, revision=1)
        self._add_position(plan, account, utility, cycle, readings, quantity, exact)

    @api.model
    def _plan_cycle_again(self, plan, account, utility, cycle, readings, rated, compiled, tz):
        """The cycle changed behind its rated readings: rate it again from its start and post
        each reading's difference (a deleted reading's charge comes back)."""
        charges, quantity, exact, _lines = self._charge(
            compiled, tz, readings, Decimal(0), Decimal(0)
        )
        target = {reading["id"]: charge for reading, charge in zip(readings, charges, strict=True)}
        for reading in readings:
            previous = rated.get(reading["id"])
            if not previous:
                self._add_charge(plan, account, utility, cycle, reading, target[reading["id"]], 1)
            elif target[reading["id"]] != previous["charged"] or previous["changed"]:
                self._add_charge(
                    plan,
                    account,
                    utility,
                    cycle,
                    reading,
                    target[reading["id"]] - previous["charged"],
                    previous["revision"] + 1,
                    kind="trueup",
                )
        # Rated readings that count nothing now (held, rejected) or were deleted: refunded.
        for key, row in rated.items():
            if row["cycle"] != cycle or key in target or not (row["charged"] or row["changed"]):
                continue
            reading = {
                "id": row["reading_id"],
                "read_at": row["read_at"],
                "consumption": row["current"],
            }
            self._add_charge(
                plan,
                account,
                utility,
                cycle,
                reading,
                -row["charged"],
                row["revision"] + 1,
                "trueup",
            )
        self._add_position(plan, account, utility, cycle, readings, quantity, exact)

    @api.model
    def _add_position(self, plan, account, utility, cycle, readings, quantity, exact):
        """The cycle's position after ``readings`` (its newest reading last)."""
        plan["cycles"].append(
            {
                "account_id": account.id,
                "utility": utility,
                "cycle": cycle,
                "quantity": quantity,
                "exact": exact,
                "last_read_at": readings[-1]["read_at"] if readings else None,
            }
        )

    @api.model
    def _charge(self, compiled, tz, readings, quantity, exact):
        """Price ``readings`` in order from the cycle position (``quantity``, ``exact``):
        return the charge of each one (a Decimal of the currency), the position after and the
        engine's charge lines.

        Readings of several meters overlap in time: they are rated in runs of intervals that
        do not overlap, each run continuing from the position the previous one left.
        """
        to_interval = self.env["prepaid.tariff"]._engine_interval
        charges, lines = [], []
        runs, run, run_end = [], [], None
        for reading in readings:
            if run and reading["previous_read_at"] < run_end:
                runs.append(run)
                run = []
            run.append(reading)
            run_end = reading["read_at"]
        if run:
            runs.append(run)
        for run in runs:
            intervals = [
                to_interval((r["previous_read_at"], r["read_at"], r["consumption"])) for r in run
            ]
            result = rate_intervals(compiled, intervals, quantity, exact)
            amounts = [Decimal(0)] * len(run)
            for line in result.lines:
                amounts[line.interval] += line.amount
            charges += amounts
            lines += result.lines
            quantity, exact = result.cycle_quantity, result.cycle_amount
        return charges, quantity, exact, lines

    @api.model
    def _add_charge(self, plan, account, utility, cycle, reading, charge, revision, kind=None):
        if reading["id"]:
            key = f"rate:{reading['id']}" if revision == 1 else f"rate:{reading['id']}:{revision}"
        else:
            key = f"rate:gone:{account.id}:{utility}:{cycle}:{revision}"
        if charge:
            plan["entries"].append(
                {
                    "account": account,
                    "kind": kind or "consumption",
                    "amount": -charge,
                    "key": key,
                    "utility": utility,
                    "origin": plan["origin_model"].browse(reading["id"]) if reading["id"] else None,
                }
            )
        plan["rows"].append(
            {
                "key": key if charge else None,
                "reading_id": reading["id"],
                "account_id": account.id,
                "company_id": plan["company_id"],
                "utility": utility,
                "cycle": cycle,
                "read_at": reading["read_at"],
                "revision": revision,
                "quantity": reading["consumption"],
                "amount": charge,
            }
        )

    # === DATA === #
    # Read for a whole batch of ``(account id, utility)`` pairs, one query each, grouped here.

    @api.model
    def _get_data(self, pairs):
        """``{(account id, utility): {"readings": _get_readings, "rated": _get_rated,
        "positions": _get_positions}}`` of ``pairs``, in three queries whatever their number."""
        pairs = list(dict.fromkeys(pairs))
        readings = self._get_readings(pairs)
        rated = self._get_rated(pairs)
        positions = self._get_positions(pairs)
        return {
            pair: {
                "readings": readings.get(pair, []),
                "rated": rated.get(pair, {}),
                "positions": positions.get(pair, {}),
            }
            for pair in pairs
        }

    @api.model
    def _pairs_sql(self, pairs):
        """The pairs as a relation ``w(account_id, utility)`` to join with."""
        return SQL(
            "unnest(%s::int4[], %s::varchar[]) AS w(account_id, utility)",
            array_literal(account_id for account_id, _utility in pairs),
            array_literal(utility for _account_id, utility in pairs),
        )

    @api.model
    def _get_readings(self, pairs):
        """The good readings of each account's meters for the utility since it opened, oldest
        first: ``{(account id, utility): [{id, read_at, previous_read_at, consumption}]}``."""
        self.env.cr.execute(
            SQL(
                """SELECT w.account_id, w.utility, r.id, r.read_at, r.previous_read_at,
                          r.consumption::text
                     FROM %s
                     JOIN prepaid_account a ON a.id = w.account_id
                     JOIN prepaid_meter m ON m.account_id = a.id
                     JOIN prepaid_reading r ON r.meter_id = m.id AND r.utility = w.utility
                    WHERE r.consumption > 0 AND r.previous_read_at >= a.date_open
                 ORDER BY w.account_id, w.utility, r.read_at, r.id""",
                self._pairs_sql(pairs),
            )
        )
        readings = defaultdict(list)
        for row in self.env.cr.fetchall():
            account_id, utility, reading_id, read_at, previous_read_at, consumption = row
            readings[(account_id, utility)].append(
                {
                    "id": reading_id,
                    "read_at": read_at,
                    "previous_read_at": previous_read_at,
                    "consumption": Decimal(consumption),
                }
            )
        return readings

    @api.model
    def _get_rated(self, pairs):
        """What was charged so far, per pair and reading (deleted readings: per cycle, keyed
        ``("gone", cycle)``): ``{(account id, utility): {key: {reading_id, cycle, read_at,
        revision, quantity (as last rated), current (the reading's consumption now), charged
        (sum of its revisions), changed (the consumption moved since)}}}``."""
        self.env.cr.execute(
            SQL(
                """SELECT l.account_id, l.utility, l.reading_id, l.cycle, max(l.read_at),
                          max(l.revision), count(*),
                          ((array_agg(l.quantity ORDER BY l.revision DESC))[1])::text,
                          COALESCE(max(r.consumption), 0)::text, sum(l.amount)::text
                     FROM %s
                     JOIN prepaid_rating_line l
                       ON l.account_id = w.account_id AND l.utility = w.utility
                LEFT JOIN prepaid_reading r ON r.id = l.reading_id
                 GROUP BY l.account_id, l.utility, l.reading_id, l.cycle""",
                self._pairs_sql(pairs),
            )
        )
        rated = defaultdict(dict)
        for row in self.env.cr.fetchall():
            account_id, utility, reading_id, cycle, read_at, revision = row[:6]
            count, quantity, current, charged = row[6:]
            quantity, current = Decimal(quantity or 0), Decimal(current or 0)
            rated[(account_id, utility)][reading_id or ("gone", cycle)] = {
                "reading_id": reading_id,
                "cycle": cycle,
                "read_at": read_at,
                # A deleted reading's rows are numbered per cycle: the next refund is one more.
                "revision": revision if reading_id else count,
                "quantity": quantity,
                "current": current,
                "charged": Decimal(charged or 0),
                "changed": bool(reading_id) and quantity != current,
            }
        return rated

    @api.model
    def _get_positions(self, pairs):
        """The stored cycle positions: ``{(account id, utility): {cycle: {quantity, exact,
        last_read_at, month_end_quantity, month_end_exact, month_end_amount,
        month_end_revision}}}``."""
        self.env.cr.execute(
            SQL(
                """SELECT c.account_id, c.utility, c.cycle, c.quantity::text,
                          c.exact_amount::text, c.last_read_at, c.month_end_quantity::text,
                          c.month_end_exact::text, c.month_end_amount::text,
                          c.month_end_revision
                     FROM %s
                     JOIN prepaid_rating_cycle c
                       ON c.account_id = w.account_id AND c.utility = w.utility""",
                self._pairs_sql(pairs),
            )
        )
        positions = defaultdict(dict)
        for row in self.env.cr.fetchall():
            positions[(row[0], row[1])][row[2]] = {
                "quantity": Decimal(row[3] or 0),
                "exact": Decimal(row[4] or 0),
                "last_read_at": row[5],
                "month_end_quantity": Decimal(row[6]) if row[6] is not None else None,
                "month_end_exact": Decimal(row[7]) if row[7] is not None else None,
                "month_end_amount": Decimal(row[8] or 0),
                "month_end_revision": row[9] or 0,
            }
        return positions

    @api.model
    def _store(self, rows, cycles, line_by_key):
        if rows:
            self.env.cr.execute(
                SQL(
                    """INSERT INTO prepaid_rating_line (reading_id, account_id, company_id,
                              utility, cycle, read_at, revision, quantity, amount, ledger_line_id)
                       SELECT * FROM unnest(%s::int4[], %s::int4[], %s::int4[], %s::varchar[],
                              %s::date[], %s::timestamp[], %s::int4[], %s::numeric[],
                              %s::numeric[], %s::int4[])""",
                    array_literal(row["reading_id"] for row in rows),
                    array_literal(row["account_id"] for row in rows),
                    array_literal(row["company_id"] for row in rows),
                    array_literal(row["utility"] for row in rows),
                    array_literal(row["cycle"] for row in rows),
                    array_literal(row["read_at"] for row in rows),
                    array_literal(row["revision"] for row in rows),
                    array_literal(row["quantity"] for row in rows),
                    array_literal(row["amount"] for row in rows),
                    array_literal(line_by_key.get(row["key"]) for row in rows),
                )
            )
        if cycles:
            self.env.cr.execute(
                SQL(
                    """INSERT INTO prepaid_rating_cycle (account_id, utility, cycle, quantity,
                              exact_amount, last_read_at, month_end_quantity, month_end_exact,
                              month_end_amount, month_end_revision)
                       SELECT * FROM unnest(%s::int4[], %s::varchar[], %s::date[], %s::numeric[],
                              %s::numeric[], %s::timestamp[], %s::numeric[], %s::numeric[],
                              %s::numeric[], %s::int4[])
                       ON CONFLICT (account_id, utility, cycle) DO UPDATE
                          SET quantity = EXCLUDED.quantity,
                              exact_amount = EXCLUDED.exact_amount,
                              last_read_at = EXCLUDED.last_read_at,
                              -- a run that does not true the cycle up keeps the last true-up
                              month_end_quantity = COALESCE(EXCLUDED.month_end_quantity,
                                                            prepaid_rating_cycle.month_end_quantity),
                              month_end_exact = COALESCE(EXCLUDED.month_end_exact,
                                                         prepaid_rating_cycle.month_end_exact),
                              month_end_amount = COALESCE(EXCLUDED.month_end_amount,
                                                          prepaid_rating_cycle.month_end_amount),
                              month_end_revision = COALESCE(EXCLUDED.month_end_revision,
                                                            prepaid_rating_cycle.month_end_revision)""",
                    array_literal(cycle["account_id"] for cycle in cycles),
                    array_literal(cycle["utility"] for cycle in cycles),
                    array_literal(cycle["cycle"] for cycle in cycles),
                    array_literal(cycle["quantity"] for cycle in cycles),
                    array_literal(cycle["exact"] for cycle in cycles),
                    array_literal(cycle["last_read_at"] for cycle in cycles),
                    array_literal(cycle.get("month_end_quantity") for cycle in cycles),
                    array_literal(cycle.get("month_end_exact") for cycle in cycles),
                    array_literal(cycle.get("month_end_amount") for cycle in cycles),
                    array_literal(cycle.get("month_end_revision") for cycle in cycles),
                )
            )
        self.env["prepaid.rating.line"].invalidate_model()
        self.env["prepaid.rating.cycle"].invalidate_model()


@functools.lru_cache(maxsize=4096)
def _cycle_of(read_at, tz):
    """The billing cycle (first day of the month, in the tariff's timezone) of an interval
    that ends at ``read_at`` (naive UTC): the month of its last instant. Cached: meters are
    mostly read at the same instants (on the hour), and a run asks for every reading."""
    local = pytz.utc.localize(read_at - timedelta(microseconds=1)).astimezone(tz)
    return date(local.year, local.month, 1)
