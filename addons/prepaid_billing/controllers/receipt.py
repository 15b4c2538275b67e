import hmac

from odoo import http
from odoo.http import request


class PrepaidReceiptController(http.Controller):
    @http.route("/prepaid/receipt/<int:topup_id>", type="http", auth="public", website=False)
    def verify_receipt(self, topup_id, sig="", **kwargs):
        """The page a receipt's QR code opens: says whether the receipt is genuine and shows
        only what the receipt shows. A wrong or missing signature shows nothing of the order."""
        topup = request.env["prepaid.topup"].sudo().browse(topup_id).exists()
        genuine = bool(
            topup
            and topup.state != "draft"
            and sig
            and hmac.compare_digest(str(sig), topup._get_receipt_signature())
        )
        return request.render(
            "prepaid_billing.receipt_verification_page",
            {"topup": topup if genuine else None, "genuine": genuine},
        )
