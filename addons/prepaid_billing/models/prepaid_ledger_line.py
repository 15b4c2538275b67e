from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_datetime, formatLang

LINE_KINDS = [
    ("opening", "Opening Balance"),
    ("topup", "Top-up"),
    ("refund", "Refund"),
    ("reversal", "Reversal"),
    ("consumption", "Consumption"),
    ("fee", "Fee"),
    ("adjustment", "Adjustment"),
    ("trueup", "True-up"),
    ("transfer", "Transfer"),
]
# The sign of the amount of each kind: +1 credits the wallet, -1 debits it, 0 either way.
KIND_SIGNS = {
    "opening": 0,
    "topup": 1,
    "refund": -1,
    "reversal": 0,
    "consumption": -1,
    "fee": -1,
    "adjustment": 0,
    "trueup": 0,
    "transfer": 0,
}


class PrepaidLedgerLine(models.Model):
    """One movement of a utility account's wallet: append-only.

    Lines are inserted by the posting service (``prepaid.ledger._post``) only, under a row
    lock on the account, each with the balance after it and an idempotency key unique per
    account; they are never written or deleted (a correction is a new line that references
    the corrected one). The account's stored balance is the sum of its lines.
    """

    _name = "prepaid.ledger.line"
    _description = "Wallet Ledger Line"
    _inherit = ["prepaid.access.mixin"]
    _order = "account_id, id desc"
    _rec_names_search = ["idempotency_key", "description"]
    # Facts of the wallet: no field changes once posted.
    _prepaid_immutable = True

    # === FIELDS === #

    account_id = fields.Many2one(
        "prepaid.account",
        string="Account",
        required=True,
        readonly=True,
        ondelete="restrict",
        # No single-column index: the unique (account_id, idempotency_key) index serves reads
        # by account too.
        index=False,
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    partner_id = fields.Many2one(related="account_id.partner_id", string="Tenant")
    kind = fields.Selection(LINE_KINDS, required=True, readonly=True)
    utility = fields.Selection(
        [("electricity", "Electricity"), ("water", "Water")],
        readonly=True,
        help="The utility of a consumption line (and of utility-specific top-ups).",
    )
    amount = fields.Monetary(
        required=True, readonly=True, help="Positive: credit to the wallet; negative: debit."
    )
    balance_after = fields.Monetary(string="Balance After", readonly=True, aggregator=None)
    idempotency_key = fields.Char(
        required=True,
        readonly=True,
        help="Unique per account: the same posting retried (a cron, a payment callback, a "
        "re-read meter) finds its line instead of posting twice.",
    )
    description = fields.Char(readonly=True)
    res_model = fields.Char(string="Source Model", readonly=True)
    res_id = fields.Many2oneReference(
        string="Source Record", model_field="res_model", readonly=True
    )
    source_display = fields.Char(string="Source", compute="_compute_source_display")
    corrected_line_id = fields.Many2one(
        "prepaid.ledger.line",
        string="Corrects",
        readonly=True,
        index="btree_not_null",
        help="The line this one corrects (a reversal, a refund of a top-up, a true-up).",
    )
    correction_line_ids = fields.One2many(
        "prepaid.ledger.line", "corrected_line_id", string="Corrected By", readonly=True
    )

    _sql_constraints = [
        (
            "account_key_uniq",
            "unique(account_id, idempotency_key)",
            "A posting with this idempotency key already exists on the account.",
        ),
        ("amount_not_zero", "CHECK(amount <> 0)", "A ledger line moves money."),
    ]

    # === COMPUTE METHODS === #

    @api.depends("kind", "amount", "create_date")
    def _compute_display_name(self):
        labels = dict(self._fields["kind"]._description_selection(self.env))
        for line in self:
            line.display_name = self.env._(
                "%(kind)s %(amount)s on %(date)s",
                kind=labels.get(line.kind, ""),
                amount=formatLang(self.env, line.amount, currency_obj=line.currency_id),
                date=format_datetime(self.env, line.create_date),
            )

    @api.depends("res_model", "res_id")
    def _compute_source_display(self):
        for line in self:
            source = False
            if line.res_model in self.env and line.res_id:
                record = self.env[line.res_model].browse(line.res_id).exists()
                if record:
                    # The source may be in a site the user does not see: its name only.
                    source = record.sudo().display_name
            line.source_display = source

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):  # pylint: disable=method-required-super
        raise UserError(
            self.env._(
                "Ledger lines are posted by the operations that move money (top-ups, refunds, "
                "rating, fees), never created directly."
            )
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(
            self.env._(
                "Ledger lines are never deleted: post a correction that references the line."
            )
        )
