"""The suite's printed documents, as PDFs read back with pdftotext, in English and Chinese."""

import shutil
import subprocess
import unicodedata
import unittest

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

    def _pdf_text(self, report_xmlid, records, **context):
        """Render ``records`` to a real PDF (wkhtmltopdf, not the HTML of test mode) and
        return its text."""
        report = self.env["ir.actions.report"].with_context(force_report_rendering=True, **context)
        pdf, kind = report._render_qweb_pdf(report_xmlid, records.ids)
        self.assertEqual(kind, "pdf")
        result = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
        )
        # One line with single spaces; NFKC turns the Kangxi radicals that pdftotext reads from
        # CJK fonts (⾦) back into the characters (金).
        return " ".join(unicodedata.normalize("NFKC", result.stdout.decode()).split())

    def _page_size_mm(self, report_xmlid, records):
        report = self.env["ir.actions.report"].with_context(force_report_rendering=True)
        pdf, _kind = report._render_qweb_pdf(report_xmlid, records.ids)
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

    def test_every_printed_document_is_checked_here(self):
        """A new report of the suite needs its PDF test in this class."""
        reports = self.env["ir.actions.report"].search(
            [("report_type", "=", "qweb-pdf"), ("model", "=like", "prepaid.%")]
        )
        xmlids = set(reports.get_external_id().values())
        self.assertEqual(xmlids, set(PRINTED_HERE))
        for test_name in PRINTED_HERE.values():
            self.assertTrue(hasattr(self, test_name), test_name)
