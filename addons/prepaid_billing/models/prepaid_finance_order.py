from odoo import fields, models
from odoo.tools import SQL

from .prepaid_ledger_line import LINE_KINDS
from .prepaid_topup import PAYMENT_METHODS

CATEGORIES = [
    ("topup", "Top-up"),
    ("refund", "Refund"),
    ("reversal", "Reversal"),
    ("deduction", "Deduction"),
    ("other", "Other"),
]
# Ledger kinds that take the tenants' credit for what they used or owe.
DEDUCTION_KINDS = ("consumption", "fee", "trueup")


class PrepaidFinanceOrder(models.Model):
    """The finance overview of the wallets: one row per ledger line, i.e. every top-up,
    refund, reversal and deduction (consumption, fee, true-up) that moved a balance, with who
    took or paid the money, how (payment method) and where (the account's room).

    A read-only SQL view on the ledger and the orders: the ledger is the book of the wallets,
    so the overview and its totals always agree with the balances. Grouped in SQL by the
    list, pivot and graph views (income per day, month, year, utility and channel).
    """

    _name = "prepaid.finance.order"
    _description = "Wallet Orders Overview"
    _auto = False
    _order = "date desc, id desc"
    _rec_name = "reference"

    date = fields.Datetime(readonly=True)
    category = fields.Selection(CATEGORIES, readonly=True)
    kind = fields.Selection(LINE_KINDS, readonly=True)
    reference = fields.Char(readonly=True, help="The top-up or refund number.")
    account_id = fields.Many2one("prepaid.account", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Tenant", readonly=True)
    room_id = fields.Many2one("prepaid.site", string="Room", readonly=True)
    utility = fields.Selection([("electricity", "Electricity"), ("water", "Water")], readonly=True)
    payment_method = fields.Selection(PAYMENT_METHODS, string="Channel", readonly=True)
    user_id = fields.Many2one(
        "res.users", string="Operator", readonly=True, help="Who took or paid the money."
    )
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    amount = fields.Monetary(
        readonly=True, help="Positive: money into the wallets; negative: out of them."
    )
    ledger_line_id = fields.Many2one("prepaid.ledger.line", readonly=True)
    topup_id = fields.Many2one("prepaid.topup", readonly=True)
    refund_id = fields.Many2one("prepaid.refund", readonly=True)

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT l.id, l.id AS ledger_line_id, l.create_date AS date, l.kind, l.amount,
                   CASE WHEN l.kind IN ('topup', 'refund', 'reversal') THEN l.kind
                        WHEN l.kind IN %(deductions)s THEN 'deduction'
                        ELSE 'other' END AS category,
                   l.account_id, a.partner_id, a.room_id, l.company_id, c.currency_id,
                   COALESCE(l.utility, t.utility, rm.utility) AS utility,
                   COALESCE(t.payment_method, r.payment_method) AS payment_method,
                   COALESCE(CASE WHEN l.kind = 'reversal' THEN t.reversed_by_id END,
                            t.paid_by_id, r.paid_by_id, l.create_uid) AS user_id,
                   COALESCE(t.name, r.name) AS reference,
                   t.id AS topup_id, r.id AS refund_id
              FROM prepaid_ledger_line l
              JOIN prepaid_account a ON a.id = l.account_id
              JOIN res_company c ON c.id = l.company_id
         LEFT JOIN prepaid_topup t ON l.res_model = 'prepaid.topup' AND t.id = l.res_id
         LEFT JOIN prepaid_refund r ON l.res_model = 'prepaid.refund' AND r.id = l.res_id
         LEFT JOIN prepaid_meter rm ON rm.id = r.meter_id
            """,
            deductions=DEDUCTION_KINDS,
        )

    def init(self):
        # The overviews and the export read the ledger by date ranges: on an append-only
        # table a BRIN index on the posting time costs next to nothing to keep.
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS prepaid_ledger_line_create_date_brin "
            "ON prepaid_ledger_line USING brin (create_date)"
        )
