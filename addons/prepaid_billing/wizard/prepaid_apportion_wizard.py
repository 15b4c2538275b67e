from odoo import fields, models


class PrepaidApportionWizard(models.TransientModel):
    """Share common areas now (a manager): the month holding the chosen day, for each pool. A
    month shared before shares nothing again. The pools' method checks the group."""

    _name = "prepaid.apportion.wizard"
    _description = "Share Common Areas Now"

    pool_ids = fields.Many2many("prepaid.apportion.pool", string="Pools", required=True)
    date = fields.Date(
        string="Month of",
        required=True,
        default=fields.Date.context_today,
        help="A day of the month to share.",
    )

    def action_apportion(self):
        self.ensure_one()
        return self.pool_ids.action_apportion(self.date)
