from odoo.tests import tagged
from odoo.tools import mute_logger

from .test_portal import PrepaidPortalCommon


@tagged("post_install", "-at_install")
class TestPortalLabels(PrepaidPortalCommon):
    def test_labels_of_a_building(self):
        draft = self._create_account(room=self._create_room("Test Room 103"))
        report = self.env.ref("prepaid_billing.prepaid_site_topup_label_report")
        values = self.env[f"report.{report.report_name}"]._get_report_values(self.building.ids)
        accounts = values["docs"]
        self.assertEqual(
            set(accounts.ids), {self.account.id, self.sts_account.id, self.account_b.id}
        )
        self.assertNotIn(draft, accounts)  # not open: nothing to top up yet
        html = report._render_qweb_html(report.report_name, self.building.ids)[0].decode()
        self.assertEqual(html.count('o_prepaid_label"'), 3)
        self.assertEqual(html.count("data:image/png;base64,"), 3)
        self.assertIn(self.room_b.name, html)
        # Each label's QR code carries the account's signed top-up link.
        for account in accounts:
            url = account._get_portal_topup_url()
            self.assertTrue(account.access_token)
            self.assertIn(
                f"/my/utilities/{account.id}/topup?access_token={account.access_token}", url
            )
            self.assertEqual(account._get_portal_topup_url(), url)  # a reprint keeps labels valid
        # The operator of another building prints nothing of this one.
        building_c = self._create_site("Building C", site_type="building", parent=self.area)
        operator_c = self._create_prepaid_user("test_operator_c", "operator", sites=building_c)
        values = (
            self.env[f"report.{report.report_name}"]
            .with_user(operator_c)
            ._get_report_values(self.building.ids)
        )
        self.assertFalse(values["docs"])

    def test_label_link_opens_the_topup_page_without_login(self):
        report = self.env.ref("prepaid_billing.prepaid_account_topup_label_report")
        html = report._render_qweb_html(report.report_name, self.account_b.ids)[0].decode()
        self.assertEqual(html.count("data:image/png;base64,"), 1)
        url = self.account_b._get_portal_topup_url()
        self.assertIn(f"/my/utilities/{self.account_b.id}/topup?access_token=", url)
        path = url[url.index("/my/") :]
        response = self.url_open(path)
        self.assertEqual(response.status_code, 200)
        self.assertIn(self.account_b.name, response.text)
        self.assertIn("o_prepaid_preset", response.text)
        # A tampered link shows nothing of the account.
        with mute_logger("odoo.http"):
            tampered = self.url_open(path[:-4] + "abcd")
        self.assertEqual(tampered.status_code, 403)
        self.assertNotIn(self.account_b.name, tampered.text)
        # A preset goes on to the payment form, for the tenant of the account.
        page = self.url_open(path + "&amount=100").text
        self.assertIn("o_payment_form", page)
        self.assertIn(f'data-partner-id="{self.tenant_b.id}"', page)
