"""The monthly composite energy report (用电综合报表) and the energy report: the numbers of a
small site over two months and a year, the XLSX totals row, a bounded number of queries
whatever the number of accounts, and what operators may see over the external API."""

import base64
import io
from datetime import date, datetime

import openpyxl
import pytz

from odoo import Command
from odoo.tests import HttpCase, tagged

from odoo.addons.prepaid_meter.tests.common import PrepaidAccessTestMixin

from .test_refund import PrepaidRefundCommon

SHANGHAI = pytz.timezone("Asia/Shanghai")


def local(*args):
    """A naive UTC datetime of a Shanghai wall-clock time."""
    return SHANGHAI.localize(datetime(*args)).astimezone(pytz.utc).replace(tzinfo=None)


class PrepaidReportCommon(PrepaidRefundCommon):
    """Two shops of a building of the operator (A: TOU registers, multiplier 1; B: CT ratio
    40) read in March 2025 and January to April 2026; a third shop in another building of the
    plaza with nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.partner_id.tz = "Asia/Shanghai"
        cls.plaza = cls._create_site("Report Plaza", site_type="area")
        cls.report_building = cls._create_site(
            "Report Building", site_type="building", parent=cls.plaza
        )
        cls.report_building.operator_ids = [Command.link(cls.operator_user.id)]
        floor = cls._create_site("Report Floor", site_type="floor", parent=cls.report_building)
        cls.room_a = cls._create_room("Shop A", floor=floor)
        cls.room_b = cls._create_room("Shop B", floor=floor)
        cls.other_building = cls._create_site(
            "Other Building", site_type="building", parent=cls.plaza
        )
        other_floor = cls._create_site("Other Floor", site_type="floor", parent=cls.other_building)
        cls.room_c = cls._create_room("Shop C", floor=other_floor)
        cls.shop_a = cls._create_open_account(room=cls.room_a)
        cls.shop_b = cls._create_open_account(room=cls.room_b)
        cls.shop_c = cls._create_open_account(room=cls.room_c)
        cls.meter_a, cls.meter_b = cls.shop_a.meter_ids, cls.shop_b.meter_ids
        cls.meter_b.sudo().ct_ratio = 40
        Reading = cls.env["prepaid.reading"]
        Reading._ingest(
            [
                (cls.meter_a.id, local(2026, 1, 31, 12), 100, 10, 20, 30, 40),
                (cls.meter_a.id, local(2026, 2, 15, 12), 150, 15, 30, 45, 60),
                (cls.meter_a.id, local(2026, 3, 10, 12), 180, 18, 36, 54, 72),
                (cls.meter_a.id, local(2026, 3, 31, 20), 210, 21, 42, 63, 84),
                # April: not in the report of March.
                (cls.meter_a.id, local(2026, 4, 1, 8), 215, 22, 43, 64, 86),
                (cls.meter_b.id, local(2025, 3, 10, 12), 5),
                (cls.meter_b.id, local(2026, 3, 5, 12), 10),
                (cls.meter_b.id, local(2026, 3, 20, 12), 12.5),
            ]
        )
        fee_item = cls.env["prepaid.fee.item"].create(
            {"name": "Test Property Fee", "amount": 12.34, "date_from": "2026-01-01"}
        )
        cls.env["prepaid.fee.charge"].sudo().create(
            [
                {
                    "item_id": fee_item.id,
                    "account_id": cls.shop_a.id,
                    "period_key": key,
                    "period_start": start,
                    "period_end": end,
                    "amount": 12.34,
                }
                for key, start, end in (
                    ("2026-03", "2026-03-01", "2026-03-31"),
                    ("2026-04", "2026-04-01", "2026-04-30"),
                )
            ]
        )
        common_meter = cls._create_meter(room=cls.room_c)
        pool = cls.env["prepaid.apportion.pool"].create(
            {"name": "Test Corridor", "meter_id": common_meter.id, "unit_price": 1.0}
        )
        run = (
            cls.env["prepaid.apportion.run"]
            .sudo()
            .create(
                {
                    "pool_id": pool.id,
                    "period_key": "2026-03",
                    "period_start": "2026-03-01",
                    "period_end": "2026-03-31",
                }
            )
        )
        cls.env["prepaid.apportion.share"].sudo().create(
            [
                {"run_id": run.id, "account_id": cls.shop_a.id, "amount": 0.66},
                {"run_id": run.id, "account_id": cls.shop_b.id, "amount": 3.0},
            ]
        )

    def setUp(self):
        super().setUp()
        # The wallets' movements, dated (the ledger stamps its lines with the posting time).
        self._dated(local(2026, 2, 10, 10), lambda: self._sell(self.shop_a, 50.0))
        self._dated(local(2026, 3, 15, 10), lambda: self._sell(self.shop_a, 100.0))
        self._dated(local(2026, 3, 16, 10), lambda: self._refund(self.shop_a, 30.0))
        self._dated(local(2026, 3, 31, 21), lambda: self._consume(self.shop_a, 60.0, "a-mar"))
        self._dated(local(2026, 4, 2, 10), lambda: self._consume(self.shop_a, 5.0, "a-apr"))
        self._dated(local(2026, 3, 15, 11), lambda: self._sell(self.shop_b, 200.0))
        self._dated(local(2026, 3, 31, 22), lambda: self._consume(self.shop_b, 150.0, "b-mar"))

    def _consume(self, account, amount, key):
        self.env["prepaid.ledger"]._post(
            [
                {
                    "account": account,
                    "kind": "consumption",
                    "utility": "electricity",
                    "amount": -amount,
                    "key": f"test-report:{key}",
                }
            ]
        )

    def _dated(self, when, post):
        """Run ``post`` and date the ledger lines it wrote ``when`` (a test can only post
        now)."""
        self.env.flush_all()
        self.env.cr.execute("SELECT COALESCE(max(id), 0) FROM prepaid_ledger_line")
        last_id = self.env.cr.fetchone()[0]
        post()
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE prepaid_ledger_line SET create_date = %s WHERE id > %s", (when, last_id)
        )
        self.env.invalidate_all()

    def _report(self, site, user=None, month=date(2026, 3, 1)):
        Report = self.env["prepaid.report.composite"].with_user(user or self.manager_user)
        return Report.create({"month": month, "site_id": site.id})


@tagged("post_install", "-at_install")
class TestReportComposite(PrepaidReportCommon):
    def test_composite_numbers_of_a_month(self):
        report = self._report(self.report_building)
        report.action_show()
        lines = report.line_ids
        self.assertRecordValues(
            lines,
            [
                {
                    "account_id": self.shop_a.id,
                    "meter_id": self.meter_a.id,
                    "opening": 150.0,
                    "closing": 210.0,
                    "multiplier": 1.0,
                    "kwh": 60.0,
                    "kwh_t1": 6.0,
                    "kwh_t2": 12.0,
                    "kwh_t3": 18.0,
                    "kwh_t4": 24.0,
                    "charges": 60.0,
                    "fees": 12.34,
                    "shares": 0.66,
                    "payments": 70.0,
                    "closing_balance": 60.0,
                    "kwh_previous_month": 50.0,
                    "kwh_previous_year": 0.0,
                    "change_month": "+20.0%",
                    "change_year": "n/a",
                },
                {
                    "account_id": self.shop_b.id,
                    "meter_id": self.meter_b.id,
                    # The last reading before the month is a year old: the register then.
                    "opening": 5.0,
                    "closing": 12.5,
                    "multiplier": 40.0,
                    "kwh": 300.0,
                    "kwh_t1": 0.0,
                    "kwh_t2": 0.0,
                    "kwh_t3": 0.0,
                    "kwh_t4": 0.0,
                    "charges": 150.0,
                    "fees": 0.0,
                    "shares": 3.0,
                    "payments": 200.0,
                    "closing_balance": 50.0,
                    "kwh_previous_month": 0.0,
                    "kwh_previous_year": 200.0,
                    "change_month": "n/a",
                    "change_year": "+50.0%",
                },
            ],
        )
        # The previous month: A read in February only, B not at all.
        february = self._report(self.report_building, month=date(2026, 2, 20))
        rows, total = february._compute_rows()
        self.assertEqual(
            [(row.kwh, row.change_month) for row in rows], [(50, "-50.0%"), (0, "n/a")]
        )
        self.assertEqual((total.payments, total.closing_balance), (50, 50))

    def test_totals_agree_with_the_ledger(self):
        _rows, total = self._report(self.report_building)._compute_rows()
        self.env.cr.execute(
            """SELECT sum(amount)::text FROM prepaid_ledger_line
                WHERE account_id IN %s AND create_date < %s""",
            [(self.shop_a.id, self.shop_b.id), local(2026, 4, 1)],
        )
        self.assertEqual(str(total.closing_balance), self.env.cr.fetchone()[0])
        self.assertEqual(str(total.charges), "210.00")
        self.assertEqual(str(total.payments), "270.00")
        self.assertEqual((str(total.fees), str(total.shares)), ("12.34", "3.66"))
        self.assertEqual(
            (total.kwh, total.change_month, total.change_year), (360, "+620.0%", "+80.0%")
        )

    def test_xlsx_totals_row(self):
        report = self._report(self.report_building)
        action = report.action_export()
        self.assertIn(f"/web/content/prepaid.report.composite/{report.id}/file_data", action["url"])
        self.assertEqual(report.file_name, "composite-2026-03-Report Building.xlsx")
        sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(report.file_data))).active
        rows = list(sheet.iter_rows(values_only=True))
        headers = rows[2]
        self.assertEqual(headers[:8], ("Room", "Account", "Tenant", "Meter", "Opening Register",
                                       "Closing Register", "CT Ratio", "kWh"))  # fmt: skip
        body, total = rows[3:-1], dict(zip(headers, rows[-1], strict=True))
        self.assertEqual(len(body), 2)
        self.assertEqual(body[0][1], self.shop_a.display_name)
        self.assertEqual(rows[-1][0], "Total")
        self.assertEqual(
            {name: total[name] for name in ("kWh", "Charges", "Fees", "Shares", "Payments",
                                            "Closing Balance", "Opening Register")},
            {"kWh": 360, "Charges": 210, "Fees": 12.34, "Shares": 3.66, "Payments": 270,
             "Closing Balance": 110, "Opening Register": None},
        )  # fmt: skip
        self.assertEqual(
            (total["Month-over-Month"], total["Year-over-Year"]), ("+620.0%", "+80.0%")
        )

    def test_query_count_does_not_grow_with_the_accounts(self):
        report = self._report(self.plaza)

        def compute_rows():
            # Warm the caches of the rules, groups and company, then read from a cold record
            # cache: at most the same 10 statements for 3 or 9 accounts.
            report._compute_rows()
            self.env.invalidate_all()
            with self.assertQueryCount(__system__=10):
                rows, _total = report._compute_rows()
            return rows

        self.assertEqual(len(compute_rows()), 3)
        more = [
            self._create_open_account(
                room=self._create_room(f"Room {n}", floor=self.room_a.parent_id)
            )
            for n in range(6)
        ]
        self.env["prepaid.reading"]._ingest(
            [(account.meter_ids.id, local(2026, 3, 5 + n), 10 * n) for n, account in
             enumerate(more)]
        )  # fmt: skip
        rows = compute_rows()
        self.assertEqual(len(rows), 9)
        self.assertEqual(sum(row.kwh for row in rows), 360 + 10 * sum(range(6)))

    def test_energy_report_per_month_with_tou_bands(self):
        Energy = self.env["prepaid.report.energy"].with_user(self.manager_user)
        groups = Energy._read_group(
            [("meter_id", "=", self.meter_a.id)],
            ["date:month"],
            ["consumption:sum", "kwh_t1:sum", "kwh_t4:sum"],
        )
        months = {month.strftime("%Y-%m"): values for month, *values in groups}
        self.assertEqual(months["2026-03"], [60.0, 6.0, 24.0])
        self.assertEqual(months["2026-02"], [50.0, 5.0, 20.0])
        # B's CT ratio applies; per year.
        groups = Energy._read_group(
            [("meter_id", "=", self.meter_b.id)], ["date:year"], ["consumption:sum"]
        )
        self.assertEqual(
            {year.year: consumption for year, consumption in groups}, {2025: 200.0, 2026: 300.0}
        )


@tagged("post_install", "-at_install")
class TestReportAccess(PrepaidAccessTestMixin, PrepaidReportCommon, HttpCase):
    def test_operators_report_on_their_sites_only(self):
        operator = self.operator_user
        report_id = self.rpc(
            operator,
            "prepaid.report.composite",
            "create",
            {"month": "2026-03-01", "site_id": self.report_building.id},
        )
        self.rpc(operator, "prepaid.report.composite", "action_show", [report_id])
        lines = self.rpc(
            operator,
            "prepaid.report.composite.line",
            "search_read",
            [("report_id", "=", report_id)],
            fields=["account_id", "kwh"],
        )
        self.assertEqual(
            [(line["account_id"][0], line["kwh"]) for line in lines],
            [(self.shop_a.id, 60.0), (self.shop_b.id, 300.0)],
        )
        # The plaza holds a building the operator does not work in: refused, nothing read.
        plaza_id = self.rpc(
            operator,
            "prepaid.report.composite",
            "create",
            {"month": "2026-03-01", "site_id": self.plaza.id},
        )
        plaza = self.env["prepaid.report.composite"].browse(plaza_id)
        for method in ("action_show", "action_export"):
            self.assertRpcRefused(operator, plaza, method, (), r"Site \(prepaid.site\)")
        self.assertFalse(plaza.line_ids or plaza.file_data)
        # The manager sees the three shops.
        plaza_id = self.rpc(
            self.manager_user,
            "prepaid.report.composite",
            "create",
            {"month": "2026-03-01", "site_id": self.plaza.id},
        )
        self.rpc(self.manager_user, "prepaid.report.composite", "action_show", [plaza_id])
        self.assertEqual(len(self.env["prepaid.report.composite"].browse(plaza_id).line_ids), 3)
        # The energy report: the operator's meters only.
        meters = {
            row["meter_id"][0]
            for row in self.rpc(
                operator,
                "prepaid.report.energy",
                "search_read",
                [("meter_id", "in", (self.meter_a | self.meter_b | self.shop_c.meter_ids).ids)],
                fields=["meter_id"],
            )
        }
        self.assertEqual(meters, {self.meter_a.id, self.meter_b.id})
