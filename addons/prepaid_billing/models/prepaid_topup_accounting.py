from odoo import fields, models

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import PROCESS


class PrepaidTopup(models.Model):
    """Top-ups in Odoo accounting: each sale, and each reversal, is a posted
    ``account.payment`` of the tenant on the journal of its payment method, against the
    company's utility prepayments liability (not the receivable: the money is the tenant's
    until it is consumed)."""

    _inherit = "prepaid.topup"

    payment_id = fields.Many2one("account.payment", readonly=True, copy=False)
    reversal_payment_id = fields.Many2one("account.payment", readonly=True, copy=False)

    def _get_write_groups(self):
        groups = super()._get_write_groups()
        groups.update(dict.fromkeys(("payment_id", "reversal_payment_id"), PROCESS))
        return groups

    def _pay(self):
        was_draft = self.state == "draft"
        result = super()._pay()
        if was_draft and self.state != "draft" and not self.payment_id:
            self.sudo().payment_id = self._create_payment("inbound")
        return result

    def action_reverse(self, reason):
        result = super().action_reverse(reason)
        for topup in self.filtered(lambda t: t.payment_id and not t.reversal_payment_id):
            topup.sudo().reversal_payment_id = topup._create_payment("outbound", reason)
        return result

    def _create_payment(self, payment_type, reason=None):
        """A posted payment of the top-up's amount: ``inbound`` for the sale, ``outbound`` for
        its reversal (see ``res.company._prepaid_create_payment``)."""
        self.ensure_one()
        memo = " - ".join(filter(None, (self.name, self.payment_reference, reason)))
        return self.company_id._prepaid_create_payment(
            payment_type, self.partner_id, self.amount, self.payment_method, memo
        )
