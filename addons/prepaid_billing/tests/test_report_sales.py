"""Sales by channel and operator: top-ups less refunds and reversals, equal to the ledger to
the cent, per channel, operator, site and period; the XLSX export read back; operators see the
sales of their sites only, over the external API."""

import base64
import io
from datetime import date, datetime

import openpyxl
import pytz

from odoo.tests import HttpCase, tagged

from odoo.addons.prepaid_meter.tests.common import PrepaidAccessTestMixin

from .test_refund import PrepaidRefundCommon

SHANGHAI = pytz.timezone("Asia/Shanghai")


def local(*args):
    """A naive UTC datetime of a Shanghai wall-clock time."""
    return SHANGHAI.localize(datetime(*args)).astimezone(pytz.utc).replace(tzinfo=None)


class PrepaidSalesCommon(PrepaidRefundCommon):
    """Shops X and Y in the operator's building, shop Z in another building of the plaza."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.partner_id.tz = "Asia/Shanghai"
        cls.manager_user.tz = cls.operator_user.tz = "Asia/Shanghai"
        cls.shop_x = cls._create_open_account(room=cls._create_room("Sales Shop X"))
        cls.shop_y = cls._create_open_account(room=cls._create_room("Sales Shop Y"))
        other_building = cls._create_site(
            "Sales Other Building", site_type="building", parent=cls.area
        )
        other_floor = cls._create_site(
            "Sales Other Floor", site_type="floor", parent=other_building
        )
        cls.shop_z = cls._create_open_account(room=cls._create_room("Sales Shop Z", other_floor))
        cls.other_operator = cls._create_prepaid_user(
            "test_sales_other_operator", "operator", sites=other_building
        )
        cls.accounts = cls.shop_x | cls.shop_y | cls.shop_z

    def setUp(self):
        super().setUp()
        self.sale_x1 = self._at(local(2026, 3, 1, 9), lambda: self._sell(self.shop_x, 100.10))
        self.sale_x2 = self._at(
            local(2026, 3, 2, 23, 30),  # still March 2nd in Shanghai, the 2nd in UTC too
            lambda: self._sell(self.shop_x, 50.25, payment_method="wechat"),
        )
        self._at(local(2026, 3, 3, 10), lambda: self._refund(self.shop_x, 30.05))
        self.sale_y = self._at(
            local(2026, 3, 1, 10), lambda: self._sell(self.shop_y, 200.0, user=self.manager_user)
        )
        self._at(local(2026, 3, 5, 10), lambda: self.sale_y.with_user(self.manager_user)
                 .action_reverse("Wrong account"))  # fmt: skip
        self._at(
            local(2026, 4, 1, 8),
            lambda: self._sell(
                self.shop_z, 80.01, user=self.other_operator, payment_method="alipay"
            ),
        )
        # A deduction is no sale.
        self._at(
            local(2026, 3, 20, 8),
            lambda: self.env["prepaid.ledger"]._post(
                [
                    {
                        "account": self.shop_x,
                        "kind": "consumption",
                        "utility": "electricity",
                        "amount": -10.0,
                        "key": "test-sales:x",
                    }
                ]
            ),
        )

    def _at(self, when, post):
        """Run ``post`` and date what it wrote ``when``: the ledger lines it posted and the
        top-ups it paid (a test can only post now)."""
        self.env.flush_all()
        self.env.cr.execute("SELECT COALESCE(max(id), 0) FROM prepaid_ledger_line")
        last_id = self.env.cr.fetchone()[0]
        result = post()
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE prepaid_ledger_line SET create_date = %s WHERE id > %s",
            (when, last_id),
        )
        self.env.cr.execute(
            """UPDATE prepaid_topup SET paid_at = %s
                WHERE ledger_line_id IN (SELECT id FROM prepaid_ledger_line WHERE id > %s)""",
            (when, last_id),
        )
        self.env.invalidate_all()
        return result

    def _ledger_sales(self, accounts):
        self.env.cr.execute(
            """SELECT COALESCE(sum(amount), 0)::text FROM prepaid_ledger_line
                WHERE account_id IN %s AND kind IN ('topup', 'refund', 'reversal')""",
            [tuple(accounts.ids)],
        )
        return self.env.cr.fetchone()[0]


@tagged("post_install", "-at_install")
class TestReportSales(PrepaidSalesCommon):
    def _groups(self, groupby, user=None, domain=()):
        Sales = self.env["prepaid.report.sales"].with_user(user or self.manager_user)
        return Sales._read_group(
            [("account_id", "in", self.accounts.ids), *domain],
            groupby,
            ["sales_amount:sum", "returned_amount:sum", "amount:sum", "topup_count:sum"],
        )

    def test_totals_equal_the_ledger_to_the_cent(self):
        [(sales, returned, net, count)] = self._groups([])
        self.assertEqual(self._ledger_sales(self.accounts), "200.31")
        self.assertEqual(f"{net:.2f}", "200.31")
        # 100.10 + 50.25 + 200 + 80.01 sold; 30.05 refunded and 200 reversed.
        self.assertEqual((f"{sales:.2f}", f"{returned:.2f}", count), ("430.36", "-230.05", 4))

    def test_per_channel_and_operator(self):
        groups = self._groups(["payment_method", "user_id"])
        by_key = {(channel, user): round(net, 2) for channel, user, _s, _r, net, _c in groups}
        refund_channel = (
            self.env["prepaid.refund"].search([("account_id", "=", self.shop_x.id)]).payment_method
        )
        expected = {
            ("cash", self.operator_user): 100.10,
            ("wechat", self.operator_user): 50.25,
            ("alipay", self.other_operator): 80.01,
            # Sold by the manager, reversed by the manager: nothing left.
            ("cash", self.manager_user): 0.0,
        }
        expected[(refund_channel, self.operator_user)] = round(
            expected.get((refund_channel, self.operator_user), 0.0) - 30.05, 2
        )
        self.assertEqual(by_key, expected)

    def test_per_day_month_and_site(self):
        days = {day.strftime("%Y-%m-%d"): round(net, 2)
                for day, _s, _r, net, _c in self._groups(["date:day"])}  # fmt: skip
        self.assertEqual(
            days,
            {"2026-03-01": 300.10, "2026-03-02": 50.25, "2026-03-03": -30.05,
             "2026-03-05": -200.0, "2026-04-01": 80.01},
        )  # fmt: skip
        months = {month.strftime("%Y-%m"): round(net, 2)
                  for month, _s, _r, net, _c in self._groups(["date:month"])}  # fmt: skip
        self.assertEqual(months, {"2026-03": 120.30, "2026-04": 80.01})
        buildings = {b: round(net, 2) for b, _s, _r, net, _c in self._groups(["building_id"])}
        self.assertEqual(
            buildings,
            {self.building: 120.30, self.shop_z.room_id.building_id: 80.01},
        )
        utilities = {u: round(net, 2) for u, _s, _r, net, _c in self._groups(["utility"])}
        # A refund from the wallet of the platform is of no utility.
        self.assertEqual(utilities, {"electricity": 230.36, False: -30.05})

    def test_xlsx_per_period_channel_and_operator(self):
        export = (
            self.env["prepaid.report.sales.export"]
            .with_user(self.manager_user)
            .create({"date_from": date(2026, 3, 1), "date_to": date(2026, 3, 31),
                     "period": "month", "site_id": self.area.id})
        )  # fmt: skip
        action = export.action_export()
        self.assertIn(f"/web/content/prepaid.report.sales.export/{export.id}/", action["url"])
        self.assertEqual(export.file_name, "sales-2026-03-01-2026-03-31.xlsx")
        sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(export.file_data))).active
        rows = list(sheet.iter_rows(values_only=True))
        self.assertEqual(
            rows[0],
            ("Period", "Channel", "Operator", "Number of Top-ups", "Top-ups",
             "Refunds and Reversals", "Net Sales"),
        )  # fmt: skip
        body = {row[:3]: row[3:] for row in rows[1:-1]}
        self.assertEqual(
            body[("2026-03", "WeChat Pay", self.operator_user.name)], (1, 50.25, 0, 50.25)
        )
        self.assertEqual(body[("2026-03", "Cash", self.manager_user.name)], (1, 200, -200, 0))
        # April (shop Z) is outside the range.
        self.assertNotIn("Alipay", {key[1] for key in body})
        self.assertEqual(rows[-1], ("Total", None, None, 3, 350.35, -230.05, 120.3))
        self.assertEqual(f"{rows[-1][-1]:.2f}", self._ledger_sales(self.shop_x | self.shop_y))


@tagged("post_install", "-at_install")
class TestReportSalesAccess(PrepaidAccessTestMixin, PrepaidSalesCommon, HttpCase):
    def test_operators_see_the_sales_of_their_sites(self):
        rows = self.rpc(
            self.operator_user,
            "prepaid.report.sales",
            "search_read",
            [("account_id", "in", self.accounts.ids)],
            fields=["account_id", "amount"],
        )
        self.assertEqual({row["account_id"][0] for row in rows}, {self.shop_x.id, self.shop_y.id})
        self.assertEqual(round(sum(row["amount"] for row in rows), 2), 120.30)
        rows = self.rpc(
            self.other_operator,
            "prepaid.report.sales",
            "search_read",
            [("account_id", "in", self.accounts.ids)],
            fields=["account_id", "amount"],
        )
        self.assertEqual([(row["account_id"][0], row["amount"]) for row in rows],
                         [(self.shop_z.id, 80.01)])  # fmt: skip
        # The export reads with the same rules: the whole plaza, the operator's shops only.
        export_id = self.rpc(
            self.operator_user,
            "prepaid.report.sales.export",
            "create",
            {"date_from": "2026-03-01", "date_to": "2026-04-30", "period": "year",
             "site_id": self.area.id},
        )  # fmt: skip
        self.rpc(self.operator_user, "prepaid.report.sales.export", "action_export", [export_id])
        export = self.env["prepaid.report.sales.export"].browse(export_id)
        sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(export.file_data))).active
        self.assertEqual(list(sheet.iter_rows(values_only=True))[-1][-1], 120.3)
        # Nobody writes the report.
        sale = self.env["prepaid.report.sales"].search([("account_id", "=", self.shop_x.id)])
        self.assertRpcRefused(
            self.manager_user, sale[:1], "write", ({"amount": 1},), "not allowed to modify"
        )
        # The orders overview stays with the managers.
        self.assertRpcRefused(
            self.operator_user,
            self.env["prepaid.finance.order"],
            "search_read",
            ([],),
            "not allowed to access",
        )
