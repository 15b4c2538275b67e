from freezegun import freeze_time

from odoo.tests import tagged

from .common import PrepaidStsCommon


@tagged("post_install", "-at_install")
class TestStsReport(PrepaidStsCommon):
    """The printed token receipt."""

    @freeze_time("2025-03-01 10:15:00")
    def test_receipt(self):
        meter = self._create_sts_meter()
        self._create_account(meters=meter)
        token = meter.with_user(self.manager_user)._sts_issue_credit(
            25.6, origin="SALE/7", free_reason="Test"
        )
        self.assertEqual(token.partner_id, self.tenant)
        Report = self.env["ir.actions.report"].with_user(self.operator_user)
        html, report_type = Report._render_qweb_pdf(
            "prepaid_billing.prepaid_sts_token_report", token.ids
        )
        self.assertEqual(
            report_type, "html"
        )  # test mode renders HTML instead of calling wkhtmltopdf
        html = html.decode()
        for expected in (
            token.token_grouped,
            self.tenant.name,
            meter.name,
            meter.sts_pan,
            "25.6 kWh",
            "SALE/7",
            self.manager_user.name,
        ):
            self.assertIn(expected, html)

    def test_receipt_of_a_key_change_set(self):
        meter = self._create_sts_meter(key=self.key_misty)
        tokens = meter._sts_issue_key_change(tariff_index=4)
        action = tokens[0].with_user(self.admin_user).action_print_receipt()
        self.assertEqual(action["report_name"], "prepaid_billing.report_sts_token")
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("prepaid_billing.prepaid_sts_token_report", tokens.ids)[0]
            .decode()
        )
        # One receipt with the four tokens, in the order of entry.
        positions = [html.index(token.token_grouped) for token in tokens.sorted("sequence")]
        self.assertEqual(positions, sorted(positions))
        self.assertEqual(html.count("Key Change Tokens"), 1)
