from decimal import Decimal

from odoo import api, fields, models
from odoo.tools.translate import LazyTranslate

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import MANAGER

_lt = LazyTranslate(__name__)


class PrepaidTopup(models.Model):
    """The split of a top-up between debts and energy (shown on the receipt)."""

    _inherit = "prepaid.topup"

    debt_recovery_ids = fields.One2many(
        "prepaid.debt.recovery", "topup_id", string="Debt Recoveries", readonly=True
    )
    debt_recovered_amount = fields.Monetary(
        string="To Debts", compute="_compute_debt_split", help="Recovered from this top-up."
    )
    energy_amount = fields.Monetary(
        string="To Energy", compute="_compute_debt_split", help="What is left for energy."
    )
    balance_after_split = fields.Monetary(
        string="Balance After the Split", compute="_compute_debt_split"
    )

    @api.depends("amount", "debt_recovery_ids.amount", "ledger_line_id")
    def _compute_debt_split(self):
        for topup in self:
            recoveries = topup.debt_recovery_ids
            topup.debt_recovered_amount = sum(recoveries.mapped("amount"))
            topup.energy_amount = topup.amount - topup.debt_recovered_amount
            last = recoveries.ledger_line_id.sorted("id")[-1:]
            topup.balance_after_split = (last or topup.ledger_line_id).balance_after

    def _on_topup_posted(self, line):
        res = super()._on_topup_posted(line)
        if self.account_id.billing_mode == "prepaid_platform":
            self.env["prepaid.debt"]._recover_from_topup(self, line)
        return res

    def action_reverse(self, reason):
        """Give the debts back what the reversed top-ups paid them (a counter line each, the
        debt open again), then reverse the top-ups."""
        self._check_group(MANAGER, _lt("reverse top-ups"))
        Ledger = self.env["prepaid.ledger"]
        for topup in self.filtered(lambda t: t.state in ("paid", "delivered", "failed")):
            for recovery in topup.debt_recovery_ids.filtered(lambda r: not r.reversal_line_id):
                line = Ledger._post(
                    [
                        {
                            "account": topup.account_id,
                            "kind": "reversal",
                            "amount": recovery.amount,
                            "key": f"debt-reversal:{recovery.id}",
                            "description": (reason or "").strip() or None,
                            "origin": recovery,
                            "corrects": recovery.ledger_line_id,
                        }
                    ]
                )
                recovery.sudo().reversal_line_id = line
                recovery.debt_id._add_recovered(-Decimal(str(recovery.amount)))
                recovery.debt_id.sudo().fee_charge_ids._undo_recovery(Decimal(str(recovery.amount)))
        return super().action_reverse(reason)
