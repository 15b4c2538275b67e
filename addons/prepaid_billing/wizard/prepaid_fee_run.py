from odoo import fields, models


class PrepaidFeeRun(models.TransientModel):
    """Charge fees now (a manager): the period of each item that holds the chosen day, to the
    item's accounts, whatever the charge day. A period charged before charges nothing again.
    The items' method checks the group."""

    _name = "prepaid.fee.run"
    _description = "Charge Fees Now"

    item_ids = fields.Many2many("prepaid.fee.item", string="Fee Items", required=True)
    date = fields.Date(
        string="Period of",
        required=True,
        default=fields.Date.context_today,
        help="A day of the period to charge (e.g. any day of the month).",
    )

    def action_charge(self):
        self.ensure_one()
        return self.item_ids.action_charge(self.date)
