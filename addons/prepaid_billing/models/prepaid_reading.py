from odoo import api, models


class PrepaidReading(models.Model):
    _inherit = "prepaid.reading"

    @api.model
    def _ingest(self, rows, source="gateway"):
        """Rate near real time: new readings wake the rating scheduled action up (it runs in
        its own transaction, after this one commits, and is the safety net as well)."""
        summary = super()._ingest(rows, source=source)
        if summary["inserted"] or summary.get("recomputed"):
            cron = self.env.ref("prepaid_billing.prepaid_rating_cron", raise_if_not_found=False)
            if cron:
                cron.sudo()._trigger()
        return summary
