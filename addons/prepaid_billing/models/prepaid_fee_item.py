"""Custom fee items (自定义收费): property fees, rent, service fees, garbage fees... charged to
the tenants' accounts per period, prorated by day at move-in and move-out, taken from the
wallet or left to bill.

Supply is never cut to collect a fee (Civil Code art. 944): a fee taken from the wallet uses
only the credit above the account's cut-off threshold; the rest is left to bill.
"""

import logging
import threading
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools.translate import LazyTranslate

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import MANAGER, requires_group

from ..tools.periods import due_date, overlap_days, period_of, prorate

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

FEE_KINDS = [
    ("property", "Property Fee"),
    ("rent", "Rent"),
    ("service", "Service Fee"),
    ("garbage", "Garbage Fee"),
    ("other", "Other"),
]
AMOUNT_TYPES = [
    ("fixed", "Fixed"),
    ("area", "Per m² of the Room"),
    ("unit", "Per Unit"),
]
RECURRENCES = [
    ("monthly", "Monthly"),
    ("quarterly", "Quarterly"),
    ("yearly", "Yearly"),
    ("once", "One-off"),
]
CHARGE_MODES = [
    ("wallet", "Taken from the Wallet"),
    ("bill", "Billed"),
]
# What says how much a period costs: fixed once the item charged a period.
PRICING_FIELDS = ("recurrence", "amount_type", "company_id")


class PrepaidFeeItem(models.Model):
    """A fee charged to the accounts of sites, or of accounts assigned one by one."""

    _name = "prepaid.fee.item"
    _description = "Fee Item"
    _inherit = ["mail.thread", "prepaid.access.mixin"]
    _order = "company_id, kind, name, id"
    _check_company_auto = True

    # === FIELDS === #

    name = fields.Char(required=True, translate=True, tracking=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    kind = fields.Selection(FEE_KINDS, required=True, default="property", tracking=True)
    amount_type = fields.Selection(
        AMOUNT_TYPES,
        string="Amount",
        required=True,
        default="fixed",
        tracking=True,
        help="Fixed: the amount per period. Per m²: the amount times the floor area of the "
        "account's room. Per unit: the amount times the quantity of the assignment.",
    )
    amount = fields.Monetary(
        string="Price", required=True, tracking=True, help="Per period (and per m² or per unit)."
    )
    recurrence = fields.Selection(RECURRENCES, required=True, default="monthly", tracking=True)
    charge_day = fields.Integer(
        default=1,
        tracking=True,
        help="The day of the period's first month (of the charge month for yearly fees) from "
        "which the scheduled action charges the period; capped at the month's last day.",
    )
    charge_month = fields.Integer(default=1, help="Yearly fees: the month they fall due.")
    charge_mode = fields.Selection(
        CHARGE_MODES,
        required=True,
        default="wallet",
        tracking=True,
        help="Taken from the wallet: only the credit above the cut-off threshold is used (the "
        "supply is never cut for a fee); the rest, and every charge of postpaid, meter-billed, "
        "suspended or closed accounts, is left to bill.",
    )
    date_from = fields.Date(
        string="Effective From", required=True, default=fields.Date.context_today, tracking=True
    )
    date_to = fields.Date(string="Effective To", tracking=True)
    site_ids = fields.Many2many(
        "prepaid.site",
        string="Sites",
        check_company=True,
        help="Every account whose room is in these sites (areas, buildings, floors, rooms).",
    )
    assignment_ids = fields.One2many(
        "prepaid.fee.assignment", "item_id", string="Accounts One by One"
    )
    charge_ids = fields.One2many("prepaid.fee.charge", "item_id", string="Charges")
    charge_count = fields.Integer(compute="_compute_charge_count")

    _sql_constraints = [
        ("amount_positive", "CHECK(amount > 0)", "The price of a fee item must be positive."),
        (
            "charge_day_range",
            "CHECK(charge_day BETWEEN 1 AND 31)",
            "The charge day is a day of the month (1 to 31).",
        ),
        (
            "charge_month_range",
            "CHECK(charge_month BETWEEN 1 AND 12)",
            "The charge month is a month (1 to 12).",
        ),
    ]

    # === CONSTRAINT METHODS === #

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        for item in self:
            if item.date_to and item.date_to < item.date_from:
                raise ValidationError(
                    self.env._("Fee item %(item)s: it cannot end before it starts.", item=item.name)
                )

    # === COMPUTE METHODS === #

    def _compute_charge_count(self):
        counts = dict(
            self.env["prepaid.fee.charge"]._read_group(
                [("item_id", "in", self.ids)], ["item_id"], ["__count"]
            )
        )
        for item in self:
            item.charge_count = counts.get(item, 0)

    # === CRUD METHODS === #

    def write(self, vals):
        if set(vals) & set(PRICING_FIELDS) and self.env["prepaid.fee.charge"].sudo().search_count(
            [("item_id", "in", self.ids)], limit=1
        ):
            raise UserError(
                self.env._(
                    "These fee items have charged periods: their recurrence, kind of amount and "
                    "company stay as they were. Close them (Effective To) and create new items."
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_without_charges(self):
        if self.env["prepaid.fee.charge"].sudo().search_count([("item_id", "in", self.ids)]):
            raise UserError(
                self.env._("A fee item that charged accounts is archived, never deleted.")
            )

    # === ACTION METHODS === #

    def action_view_charges(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_billing.prepaid_fee_charge_action"
        )
        action["domain"] = [("item_id", "=", self.id)]
        return action

    def action_open_charge_run(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Charge Fees Now"),
            "res_model": "prepaid.fee.run",
            "view_mode": "form",
            "target": "new",
            "context": {"default_item_ids": self.ids},
        }

    @requires_group(MANAGER, _lt("charge fees"))
    def action_charge(self, day):
        """Charge the period of each item that holds ``day`` (a date or its ISO text) to the
        item's accounts now, whatever its charge day; a period charged before charges nothing
        again. Returns a notification saying what was charged."""
        day = fields.Date.to_date(day)
        if not day:
            raise UserError(self.env._("Say which period to charge (a day in it)."))
        charges = self.sudo()._charge_period(day)
        flagged = charges.filtered(lambda c: c.state == "flagged")
        message = self.env._(
            "%(count)s charge(s) recorded, %(wallet)s taken from wallets, %(flagged)s flagged "
            "(see their note).",
            count=len(charges),
            wallet=len(charges.filtered("ledger_line_id")),
            flagged=len(flagged),
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": message,
                "type": "warning" if flagged else "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    # === BUSINESS METHODS === #

    def _get_period(self, day):
        """``(key, first day, last day)`` of the item's period holding ``day``."""
        self.ensure_one()
        if self.recurrence == "once":
            # Charged once to every account in service between its start and the run.
            return "once", self.date_from, max(self.date_from, day)
        return period_of(self.recurrence, day)

    def _get_assignments(self, first, last):
        """``{account: (quantity, start, end)}``: the accounts the item charges for the period
        ``[first, last]``: in service (not a draft) at some day of it, in the item's sites or
        assigned one by one (an assignment's quantity and dates win)."""
        self.ensure_one()
        Account = self.env["prepaid.account"].with_context(active_test=False)
        period_domain = [
            ("company_id", "=", self.company_id.id),
            ("state", "!=", "draft"),
            ("date_open", "<=", last),
            "|",
            ("date_closed", "=", False),
            ("date_closed", ">=", first),
        ]
        result = {}
        if self.site_ids:
            for account in Account.search(
                [*period_domain, ("room_id", "child_of", self.site_ids.ids)], order="id"
            ):
                result[account] = (Decimal(1), None, None)
        if self.assignment_ids:
            in_service = Account.search(
                [*period_domain, ("id", "in", self.assignment_ids.account_id.ids)]
            )
            for assignment in self.assignment_ids.filtered(lambda a: a.account_id in in_service):
                result[assignment.account_id] = (
                    Decimal(str(assignment.quantity)),
                    assignment.date_from,
                    assignment.date_to,
                )
        return result

    def _charge_period(self, day):
        """Charge each item's period holding ``day``: one charge per account, item and period
        (a rerun finds them and charges nothing new), prorated by the days the account was in
        service in the period. Runs in sudo (called by the action or the scheduled action)."""
        charges = self.env["prepaid.fee.charge"]
        for item in self:
            key, first, last = item._get_period(day)
            if item.recurrence == "once":
                if day < item.date_from or (item.date_to and day > item.date_to):
                    continue
            elif (item.date_to and item.date_to < first) or item.date_from > last:
                continue
            charges |= item._charge_accounts(key, first, last)
        return charges

    def _charge_accounts(self, key, first, last):
        self.ensure_one()
        Charge = self.env["prepaid.fee.charge"]
        assignments = self._get_assignments(first, last)
        done = Charge.search([("item_id", "=", self.id), ("period_key", "=", key)])
        done_accounts = done.filtered(lambda c: c.state != "flagged").account_id
        # A flagged charge (bad data) is charged again once the data is fixed.
        done.filtered(lambda c: c.state == "flagged").unlink()
        total_days = overlap_days(first, last)
        values = []
        for account, (quantity, start, end) in assignments.items():
            if account in done_accounts:
                continue
            if self.recurrence == "once":
                days = total_days if account.state == "open" else 0
            else:
                days = overlap_days(
                    first,
                    last,
                    starts=[account.date_open, self.date_from, start],
                    ends=[account.date_closed, self.date_to, end],
                )
            if not days:
                continue
            values.append(
                self._prepare_charge(account, key, first, last, days, total_days, quantity)
            )
        charges = Charge.create(values)
        charges._take_from_wallets()
        return charges

    def _prepare_charge(self, account, key, first, last, days, total_days, quantity):
        self.ensure_one()
        if self.amount_type == "area":
            basis = Decimal(str(account.room_id.floor_area or 0))
        elif self.amount_type == "unit":
            basis = quantity
        else:
            basis = Decimal(1)
        decimals = self.currency_id.decimal_places
        unit = Decimal(1).scaleb(-decimals)
        full = (Decimal(str(self.amount)) * basis).quantize(unit)
        amount = prorate(full, days, total_days, unit=unit)
        note = False
        if not amount:
            note = (
                self.env._("The room %(room)s has no floor area.", room=account.room_id.name)
                if self.amount_type == "area"
                else self.env._("Nothing to charge: the basis is zero.")
            )
        return {
            "item_id": self.id,
            "account_id": account.id,
            "period_key": key,
            "period_start": first,
            "period_end": last,
            "date": due_date(self.recurrence, first, self.charge_day, self.charge_month),
            "days": days,
            "period_days": total_days,
            "basis": float(basis),
            "amount": float(amount),
            "state": "flagged" if note else "open",
            "note": note,
        }

    @api.model
    def _cron_charge_fees(self, today=None):
        """Charge the periods that fell due (their charge day passed) of the items in force,
        item by item: a failing item is logged and left for the next run; the others commit."""
        today = today or fields.Date.context_today(self)
        testing = getattr(threading.current_thread(), "testing", False)
        items = self.search(
            [
                ("date_from", "<=", today),
                "|",
                ("date_to", "=", False),
                ("date_to", ">=", self._first_day_of_recurrences(today)),
            ]
        )
        for item in items:
            key, first, _last = item._get_period(today)
            if item.recurrence != "once" and today < due_date(
                item.recurrence, first, item.charge_day, item.charge_month
            ):
                continue
            try:
                with self.env.cr.savepoint():
                    item.sudo()._charge_period(today)
            except (UserError, ValidationError):
                _logger.exception("Fee item %s could not charge period %s", item.id, key)
            if not testing:
                # Each item's charges are kept even if a later item fails.
                self.env.cr.commit()  # pylint: disable=invalid-commit
        return True

    @api.model
    def _first_day_of_recurrences(self, today):
        # The earliest period start among the recurrences (the year's): items that ended
        # within it may still owe that period.
        return today.replace(month=1, day=1)
