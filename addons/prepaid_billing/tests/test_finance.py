import base64
import io
from datetime import timedelta

import openpyxl

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import Form, tagged

from .test_refund import PrepaidRefundCommon


@tagged("post_install", "-at_install")
class TestFinance(PrepaidRefundCommon):
    """The orders overview, the income overview and their XLSX export agree with the
    ledger."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_room = cls._create_room("Test Room 102", floor=cls.floor)
        cls.other_account = cls._create_open_account(room=cls.other_room)

    def setUp(self):
        super().setUp()
        self.cash = self._sell(self.account, 100.0, payment_method="cash")
        self.wechat = self._sell(self.other_account, 50.0, payment_method="wechat")
        self.wechat.with_user(self.manager_user).action_reverse("Wrong account")
        self.alipay = self._sell(self.other_account, 40.0, payment_method="alipay")
        self.refund = self._refund(self.account, 30.0, payment_method="bank_transfer")
        self.env["prepaid.ledger"]._post(
            [
                {
                    "account": self.account,
                    "kind": "consumption",
                    "utility": "electricity",
                    "amount": -key,
                    "key": f"test-consumption:{key}",
                }
                for key in (2.0, 3.0)
            ]
        )
        self.Order = self.env["prepaid.finance.order"].with_user(self.manager_user)

    def _totals(self, domain=()):
        # This test's accounts only (a database may hold demo sales).
        domain = [("account_id", "in", (self.account | self.other_account).ids), *domain]
        return dict(self.Order._read_group(domain, ["category"], ["amount:sum"]))

    def test_the_overview_lists_every_movement_of_the_wallets(self):
        orders = self.Order.search([("account_id", "in", (self.account | self.other_account).ids)])
        self.assertEqual(
            sorted(orders.mapped("category")),
            ["deduction", "deduction", "refund", "reversal", "topup", "topup", "topup"],
        )
        reversal = orders.filtered(lambda o: o.category == "reversal")
        self.assertRecordValues(
            reversal,
            [
                {
                    "reference": self.wechat.name,
                    "amount": -50.0,
                    "payment_method": "wechat",
                    "user_id": self.manager_user.id,
                    "topup_id": self.wechat.id,
                }
            ],
        )
        refund = orders.filtered(lambda o: o.category == "refund")
        self.assertRecordValues(
            refund,
            [
                {
                    "reference": self.refund.name,
                    "amount": -30.0,
                    "payment_method": "bank_transfer",
                    "user_id": self.operator_user.id,
                    "room_id": self.room.id,
                }
            ],
        )
        self.assertEqual(
            self._totals(), {"topup": 190.0, "reversal": -50.0, "refund": -30.0, "deduction": -5.0}
        )
        # The overview is the ledger: its total is the sum of the balances.
        self.assertEqual(
            sum(self._totals().values()), self.account.balance + self.other_account.balance
        )

    def test_filters_by_site_operator_method_and_date(self):
        self.assertEqual(
            self._totals([("room_id", "child_of", self.other_room.id)]),
            {"topup": 90.0, "reversal": -50.0},
        )
        self.assertEqual(
            self._totals([("room_id", "child_of", self.building.id)]),
            self._totals(),
        )
        self.assertEqual(
            self._totals([("user_id", "=", self.manager_user.id)]), {"reversal": -50.0}
        )
        self.assertEqual(self._totals([("payment_method", "=", "alipay")]), {"topup": 40.0})
        tomorrow = fields.Datetime.now() + timedelta(days=1)
        self.assertEqual(self._totals([("date", ">=", tomorrow)]), {})

    def test_income_per_day_utility_and_channel(self):
        groups = self.Order._read_group(
            [
                ("category", "in", ("topup", "refund", "reversal")),
                ("account_id", "in", (self.account | self.other_account).ids),
            ],
            ["date:month", "payment_method"],
            ["amount:sum"],
        )
        by_channel = {channel: amount for _month, channel, amount in groups}
        self.assertEqual(
            by_channel, {"cash": 100.0, "wechat": 0.0, "alipay": 40.0, "bank_transfer": -30.0}
        )

    def test_xlsx_export_carries_the_totals(self):
        today = fields.Date.context_today(self.Order)
        export = Form(self.env["prepaid.finance.export"].with_user(self.manager_user))
        export.date_from = today - timedelta(days=1)
        export.date_to = today + timedelta(days=1)
        export.period = "day"
        export.site_id = self.floor
        export = export.save()
        action = export.action_export()
        self.assertIn(f"/web/content/prepaid.finance.export/{export.id}/file_data", action["url"])
        workbook = openpyxl.load_workbook(io.BytesIO(base64.b64decode(export.file_data)))
        orders = list(workbook["Orders"].iter_rows(values_only=True))
        self.assertEqual(orders[0][0], "Date")
        # 3 top-ups, a reversal, a refund and one line for the day's consumption.
        body, total = orders[1:-1], orders[-1]
        self.assertEqual(len(body), 6)
        self.assertEqual(sorted(row[10] for row in body), [-50.0, -30.0, -5.0, 40.0, 50.0, 100.0])
        self.assertEqual((total[0], total[10]), ("Total", 105.0))
        deduction = next(row for row in body if row[2] == "Deduction")
        self.assertEqual((deduction[3], deduction[4]), ("Consumption", self.account.display_name))
        income = list(workbook["Income"].iter_rows(values_only=True))
        self.assertEqual(
            income[0],
            ("Period", "Utility", "Channel", "Top-up", "Refund", "Reversal", "Deduction",
             "Net Received"),
        )  # fmt: skip
        self.assertEqual(income[-1][0], "Total")
        self.assertEqual(income[-1][3:], (190.0, -30.0, -50.0, -5.0, 110.0))
        cash = next(row for row in income[1:-1] if row[2] == "Cash")
        self.assertEqual(cash[3:], (100.0, 0.0, 0.0, 0.0, 100.0))

    def test_finance_is_for_managers(self):
        with self.assertRaises(AccessError):
            self.env["prepaid.finance.order"].with_user(self.operator_user).search([])
        with self.assertRaises(AccessError):
            self.env["prepaid.finance.export"].with_user(self.operator_user).create({})
