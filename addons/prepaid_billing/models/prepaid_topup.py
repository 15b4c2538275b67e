import base64
import hashlib
import hmac
import io
import logging

import qrcode

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare, formatLang
from odoo.tools.translate import LazyTranslate

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import (
    MANAGER,
    OPERATOR,
    requires_group,
)

from .prepaid_counter_order import PAYMENT_METHODS

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

STATES = [
    ("draft", "Draft"),
    ("paid", "Paid, to Deliver"),
    ("delivered", "Delivered"),
    ("failed", "Delivery Failed"),
    ("reversed", "Reversed"),
    ("cancelled", "Cancelled"),
]
# Set by the state machine and the delivery only (see _get_write_groups).
PROCESS_FIELDS = (
    "state",
    "paid_at",
    "paid_by_id",
    "delivered_at",
    "ledger_line_id",
    "reversal_line_id",
    "reversed_at",
    "reversed_by_id",
    "reversal_reason",
    "delivery_message",
)
# What a paid order is made of: fixed once paid.
ORDER_FIELDS = (
    "account_id",
    "amount",
    "utility",
    "meter_id",
    "payment_method",
    "payment_reference",
    "request_key",
    "company_id",
)


class PrepaidTopup(models.Model):
    """A sale of credit at the counter (售电): an amount paid by a tenant for a utility account.

    States: draft -> paid (the credit is on the wallet: one ledger line) -> delivered (platform
    billing: at once; meter billing: the credit written to each balance meter or an STS token
    issued per keypad meter) | failed (delivery failed: retried) ; paid or delivered ->
    reversed (冲正, managers: a counter line, the tokens cancelled); draft -> cancelled.
    Every transition goes through ``_update_state``, the only writer of ``state``.
    """

    _name = "prepaid.topup"
    _description = "Top-up"
    _inherit = ["mail.thread", "mail.activity.mixin", "prepaid.counter.order"]
    _order = "id desc"
    _check_company_auto = True
    _sequence_code = "prepaid.topup"
    _process_fields = PROCESS_FIELDS
    _order_fields = ORDER_FIELDS

    # === FIELDS === #

    account_id = fields.Many2one(domain="[('state', '=', 'open')]")
    utility = fields.Selection(
        [("electricity", "Electricity"), ("water", "Water")],
        compute="_compute_utility",
        store=True,
        readonly=False,
        precompute=True,
        help="For accounts billed on the meter: the meters that get the credit.",
    )
    meter_id = fields.Many2one(
        "prepaid.meter",
        string="Meter",
        check_company=True,
        domain="[('account_id', '=', account_id), ('state', '=', 'active')]",
        help="For accounts billed on the meter with several meters of the utility: the one "
        "that gets the credit.",
    )
    payment_reference = fields.Char(
        help="The transaction number of the card, transfer, WeChat Pay or Alipay payment."
    )
    request_key = fields.Char(
        help="Who asked for this sale (a counter screen, a payment callback): the same request "
        "twice makes one order.",
    )
    state = fields.Selection(STATES, default="draft", required=True, copy=False, tracking=True)
    paid_at = fields.Datetime(readonly=True, copy=False)
    paid_by_id = fields.Many2one("res.users", string="Cashier", readonly=True, copy=False)
    delivered_at = fields.Datetime(readonly=True, copy=False)
    delivery_message = fields.Text(readonly=True, copy=False)
    reversal_line_id = fields.Many2one("prepaid.ledger.line", readonly=True, copy=False)
    reversed_at = fields.Datetime(readonly=True, copy=False)
    reversed_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    reversal_reason = fields.Text(readonly=True, copy=False)
    sts_token_ids = fields.One2many("prepaid.sts.token", "topup_id", string="STS Tokens")
    refund_ids = fields.One2many("prepaid.refund", "topup_id", string="Refunds")

    _sql_constraints = [
        (
            "request_key_uniq",
            "unique(company_id, request_key)",
            "This sale was already recorded.",
        ),
        ("name_company_uniq", "unique(company_id, name)", "The top-up number must be unique."),
    ]

    # === COMPUTE METHODS === #

    @api.depends("account_id", "meter_id")
    def _compute_utility(self):
        for topup in self:
            if topup.meter_id:
                topup.utility = topup.meter_id.utility
            elif not topup.utility:
                utilities = set(topup.account_id.meter_ids.mapped("utility"))
                topup.utility = utilities.pop() if len(utilities) == 1 else False

    # === CRUD METHODS === #

    @api.ondelete(at_uninstall=False)
    def _unlink_only_drafts(self):
        if any(topup.state not in ("draft", "cancelled") for topup in self):
            raise UserError(
                self.env._("A paid top-up is never deleted: reverse it (managers) instead.")
            )

    # === ACTION METHODS === #

    @requires_group(OPERATOR, _lt("sell credit"))
    def action_confirm_payment(self):
        """The money is received: credit the wallet and deliver the credit."""
        for topup in self:
            topup._pay()
        return True

    @requires_group(OPERATOR, _lt("deliver credit"))
    def action_retry_delivery(self):
        """Deliver again the top-ups whose delivery failed."""
        self._check_transition(("failed",), "paid", strict=True)
        self._update_state(("failed",), "paid")
        self._deliver()
        return True

    @requires_group(OPERATOR, _lt("confirm deliveries"))
    def action_mark_delivered(self):
        """The credit was written to the meter by hand (no gateway): the delivery is done."""
        self._check_transition(("paid",), "delivered")
        self._on_credit_written()
        return True

    @requires_group(OPERATOR, _lt("cancel top-ups"))
    def action_cancel(self):
        self._update_state(("draft",), "cancelled")
        return True

    @requires_group(MANAGER, _lt("reverse top-ups"))
    def action_reverse(self, reason):
        """Reverse mistaken top-ups (冲正): a counter line on the ledger linked both ways, the
        order's STS tokens cancelled (a meter that accepted one keeps the credit: recover it
        from the tenant); nothing is deleted.

        :param str reason: why (required, kept on the order and its chatter)
        """
        if not (reason or "").strip():
            raise UserError(self.env._("Give the reason for the reversal."))
        done = self.filtered(lambda t: t.state == "reversed")
        if done:
            raise UserError(
                self.env._(
                    "These top-ups are already reversed: %(topups)s",
                    topups=", ".join(done.mapped("name")),
                )
            )
        self._check_transition(("paid", "delivered", "failed"), "reversed")
        refunded = self.filtered(
            lambda t: any(r.state in ("to_withdraw", "paid") for r in t.refund_ids)
        )
        if refunded:
            raise UserError(
                self.env._(
                    "These top-ups were refunded (in part): reversing them would pay back twice: "
                    "%(topups)s",
                    topups=", ".join(refunded.mapped("name")),
                )
            )
        Ledger = self.env["prepaid.ledger"]
        for topup in self:
            line = Ledger._post(
                [
                    {
                        "account": topup.account_id,
                        "kind": "reversal",
                        "amount": -topup.amount,
                        "key": f"reversal:{topup.id}",
                        "description": reason.strip(),
                        "origin": topup,
                        "corrects": topup.ledger_line_id,
                    }
                ]
            )
            tokens = topup.sts_token_ids.filtered(lambda t: t.state == "issued")
            if tokens:
                tokens.sudo()._cancel(
                    self.env._(
                        "Top-up %(topup)s reversed: %(reason)s", topup=topup.name, reason=reason
                    )
                )
            topup._update_state(("paid", "delivered", "failed"), "reversed")
            topup.sudo().write(
                {
                    "reversal_line_id": line.id,
                    "reversed_at": fields.Datetime.now(),
                    "reversed_by_id": self.env.uid,
                    "reversal_reason": reason.strip(),
                }
            )
            topup.message_post(
                body=self.env._(
                    "Reversed by %(user)s: %(reason)s", user=self.env.user.name, reason=reason
                )
            )
        return True

    def action_print_receipt(self):
        return self.env.ref("prepaid_billing.prepaid_topup_report").report_action(self)

    # === BUSINESS METHODS === #

    def _pay(self):
        """Credit the wallet (one ledger line, idempotent on the order), then deliver."""
        self.ensure_one()
        if self.state != "draft":
            return  # paid before: a double click or a replayed request credits once
        if self.account_id.state != "open":
            raise UserError(
                self.env._(
                    "Account %(account)s is not open: credit cannot be sold on it.",
                    account=self.account_id.display_name,
                )
            )
        meters = self._get_delivery_meters()  # checks the meters before any money moves
        line = self.env["prepaid.ledger"]._post(
            [
                {
                    "account": self.account_id,
                    "kind": "topup",
                    "amount": self.amount,
                    "key": f"topup:{self.id}",
                    "utility": self.utility or None,
                    "description": self.payment_reference or None,
                    "origin": self,
                }
            ]
        )
        self._on_topup_posted(line)
        self._update_state(("draft",), "paid")
        self.sudo().write(
            {
                "ledger_line_id": line.id,
                "paid_at": fields.Datetime.now(),
                "paid_by_id": self.env.uid,
            }
        )
        self._deliver(meters)

    def _on_topup_posted(self, line):
        """Hook: the top-up's credit is on the wallet (``line``), in the posting's transaction,
        before the order is paid and delivered (debt recovery takes its portion here)."""
        return True

    def _get_delivery_meters(self):
        """The meters that receive the credit (none when the platform keeps the balance).

        :raise UserError: the order does not say which meters, or they cannot take credit
        """
        self.ensure_one()
        if self.account_id.billing_mode != "prepaid_meter":
            return self.env["prepaid.meter"]
        if self.meter_id:
            meters = self.meter_id
        else:
            meters = self.account_id.meter_ids.filtered(
                lambda m: m.state == "active" and (not self.utility or m.utility == self.utility)
            )
        if len(meters) != 1:
            raise UserError(
                self.env._(
                    "Account %(account)s keeps its balance on %(count)s meters: choose the meter "
                    "that gets the credit.",
                    account=self.account_id.display_name,
                    count=len(meters),
                )
            )
        if meters.has_sts_keypad and meters.utility and not self._get_vending_price(meters):
            raise UserError(
                self.env._(
                    "Meter %(meter)s takes STS tokens in kWh or m³: its account's tariff needs a "
                    "flat price in force to convert the amount.",
                    meter=meters.display_name,
                )
            )
        return meters

    def _get_vending_price(self, meter):
        """The price per unit at which money becomes kWh or m³ on an STS token: the unit price
        of the tariff version in force when it is flat, else nothing."""
        tariff = self.account_id._get_tariff(meter.utility)
        version = tariff.current_version_id
        if (
            version.kind == "flat"
            and float_compare(version.unit_price, 0.0, precision_digits=6) > 0
        ):
            return version.unit_price
        return 0.0

    def _deliver(self, meters=None):
        """Deliver paid credit: nothing to do for platform billing; meter billing writes the
        credit to the meter (a request the gateway executes, or an activity for the staff) or
        issues an STS token. A failure leaves the order *failed* with the reason, the money on
        the wallet, for a retry."""
        for topup in self:
            targets = meters if meters is not None else topup._get_delivery_meters()
            if not targets:
                topup._update_state(("paid",), "delivered")
                topup.sudo().delivered_at = fields.Datetime.now()
                continue
            try:
                with self.env.cr.savepoint():
                    if targets.has_sts_keypad:
                        quantity = topup.amount / topup._get_vending_price(targets)
                        self.env["prepaid.sts.vending"].sudo()._issue_credit(
                            targets, quantity, origin=topup.name, topup=topup
                        )
                        topup._update_state(("paid",), "delivered")
                        topup.sudo().delivered_at = fields.Datetime.now()
                    else:
                        # The gateway (or a person) writes it; the order stays paid until the
                        # meter confirms (action_mark_delivered without a gateway).
                        targets.sudo()._write_credit(topup.amount)
            except UserError as error:
                topup._update_state(("paid",), "failed")
                topup.sudo().delivery_message = str(error.args[0]) if error.args else str(error)
                _logger.warning("Delivery of top-up %s failed: %s", topup.name, error)

    def _on_credit_written(self):
        """The meter confirmed the credit written to it (the gateway's credit command
        succeeded, or a person did it): the delivery is done. Private: the gateway calls it;
        a replayed confirmation changes nothing. The meter's balance reconciliation counts
        the credit from then on (see ``prepaid.meter.balance``)."""
        for topup in self.filtered(lambda t: t.state == "paid"):
            topup._update_state(("paid",), "delivered")
            topup.sudo().delivered_at = fields.Datetime.now()
        return True

    def _get_state_records_label(self):
        return self.env._("top-ups")

    # === RECEIPTS === #

    def _get_receipt_signature(self):
        """A short HMAC of what the receipt shows, keyed by the database secret: the QR code of
        the receipt carries it, and the verification page recomputes it."""
        self.ensure_one()
        secret = self.env["ir.config_parameter"].sudo().get_param("database.secret", "")
        message = "|".join(
            (
                self.name,
                self.account_id.sudo().name,
                f"{self.amount:.{self.currency_id.decimal_places}f}",
                fields.Datetime.to_string(self.paid_at) if self.paid_at else "",
            )
        )
        return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()[:20]

    def _get_receipt_url(self):
        self.ensure_one()
        base_url = self.get_base_url()
        return f"{base_url}/prepaid/receipt/{self.id}?sig={self._get_receipt_signature()}"

    def _get_receipt_qr(self):
        """The receipt's QR code (a PNG, base64) pointing to its verification page."""
        self.ensure_one()
        image = qrcode.make(self._get_receipt_url(), box_size=4, border=2)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return base64.b64encode(buffer.getvalue()).decode()

    def _format_amount(self, amount):
        return formatLang(self.env, amount, currency_obj=self.currency_id)

    # === DEMO DATA === #

    @api.model
    def _demo_generate_topups(self):
        """Sell credit on the open demo accounts billed on the platform, with amounts that
        leave balances of every size, and reverse one mistaken sale (called from demo XML;
        idempotent: one sale per account and request key)."""
        accounts = self.env["prepaid.account"].search(
            [("state", "=", "open"), ("billing_mode", "=", "prepaid_platform")], order="id"
        )
        methods = [key for key, _label in PAYMENT_METHODS if key != "online"]
        amounts = (500.0, 200.0, 100.0, 60.0, 30.0, 15.0, 1000.0, 80.0)
        topups = self.browse()
        for index, account in enumerate(accounts):
            key = f"demo:{account.id}"
            if self.search_count([("request_key", "=", key)]):
                continue
            topup = self.create(
                {
                    "account_id": account.id,
                    "amount": amounts[index % len(amounts)],
                    "payment_method": methods[index % len(methods)],
                    "payment_reference": False if index % len(methods) == 0 else f"DEMO{index:05d}",
                    "request_key": key,
                    "company_id": account.company_id.id,
                }
            )
            topup.action_confirm_payment()
            topups |= topup
        if len(topups) > 2:
            mistaken = topups[1]
            mistaken.action_reverse(self.env._("Demo: sold on the wrong account"))
            self.create(
                {
                    "account_id": mistaken.account_id.id,
                    "amount": mistaken.amount,
                    "payment_method": mistaken.payment_method,
                    "request_key": f"demo:{mistaken.account_id.id}:again",
                    "company_id": mistaken.company_id.id,
                }
            ).action_confirm_payment()
        return True
