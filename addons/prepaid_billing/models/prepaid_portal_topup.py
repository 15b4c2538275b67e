import logging

from odoo import models

_logger = logging.getLogger(__name__)


class PrepaidTopup(models.Model):
    _inherit = "prepaid.topup"

    def _prepaid_send_online_receipt(self, payer=None):
        """Mail the receipt of an online top-up (credit, balance, STS tokens to enter, the PDF)
        to the tenant and to whoever paid, once per order: the chatter keeps it."""
        self.ensure_one()
        template = self.env.ref(
            "prepaid_billing.mail_template_prepaid_topup_online", raise_if_not_found=False
        )
        if not template:
            return
        partners = (self.partner_id | (payer or self.env["res.partner"])).filtered("email")
        if not partners:
            _logger.info("Online top-up %s: no e-mail address to send the receipt to", self.name)
            return
        self.sudo().with_context(lang=self.partner_id.lang).message_post_with_source(
            template,
            partner_ids=partners.ids,
            subtype_xmlid="mail.mt_comment",
        )
