"""The suite's printed documents, as PDFs read back with pdftotext, in English and Chinese."""

import shutil
import subprocess
import unicodedata
import unittest
from datetime import date, datetime

from odoo.tests import HttpCase, tagged

from .test_refund import PrepaidRefundCommon

# Every printed document of the suite and the test below that prints it.
PRINTED_HERE = {
    "prepaid_billing.prepaid_topup_report": "test_topup_receipt_in_both_languages",
    "prepaid_billing.prepaid_topup_report_a4": "test_language_chosen_at_print_time",
    "prepaid_billing.prepaid_sts_token_report": "test_token_receipt_in_both_languages",
    "prepaid_billing.prepaid_refund_report": "test_refund_receipt_in_both_languages",
    "prepaid_billing.prepaid_account_topup_label_report": "test_labels_in_both_languages",
    "prepaid_billing.prepaid_site_topup_label_report": "test_labels_in_both_languages",
    "prepaid_billing.prepaid_composite_report": "test_composite_report_in_both_languages",
}


@tagged("post_install", "-at_install")
@unittest.skipUnless(shutil.which("pdftotext"), "pdftotext (poppler-utils) is not installed")
class TestPrintedReceipts(PrepaidRefundCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("zh_CN")
        cls.env["ir.module.module"]._load_module_terms(
            ["prepaid_meter", "prepaid_billing"], ["zh_CN"], overwrite=True
        )
        cls.company = cls.env.company
        cls.company.write({"street": "88 Century Avenue", "city": "Shanghai", "phone": "021-555"})

    def _pdf(self, report_xmlid, records, **context):
        """Render ``records`` to a real PDF (wkhtmltopdf, not the HTML of test mode)."""
        report = self.env["ir.actions.report"].with_context(force_report_rendering=True, **context)
        pdf, kind = report._render_qweb_pdf(report_xmlid, records.ids)
        self.assertEqual(kind, "pdf")
        return pdf

    def _pdf_text(self, report_xmlid, records, **context):
        """The text of the PDF of ``records``."""
        pdf = self._pdf(report_xmlid, records, **context)
        result = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
        )
        # One line with single spaces; NFKC turns the Kangxi radicals that pdftotext reads from
        # CJK fonts (⾦) back into the characters (金).
        return " ".join(unicodedata.normalize("NFKC", result.stdout.decode()).split())

    def _page_size_mm(self, report_xmlid, records):
        pdf = self._pdf(report_xmlid, records)
        info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
        size = next(
            line for line in info.stdout.decode().splitlines() if line.startswith("Page size")
        )
        width_pt, height_pt = (float(v) for v in size.split(":")[1].split("pts")[0].split(" x "))
        return round(width_pt * 25.4 / 72), round(height_pt * 25.4 / 72)

    def test_topup_receipt_in_both_languages(self):
        topup = self._sell(self.account, 88.0, payment_method="cash")
        english = self._pdf_text("prepaid_billing.prepaid_topup_report", topup, lang="en_US")
        for expected in (
            self.company.name,  # in the body: Debian's wkhtmltopdf drops HTML headers
            "88 Century Avenue",
            f"Receipt {topup.name}",
            self.tenant.name,
            self.account.name,
            "Amount paid",
            "88.00",
            "Balance after this top-up",
            "Cash",
            "Scan to verify",
        ):
            self.assertIn(expected, english)
        chinese = self._pdf_text("prepaid_billing.prepaid_topup_report", topup, lang="zh_CN")
        for expected in (self.company.name, topup.name, "收据", "扫码验证", "现金"):
            self.assertIn(expected, chinese)
        self.assertNotIn("Scan to verify", chinese)

    def test_receipt_paper(self):
        topup = self._sell(self.account, 10.0)
        self.assertEqual(self._page_size_mm("prepaid_billing.prepaid_topup_report", topup)[0], 80)
        self.assertEqual(
            self._page_size_mm("prepaid_billing.prepaid_topup_report_a4", topup), (210, 297)
        )

    def test_language_chosen_at_print_time(self):
        """The office prints in its own language, or in another one chosen in the dialog."""
        topup = self._sell(self.account, 12.0)
        self.tenant.lang = "zh_CN"
        wizard = (
            self.env["prepaid.receipt.print"]
            .with_user(self.operator_user)
            .with_context(lang="en_US")
            .create({"topup_ids": [(6, 0, topup.ids)]})
        )
        self.assertEqual(wizard.lang, "en_US")
        self.assertIn("Chinese", wizard.tenant_lang)
        action = wizard.action_print()
        self.assertEqual(action["context"]["prepaid_receipt_lang"], "en_US")
        self.assertIn(
            "Scan to verify", self._pdf_text(action["report_name"], topup, **action["context"])
        )
        wizard.write({"lang": "zh_CN", "paper": "a4"})
        action = wizard.action_print()
        self.assertEqual(action["report_name"], "prepaid_billing.report_topup")
        self.assertIn("扫码验证", self._pdf_text(action["report_name"], topup, **action["context"]))

    def test_token_receipt_in_both_languages(self):
        topup = self._sell(self.sts_account, 20.0)
        token = topup.sts_token_ids
        self.assertTrue(token)
        english = self._pdf_text("prepaid_billing.prepaid_sts_token_report", token, lang="en_US")
        for expected in (self.company.name, "Prepayment Token", token.token_grouped):
            self.assertIn(expected, english)
        chinese = self._pdf_text("prepaid_billing.prepaid_sts_token_report", token, lang="zh_CN")
        for expected in (self.company.name, "预付费令牌", token.token_grouped):
            self.assertIn(expected, chinese)

    def test_refund_receipt_in_both_languages(self):
        self._sell(self.account, 100.0)
        refund = self._refund(self.account, 40.0, reason="Moving out")
        english = self._pdf_text("prepaid_billing.prepaid_refund_report", refund, lang="en_US")
        for expected in (
            self.company.name,
            f"Refund {refund.name}",
            "Amount refunded",
            "40.00",
            "Balance after this refund",
            "60.00",
            "Moving out",
        ):
            self.assertIn(expected, english)
        chinese = self._pdf_text("prepaid_billing.prepaid_refund_report", refund, lang="zh_CN")
        for expected in (self.company.name, refund.name, "退费", "Moving out"):
            self.assertIn(expected, chinese)
        self.assertNotIn("Amount refunded", chinese)

    def test_labels_in_both_languages(self):
        for report, records in (
            ("prepaid_billing.prepaid_account_topup_label_report", self.account),
            ("prepaid_billing.prepaid_site_topup_label_report", self.building),
        ):
            english = self._pdf_text(report, records, lang="en_US")
            self.assertIn("Scan to check the balance and top up", english)
            self.assertIn(self.account.name, english)
            chinese = self._pdf_text(report, records, lang="zh_CN")
            self.assertIn("扫码查询余额并充值水电", chinese)

    def test_composite_report_in_both_languages(self):
        """The monthly composite of a floor with two shops, printed from the wizard on A4
        landscape: the shops' rows and the totals, headers in the language of the print."""
        floor = self._create_site("Composite Floor", site_type="floor", parent=self.building)
        shop_1 = self._create_open_account(room=self._create_room("Shop 101", floor=floor))
        shop_2 = self._create_open_account(room=self._create_room("Shop 102", floor=floor))
        shop_2.meter_ids.sudo().ct_ratio = 40
        self.env["prepaid.reading"]._ingest(
            [
                (shop_1.meter_ids.id, datetime(2026, 2, 27, 4), 1000),
                (shop_1.meter_ids.id, datetime(2026, 3, 30, 4), 1234.5),
                (shop_2.meter_ids.id, datetime(2026, 2, 27, 4), 10),
                (shop_2.meter_ids.id, datetime(2026, 3, 30, 4), 12.5),
            ]
        )
        fee_item = self.env["prepaid.fee.item"].create(
            {"name": "Printed Property Fee", "amount": 56.78, "date_from": "2026-01-01"}
        )
        self.env["prepaid.fee.charge"].sudo().create(
            {
                "item_id": fee_item.id,
                "account_id": shop_1.id,
                "period_key": "2026-03",
                "period_start": "2026-03-01",
                "period_end": "2026-03-31",
                "amount": 56.78,
            }
        )
        wizard = (
            self.env["prepaid.report.composite"]
            .with_user(self.operator_user)
            .create({"month": date(2026, 3, 15), "site_id": floor.id})
        )
        action = wizard.action_print_pdf()
        self.assertEqual(action["report_name"], "prepaid_billing.report_composite")
        report = "prepaid_billing.prepaid_composite_report"
        self.assertEqual(self._page_size_mm(report, wizard), (297, 210))
        english = self._pdf_text(report, wizard, lang="en_US")
        for expected in (
            self.company.name,
            "Composite Report 2026-03",
            # The single-line headers (the others wrap in their narrow columns).
            "Room Account Tenant Meter kWh Charges Fees Shares Payments",
            "Shop 101",
            "Shop 102",
            shop_1.name,
            shop_2.name,
            # Shop 101: 234.5 kWh at CT 1; shop 102: 2.5 x 40 = 100 kWh.
            "1,000.000 1,234.500 1 234.500",
            "10.000 12.500 40 100.000",
            "56.78",
            # Month-over-month: 234.5 kWh against 1,000 in February; no March 2025.
            "-76.6% n/a",
            "Total 334.500 0.000 0.000 0.000 0.000 0.00 56.78",
        ):
            self.assertIn(expected, english)
        chinese = self._pdf_text(report, wizard, lang="zh_CN")
        for expected in ("综合报表 2026-03", "期初读数", "CT 变比", "期末余额", "同比", "合计"):
            self.assertIn(expected, chinese)
        self.assertIn("Shop 101", chinese)
        self.assertIn("1,000.000 1,234.500 1 234.500", chinese)
        self.assertNotIn("Charges", chinese)

    def test_every_printed_document_is_checked_here(self):
        """A new report of the suite needs its PDF test in this class."""
        reports = self.env["ir.actions.report"].search(
            [("report_type", "=", "qweb-pdf"), ("model", "=like", "prepaid.%")]
        )
        xmlids = set(reports.get_external_id().values())
        self.assertEqual(xmlids, set(PRINTED_HERE))
        for test_name in PRINTED_HERE.values():
            self.assertTrue(hasattr(self, test_name), test_name)
