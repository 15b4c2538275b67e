"""Postpaid bills (后付费): once a month is over, each postpaid account (and each account with
fees or common-area shares left to bill) gets one posted customer invoice for the month.

A bill run computes first what it will bill (``prepaid.bill.line``: the consumption rated per
utility, TOU band and tier, the fee charges and the shares left to bill) for the user to check,
then generates the bills. ``prepaid.bill`` is the idempotency key: one per account and month,
created in the same transaction as its invoice, so a second run bills nothing again.
"""

from collections import defaultdict
from decimal import Decimal

import pytz
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL
from odoo.tools.translate import LazyTranslate

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import (
    MANAGER,
    PROCESS,
    requires_group,
)
from odoo.addons.prepaid_meter.tools.tariff_data import TariffError
from odoo.addons.prepaid_meter.tools.tariff_engine import (
    aggregate_lines,
    compile_definition,
    rate_fixed_charges,
)

from .prepaid_rating import _cycle_of

_lt = LazyTranslate(__name__)

RUN_STATES = [("draft", "Draft"), ("computed", "Computed"), ("done", "Bills Generated")]
LINE_KINDS = [
    ("consumption", "Consumption"),
    ("fee", "Fee"),
    ("share", "Common-Area Share"),
    ("late_fee", "Late Fee"),
]
UNITS = {"electricity": "kWh", "water": "m³"}


class PrepaidBillRun(models.Model):
    _name = "prepaid.bill.run"
    _description = "Postpaid Bill Run"
    _inherit = ["prepaid.access.mixin"]
    _order = "month desc, id desc"
    _check_company_auto = True

    # === FIELDS === #

    name = fields.Char(compute="_compute_name", store=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    month = fields.Date(
        required=True,
        default=lambda self: (
            fields.Date.context_today(self).replace(day=1) - relativedelta(months=1)
        ),
        help="Any day of the month to bill (the month before the current one by default).",
    )
    site_id = fields.Many2one(
        "prepaid.site", string="Site", help="Only the accounts of this site (all when empty)."
    )
    account_ids = fields.Many2many(
        "prepaid.account",
        string="Accounts",
        check_company=True,
        help="Only these accounts (all postpaid accounts and those with fees or shares to bill "
        "when empty).",
    )
    state = fields.Selection(RUN_STATES, required=True, readonly=True, default="draft")
    line_ids = fields.One2many("prepaid.bill.line", "run_id", string="Lines to Bill")
    bill_ids = fields.One2many("prepaid.bill", "run_id", string="Bills")
    bill_count = fields.Integer(compute="_compute_bill_count")
    amount_total = fields.Monetary(string="Total to Bill", compute="_compute_amount_total")
    issues = fields.Text(
        string="Not Billed",
        readonly=True,
        help="The accounts left out and why (no tariff...): a later run of the month bills "
        "them once fixed.",
    )

    # === COMPUTE METHODS === #

    @api.depends("month")
    def _compute_name(self):
        for run in self:
            run.name = f"{run.month:%Y-%m}" if run.month else False

    @api.depends("bill_ids")
    def _compute_bill_count(self):
        for run in self:
            run.bill_count = len(run.bill_ids)

    @api.depends("line_ids.amount")
    def _compute_amount_total(self):
        for run in self:
            run.amount_total = sum(run.line_ids.mapped("amount"))

    # === ACCESS === #

    def _get_write_groups(self):
        groups = dict.fromkeys(("company_id", "month", "site_id", "account_ids"), MANAGER)
        return {**super()._get_write_groups(), **groups, "state": PROCESS, "issues": PROCESS}

    # === ACTIONS === #

    @requires_group(MANAGER, _lt("compute bills"))
    def action_compute(self):
        """Work out what each account will be billed for the month (replaces what a previous
        computation of this run showed)."""
        for run in self:
            if run.state == "done":
                raise UserError(self.env._("The bills of this run are generated already."))
            run = run.sudo()
            run.line_ids.unlink()
            values, issues = run._get_line_values()
            run.env["prepaid.bill.line"].create(values)
            run.write({"state": "computed", "issues": "\n".join(issues)})
        return True

    @requires_group(MANAGER, _lt("generate bills"))
    def action_generate(self):
        """Post one invoice per account of the computed lines (the confirm step: only what
        the user saw is billed; accounts billed for the month meanwhile are skipped)."""
        for run in self:
            if run.state != "computed":
                raise UserError(self.env._("Compute the bills and check them first."))
            run = run.sudo()
            by_account = defaultdict(lambda: self.env["prepaid.bill.line"])
            for line in run.line_ids:
                by_account[line.account_id] |= line
            issues = [run.issues] if run.issues else []
            for account, lines in by_account.items():
                try:
                    # One account's bad setting (a tax not included in prices...) stops only
                    # its bill: it is not billed, and the next run of the month bills it.
                    with self.env.cr.savepoint():
                        self.env["prepaid.bill"]._generate(run, account, lines)
                except UserError as error:
                    issues.append(f"{account.display_name}: {error.args[0]}")
            run.write({"state": "done", "issues": "\n".join(issues)})
        return True

    @requires_group(MANAGER, _lt("send bills"))
    def action_send(self):
        """Send the bills by mail with Odoo's invoice sending (the PDF attached); bills of
        tenants without an email address are left out and named."""
        moves = self.sudo().bill_ids.move_id
        no_email = moves.filtered(lambda move: not move.partner_id.email)
        to_send = moves - no_email
        if to_send:
            self.env["account.move.send"].sudo()._generate_and_send_invoices(
                to_send, sending_methods={"email"}
            )
        message = self.env._("%(count)s bills sent.", count=len(to_send))
        if no_email:
            message += " " + self.env._(
                "Tenants without an email address: %(tenants)s",
                tenants=", ".join(no_email.partner_id.mapped("display_name")),
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"message": message, "type": "warning" if no_email else "success"},
        }

    def action_view_bills(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_billing.prepaid_bill_action"
        )
        action["domain"] = [("run_id", "=", self.id)]
        return action

    # === BUSINESS METHODS === #

    def _get_period(self):
        first = self.month.replace(day=1)
        return first, first + relativedelta(months=1, days=-1)

    def _get_accounts(self):
        """The accounts to bill: postpaid accounts of the run's scope, and those with fee
        charges or shares left to bill up to the month; accounts billed for it left out."""
        first, last = self._get_period()
        scope = [*self.env["prepaid.account"]._check_company_domain(self.company_id)]
        if self.account_ids:
            scope.append(("id", "in", self.account_ids.ids))
        if self.site_id:
            scope.append(("room_id", "child_of", self.site_id.id))
        Account = self.env["prepaid.account"].sudo()
        accounts = Account.search(
            [*scope, ("billing_mode", "=", "postpaid"), ("date_open", "<=", last)]
        )
        charges = self._get_fee_charges(Account.search(scope))
        shares = self._get_shares(Account.search(scope))
        accounts |= charges.account_id | shares.account_id
        accounts |= self._get_late_fee_bills(Account.search(scope)).account_id
        billed = (
            self.env["prepaid.bill"]
            .sudo()
            .search([("account_id", "in", accounts.ids), ("month", "=", first)])
        )
        return accounts - billed.account_id

    def _get_fee_charges(self, accounts):
        """The fee charges of ``accounts`` left to bill up to the month, except those a
        debt recovery agreement in force settles from the top-ups (billed, they would be paid
        twice)."""
        _first, last = self._get_period()
        recovering = (
            self.env["prepaid.debt"]
            .sudo()
            .search([("account_id", "in", accounts.ids), ("state", "=", "active")])
            .fee_charge_ids
        )
        return (
            self.env["prepaid.fee.charge"]
            .sudo()
            .search(
                [
                    ("account_id", "in", accounts.ids),
                    ("state", "=", "open"),
                    ("residual", ">", 0),
                    ("bill_line_id", "=", False),
                    ("period_start", "<=", last),
                    ("id", "not in", recovering.ids),
                ],
                order="account_id, period_start, id",
            )
        )

    def _get_shares(self, accounts):
        first, _last = self._get_period()
        return (
            self.env["prepaid.apportion.share"]
            .sudo()
            .search(
                [
                    ("account_id", "in", accounts.ids),
                    ("state", "=", "open"),
                    ("residual", ">", 0),
                    ("bill_line_id", "=", False),
                    ("period_key", "<=", f"{first:%Y-%m}"),
                ],
                order="account_id, period_key, id",
            )
        )

    def _get_line_values(self):
        """The ``prepaid.bill.line`` values of the run, account by account, and the accounts
        left out (``["account: why"]``): an account whose consumption cannot be rated is not
        billed at all (not even its fees: its one bill of the month would miss it)."""
        accounts = self._get_accounts()
        charges = self._get_fee_charges(accounts)
        shares = self._get_shares(accounts)
        readings = self._get_month_readings(
            accounts.filtered(lambda a: a.billing_mode == "postpaid")
        )
        engines = {}  # tariff id -> compiled tariff: compiled once per run
        values = []
        issues = []
        for account in accounts.sorted("id"):
            sequence = 0
            lines = []
            try:
                if account.billing_mode == "postpaid":
                    for utility in ("electricity", "water"):
                        lines += self._get_consumption_values(
                            account, utility, readings.get((account.id, utility), []), engines
                        )
            except (TariffError, UserError) as error:
                if isinstance(error, TariffError):
                    message = account._get_tariff(utility)._tariff_issue_message(
                        error.code, error.params
                    )
                else:
                    message = error.args[0]
                issues.append(f"{account.display_name}: {message}")
                continue
            for charge in charges.filtered(lambda c, a=account: c.account_id == a):
                lines.append(
                    {
                        "kind": "fee",
                        "name": self.env._(
                            "%(fee)s %(period)s", fee=charge.item_id.name, period=charge.period_key
                        ),
                        "quantity": 1.0,
                        "unit_price": charge.residual,
                        "amount": charge.residual,
                        "fee_charge_id": charge.id,
                    }
                )
            for share in shares.filtered(lambda s, a=account: s.account_id == a):
                lines.append(
                    {
                        "kind": "share",
                        "utility": share.pool_id.utility,
                        "name": self.env._(
                            "Common-area share %(pool)s %(month)s (%(basis)s)",
                            pool=share.pool_id.name,
                            month=share.period_key,
                            basis=share.basis_note or share.basis,
                        ),
                        "quantity": 1.0,
                        "unit_price": share.residual,
                        "amount": share.residual,
                        "share_id": share.id,
                    }
                )
            lines += self._get_late_fee_values(account)
            for line in lines:
                sequence += 1
                values.append(
                    {**line, "run_id": self.id, "account_id": account.id, "sequence": sequence}
                )
        return values, issues

    def _get_month_readings(self, accounts):
        """The good readings of ``accounts``' meters around the run's month (a day more on
        each side: the month is in each tariff's timezone), oldest first, for all accounts in
        one query: ``{(account id, utility): [{id, read_at, previous_read_at, consumption}]}``
        like ``prepaid.rating._get_readings``."""
        if not accounts:
            return {}
        first, last = self._get_period()
        self.env["prepaid.reading"].flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT a.id, r.utility, r.id, r.read_at, r.previous_read_at,
                          r.consumption::text
                     FROM prepaid_account a
                     JOIN prepaid_meter m ON m.account_id = a.id
                     JOIN prepaid_reading r ON r.meter_id = m.id
                    WHERE a.id = ANY(%s) AND r.consumption > 0
                      AND r.previous_read_at >= a.date_open
                      AND r.read_at > %s AND r.read_at <= %s
                 ORDER BY a.id, r.utility, r.read_at, r.id""",
                accounts.ids,
                first - relativedelta(days=1),
                last + relativedelta(days=2),
            )
        )
        readings = defaultdict(list)
        for (
            account_id,
            utility,
            reading_id,
            read_at,
            previous,
            consumption,
        ) in self.env.cr.fetchall():
            readings[(account_id, utility)].append(
                {
                    "id": reading_id,
                    "read_at": read_at,
                    "previous_read_at": previous,
                    "consumption": Decimal(consumption),
                }
            )
        return readings

    def _get_consumption_values(self, account, utility, readings, engines=None):
        """The month's consumption of ``account`` for ``utility`` rated with its tariff from
        the start of the cycle (the month), one line per band, tier and unit price (and per
        fixed charge of the tariff). Postpaid accounts are not rated in real time: their
        readings are rated here, the same way ``prepaid.rating`` rates a cycle."""
        tariff = account._get_tariff(utility)
        Rating = self.env["prepaid.rating"]
        if not tariff:
            if readings:
                raise UserError(
                    self.env._(
                        "Account %(account)s has no %(utility)s tariff.",
                        account=account.display_name,
                        utility=utility,
                    )
                )
            return []
        tz = pytz.timezone(tariff.tz or "UTC")
        first, last = self._get_period()
        readings = [r for r in readings if _cycle_of(r["read_at"], tz) == first]
        engines = {} if engines is None else engines
        if tariff.id not in engines:
            engines[tariff.id] = compile_definition(tariff._engine_definition())
        compiled = engines[tariff.id]
        lines = []
        if readings:
            lines += Rating._charge(compiled, tz, readings, Decimal(0), Decimal(0))[3]
        if account.date_open <= last:
            lines += rate_fixed_charges(compiled, max(first, account.date_open), last)
        Line = self.env["prepaid.bill.line"]
        band_labels = dict(Line._fields["band"]._description_selection(self.env))
        utility_label = dict(Line._fields["utility"]._description_selection(self.env))[utility]
        values = []
        for line in aggregate_lines(lines):
            if not line.amount and not line.quantity:
                continue
            if line.charge:
                name = self.env._(
                    "%(utility)s %(charge)s %(month)s",
                    utility=utility_label,
                    charge=line.charge,
                    month=first.strftime("%Y-%m"),
                )
            else:
                name = self.env._(
                    "%(utility)s %(month)s %(band)s%(tier)s",
                    utility=utility_label,
                    month=first.strftime("%Y-%m"),
                    band=band_labels.get(line.band, ""),
                    tier=self.env._(", tier %(tier)s", tier=line.tier) if line.tier else "",
                )
            values.append(
                {
                    "kind": "consumption",
                    "utility": utility,
                    "band": line.band or False,
                    "tier": line.tier or 0,
                    "name": name.strip(),
                    "quantity": float(line.quantity),
                    "uom": False if line.charge else UNITS[utility],
                    "unit_price": float(line.unit_price),
                    "amount": float(line.amount),
                }
            )
        return values


class PrepaidBillLine(models.Model):
    """A line a bill run will bill: written by the run's computation only."""

    _name = "prepaid.bill.line"
    _description = "Postpaid Bill Line"
    _inherit = ["prepaid.access.mixin"]
    _order = "run_id, account_id, sequence, id"
    _prepaid_immutable = True

    run_id = fields.Many2one(
        "prepaid.bill.run", required=True, index=True, readonly=True, ondelete="cascade"
    )
    account_id = fields.Many2one("prepaid.account", required=True, readonly=True)
    partner_id = fields.Many2one(related="account_id.partner_id", string="Tenant")
    currency_id = fields.Many2one(related="run_id.currency_id")
    sequence = fields.Integer(readonly=True)
    kind = fields.Selection(LINE_KINDS, required=True, readonly=True)
    utility = fields.Selection([("electricity", "Electricity"), ("water", "Water")], readonly=True)
    band = fields.Selection(
        [
            ("sharp", "Sharp Peak"),
            ("peak", "Peak"),
            ("flat", "Flat"),
            ("valley", "Valley"),
            ("deep_valley", "Deep Valley"),
        ],
        string="TOU Band",
        readonly=True,
    )
    tier = fields.Integer(readonly=True, help="The tiered step (0: not tiered).")
    name = fields.Char(string="Description", required=True, readonly=True)
    quantity = fields.Float(digits=(16, 3), readonly=True)
    uom = fields.Char(string="Unit", readonly=True)
    unit_price = fields.Float(digits=(16, 6), readonly=True)
    amount = fields.Monetary(readonly=True)
    fee_charge_id = fields.Many2one("prepaid.fee.charge", readonly=True)
    share_id = fields.Many2one("prepaid.apportion.share", readonly=True)

    def _check_still_to_bill(self):
        """Lock the fee charges and shares of these lines and raise a UserError unless each
        is still left to bill at the amount computed (another run of another month may have
        billed it, a top-up recovered part of it): billed twice otherwise."""
        for model, field in (
            ("prepaid.fee.charge", "fee_charge_id"),
            ("prepaid.apportion.share", "share_id"),
        ):
            targets = self[field]
            if not targets:
                continue
            targets.flush_recordset()
            self.env.cr.execute(
                SQL(
                    "SELECT id FROM %s WHERE id = ANY(%s) FOR UPDATE",
                    SQL.identifier(self.env[model]._table),
                    targets.ids,
                )
            )
            targets.invalidate_recordset()
        for line in self:
            target = (line.fee_charge_id or line.share_id).sudo()
            if target and (
                target.state != "open"
                or target.bill_line_id
                or line.currency_id.compare_amounts(target.residual, line.amount)
            ):
                raise UserError(
                    self.env._(
                        "%(charge)s changed since the bill was computed: compute it again.",
                        charge=target.display_name,
                    )
                )


class PrepaidBill(models.Model):
    """The bill of one account for one month: its posted invoice. Unique per account and
    month (the idempotency key of postpaid billing)."""

    _name = "prepaid.bill"
    _description = "Postpaid Bill"
    _inherit = ["prepaid.access.mixin"]
    _order = "month desc, id desc"
    _prepaid_immutable = True

    run_id = fields.Many2one("prepaid.bill.run", readonly=True, index=True, ondelete="set null")
    account_id = fields.Many2one(
        "prepaid.account", required=True, readonly=True, index=True, ondelete="restrict"
    )
    partner_id = fields.Many2one(related="account_id.partner_id", string="Tenant", store=True)
    room_id = fields.Many2one(related="account_id.room_id", store=True)
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="move_id.currency_id")
    month = fields.Date(required=True, readonly=True, help="First day of the month billed.")
    move_id = fields.Many2one(
        "account.move", string="Invoice", required=True, readonly=True, ondelete="restrict"
    )
    invoice_date_due = fields.Date(related="move_id.invoice_date_due", store=True)
    amount_total = fields.Monetary(related="move_id.amount_total", store=True)
    amount_residual = fields.Monetary(
        string="Residual", related="move_id.amount_residual", store=True
    )
    move_state = fields.Selection(related="move_id.state", string="Invoice Status", store=True)
    payment_state = fields.Selection(related="move_id.payment_state", store=True)
    days_overdue = fields.Integer(compute="_compute_days_overdue")

    _sql_constraints = [
        (
            "account_month_uniq",
            "unique(account_id, month)",
            "This account is billed for this month already.",
        ),
    ]

    @api.depends("account_id", "month")
    def _compute_display_name(self):
        for bill in self:
            bill.display_name = f"{bill.account_id.name} {bill.month:%Y-%m}"

    @api.depends_context("overdue_on")
    @api.depends("invoice_date_due", "amount_residual")
    def _compute_days_overdue(self):
        # ``overdue_on``: the day the arrears are counted on (an export's), today by default.
        today = fields.Date.to_date(self.env.context.get("overdue_on")) or (
            fields.Date.context_today(self)
        )
        for bill in self:
            due = bill.invoice_date_due
            overdue = bill.amount_residual > 0 and due and due < today
            bill.days_overdue = (today - due).days if overdue else 0

    @api.model
    def _generate(self, run, account, lines):
        """Post the invoice of ``account`` for the run's month with ``lines`` (sudo), mark
        the fee charges and shares billed; nothing when the account is billed already.

        :return: the ``prepaid.bill`` created, or an empty recordset
        """
        first, last = run._get_period()
        if self.search_count([("account_id", "=", account.id), ("month", "=", first)]):
            return self
        company = account.company_id._prepaid_get_accounting()
        Finance = self.env["prepaid.finance.invoice"]
        journal = (
            self.env["account.journal"]
            .sudo()
            .search(
                [
                    *self.env["account.journal"]._check_company_domain(company),
                    ("type", "=", "sale"),
                ],
                limit=1,
            )
        )
        lines._check_still_to_bill()
        commands = []
        for sequence, line in enumerate(lines, start=1):
            revenue, tax = Finance._get_revenue_and_tax(company, line.utility or "")
            label = line.name
            if line.kind == "consumption" and line.uom:
                label = self.env._(
                    "%(label)s: %(quantity)s %(unit)s at %(price)s",
                    label=line.name,
                    quantity=format(line.quantity, ".3f"),
                    unit=line.uom,
                    price=format(Decimal(str(line.unit_price)).normalize(), "f"),
                )
            # One unit at the line's amount: the tariff's prices have more decimals than an
            # invoice line's unit price, and its amounts are rounded over the whole cycle; the
            # quantity and unit price are in the label (and on the bill line).
            commands.append(
                fields.Command.create(
                    {
                        "sequence": sequence,
                        "name": label,
                        "quantity": 1,
                        "price_unit": line.amount,
                        "account_id": revenue.id,
                        "tax_ids": [fields.Command.set(tax.ids)],
                    }
                )
            )
        if not commands:
            return self
        partner = account.partner_id
        # The tenant's payment term (the company's default one when the tenant has none,
        # through the property's default); without any, due at the end of the month.
        term = partner.with_company(company).property_payment_term_id
        invoice = (
            self.env["account.move"]
            .sudo()
            .with_company(company)
            .create(
                {
                    "move_type": "out_invoice",
                    "partner_id": partner.id,
                    "journal_id": journal.id,
                    "invoice_date": last,
                    "date": last,
                    "invoice_payment_term_id": term.id,
                    "invoice_date_due": False if term else last,
                    "invoice_origin": f"{account.name} {first:%Y-%m}",
                    "prepaid_account_id": account.id,
                    "invoice_line_ids": commands,
                }
            )
        )
        invoice.action_post()
        total = sum(Decimal(str(line.amount)) for line in lines)
        if invoice.currency_id.compare_amounts(invoice.amount_total, float(total)):
            raise UserError(
                self.env._(
                    "The bill of account %(account)s (%(invoice)s) does not add up to its "
                    "lines (%(total)s).",
                    account=account.display_name,
                    invoice=invoice.amount_total,
                    total=total,
                )
            )
        move_lines = invoice.invoice_line_ids.sorted(lambda ml: (ml.sequence, ml.id))
        for line, move_line in zip(lines, move_lines, strict=True):
            target = line.fee_charge_id or line.share_id
            if target:
                target.sudo().write({"bill_line_id": move_line.id, "state": "billed"})
        lines._mark_late_fees_billed(last)
        return self.sudo().create(
            {"run_id": run.id, "account_id": account.id, "month": first, "move_id": invoice.id}
        )
