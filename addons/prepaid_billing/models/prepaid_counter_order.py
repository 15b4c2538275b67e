from odoo import api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import PROCESS

PAYMENT_METHODS = [
    ("cash", "Cash"),
    ("bank_card", "Bank Card"),
    ("bank_transfer", "Bank Transfer"),
    ("wechat", "WeChat Pay"),
    ("alipay", "Alipay"),
    ("online", "Online Payment"),
]


class PrepaidCounterOrder(models.AbstractModel):
    """What a top-up and a refund share: money handed over the counter for a utility account,
    numbered by its sequence, recorded by one ledger line, fixed once it left draft.

    A concrete order sets ``_sequence_code``, ``_process_fields`` (written by its state machine
    only) and ``_order_fields`` (what the order is made of: fixed once out of draft).
    """

    _name = "prepaid.counter.order"
    _description = "Counter Order"
    _inherit = ["prepaid.access.mixin"]

    _sequence_code = None
    _process_fields = ()
    _order_fields = ()

    # === FIELDS === #

    name = fields.Char(
        string="Number", required=True, copy=False, readonly=True, default=lambda self: "/"
    )
    account_id = fields.Many2one(
        "prepaid.account",
        string="Account",
        required=True,
        index=True,
        check_company=True,
        tracking=True,
    )
    partner_id = fields.Many2one(related="account_id.partner_id", string="Tenant", store=True)
    room_id = fields.Many2one(related="account_id.room_id", store=True)
    billing_mode = fields.Selection(related="account_id.billing_mode")
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    amount = fields.Monetary(required=True, tracking=True)
    payment_method = fields.Selection(PAYMENT_METHODS, required=True, default="cash", tracking=True)
    payment_reference = fields.Char()
    request_key = fields.Char(copy=False, readonly=True)
    ledger_line_id = fields.Many2one("prepaid.ledger.line", readonly=True, copy=False)
    balance_after = fields.Monetary(related="ledger_line_id.balance_after")

    # === CONSTRAINT METHODS === #

    @api.constrains("amount")
    def _check_amount(self):
        # Monetary fields are rounded to the currency when written.
        if any(order.currency_id.compare_amounts(order.amount, 0.0) <= 0 for order in self):
            raise ValidationError(
                self.env._("The amount of a %(order)s must be positive.", order=self._order_label())
            )

    # === COMPUTE METHODS === #

    @api.depends("name")
    def _compute_display_name(self):
        new = self.env._("New %(order)s", order=self._order_label())
        for order in self:
            order.display_name = order.name if order.name != "/" else new

    def _order_label(self):
        """The name of this kind of order in the user's language."""
        return self.env["ir.model"]._get(self._name).name

    # === ACCESS POLICY === #

    def _get_write_groups(self):
        groups = {**super()._get_write_groups(), **dict.fromkeys(self._process_fields, PROCESS)}
        if any(order.state != "draft" for order in self):
            groups.update(dict.fromkeys(self._order_fields, PROCESS))
        return groups

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
                vals["name"] = (
                    self.env["ir.sequence"].with_company(company).next_by_code(self._sequence_code)
                    or "/"
                )
        return super().create(vals_list)
