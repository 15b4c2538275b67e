import logging
from collections.abc import Mapping
from datetime import datetime, time
from decimal import Decimal
from itertools import groupby

import pytz
from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import SQL, format_datetime, formatLang

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import PROCESS
from odoo.addons.prepaid_meter.models.prepaid_ingest_mixin import to_utc_naive
from odoo.addons.prepaid_meter.tools.ingest_rows import NumberError, parse_number
from odoo.addons.prepaid_meter.tools.tariff_engine import compile_definition, rate_intervals

from .prepaid_rating import _cycle_of

_logger = logging.getLogger(__name__)

RECONCILE_STATES = [
    ("first", "First Balance"),
    ("ok", "As Expected"),
    ("mismatch", "Differs"),
    ("unchecked", "Not Checked"),
]


class PrepaidMeterBalance(models.Model):
    """The remaining balance a meter reports from its register (meters that keep the balance:
    billing on the meter), mirrored on the platform and reconciled with what the platform
    knows: expected = the last balance the meter reported + the credit confirmed on it since
    (top-ups written or vended, less refunds withdrawn) - its consumption since, rated with
    the account's tariff. A difference beyond the company's tolerance is flagged with both
    figures (the record, the meter and an activity on the account). The consumption rated is
    posted on the wallet, which so mirrors the meter.

    Records come in through :meth:`_record` only (the readings that carry a
    ``remaining_amount``, see ``prepaid.reading._ingest``) and are facts: never written.
    """

    _name = "prepaid.meter.balance"
    _description = "Meter Balance"
    _inherit = ["prepaid.access.mixin"]
    _order = "read_at desc, id desc"
    _prepaid_immutable = True

    meter_id = fields.Many2one(
        "prepaid.meter", required=True, readonly=True, ondelete="cascade", index=False
    )
    account_id = fields.Many2one("prepaid.account", readonly=True, index=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    read_at = fields.Datetime(string="Read At", required=True, readonly=True)
    remaining_amount = fields.Monetary(
        string="Meter Balance", readonly=True, help="What the meter says it has left."
    )
    previous_id = fields.Many2one(
        "prepaid.meter.balance",
        string="Previous Balance",
        readonly=True,
        help="The last balance the meter reported before this one: the reconciliation starts "
        "from it.",
    )
    previous_amount = fields.Monetary(
        related="previous_id.remaining_amount", string="Previous Meter Balance"
    )
    credit_amount = fields.Monetary(
        string="Credit Since",
        readonly=True,
        help="Credit confirmed on the meter since the previous balance: top-ups written or "
        "vended, less refunds withdrawn.",
    )
    consumption_amount = fields.Monetary(
        string="Consumption Since",
        readonly=True,
        help="The meter's consumption since the previous balance, rated with the account's tariff.",
    )
    expected_amount = fields.Monetary(string="Expected Balance", readonly=True)
    difference = fields.Monetary(
        readonly=True, help="Meter balance - expected balance: positive when the meter has more."
    )
    state = fields.Selection(RECONCILE_STATES, required=True, readonly=True, default="first")
    # The tier position of the meter's billing cycle at this balance (as the rating keeps it):
    # the next reconciliation rates from here, not from the start of the cycle.
    cycle_start = fields.Date(readonly=True)
    cycle_quantity = fields.Float(digits=(16, 3), readonly=True)
    cycle_exact_amount = fields.Float(digits=(28, 12), readonly=True)
    note = fields.Char(readonly=True)

    _sql_constraints = [
        (
            "meter_read_at_uniq",
            "unique(meter_id, read_at)",
            "A meter reports one balance per timestamp.",
        ),
    ]

    @api.depends("meter_id", "read_at")
    def _compute_display_name(self):
        for balance in self:
            balance.display_name = (
                f"{balance.meter_id.name} @ {format_datetime(self.env, balance.read_at)}"
            )

    # === BUSINESS METHODS === #

    @api.model
    def _record(self, rows):
        """Mirror the balances meters reported and reconcile each with the one before.

        :param rows: iterable of ``(meter_id, read_at, remaining_amount)`` (naive UTC or
            aware datetimes, or Odoo datetime strings; amounts as numbers or numeric strings)
        :return: the ``prepaid.meter.balance`` records created (a balance already recorded
            for its meter and timestamp is skipped: a replayed batch records nothing)
        """
        parsed = []
        for meter_id, read_at, amount in rows:
            read_at = to_utc_naive(read_at)
            try:
                amount = parse_number(amount)
            except NumberError:
                _logger.warning("Meter %s: invalid balance %r at %s", meter_id, amount, read_at)
                continue
            if read_at is not None and amount is not None:
                parsed.append((meter_id, read_at, Decimal(str(amount))))
        created = self.browse()
        engines = {}  # tariff id -> compiled tariff, once per batch
        Meter = self.env["prepaid.meter"].sudo()
        for meter_id, read_at, amount in sorted(parsed, key=lambda row: (row[0], row[1])):
            meter = Meter.browse(meter_id).exists()
            if not meter or self.sudo().search_count(
                [("meter_id", "=", meter.id), ("read_at", "=", read_at)], limit=1
            ):
                continue
            created |= self.sudo()._reconcile(meter, read_at, amount, engines)
        return created

    def _reconcile(self, meter, read_at, amount, engines=None):
        """Create the balance of ``meter`` at ``read_at`` and reconcile it (sudo)."""
        account = meter.account_id
        currency = meter.company_id.currency_id
        previous = self.search(
            [("meter_id", "=", meter.id), ("read_at", "<", read_at)], order="read_at desc", limit=1
        )
        values = {
            "meter_id": meter.id,
            "account_id": account.id,
            "company_id": meter.company_id.id,
            "read_at": read_at,
            "remaining_amount": float(amount),
            "previous_id": previous.id,
        }
        billed_on_meter = account and account.billing_mode == "prepaid_meter"
        if billed_on_meter:
            consumption, cycle, quantity, exact = self._rate_since(
                meter, previous, read_at, {} if engines is None else engines
            )
            values.update(
                cycle_start=cycle,
                cycle_quantity=float(quantity),
                cycle_exact_amount=float(exact),
            )
        if previous and billed_on_meter:
            credit = self._get_credit_since(meter, previous.read_at, read_at)
            expected = currency.round(previous.remaining_amount + credit - consumption)
            difference = currency.round(float(amount) - expected)
            tolerance = meter.company_id.prepaid_meter_balance_tolerance
            values.update(
                credit_amount=credit,
                consumption_amount=consumption,
                expected_amount=expected,
                difference=difference,
                state="mismatch" if abs(difference) > tolerance else "ok",
            )
        elif previous:
            values.update(state="unchecked", note=self.env._("Not billed on the meter."))
        balance = self.create(values)
        newest = not meter.meter_balance_at or read_at >= meter.meter_balance_at
        if newest:
            meter.write(
                {
                    "meter_balance": float(amount),
                    "meter_balance_at": read_at,
                    "meter_balance_mismatch": balance.state == "mismatch",
                }
            )
        if balance.state == "mismatch":
            balance._schedule_mismatch_activity()
        if newest and balance.state in ("ok", "mismatch"):
            balance._post_consumption()
        return balance

    def _post_consumption(self):
        """The ledger mirrors the meter: the consumption rated since the previous balance is
        posted on the wallet (once: the key is the balance's), so that the wallet follows the
        meter, the refunds see it and accounting recognises the revenue. A difference is not
        posted: it is flagged for a person to judge. Late balances (not the meter's newest)
        post nothing, their interval being counted by the newer one already."""
        self.ensure_one()
        account = self.account_id
        amount = self.currency_id.round(self.consumption_amount)
        if self.currency_id.is_zero(amount) or account.state != "open":
            return
        self.env["prepaid.ledger"]._post(
            [
                {
                    "account": account,
                    "kind": "consumption",
                    "amount": -amount,
                    "key": f"meter-balance:{self.id}",
                    "utility": self.meter_id.utility,
                    "origin": self,
                }
            ]
        )

    @api.model
    def _get_credit_since(self, meter, start, end):
        """Credit confirmed on ``meter`` in ``(start, end]``: its top-ups delivered (credit
        written and confirmed, or a token vended) less its refunds withdrawn."""
        self.env["prepaid.topup"].flush_model()
        self.env["prepaid.refund"].flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT
                     (SELECT COALESCE(sum(t.amount), 0)::text FROM prepaid_topup t
                       WHERE t.account_id = %(account)s AND t.state = 'delivered'
                         AND t.delivered_at > %(start)s AND t.delivered_at <= %(end)s
                         AND (t.meter_id = %(meter)s
                              OR (t.meter_id IS NULL
                                  AND (t.utility IS NULL OR t.utility = %(utility)s)))),
                     (SELECT COALESCE(sum(r.amount), 0)::text FROM prepaid_refund r
                       WHERE r.meter_id = %(meter)s AND r.state = 'paid'
                         AND r.withdrawn_at > %(start)s AND r.withdrawn_at <= %(end)s)""",
                account=meter.account_id.id,
                meter=meter.id,
                utility=meter.utility,
                start=start,
                end=end,
            )
        )
        topups, refunds = self.env.cr.fetchone()
        return float(Decimal(topups) - Decimal(refunds))

    @api.model
    def _rate_since(self, meter, previous, end, engines):
        """Rate the meter's consumption after the ``previous`` balance up to ``end`` with the
        account's tariff, chronologically like the platform's rating: from the tier position
        stored on ``previous`` within its cycle, from zero in each new cycle (month in the
        tariff's timezone). Without a previous balance, the current cycle is rated from its
        start, for the position only.

        :return: ``(amount since previous, cycle start, cycle quantity, cycle exact amount)``
            the last three at ``end``
        """
        tariff = meter.account_id._get_tariff(meter.utility)
        if not tariff:
            return 0.0, False, Decimal(0), Decimal(0)
        tz = pytz.timezone(tariff.tz or "UTC")
        if tariff.id not in engines:
            engines[tariff.id] = compile_definition(tariff._engine_definition())
        compiled = engines[tariff.id]
        end_cycle = _cycle_of(end, tz)
        if previous and previous.cycle_start:
            cycle, since = previous.cycle_start, previous.read_at
            quantity = Decimal(str(previous.cycle_quantity))
            exact = Decimal(str(previous.cycle_exact_amount))
        else:
            cycle, quantity, exact = end_cycle, Decimal(0), Decimal(0)
            since = (
                tz.localize(datetime.combine(end_cycle, time.min))
                .astimezone(pytz.utc)
                .replace(tzinfo=None)
            )
        readings = self.env["prepaid.reading"].search_fetch(
            [
                ("meter_id", "=", meter.id),
                ("read_at", ">", since),
                ("read_at", "<=", end),
                ("previous_read_at", "!=", False),
                ("consumption", ">", 0),
            ],
            ["read_at", "previous_read_at", "consumption"],
            order="read_at",
        )
        amount = Decimal(0)
        for reading_cycle, group in groupby(readings, key=lambda r: _cycle_of(r.read_at, tz)):
            if reading_cycle != cycle:
                cycle, quantity, exact = reading_cycle, Decimal(0), Decimal(0)
            intervals = [
                tariff._engine_interval((r.previous_read_at, r.read_at, r.consumption))
                for r in group
            ]
            result = rate_intervals(compiled, intervals, quantity, exact)
            amount += result.amount
            quantity, exact = result.cycle_quantity, result.cycle_amount
        if cycle != end_cycle:
            cycle, quantity, exact = end_cycle, Decimal(0), Decimal(0)
        return float(amount), cycle, quantity, exact

    def _schedule_mismatch_activity(self):
        self.ensure_one()
        account = self.account_id
        if not account:
            return
        summary = self.env._("Meter balance differs from the expected")
        currency = self.currency_id

        def money(value):
            return formatLang(self.env, value, currency_obj=currency)

        note = Markup("<p>%s</p>") % self.env._(
            "Meter %(meter)s reported %(reported)s at %(read_at)s; expected %(expected)s (last "
            "balance %(previous)s + credit %(credit)s - consumption %(consumption)s): a "
            "difference of %(difference)s. Check for credit entered on the meter that was not "
            "sold here, a tariff on the meter that differs from the account's, or tampering.",
            meter=self.meter_id.display_name,
            reported=money(self.remaining_amount),
            read_at=format_datetime(self.env, self.read_at),
            expected=money(self.expected_amount),
            previous=money(self.previous_amount),
            credit=money(self.credit_amount),
            consumption=money(self.consumption_amount),
            difference=money(self.difference),
        )
        pending = account.activity_ids.filtered(lambda a: a.summary == summary)
        if pending:
            pending[:1].note = note  # the newest figures; one activity to look into
            return
        account.activity_schedule(
            act_type_xmlid="mail.mail_activity_data_warning",
            summary=summary,
            note=note,
            user_id=account._get_ledger_manager().id,
        )


class PrepaidMeter(models.Model):
    _inherit = "prepaid.meter"

    company_currency_id = fields.Many2one(related="company_id.currency_id")
    meter_balance = fields.Monetary(
        string="Balance on the Meter",
        currency_field="company_currency_id",
        readonly=True,
        copy=False,
        help="The remaining balance the meter last reported (billing on the meter).",
    )
    meter_balance_at = fields.Datetime(string="Meter Balance At", readonly=True, copy=False)
    meter_balance_mismatch = fields.Boolean(
        string="Meter Balance Differs",
        readonly=True,
        copy=False,
        help="The last balance the meter reported differs from the expected one beyond the "
        "company's tolerance.",
    )
    meter_balance_ids = fields.One2many("prepaid.meter.balance", "meter_id", readonly=True)

    def _get_write_groups(self):
        return {
            **super()._get_write_groups(),
            **dict.fromkeys(
                ("meter_balance", "meter_balance_at", "meter_balance_mismatch"), PROCESS
            ),
        }


class PrepaidAccount(models.Model):
    _inherit = "prepaid.account"

    meter_balance = fields.Monetary(
        string="Balance on the Meters",
        compute="_compute_meter_balance",
        help="Billing on the meter: the sum of the balances the meters last reported.",
    )
    meter_balance_mismatch = fields.Boolean(
        string="Meter Balance Differs", compute="_compute_meter_balance"
    )

    @api.depends("meter_ids.meter_balance", "meter_ids.meter_balance_mismatch")
    def _compute_meter_balance(self):
        for account in self:
            meters = account.meter_ids.filtered("meter_balance_at")
            account.meter_balance = sum(meters.mapped("meter_balance"))
            account.meter_balance_mismatch = any(meters.mapped("meter_balance_mismatch"))

    def action_view_meter_balances(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_billing.prepaid_meter_balance_action"
        )
        action["domain"] = [("meter_id", "in", self.meter_ids.ids)]
        return action

    def _get_refundable_amount(self, balance=None):
        """Billing on the meter: no more than the meters last reported either (the wallet
        does not see what the meters consumed)."""
        amount = super()._get_refundable_amount(balance)
        if self.billing_mode == "prepaid_meter":
            meters = self.meter_ids.filtered(lambda m: m.state == "active" and m.meter_balance_at)
            if meters:
                amount = min(amount, sum(meters.mapped("meter_balance")))
        return amount


class PrepaidReading(models.Model):
    _inherit = "prepaid.reading"

    @api.model
    def _ingest(self, rows, source="gateway"):
        """Readings (dict rows) may carry the meter's remaining balance register
        (``remaining_amount``): it is mirrored and reconciled once the readings are stored,
        so that the consumption up to it is known."""
        rows = list(rows)
        balances = [
            (row.get("meter_id"), row.get("read_at"), row["remaining_amount"])
            for row in rows
            if isinstance(row, Mapping) and row.get("remaining_amount") not in (None, False, "")
        ]
        summary = super()._ingest(rows, source=source)
        if balances:
            summary["balances"] = len(self.env["prepaid.meter.balance"]._record(balances))
        return summary
