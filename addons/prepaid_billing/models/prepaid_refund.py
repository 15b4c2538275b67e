import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import formatLang
from odoo.tools.translate import LazyTranslate

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import (
    MANAGER,
    OPERATOR,
    requires_group,
)
from odoo.addons.prepaid_meter.tools.related_counts import set_related_counts

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

STATES = [
    ("draft", "Draft"),
    ("to_withdraw", "To Withdraw from the Meter"),
    ("paid", "Paid Out"),
    ("cancelled", "Cancelled"),
]
# Set by the state machine and the pay-out only (see _get_write_groups).
PROCESS_FIELDS = (
    "state",
    "submitted_at",
    "submitted_by_id",
    "withdrawn_at",
    "paid_at",
    "paid_by_id",
    "ledger_line_id",
    "payment_id",
)
# What a submitted refund is made of: fixed once submitted.
ORDER_FIELDS = (
    "account_id",
    "amount",
    "meter_id",
    "topup_id",
    "payment_method",
    "payment_reference",
    "reason",
    "close_account",
    "request_key",
    "company_id",
)


class PrepaidRefund(models.Model):
    """A refund of unused credit (退费): money paid back to a tenant from the wallet.

    States: draft -> paid (platform billing: a ``refund`` ledger line, an outbound payment);
    for accounts billed on the meter, draft -> to_withdraw (the credit is first taken back from
    the meter: a negative credit write through the meter's hardware hook) -> paid once the
    meter confirms; draft -> cancelled, to_withdraw -> cancelled (managers: the meter kept the
    credit). Refunds above the company's limit are submitted by managers only. Every
    transition goes through ``_update_state``, the only writer of ``state``.
    """

    _name = "prepaid.refund"
    _description = "Refund"
    _inherit = ["mail.thread", "mail.activity.mixin", "prepaid.counter.order"]
    _order = "id desc"
    _check_company_auto = True
    _sequence_code = "prepaid.refund"
    _process_fields = PROCESS_FIELDS
    _order_fields = ORDER_FIELDS

    # === FIELDS === #

    # A closed account still pays out what it holds.
    account_id = fields.Many2one(domain="[('state', 'in', ('open', 'suspended', 'closed'))]")
    account_balance = fields.Monetary(related="account_id.balance", string="Balance Now")
    meter_id = fields.Many2one(
        "prepaid.meter",
        string="Meter",
        check_company=True,
        domain="[('account_id', '=', account_id), ('state', '=', 'active')]",
        help="For accounts billed on the meter: the meter that gives the credit back (the only "
        "active one when left empty).",
    )
    topup_id = fields.Many2one(
        "prepaid.topup",
        string="Refund of Top-up",
        check_company=True,
        domain="[('account_id', '=', account_id), ('state', 'in', ('paid', 'delivered'))]",
        help="Optional: the sale this refund gives back (in part). A reversed top-up was paid "
        "back by its reversal already.",
    )
    payment_reference = fields.Char(
        help="The transaction number of the transfer, card, WeChat Pay or Alipay refund."
    )
    reason = fields.Text(required=True, tracking=True)
    close_account = fields.Boolean(
        string="Close the Account",
        help="The tenant leaves: refund the whole balance and close the account (managers).",
    )
    request_key = fields.Char(
        help="Who asked for this refund (a screen, an integration): the same request twice "
        "makes one refund.",
    )
    needs_manager = fields.Boolean(
        compute="_compute_needs_manager",
        help="Above the company's limit (or closing the account): a manager submits it.",
    )
    state = fields.Selection(
        STATES, default="draft", required=True, readonly=True, copy=False, tracking=True
    )
    submitted_at = fields.Datetime(readonly=True, copy=False)
    submitted_by_id = fields.Many2one("res.users", string="Submitted By", readonly=True, copy=False)
    withdrawn_at = fields.Datetime(
        string="Withdrawn At", readonly=True, copy=False, help="When the meter gave it back."
    )
    paid_at = fields.Datetime(string="Paid Out At", readonly=True, copy=False)
    paid_by_id = fields.Many2one("res.users", string="Paid Out By", readonly=True, copy=False)
    payment_id = fields.Many2one("account.payment", readonly=True, copy=False)

    _sql_constraints = [
        (
            "request_key_uniq",
            "unique(company_id, request_key)",
            "This refund was already recorded.",
        ),
        ("name_company_uniq", "unique(company_id, name)", "The refund number must be unique."),
    ]

    # === COMPUTE METHODS === #

    @api.depends("amount", "close_account", "company_id.prepaid_refund_manager_limit")
    def _compute_needs_manager(self):
        for refund in self:
            refund.needs_manager = refund._needs_manager()

    @api.onchange("account_id", "close_account")
    def _onchange_close_account(self):
        if self.close_account and self.account_id:
            self.amount = self.account_id.balance

    # === ACCESS POLICY === #

    def _get_state_records_label(self):
        return self.env._("refunds")

    # === CRUD METHODS === #

    @api.ondelete(at_uninstall=False)
    def _unlink_only_drafts(self):
        if any(refund.state not in ("draft", "cancelled") for refund in self):
            raise UserError(self.env._("A submitted refund is never deleted."))

    # === ACTION METHODS === #

    @requires_group(OPERATOR, _lt("refund credit"))
    def action_submit(self):
        """Pay the refund out, or first take the credit back from the meter (accounts billed
        on the meter). Submitting twice (a double click, a replayed request) refunds once."""
        for refund in self:
            refund._submit()
        return True

    @requires_group(OPERATOR, _lt("confirm withdrawals from meters"))
    def action_confirm_withdrawal(self):
        """The meter gave the credit back (read on the meter, or no gateway): pay it out."""
        self._check_transition(("to_withdraw",), "paid")
        for refund in self.filtered(lambda r: r.state == "to_withdraw"):
            refund._on_withdrawn()
        return True

    @requires_group(OPERATOR, _lt("cancel refunds"))
    def action_cancel(self):
        """Cancel drafts; a refund waiting for its meter is cancelled by a manager only (the
        meter kept the credit: it refused or never received the withdrawal)."""
        if any(refund.state == "to_withdraw" for refund in self):
            self._check_group(MANAGER, _lt("cancel withdrawals from meters"))
        self._update_state(("draft", "to_withdraw"), "cancelled")
        return True

    def action_print_receipt(self):
        return self.env.ref("prepaid_billing.prepaid_refund_report").report_action(self)

    # === BUSINESS METHODS === #

    def _needs_manager(self):
        self.ensure_one()
        limit = self.company_id.prepaid_refund_manager_limit
        return bool(self.close_account or self.currency_id.compare_amounts(self.amount, limit) > 0)

    def _submit(self):
        self.ensure_one()
        if self.state != "draft":
            return  # submitted before: refunds once
        if self._needs_manager() and not (self.env.su or self.env.user.has_group(MANAGER)):
            raise AccessError(
                self.env._(
                    "Refunds above %(limit)s, and refunds that close the account, are submitted "
                    "by a manager (%(group)s).",
                    limit=formatLang(
                        self.env,
                        self.company_id.prepaid_refund_manager_limit,
                        currency_obj=self.currency_id,
                    ),
                    group=self._get_group_label(MANAGER),
                )
            )
        self._check_refundable()
        meter = self._get_withdrawal_meter()
        self.sudo().write(
            {
                "submitted_at": fields.Datetime.now(),
                "submitted_by_id": self.env.uid,
                "meter_id": meter.id or self.meter_id.id,
            }
        )
        if not meter:
            self._pay_out()
            return
        # A negative credit: the meter's balance goes down by the refund. The gateway queues
        # it once (``idempotency_key``; ``origin``: the refund whose _on_withdrawn it calls
        # once the meter confirms); without one, an activity asks the staff to do it.
        meter.sudo()._hardware_action(
            "write_credit",
            amount=-self.amount,
            origin=self,
            idempotency_key=f"refund-withdrawal:{self.id}",
        )
        self._update_state(("draft",), "to_withdraw")
        self.message_post(
            body=self.env._(
                "Credit of %(amount)s requested back from meter %(meter)s; paid out once the "
                "meter confirms.",
                amount=formatLang(self.env, self.amount, currency_obj=self.currency_id),
                meter=meter.display_name,
            )
        )

    def _check_refundable(self):
        """Refuse a refund the wallet cannot cover, one of a reversed top-up or more than a
        top-up gave. Reads the balance under the account's row lock (the posting service
        takes the same lock), so two refunds at once cannot both take the same credit."""
        self.ensure_one()
        account = self.account_id
        if account.state not in ("open", "suspended", "closed"):
            raise UserError(
                self.env._(
                    "Account %(account)s holds no money to refund.", account=account.display_name
                )
            )
        if self.close_account and account.state == "closed":
            raise UserError(
                self.env._("Account %(account)s is closed already.", account=account.display_name)
            )
        currency = self.currency_id
        money = lambda value: formatLang(self.env, value, currency_obj=currency)  # noqa: E731
        topup = self.topup_id
        if topup:
            if topup.state == "reversed":
                raise UserError(
                    self.env._(
                        "Top-up %(topup)s was reversed: its money was paid back then.",
                        topup=topup.name,
                    )
                )
            others = topup.refund_ids.filtered(
                lambda r: r != self and r.state in ("to_withdraw", "paid")
            )
            left = topup.amount - sum(others.mapped("amount"))
            if currency.compare_amounts(self.amount, left) > 0:
                raise UserError(
                    self.env._(
                        "Top-up %(topup)s has %(left)s left to refund, not %(amount)s.",
                        topup=topup.name,
                        left=money(left),
                        amount=money(self.amount),
                    )
                )
        locked = self.env["prepaid.ledger"]._lock_accounts(account)[account.id]
        available = account._get_refundable_amount(float(locked["balance"]))
        pending = self.search(
            [("account_id", "=", account.id), ("state", "=", "to_withdraw"), ("id", "!=", self.id)]
        )
        available -= sum(pending.mapped("amount"))
        if currency.compare_amounts(self.amount, available) > 0:
            raise UserError(
                self.env._(
                    "Account %(account)s has %(available)s to refund, not %(amount)s.",
                    account=account.display_name,
                    available=money(max(available, 0.0)),
                    amount=money(self.amount),
                )
            )
        if self.close_account and currency.compare_amounts(self.amount, available) != 0:
            raise UserError(
                self.env._(
                    "To close account %(account)s, refund its whole balance (%(available)s).",
                    account=account.display_name,
                    available=money(available),
                )
            )

    def _get_withdrawal_meter(self):
        """The meter that gives the credit back (none when the platform keeps the balance).

        :raise UserError: the account keeps its balance on several meters and the refund does
            not say which
        """
        self.ensure_one()
        if self.billing_mode != "prepaid_meter":
            return self.env["prepaid.meter"]
        meters = self.meter_id or self.account_id.meter_ids.filtered(
            lambda m: m.state == "active" and m.has_meter_balance
        )
        if len(meters) != 1:
            raise UserError(
                self.env._(
                    "Account %(account)s keeps its balance on %(count)s meters: choose the meter "
                    "that gives the credit back.",
                    account=self.account_id.display_name,
                    count=len(meters),
                )
            )
        return meters

    def _on_withdrawn(self):
        """The meter confirmed the withdrawal (the gateway, or a person): pay out. Private:
        the gateway calls it when the negative credit write succeeded."""
        for refund in self.filtered(lambda r: r.state == "to_withdraw"):
            refund.sudo().withdrawn_at = fields.Datetime.now()
            refund._pay_out()

    def _pay_out(self):
        """Post the refund line (idempotent on the order), the outbound payment, and close
        the account when asked."""
        self.ensure_one()
        account = self.account_id
        line = self.env["prepaid.ledger"]._post(
            [
                {
                    "account": account,
                    "kind": "refund",
                    "amount": -self.amount,
                    "key": f"refund:{self.id}",
                    "utility": self.meter_id.utility or self.topup_id.utility or None,
                    "description": self.reason.strip(),
                    "origin": self,
                    "corrects": self.topup_id.ledger_line_id,
                }
            ]
        )
        self._update_state(("draft", "to_withdraw"), "paid")
        memo = " - ".join(filter(None, (self.name, self.payment_reference, self.reason)))
        self.sudo().write(
            {
                "ledger_line_id": line.id,
                "paid_at": fields.Datetime.now(),
                "paid_by_id": self.env.uid,
                "payment_id": self.company_id._prepaid_create_payment(
                    "outbound", self.partner_id, self.amount, self.payment_method, memo
                ).id,
            }
        )
        if self.close_account:
            if not self.currency_id.is_zero(account.balance):
                raise UserError(
                    self.env._(
                        "Account %(account)s still holds %(balance)s: it is not closed.",
                        account=account.display_name,
                        balance=formatLang(
                            self.env, account.balance, currency_obj=self.currency_id
                        ),
                    )
                )
            # The manager decided it when submitting (see _needs_manager); the meter may have
            # confirmed later, to an operator.
            account.sudo().action_close()

    # === DEMO DATA === #

    @api.model
    def _demo_generate_refunds(self):
        """Refund part of the credit of the demo account billed on the platform that holds
        the most (called from demo XML after the sales; idempotent on its request key)."""
        account = self.env["prepaid.account"].search(
            [("state", "=", "open"), ("billing_mode", "=", "prepaid_platform")],
            order="balance desc, id",
            limit=1,
        )
        key = f"demo-refund:{account.id}"
        if not account or account.balance < 500 or self.search_count([("request_key", "=", key)]):
            return True
        self.create(
            {
                "account_id": account.id,
                "amount": 100.0,
                "payment_method": "cash",
                "reason": self.env._("Demo: paid twice at the counter"),
                "request_key": key,
                "company_id": account.company_id.id,
            }
        ).action_submit()
        return True


class PrepaidAccount(models.Model):
    _inherit = "prepaid.account"

    refund_count = fields.Integer(compute="_compute_refund_count")

    def _compute_refund_count(self):
        set_related_counts(self, "refund_count", "prepaid.refund", "account_id")

    def action_view_refunds(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_billing.prepaid_refund_action"
        )
        action["domain"] = [("account_id", "=", self.id)]
        return action
