from odoo import api, fields, models

from ..models.prepaid_topup import PAYMENT_METHODS


class PrepaidTopupCounter(models.TransientModel):
    """The counter screen (售电): find the account by room, tenant, meter serial or account
    number, take the money, print the receipt. One screen, one sale: confirming it twice
    (a double click, a resubmitted form) records one top-up."""

    _name = "prepaid.topup.counter"
    _description = "Sell Credit"

    account_id = fields.Many2one(
        "prepaid.account",
        string="Account",
        required=True,
        domain="[('state', '=', 'open')]",
        help="Search by room, tenant, meter serial number or account number.",
    )
    partner_id = fields.Many2one(related="account_id.partner_id", string="Tenant")
    room_id = fields.Many2one(related="account_id.room_id")
    billing_mode = fields.Selection(related="account_id.billing_mode")
    balance = fields.Monetary(related="account_id.balance", string="Balance Now")
    company_id = fields.Many2one(related="account_id.company_id")
    currency_id = fields.Many2one(related="account_id.currency_id")
    amount = fields.Monetary(required=True)
    payment_method = fields.Selection(PAYMENT_METHODS, required=True, default="cash")
    payment_reference = fields.Char(
        help="The transaction number of the card, transfer, WeChat Pay or Alipay payment."
    )
    meter_id = fields.Many2one(
        "prepaid.meter",
        domain="[('account_id', '=', account_id), ('state', '=', 'active')]",
        help="For accounts billed on the meter with several meters: the one that gets the credit.",
    )
    topup_id = fields.Many2one("prepaid.topup", readonly=True)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if context.get("active_model") == "prepaid.account" and context.get("active_id"):
            values.setdefault("account_id", context["active_id"])
        return values

    def action_sell(self):
        """Record the sale (once per screen), credit the wallet, deliver, print the receipt."""
        self.ensure_one()
        topup = self.topup_id or self.env["prepaid.topup"].search(
            [("request_key", "=", self._request_key())], limit=1
        )
        if not topup:
            topup = self.env["prepaid.topup"].create(
                {
                    "account_id": self.account_id.id,
                    "amount": self.amount,
                    "payment_method": self.payment_method,
                    "payment_reference": self.payment_reference,
                    "meter_id": self.meter_id.id,
                    "request_key": self._request_key(),
                }
            )
            self.topup_id = topup
        topup.action_confirm_payment()
        action = topup.action_print_receipt()
        action["close_on_report_download"] = True
        return action

    def _request_key(self):
        return f"counter:{self.id}"
