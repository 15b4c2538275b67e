from odoo import fields, models


class PrepaidFeeCharge(models.Model):
    _inherit = "prepaid.fee.charge"

    state = fields.Selection(
        selection_add=[("billed", "Billed")], ondelete={"billed": "set default"}
    )
    bill_line_id = fields.Many2one(
        "account.move.line",
        string="Bill Line",
        readonly=True,
        index="btree_not_null",
        help="The line of the postpaid bill that billed the rest of this charge.",
    )
    bill_move_id = fields.Many2one(related="bill_line_id.move_id", string="Bill")


class PrepaidApportionShare(models.Model):
    _inherit = "prepaid.apportion.share"

    state = fields.Selection(
        selection_add=[("billed", "Billed")], ondelete={"billed": "set default"}
    )
    bill_line_id = fields.Many2one(
        "account.move.line",
        string="Bill Line",
        readonly=True,
        index="btree_not_null",
        help="The line of the postpaid bill that billed the rest of this share.",
    )
    bill_move_id = fields.Many2one(related="bill_line_id.move_id", string="Bill")
