from odoo import api, fields, models

# Receipt reports by paper: the 80 mm receipt printer of a counter, or the company's A4.
RECEIPT_REPORTS = {
    "receipt": "prepaid_billing.prepaid_topup_report",
    "a4": "prepaid_billing.prepaid_topup_report_a4",
}


class PrepaidReceiptPrint(models.TransientModel):
    """Print or reprint top-up receipts in a language and on a paper chosen at print time:
    the office's language by default, the tenant's when they read another one."""

    _name = "prepaid.receipt.print"
    _description = "Print Receipts"

    topup_ids = fields.Many2many("prepaid.topup", string="Top-ups", required=True)
    lang = fields.Selection(
        "_get_languages",
        string="Language",
        required=True,
        default=lambda self: self.env.lang,
    )
    tenant_lang = fields.Char(
        string="Tenant's Language", compute="_compute_tenant_lang", help="As set on the tenant."
    )
    paper = fields.Selection(
        [("receipt", "Receipt printer (80 mm)"), ("a4", "A4")],
        required=True,
        default="receipt",
    )

    @api.model
    def _get_languages(self):
        return self.env["res.lang"].get_installed()

    @api.depends("topup_ids.partner_id.lang")
    def _compute_tenant_lang(self):
        names = dict(self._get_languages())
        for wizard in self:
            codes = set(wizard.topup_ids.partner_id.mapped("lang")) - {False}
            wizard.tenant_lang = ", ".join(sorted(names.get(code, code) for code in codes))

    def action_print(self):
        self.ensure_one()
        report = self.env.ref(RECEIPT_REPORTS[self.paper])
        action = report.with_context(prepaid_receipt_lang=self.lang).report_action(self.topup_ids)
        action["close_on_report_download"] = True
        return action
