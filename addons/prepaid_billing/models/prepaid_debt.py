"""Debt recovery on top-ups, shaped like IEC 61968-9's auxiliary agreement: a debt of the
account (fees left to bill, arrears of a former tenant, damages) recovered from each top-up by a
percentage of it (a higher one while in arrears) or a fixed amount, with a minimum; several
agreements of an account take their portion in priority order."""

from decimal import Decimal

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools.translate import LazyTranslate

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import MANAGER, PROCESS, requires_group

from ..tools.recovery import Agreement, split_topup

_lt = LazyTranslate(__name__)

DEBT_STATES = [
    ("active", "Recovering"),
    ("done", "Recovered"),
    ("cancelled", "Cancelled"),
]
# The terms of an agreement: fixed once something was recovered under them.
TERM_FIELDS = ("account_id", "mode", "percent", "arrears_percent", "fixed_amount", "company_id")


class PrepaidDebt(models.Model):
    _name = "prepaid.debt"
    _description = "Debt Recovery Agreement"
    _inherit = ["mail.thread", "prepaid.access.mixin"]
    _order = "account_id, priority, id"
    _check_company_auto = True

    # === FIELDS === #

    name = fields.Char(string="Reason", required=True, tracking=True)
    account_id = fields.Many2one(
        "prepaid.account",
        required=True,
        index=True,
        check_company=True,
        tracking=True,
        domain="[('state', '=', 'open'), ('billing_mode', '=', 'prepaid_platform')]",
    )
    partner_id = fields.Many2one(related="account_id.partner_id", string="Tenant")
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="account_id.currency_id")
    amount = fields.Monetary(string="Debt", required=True, tracking=True)
    recovered_amount = fields.Monetary(string="Recovered", readonly=True, copy=False)
    residual = fields.Monetary(compute="_compute_residual", store=True)
    mode = fields.Selection(
        [("percent", "Percentage of each top-up"), ("fixed", "Fixed amount per top-up")],
        required=True,
        default="percent",
        tracking=True,
    )
    percent = fields.Float(string="Portion (%)", default=30.0, tracking=True)
    arrears_percent = fields.Float(
        string="Portion in Arrears (%)",
        tracking=True,
        help="Taken instead of the portion once the due date passed (empty: the same).",
    )
    fixed_amount = fields.Monetary(tracking=True)
    min_amount = fields.Monetary(
        string="Minimum",
        tracking=True,
        help="At least this much of each top-up (less when the debt or the top-up is smaller).",
    )
    priority = fields.Integer(
        default=10, tracking=True, help="Lower first: agreements share a top-up in this order."
    )
    date_due = fields.Date(
        string="Due Date", tracking=True, help="In arrears after it while something is left."
    )
    fee_charge_ids = fields.Many2many(
        "prepaid.fee.charge",
        string="Fee Charges",
        domain="[('account_id', '=', account_id), ('state', '=', 'open')]",
        help="The charges left to bill that this agreement settles (oldest first).",
    )
    state = fields.Selection(DEBT_STATES, default="active", required=True, tracking=True)
    recovery_ids = fields.One2many("prepaid.debt.recovery", "debt_id", string="Recoveries")

    _sql_constraints = [
        ("amount_positive", "CHECK(amount > 0)", "A debt is a positive amount."),
        (
            "percent_range",
            "CHECK(percent BETWEEN 0 AND 100 AND COALESCE(arrears_percent, 0) BETWEEN 0 AND 100)",
            "A portion is a percentage (0 to 100).",
        ),
    ]

    # === CONSTRAINT METHODS === #

    @api.constrains("amount", "recovered_amount")
    def _check_amount(self):
        for debt in self:
            if debt.currency_id.compare_amounts(debt.amount, debt.recovered_amount) < 0:
                raise ValidationError(
                    self.env._("A debt cannot be less than what was already recovered.")
                )

    @api.constrains("account_id", "mode", "percent", "fixed_amount")
    def _check_terms(self):
        for debt in self:
            if debt.account_id.billing_mode != "prepaid_platform":
                raise ValidationError(
                    self.env._(
                        "Debts are recovered from the top-ups of accounts billed on the "
                        "platform (account %(account)s is not).",
                        account=debt.account_id.display_name,
                    )
                )
            if debt.mode == "fixed" and debt.currency_id.compare_amounts(debt.fixed_amount, 0) <= 0:
                raise ValidationError(self.env._("Say the fixed amount taken from each top-up."))
            if debt.mode == "percent" and not debt.percent:
                raise ValidationError(self.env._("Say the portion of each top-up (a percentage)."))

    # === COMPUTE METHODS === #

    @api.depends("amount", "recovered_amount")
    def _compute_residual(self):
        for debt in self:
            debt.residual = debt.amount - debt.recovered_amount

    # === ACCESS POLICY === #

    def _get_write_groups(self):
        groups = {
            **super()._get_write_groups(),
            "recovered_amount": PROCESS,
            "state": PROCESS,
        }
        if any(debt.recovered_amount for debt in self):
            groups.update(dict.fromkeys(TERM_FIELDS, PROCESS))
        return groups

    # === CRUD METHODS === #

    @api.ondelete(at_uninstall=False)
    def _unlink_unless_recovered(self):
        if any(debt.recovery_ids for debt in self):
            raise UserError(self.env._("A debt with recoveries is cancelled, never deleted."))

    # === ACTION METHODS === #

    @requires_group(MANAGER, _lt("cancel debts"))
    def action_cancel(self):
        """Stop recovering (what was recovered stays recovered)."""
        self._update_state(("active",), "cancelled")
        return True

    @requires_group(MANAGER, _lt("resume debts"))
    def action_resume(self):
        self._check_transition(("cancelled",), "active", strict=True)
        self._update_state(("cancelled",), "active")
        return True

    # === BUSINESS METHODS === #

    def _get_state_records_label(self):
        return self.env._("debts")

    def _is_in_arrears(self, day):
        self.ensure_one()
        return bool(self.date_due and self.date_due < day)

    @api.model
    def _recover_from_topup(self, topup, line):
        """Take the portions of the account's active agreements from ``topup`` (its ledger
        line ``line`` just posted), in priority order, within the credit above the cut-off
        threshold; one fee line per agreement, keyed by agreement and top-up."""
        account = topup.account_id
        debts = self.sudo().search(
            [("account_id", "=", account.id), ("state", "=", "active")],
            order="priority, id",
        )
        if not debts:
            return self.env["prepaid.debt.recovery"]
        unit = Decimal(1).scaleb(-topup.currency_id.decimal_places)
        today = fields.Date.context_today(self)
        balance = Decimal(str(line.balance_after)).quantize(unit)
        available = balance - Decimal(str(account.cutoff_threshold)).quantize(unit)
        amounts = split_topup(
            Decimal(str(topup.amount)).quantize(unit),
            [
                Agreement(
                    residual=Decimal(str(debt.residual)).quantize(unit),
                    mode=debt.mode,
                    percent=Decimal(str(debt.percent)),
                    arrears_percent=Decimal(str(debt.arrears_percent or 0)),
                    fixed_amount=Decimal(str(debt.fixed_amount)).quantize(unit),
                    minimum=Decimal(str(debt.min_amount)).quantize(unit),
                    in_arrears=debt._is_in_arrears(today),
                )
                for debt in debts
            ],
            available=available,
            unit=unit,
        )
        Recovery = self.env["prepaid.debt.recovery"].sudo()
        recoveries = Recovery
        for debt, amount in zip(debts, amounts, strict=True):
            if not amount:
                continue
            recovery = Recovery.create(
                {"debt_id": debt.id, "topup_id": topup.id, "amount": float(amount)}
            )
            posted = self.env["prepaid.ledger"]._post(
                [
                    {
                        "account": account,
                        "kind": "fee",
                        "amount": -amount,
                        "key": f"debt:{debt.id}:topup:{topup.id}",
                        "description": debt.name,
                        "origin": recovery,
                    }
                ]
            )
            recovery.ledger_line_id = posted
            debt._add_recovered(amount)
            recoveries |= recovery
        return recoveries

    def _add_recovered(self, amount):
        """Book ``amount`` (a Decimal, negative to give it back) on the agreement and its fee
        charges; the agreement is done once nothing is left, active again if given back."""
        self.ensure_one()
        debt = self.sudo()
        debt.recovered_amount += float(amount)
        if amount > 0:
            debt.fee_charge_ids._apply_recovery(amount)
        if debt.currency_id.is_zero(debt.residual):
            debt.state = "done"
        elif debt.state == "done":
            debt.state = "active"

    # === DEMO DATA === #

    @api.model
    def _demo_generate_debt(self):
        """A recovery agreement on an open account billed on the platform: 30 % of each top-up
        for the arrears of a former lease (called from demo XML; idempotent)."""
        xmlid = "prepaid_billing.prepaid_debt_demo"
        if self.env.ref(xmlid, raise_if_not_found=False):
            return True
        account = self.env["prepaid.account"].search(
            [
                ("state", "=", "open"),
                ("billing_mode", "=", "prepaid_platform"),
                ("cutoff_state", "=", "supplied"),
            ],
            order="id",
            limit=1,
        )
        if not account:
            return True
        debt = self.create(
            {
                "name": self.env._("Arrears of the former lease"),
                "account_id": account.id,
                "amount": 300.0,
                "percent": 30.0,
                "arrears_percent": 50.0,
                "min_amount": 10.0,
                "date_due": fields.Date.context_today(self) + relativedelta(months=3),
            }
        )
        self.env["ir.model.data"]._update_xmlids(
            [{"xml_id": xmlid, "record": debt, "noupdate": True}]
        )
        return True
