import logging
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, float_is_zero, float_round, formatLang

from .prepaid_ledger_line import KIND_SIGNS

_logger = logging.getLogger(__name__)

# What may be posted on an account in each state. Drafts hold no money; a suspended account
# takes no top-up and is not rated until it is resumed (see prepaid.account.action_suspend);
# a closed account only pays out or corrects what it holds.
POSTABLE_KINDS = {
    "draft": frozenset(),
    "open": frozenset(KIND_SIGNS),
    "suspended": frozenset({"refund", "reversal", "adjustment", "transfer", "trueup"}),
    "closed": frozenset({"refund", "reversal", "adjustment", "transfer"}),
}
MAX_KEY_LENGTH = 128

_INSERT_SQL = """
INSERT INTO prepaid_ledger_line (
    account_id, company_id, kind, utility, amount, balance_after, idempotency_key, description,
    res_model, res_id, corrected_line_id, create_uid, create_date, write_uid, write_date)
SELECT e.account_id, e.company_id, e.kind, e.utility, e.amount, e.balance_after, e.key,
       e.description, e.res_model, e.res_id, e.corrected_line_id,
       %(uid)s, %(now)s, %(uid)s, %(now)s
  FROM unnest(%(account_ids)s::int4[], %(company_ids)s::int4[], %(kinds)s::varchar[],
              %(utilities)s::varchar[], %(amounts)s::numeric[], %(balances)s::numeric[],
              %(keys)s::varchar[], %(descriptions)s::varchar[], %(res_models)s::varchar[],
              %(res_ids)s::int4[], %(corrected_ids)s::int4[])
       AS e(account_id, company_id, kind, utility, amount, balance_after, key, description,
            res_model, res_id, corrected_line_id)
RETURNING id, account_id, idempotency_key
"""


def array_literal(values):
    """``values`` as the text of a PostgreSQL array (``{"a","b",NULL}``), to pass as one
    parameter cast to its array type.

    A batch writes thousands of rows as ``unnest`` of arrays: as Python lists, psycopg2 sends
    ``ARRAY['...'::timestamp, ...]``, one expression per value for Python to adapt and for
    PostgreSQL to parse; one literal costs a fifth of that. Every element is quoted (with
    ``"`` and ``\\`` escaped), so that any text arrives as it is.
    """
    return "{" + ",".join(map(_array_element, values)) + "}"


def _array_element(value):
    if value is None:
        return "NULL"
    if type(value) in (int, Decimal):  # digits, sign, point, exponent: nothing to quote
        return str(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


class PrepaidLedger(models.AbstractModel):
    """The posting service: the only way to change the balance of a utility account.

    ``_post`` locks the accounts' rows, checks each entry's idempotency key, appends the lines
    with the balance after each of them and updates the stored balances, in the caller's
    transaction. Top-ups, refunds, reversals, rating, fees, portal payments and tests call it;
    nothing else writes balances (``prepaid.account.balance`` is a process field).

    Callers check the user's rights first; the service checks the money: kinds and signs,
    amounts in the currency's precision, the state of the accounts, and keys.
    """

    _name = "prepaid.ledger"
    _description = "Wallet Ledger Posting Service"

    @api.model
    def _post(self, entries):
        """Post ``entries`` and return their lines, in the order of the entries.

        :param entries: iterable of dicts with keys

            * ``account``: ``prepaid.account`` record
            * ``kind``: one of ``LINE_KINDS`` (its sign is checked: ``KIND_SIGNS``)
            * ``amount``: signed amount in the account's currency (float or Decimal), non-zero,
              with no more decimals than the currency has
            * ``key``: idempotency key, unique per account (at most 128 characters)
            * optional ``utility``, ``description``, ``origin`` (the source record) and
              ``corrects`` (the ``prepaid.ledger.line`` corrected)

        A key already posted on the account with the same kind and amount returns the line
        posted then (a retry, a replayed callback): nothing is posted twice. The same key with
        another kind or amount is an error, as is any invalid entry: then nothing is posted.

        Concurrent postings on an account are serialised by its row lock; under Odoo's
        REPEATABLE READ isolation the second transaction fails with a serialization error,
        which Odoo retries (requests, crons) with a fresh snapshot.

        :raise UserError: naming the entry and what is wrong with it
        """
        entries = [dict(entry) for entry in entries]
        if not entries:
            return self.env["prepaid.ledger.line"]
        Account = self.env["prepaid.account"]
        accounts = Account.browse({entry["account"].id for entry in entries})
        Account.flush_model()
        self.env["prepaid.ledger.line"].flush_model()
        locked = self._lock_accounts(accounts)
        existing = self._get_posted_lines(entries)

        to_insert, line_ids = [], [None] * len(entries)
        balances = {account_id: row["balance"] for account_id, row in locked.items()}
        seen = {}
        for position, entry in enumerate(entries):
            account = entry["account"]
            row = locked[account.id]
            amount = self._check_entry(entry, row)
            slot = (account.id, entry["key"])
            posted = existing.get(slot) or seen.get(slot)
            if posted:
                self._check_replay(entry, amount, posted)
                line_ids[position] = posted["id"]
                continue
            balances[account.id] += amount
            origin = entry.get("origin")
            corrects = entry.get("corrects")
            values = {
                "position": position,
                "account_id": account.id,
                "company_id": row["company_id"],
                "kind": entry["kind"],
                "utility": entry.get("utility") or None,
                "amount": amount,
                "balance_after": balances[account.id],
                "key": entry["key"],
                "description": entry.get("description") or None,
                "res_model": origin._name if origin else None,
                "res_id": origin.id if origin else None,
                "corrected_line_id": corrects.id if corrects else None,
            }
            seen[slot] = {"id": None, "kind": entry["kind"], "amount": amount, "values": values}
            to_insert.append(values)

        if to_insert:
            inserted = self._insert_lines(to_insert)
            for values in to_insert:
                slot = (values["account_id"], values["key"])
                seen[slot]["id"] = line_ids[values["position"]] = inserted[slot]
            for position, entry in enumerate(entries):
                if line_ids[position] is None:  # a replay of a line of this very batch
                    line_ids[position] = seen[(entry["account"].id, entry["key"])]["id"]
            self._update_balances(balances)
            lines = self.env["prepaid.ledger.line"].browse(line_ids)
            changed = self.env["prepaid.account"].browse(
                {values["account_id"] for values in to_insert}
            )
            changed._on_balance_changed(lines)
            return lines
        return self.env["prepaid.ledger.line"].browse(line_ids)

    # === POSTING STEPS === #

    @api.model
    def _lock_accounts(self, accounts):
        """Lock the accounts' rows in id order; return ``{id: {balance, state, company_id,
        decimals}}`` read under the lock."""
        self.env.cr.execute(
            SQL(
                """SELECT a.id, a.balance::text, a.state, a.company_id, c.decimal_places,
                          c.rounding
                     FROM prepaid_account a
                     JOIN res_company rc ON rc.id = a.company_id
                     JOIN res_currency c ON c.id = rc.currency_id
                    WHERE a.id IN %s
                 ORDER BY a.id
                      FOR NO KEY UPDATE OF a""",
                tuple(accounts.ids),
            ),
            # A serialization failure here is the expected outcome of a concurrent posting:
            # the caller's transaction is retried; the exception says all there is to say.
            log_exceptions=False,
        )
        return {
            account_id: {
                # Read as text: Odoo's cursor turns numeric into float, which would carry a
                # binary fraction into every balance after.
                "balance": Decimal(balance or 0).quantize(Decimal(1).scaleb(-decimals)),
                "state": state,
                "company_id": company_id,
                "decimals": decimals,
                "quantum": Decimal(1).scaleb(-decimals),
                "rounding": rounding,
            }
            for account_id, balance, state, company_id, decimals, rounding in self.env.cr.fetchall()
        }

    @api.model
    def _get_posted_lines(self, entries):
        """``{(account id, key): {id, kind, amount}}`` of the entries' keys already posted."""
        self.env.cr.execute(
            SQL(
                """SELECT l.id, l.account_id, l.idempotency_key, l.kind, l.amount::text
                     FROM prepaid_ledger_line l
                     JOIN unnest(%s::int4[], %s::varchar[]) AS k(account_id, key)
                       ON l.account_id = k.account_id AND l.idempotency_key = k.key""",
                [entry["account"].id for entry in entries],
                [str(entry.get("key") or "") for entry in entries],
            )
        )
        return {
            (account_id, key): {"id": line_id, "kind": kind, "amount": amount}
            for line_id, account_id, key, kind, amount in self.env.cr.fetchall()
        }

    @api.model
    def _check_entry(self, entry, row):
        """Return the entry's amount as a Decimal of the currency's precision, or raise."""
        kind = entry.get("kind")
        if kind not in KIND_SIGNS:
            raise UserError(self.env._("Unknown kind of ledger line: %(kind)s.", kind=kind))

        def refuse(message, **values):
            labels = dict(
                self.env["prepaid.ledger.line"]._fields["kind"]._description_selection(self.env)
            )
            return UserError(
                message
                % {"account": entry["account"].sudo().display_name, "kind": labels[kind], **values}
            )

        key = entry.get("key")
        if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
            raise refuse(
                self.env._(
                    "%(kind)s on account %(account)s: the idempotency key must be a text of 1 to "
                    "%(max)s characters."
                ),
                max=MAX_KEY_LENGTH,
            )
        state = row["state"]
        if kind not in POSTABLE_KINDS[state]:
            labels = dict(
                self.env["prepaid.account"]._fields["state"]._description_selection(self.env)
            )
            raise refuse(
                self.env._("%(kind)s cannot be posted on account %(account)s: it is %(state)s."),
                state=labels[state].lower(),
            )
        amount = entry.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, (int, float, Decimal)):
            raise refuse(self.env._("%(kind)s on account %(account)s: no amount."))
        decimals = row["decimals"]
        sign = KIND_SIGNS[kind]
        if (
            isinstance(amount, Decimal)
            and amount.is_finite()
            and amount.adjusted() < 12
            and amount.as_tuple().exponent >= -decimals
        ):
            # Rating posts Decimals of the currency already: taken as they are (the float
            # checks below give the same result for them); any doubt takes the long way.
            exact = amount.quantize(row["quantum"])
            if exact and (not sign or (exact > 0) == (sign > 0)):
                return exact
        rounded = float_round(float(amount), precision_digits=decimals)
        if not float_is_zero(float(amount) - rounded, precision_digits=decimals + 3):
            raise refuse(
                self.env._(
                    "%(kind)s on account %(account)s: %(amount)s has more decimals than the "
                    "currency (%(decimals)s)."
                ),
                amount=amount,
                decimals=decimals,
            )
        if float_is_zero(rounded, precision_digits=decimals):
            raise refuse(self.env._("%(kind)s on account %(account)s: the amount is zero."))
        if sign and (rounded > 0) != (sign > 0):
            raise refuse(
                self.env._(
                    "%(kind)s on account %(account)s must be %(direction)s, not %(amount)s."
                ),
                direction=self.env._("positive") if sign > 0 else self.env._("negative"),
                amount=rounded,
            )
        return Decimal(f"{rounded:.{decimals}f}")

    @api.model
    def _check_replay(self, entry, amount, posted):
        """A key posted before: the same posting again is a no-op, another one an error."""
        if posted["kind"] == entry["kind"] and Decimal(posted["amount"]) == amount:
            return
        account = entry["account"]
        raise UserError(
            self.env._(
                "Account %(account)s: the idempotency key %(key)s was already used for another "
                "posting (%(posted)s); nothing was posted.",
                account=account.sudo().display_name,
                key=entry["key"],
                posted=formatLang(
                    self.env, float(posted["amount"]), currency_obj=account.currency_id
                ),
            )
        )

    @api.model
    def _insert_lines(self, rows):
        """Insert the lines; return ``{(account id, key): line id}``."""
        columns = {
            "account_ids": "account_id",
            "company_ids": "company_id",
            "kinds": "kind",
            "utilities": "utility",
            "amounts": "amount",
            "balances": "balance_after",
            "keys": "key",
            "descriptions": "description",
            "res_models": "res_model",
            "res_ids": "res_id",
            "corrected_ids": "corrected_line_id",
        }
        params = {
            param: array_literal(row[name] for row in rows) for param, name in columns.items()
        }
        self.env.cr.execute(
            _INSERT_SQL, {**params, "uid": self.env.uid, "now": fields.Datetime.now()}
        )
        inserted = {
            (account_id, key): line_id for line_id, account_id, key in self.env.cr.fetchall()
        }
        self.env["prepaid.ledger.line"].invalidate_model()
        return inserted

    @api.model
    def _update_balances(self, balances):
        self.env.cr.execute(
            SQL(
                """UPDATE prepaid_account a SET balance = b.balance
                     FROM unnest(%s::int4[], %s::numeric[]) AS b(id, balance)
                    WHERE a.id = b.id AND a.balance IS DISTINCT FROM b.balance""",
                array_literal(balances),
                array_literal(balances.values()),
            )
        )
        self.env["prepaid.account"].browse(balances).invalidate_recordset(["balance"])
