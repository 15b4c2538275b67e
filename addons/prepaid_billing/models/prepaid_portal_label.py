import base64
import io

import qrcode

from odoo import api, models


class PrepaidAccount(models.Model):
    _inherit = "prepaid.account"

    def _get_portal_topup_url(self):
        """The signed link of the account's top-up page (its portal access token): what the
        QR label of the room opens, with no login."""
        self.ensure_one()
        token = self.sudo()._portal_ensure_token()
        return f"{self.get_base_url()}/my/utilities/{self.id}/topup?access_token={token}"

    def _get_portal_topup_qr(self):
        """The QR code (PNG, base64) of :meth:`_get_portal_topup_url`."""
        self.ensure_one()
        image = qrcode.make(self._get_portal_topup_url(), box_size=6, border=1)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return base64.b64encode(buffer.getvalue()).decode()


class ReportSiteTopupLabels(models.AbstractModel):
    """The top-up labels of whole sites (a building, a floor): one per open account of the
    rooms under them that the user sees (their record rules apply)."""

    _name = "report.prepaid_billing.report_site_topup_labels"
    _description = "Top-up QR labels of sites"

    @api.model
    def _get_report_values(self, docids, data=None):
        sites = self.env["prepaid.site"].browse(docids)
        accounts = self.env["prepaid.account"].search(
            [("room_id", "child_of", sites.ids), ("state", "=", "open")],
            order="building_id, room_id, name",
        )
        return {"doc_ids": accounts.ids, "doc_model": "prepaid.account", "docs": accounts}
