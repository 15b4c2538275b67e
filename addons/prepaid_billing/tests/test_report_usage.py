"""Usage analysis per account: the number of top-ups, the mean top-up, the mean and median
days between top-ups, the days since the last one and the habit, in one SQL statement for
every account; its totals equal the ledger to the cent; its XLSX in a bounded number of
statements; operators see the accounts of their sites only, over the external API."""

import base64
import io
from datetime import timedelta

import openpyxl

from odoo import fields
from odoo.tests import HttpCase, tagged

from odoo.addons.prepaid_meter.tests.common import PrepaidAccessTestMixin

from ..tools.usage import classify_habit
from .test_report_sales import PrepaidSalesCommon


class PrepaidUsageCommon(PrepaidSalesCommon):
    """Top-ups dated some days before now (the habit counts the days since the last one)."""

    def setUp(self):
        # No call to PrepaidSalesCommon.setUp: other top-ups than the sales'.
        super(PrepaidSalesCommon, self).setUp()
        self.now = fields.Datetime.now().replace(microsecond=0)
        # X: 50, 60, 70, 80 forty, thirty, twenty days and one day ago: gaps 10, 10, 19.
        for days, amount in ((40, 50.0), (30, 60.0), (20, 70.0), (1, 80.01)):
            self._sell_ago(self.shop_x, days, amount)
        # Y: twice a large sum, 100 and 50 days ago; a third one reversed is no top-up.
        self._sell_ago(self.shop_y, 100, 1500.0)
        self._sell_ago(self.shop_y, 50, 2500.0)
        reversed_sale = self._sell_ago(self.shop_y, 10, 700.0, user=self.manager_user)
        reversed_sale.with_user(self.manager_user).action_reverse("Wrong account")
        # Z: once, 120 days ago.
        self._sell_ago(self.shop_z, 120, 300.0, user=self.other_operator)

    def _sell_ago(self, account, days, amount, user=None):
        return self._at(
            self.now - timedelta(days=days), lambda: self._sell(account, amount, user=user)
        )

    def _usage(self, user=None):
        Usage = self.env["prepaid.report.usage"].with_user(user or self.manager_user)
        return Usage.search([("account_id", "in", self.accounts.ids)], order="id")


@tagged("post_install", "-at_install")
class TestReportUsage(PrepaidUsageCommon):
    def test_figures_and_habits_per_account(self):
        self.assertRecordValues(
            self._usage(),
            [
                {
                    "account_id": self.shop_x.id,
                    "topup_count": 4,
                    "total_amount": 260.01,
                    "mean_amount": 65.0,
                    "mean_gap_days": 13.0,
                    "median_gap_days": 10.0,
                    "first_topup_at": self.now - timedelta(days=40),
                    "last_topup_at": self.now - timedelta(days=1),
                    "days_since": 1,
                    "habit": "frequent_small",
                },
                {
                    "account_id": self.shop_y.id,
                    "topup_count": 2,
                    "total_amount": 4000.0,
                    "mean_amount": 2000.0,
                    "mean_gap_days": 50.0,
                    "median_gap_days": 50.0,
                    "first_topup_at": self.now - timedelta(days=100),
                    "last_topup_at": self.now - timedelta(days=50),
                    "days_since": 50,
                    "habit": "rare_large",
                },
                {
                    "account_id": self.shop_z.id,
                    "topup_count": 1,
                    "total_amount": 300.0,
                    "mean_amount": 300.0,
                    "mean_gap_days": 0.0,
                    "median_gap_days": 0.0,
                    "first_topup_at": self.now - timedelta(days=120),
                    "last_topup_at": self.now - timedelta(days=120),
                    "days_since": 120,
                    "habit": "dormant",
                },
            ],
        )

    def test_the_view_applies_the_documented_rules(self):
        # More habits: a monthly payer, a newcomer, a frequent payer of large sums.
        monthly = self._create_open_account(room=self._create_room("Usage Monthly"))
        for days in (60, 30, 2):
            self._sell_ago(monthly, days, 300.0)
        newcomer = self._create_open_account(room=self._create_room("Usage Newcomer"))
        self._sell_ago(newcomer, 5, 100.0)
        frequent = self._create_open_account(room=self._create_room("Usage Frequent"))
        for days in (9, 4, 0):
            self._sell_ago(frequent, days, 450.0)
        rows = self.env["prepaid.report.usage"].search(
            [("account_id", "in", (self.accounts | monthly | newcomer | frequent).ids)]
        )
        habits = {row.account_id: row.habit for row in rows}
        self.assertEqual(
            [habits[account] for account in (monthly, newcomer, frequent)],
            ["monthly", "single", "frequent"],
        )
        for row in rows:
            median = row.median_gap_days if row.topup_count > 1 else None
            self.assertEqual(
                classify_habit(row.topup_count, row.mean_amount, median, row.days_since),
                row.habit,
                row.account_id.display_name,
            )

    def test_totals_equal_the_ledger_to_the_cent(self):
        total = sum(self._usage().mapped("total_amount"))
        self.env.cr.execute(
            """SELECT sum(amount)::text FROM prepaid_ledger_line
                WHERE account_id IN %s AND kind IN ('topup', 'reversal')""",
            [tuple(self.accounts.ids)],
        )
        self.assertEqual(f"{total:.2f}", self.env.cr.fetchone()[0])
        self.assertEqual(f"{total:.2f}", "4560.01")

    def test_xlsx_in_a_bounded_number_of_statements(self):
        export = (
            self.env["prepaid.report.usage.export"]
            .with_user(self.manager_user)
            .create({"site_id": self.area.id})
        )

        def rows():
            # Warm the caches of the rules and groups, then read from a cold record cache:
            # the view in one statement, the names of each related model in one more.
            export._get_rows()
            self.env.invalidate_all()
            with self.assertQueryCount(7):
                return export._get_rows()

        self.assertEqual(len(rows()), 3)
        for n in range(5):
            account = self._create_open_account(room=self._create_room(f"Usage Room {n}"))
            self._sell_ago(account, n, 10.0 + n)
        self.assertEqual(len(rows()), 8)
        export.action_export()
        self.assertEqual(export.file_name[:6], "usage-")
        sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(export.file_data))).active
        table = list(sheet.iter_rows(values_only=True))
        self.assertEqual(table[0][:5], ("Account", "Tenant", "Room", "Habit", "Number of Top-ups"))
        by_account = {row[0]: row for row in table[1:-1]}
        x = by_account[self.shop_x.display_name]
        self.assertEqual((x[3], x[4], x[5], x[6], x[8], x[10]),
                         ("Frequent Small", 4, 260.01, 65, 10, 1))  # fmt: skip
        # Z has one top-up: no interval.
        self.assertEqual(by_account[self.shop_z.display_name][3], "Dormant")
        self.assertEqual(table[-1][0], "Total")
        self.assertEqual(table[-1][4:6], (12, round(4560.01 + sum(10 + n for n in range(5)), 2)))
        # Of one habit only.
        export.habit = "rare_large"
        export.action_export()
        sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(export.file_data))).active
        table = list(sheet.iter_rows(values_only=True))
        self.assertEqual([row[0] for row in table[1:-1]], [self.shop_y.display_name])


@tagged("post_install", "-at_install")
class TestReportUsageAccess(PrepaidAccessTestMixin, PrepaidUsageCommon, HttpCase):
    def test_operators_see_the_accounts_of_their_sites(self):
        rows = self.rpc(
            self.operator_user,
            "prepaid.report.usage",
            "search_read",
            [("account_id", "in", self.accounts.ids)],
            fields=["account_id", "habit"],
        )
        self.assertEqual(
            sorted((row["account_id"][0], row["habit"]) for row in rows),
            [(self.shop_x.id, "frequent_small"), (self.shop_y.id, "rare_large")],
        )
        groups = self.rpc(
            self.other_operator,
            "prepaid.report.usage",
            "read_group",
            [("account_id", "in", self.accounts.ids)],
            ["total_amount:sum"],
            ["habit"],
        )
        self.assertEqual([(g["habit"], g["total_amount"]) for g in groups], [("dormant", 300.0)])
        export_id = self.rpc(
            self.operator_user, "prepaid.report.usage.export", "create", {"site_id": self.area.id}
        )
        self.rpc(self.operator_user, "prepaid.report.usage.export", "action_export", [export_id])
        export = self.env["prepaid.report.usage.export"].browse(export_id)
        sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(export.file_data))).active
        accounts = [row[0] for row in list(sheet.iter_rows(values_only=True))[1:-1]]
        self.assertEqual(
            sorted(accounts), sorted((self.shop_x | self.shop_y).mapped("display_name"))
        )
