from datetime import datetime, timedelta

from odoo.tests import tagged

from .test_portal import PrepaidPortalCommon


@tagged("post_install", "-at_install")
class TestPortalUi(PrepaidPortalCommon):
    def test_tenant_tops_up_a_keypad_meter(self):
        # Only the keypad meter's account, so that the tour opens it; readings for the chart.
        self.account.partner_id = self.tenant_b
        self.sts_meter.sudo().max_load = 1000
        now = datetime.now().replace(minute=0, second=0, microsecond=0)
        self.env["prepaid.reading"]._ingest(
            [
                (self.sts_meter.id, now - timedelta(hours=2), 100, 10, 20, 30, 40),
                (self.sts_meter.id, now - timedelta(hours=1), 110, 11, 24, 33, 42),
            ],
            "gateway",
        )
        self.start_tour("/my/utilities", "prepaid_portal_topup_tour", login="portal_tenant_a")
        self.env.invalidate_all()
        topup = self.sts_account.topup_ids
        self.assertRecordValues(
            topup, [{"amount": 100.0, "payment_method": "online", "state": "delivered"}]
        )
        self.assertEqual(self.sts_account.balance, 100.0)
        self.assertEqual(len(topup.sts_token_ids), 1)

    def test_label_link_without_login(self):
        url = self.account_b._get_portal_topup_url()
        self.start_tour(url[url.index("/my/") :], "prepaid_portal_label_tour")
