import logging

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

_logger = logging.getLogger(__name__)

# The operations that bring money in for a top-up (not validations, refunds or captures of
# a source transaction).
TOPUP_OPERATIONS = ("online_redirect", "online_direct", "online_token", "offline")


class PaymentTransaction(models.Model):
    """Online top-ups: a payment transaction for a utility account becomes a top-up order,
    created and paid exactly once when the transaction is post-processed in state *done*.

    The top-up's request key is the transaction's reference (unique per transaction): a
    replayed provider callback, the status poller and the post-processing cron, two browser
    tabs or a late success after a timeout all find the same order, and the posting service
    credits the wallet once (its ledger key is the order's). Failed, cancelled and pending
    transactions create nothing.
    """

    _inherit = "payment.transaction"

    prepaid_account_id = fields.Many2one(
        "prepaid.account",
        string="Utility Account",
        readonly=True,
        copy=False,  # refunds and captures of the transaction are not top-ups
        index="btree_not_null",
        ondelete="restrict",
    )
    prepaid_topup_id = fields.Many2one(
        "prepaid.topup", string="Top-up", readonly=True, copy=False, index="btree_not_null"
    )

    # === CONSTRAINT METHODS === #

    @api.constrains("prepaid_account_id", "amount", "currency_id")
    def _check_prepaid_topup_amount(self):
        """What the top-up page offers is checked again here, for any client that creates a
        transaction: the account's currency, the online minimum and maximum, an open
        account."""
        for tx in self.filtered(lambda t: t.prepaid_account_id and t.operation != "validation"):
            account = tx.prepaid_account_id.sudo()
            company = account.company_id
            if tx.state == "draft" and account.state != "open":
                raise ValidationError(
                    self.env._(
                        "Account %(account)s is not open: it cannot be topped up.",
                        account=account.name,
                    )
                )
            if tx.currency_id != account.currency_id:
                raise ValidationError(
                    self.env._(
                        "Account %(account)s is topped up in %(currency)s.",
                        account=account.name,
                        currency=account.currency_id.name,
                    )
                )
            if tx.operation in TOPUP_OPERATIONS and not company._prepaid_portal_amount_allowed(
                tx.amount
            ):
                raise ValidationError(
                    self.env._(
                        "An online top-up is between %(min)s and %(max)s.",
                        min=account.currency_id.format(company.prepaid_portal_topup_min),
                        max=account.currency_id.format(company.prepaid_portal_topup_max),
                    )
                )

    # === BUSINESS METHODS - PAYMENT FLOW === #

    def _compute_reference_prefix(self, provider_code, separator, **values):
        """Top-up transactions are named after the account (``ACC/0001-1``)."""
        account_id = values.get("prepaid_account_id")
        if account_id:
            account = self.env["prepaid.account"].sudo().browse(account_id).exists()
            if account:
                return account.name
        return super()._compute_reference_prefix(provider_code, separator, **values)

    def _post_process(self):
        """Credit the top-up of the done transactions of utility accounts, then let the
        generic post-processing run (it would otherwise book the money as a receivable
        payment: the top-up books it against the utility prepayments, see
        :meth:`_create_payment`)."""
        for tx in self.filtered(
            lambda t: (
                t.state == "done"
                and t.prepaid_account_id
                and t.operation in TOPUP_OPERATIONS
                and not t.is_post_processed
            )
        ):
            tx._prepaid_credit_topup()
        return super()._post_process()

    def _create_payment(self, **extra_create_values):
        """A top-up transaction's payment is the top-up's (``prepaid.topup._create_payment``,
        against the utility prepayments account): no second payment for the same money."""
        if self.prepaid_account_id:
            return self.prepaid_topup_id.payment_id
        return super()._create_payment(**extra_create_values)

    def _prepaid_credit_topup(self):
        """Create the top-up order of this done transaction (once: its request key is the
        transaction's reference) and pay it with the top-up service: the wallet is credited
        once, the credit delivered as at the counter (an STS token for a keypad meter), the
        receipt mailed. An account that can no longer take credit leaves the order unpaid
        with an activity for the staff: the money is kept on the order, not lost."""
        self.ensure_one()
        account = self.prepaid_account_id.sudo()
        Topup = self.env["prepaid.topup"].sudo()
        key = f"payment:{self.reference}"
        topup = self.prepaid_topup_id or Topup.search(
            [("request_key", "=", key), ("company_id", "=", account.company_id.id)], limit=1
        )
        if not topup:
            topup = Topup.create(
                {
                    "account_id": account.id,
                    "amount": self.amount,
                    "payment_method": "online",
                    "payment_reference": self.provider_reference or self.reference,
                    "request_key": key,
                    "company_id": account.company_id.id,
                }
            )
        if not self.prepaid_topup_id:
            self.sudo().prepaid_topup_id = topup
        if topup.state != "draft":
            return topup  # credited before: a replayed callback or a second tab
        try:
            with self.env.cr.savepoint():
                topup._pay()
        except UserError as error:
            message = str(error.args[0]) if error.args else str(error)
            _logger.warning(
                "Online top-up %s (transaction %s) could not be credited: %s",
                topup.name,
                self.reference,
                message,
            )
            topup.message_post(
                body=Markup("<p>%s</p>")
                % self.env._(
                    "Paid online (%(reference)s) but not credited: %(reason)s",
                    reference=self.reference,
                    reason=message,
                )
            )
            topup.activity_schedule(
                act_type_xmlid="mail.mail_activity_data_warning",
                summary=self.env._("Online payment to credit"),
                note=message,
                user_id=account._get_ledger_manager().id,
            )
            return topup
        if self.payment_id != topup.payment_id and not self.payment_id:
            self.sudo().payment_id = topup.payment_id
        topup._prepaid_send_online_receipt(self.partner_id)
        return topup
