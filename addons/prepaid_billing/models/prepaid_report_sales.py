from odoo import fields, models
from odoo.tools import SQL

from .prepaid_counter_order import PAYMENT_METHODS

# The money taken for credit: sales, less what was paid back or cancelled.
SALES_CATEGORIES = ("topup", "refund", "reversal")


class PrepaidReportSales(models.Model):
    """Sales by channel and operator: the paid top-ups less the refunds and reversals, one
    row per ledger line, with the room's building and site.

    The rows are those of the orders overview (``prepaid.finance.order``, whose query this
    view reads, so that both always agree with the ledger) restricted to the money taken and
    given back; a separate view because operators read it for their sites, while the orders
    overview with the deductions stays with the managers.
    """

    _name = "prepaid.report.sales"
    _description = "Sales Report"
    _auto = False
    _order = "date desc, id desc"
    _rec_name = "reference"

    date = fields.Datetime(readonly=True)
    category = fields.Selection(
        [("topup", "Top-up"), ("refund", "Refund"), ("reversal", "Reversal")],
        string="Type",
        readonly=True,
    )
    reference = fields.Char(readonly=True)
    account_id = fields.Many2one("prepaid.account", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Tenant", readonly=True)
    room_id = fields.Many2one("prepaid.site", string="Room", readonly=True)
    building_id = fields.Many2one("prepaid.site", string="Building", readonly=True)
    area_id = fields.Many2one("prepaid.site", string="Site", readonly=True)
    utility = fields.Selection([("electricity", "Electricity"), ("water", "Water")], readonly=True)
    payment_method = fields.Selection(PAYMENT_METHODS, string="Channel", readonly=True)
    user_id = fields.Many2one(
        "res.users", string="Operator", readonly=True, help="Who took or paid the money."
    )
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    amount = fields.Monetary(
        string="Net Sales", readonly=True, help="Top-ups positive, refunds and reversals negative."
    )
    sales_amount = fields.Monetary(string="Top-ups", readonly=True)
    returned_amount = fields.Monetary(
        string="Refunds and Reversals", readonly=True, help="Negative: money given back."
    )
    topup_count = fields.Integer(string="Number of Top-ups", readonly=True)
    topup_id = fields.Many2one("prepaid.topup", readonly=True)
    refund_id = fields.Many2one("prepaid.refund", readonly=True)

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT o.id, o.date, o.category, o.reference, o.account_id, o.partner_id,
                   o.room_id, room.building_id, room.area_id, o.utility, o.payment_method,
                   o.user_id, o.company_id, o.currency_id, o.amount,
                   CASE WHEN o.category = 'topup' THEN o.amount ELSE 0 END AS sales_amount,
                   CASE WHEN o.category <> 'topup' THEN o.amount ELSE 0 END AS returned_amount,
                   CASE WHEN o.category = 'topup' THEN 1 ELSE 0 END AS topup_count,
                   o.topup_id, o.refund_id
              FROM (%(orders)s) o
         LEFT JOIN prepaid_site room ON room.id = o.room_id
             WHERE o.category IN %(categories)s
            """,
            orders=self.env["prepaid.finance.order"]._table_query,
            categories=SALES_CATEGORIES,
        )
