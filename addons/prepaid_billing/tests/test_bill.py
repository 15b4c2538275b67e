import base64
import io
import xmlrpc.client
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import openpyxl
from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.prepaid_meter.tests.common import PrepaidAccessTestMixin

from .test_apportion import PrepaidApportionCommon

MARCH = date(2026, 3, 1)
MANAGERS = "group .*Manager"


class PrepaidBillCommon(PrepaidApportionCommon):
    """A postpaid tenant (``cls.account``) with a tiered TOU tariff (UTC: valley 00-08 at 0.3
    then 0.4 above 10 kWh, peak 08-24 at 1.0 then 2.0), a property fee and a common-area share
    left to bill for March 2026."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company._prepaid_get_accounting()
        cls.tenant.email = "tenant@example.com"
        cls.tou = cls._create_tariff(
            utility="electricity",
            tz="UTC",
            version_ids=[
                Command.create(
                    {
                        "date_from": "2026-01-01",
                        "kind": "tiered_tou",
                        "tou_pricing": "grid",
                        "tier_ids": [
                            Command.create(
                                {
                                    "sequence": 1,
                                    "quantity_from": 0,
                                    "grid_price_peak": 1,
                                    "grid_price_valley": 0.3,
                                }
                            ),
                            Command.create(
                                {
                                    "sequence": 2,
                                    "quantity_from": 10,
                                    "grid_price_peak": 2,
                                    "grid_price_valley": 0.4,
                                }
                            ),
                        ],
                        "band_ids": [
                            Command.create({"hour_from": 0, "hour_to": 8, "band": "valley"}),
                            Command.create({"hour_from": 8, "hour_to": 24, "band": "peak"}),
                        ],
                    }
                )
            ],
        )
        cls.account.sudo().write({"billing_mode": "postpaid", "electricity_tariff_id": cls.tou.id})
        cls.meter = cls.account.meter_ids
        cls.Run = cls.env["prepaid.bill.run"].with_user(cls.manager_user)

    def setUp(self):
        super().setUp()
        # March: 6 kWh of valley on the 1st (00:00-02:00), 8.333 kWh of peak on the 2nd
        # (08:00-09:00), 3 kWh half valley half peak on the 3rd (06:00-10:00 has 2 h of each).
        # The February reading (before the month) is not billed in March.
        self.read_meter(
            self.meter,
            (datetime(2026, 2, 28, 12), 0),
            (datetime(2026, 3, 1, 0), 5),
            (datetime(2026, 3, 1, 2), 11),
            (datetime(2026, 3, 2, 8), 11),
            (datetime(2026, 3, 2, 9), 19.333),
            (datetime(2026, 3, 3, 6), 19.333),
            (datetime(2026, 3, 3, 10), 22.333),
            (datetime(2026, 4, 1, 5), 30),  # April's
        )
        self.fee = self._create_fee(charge_mode="bill")
        self.fee_charge = self.charge(self.fee, MARCH).filtered(
            lambda c: c.account_id == self.account
        )
        self.read_meter(
            self.common_meter, (datetime(2026, 3, 1), 0), (datetime(2026, 3, 31, 12), 100)
        )
        self.pool = self._create_pool(charge_mode="bill")
        self.share_run = self.share(self.pool)
        self.account_share = self.share_run.share_ids.filtered(
            lambda s: s.account_id == self.account
        )

    def new_run(self, month=MARCH, accounts=None):
        accounts = accounts or self.account
        return self.Run.create({"month": month, "account_ids": [Command.set(accounts.ids)]})


@tagged("post_install", "-at_install")
class TestBill(PrepaidBillCommon):
    def test_bill_of_tou_consumption_a_fee_and_a_share_to_the_cent(self):
        run = self.new_run()
        run.action_compute()
        self.assertEqual(run.state, "computed")
        lines = run.line_ids
        self.assertEqual(lines.account_id, self.account)
        consumption = lines.filtered(lambda line: line.kind == "consumption")
        # Valley 6 then 2 (tier 1 to 10 kWh) ... chronologically: 6 valley @0.3 (tier 1),
        # 4 of the 8.333 peak @1 in tier 1, 4.333 peak @2 in tier 2, then 1.5 valley @0.4 and
        # 1.5 peak @2 in tier 2.
        self.assertEqual(
            sorted((line.band, line.tier, line.quantity, line.unit_price) for line in consumption),
            [
                ("peak", 1, 4.0, 1.0),
                ("peak", 2, 5.833, 2.0),
                ("valley", 1, 6.0, 0.3),
                ("valley", 2, 1.5, 0.4),
            ],
        )
        expected_consumption = Decimal("1.8") + 4 + Decimal("11.666") + Decimal("0.6")
        self.assertEqual(
            sum(Decimal(str(line.amount)) for line in consumption),
            expected_consumption.quantize(Decimal("0.01")),
        )
        fee_line = lines.filtered(lambda line: line.kind == "fee")
        share_line = lines.filtered(lambda line: line.kind == "share")
        self.assertEqual(fee_line.fee_charge_id, self.fee_charge)
        self.assertEqual(fee_line.amount, 310.0)
        self.assertEqual(share_line.share_id, self.account_share)
        self.assertEqual(share_line.amount, self.account_share.amount)
        self.assertTrue(self.account_share.amount)
        # Nothing is posted before the user confirms.
        self.assertFalse(run.bill_ids)
        self.assertFalse(self.account.consumption_invoice_ids)

        run.action_generate()
        bill = run.bill_ids
        self.assertEqual(len(bill), 1)
        invoice = bill.move_id
        self.assertRecordValues(
            invoice,
            [
                {
                    "move_type": "out_invoice",
                    "state": "posted",
                    "partner_id": self.tenant.id,
                    "prepaid_account_id": self.account.id,
                    "invoice_date": date(2026, 3, 31),
                }
            ],
        )
        total = (
            expected_consumption.quantize(Decimal("0.01"))
            + Decimal("310.00")
            + Decimal(str(self.account_share.amount))
        )
        self.assertEqual(Decimal(str(invoice.amount_total)).quantize(Decimal("0.01")), total)
        self.assertEqual(
            sum(Decimal(str(line.price_total)) for line in invoice.invoice_line_ids), total
        )
        self.assertEqual(len(invoice.invoice_line_ids), len(lines))
        self.assertIn("5.833 kWh at 2", " ".join(invoice.invoice_line_ids.mapped("name")))
        # The fee charge and the share are billed, linked to their invoice lines.
        self.assertEqual(self.fee_charge.state, "billed")
        self.assertEqual(self.fee_charge.bill_move_id, invoice)
        self.assertEqual(self.account_share.state, "billed")
        self.assertEqual(self.account_share.bill_line_id.price_total, self.account_share.amount)

    def test_due_date_from_the_payment_term(self):
        term = self.env.ref("account.account_payment_term_30days")
        self.tenant.property_payment_term_id = term
        run = self.new_run()
        run.action_compute()
        run.action_generate()
        self.assertEqual(run.bill_ids.move_id.invoice_date_due, date(2026, 4, 30))
        self.assertEqual(run.bill_ids.invoice_date_due, date(2026, 4, 30))

    def test_a_second_run_bills_nothing_again(self):
        first = self.new_run()
        first.action_compute()
        first.action_generate()
        invoices = self.env["account.move"].search_count(
            [("prepaid_account_id", "=", self.account.id)]
        )
        second = self.new_run()
        second.action_compute()
        self.assertFalse(second.line_ids)
        second.action_generate()
        self.assertFalse(second.bill_ids)
        self.assertEqual(
            self.env["account.move"].search_count([("prepaid_account_id", "=", self.account.id)]),
            invoices,
        )
        # Two runs computed before either generated: the second finds the bill and skips.
        third = self.new_run(date(2026, 4, 1))
        fourth = self.new_run(date(2026, 4, 1))
        third.action_compute()
        fourth.action_compute()
        self.assertTrue(fourth.line_ids)
        third.action_generate()
        fourth.action_generate()
        self.assertEqual(len(third.bill_ids), 1)
        self.assertFalse(fourth.bill_ids)
        # April: the April reading only; the fee and share were billed in March.
        self.assertEqual(set(third.line_ids.mapped("kind")), {"consumption"})
        with self.assertRaises(UserError):
            first.action_compute()  # generated already

    def test_late_fee_on_the_next_bills_minimum_and_cap(self):
        """0.05 % a day, at least 5.00 the first time, at most 8.00 per bill: the March bill
        (due March 31) unpaid gets its April late fee on the April bill, May's on the May bill
        up to the cap, nothing after; a paid bill gets none."""
        self.account.with_user(self.manager_user).write(
            {"late_fee_rate": 0.05, "late_fee_min": 5.0, "late_fee_cap": 8.0}
        )
        cent = Decimal("0.01")
        march = self.new_run()
        march.action_compute()
        self.assertFalse(march.line_ids.filtered(lambda line: line.kind == "late_fee"))
        march.action_generate()
        march_bill = march.bill_ids
        residual = Decimal(str(march_bill.amount_residual))
        late_fees = []
        for month, days in ((4, 30), (5, 31), (6, 30)):
            run = self.new_run(date(2026, month, 1))
            run.action_compute()
            late = run.line_ids.filtered(lambda line: line.late_fee_bill_id == march_bill)
            late_fees.append((days, late))
            run.action_generate()
        (april_days, april), (may_days, may), (_june_days, june) = late_fees
        daily = residual * Decimal("0.0005")
        april_fee = max((daily * april_days).quantize(cent, ROUND_HALF_UP), Decimal(5))
        self.assertEqual(Decimal(str(april.amount)).quantize(cent), april_fee)
        self.assertEqual(april.late_fee_bill_id, march_bill)
        may_fee = min((daily * may_days).quantize(cent, ROUND_HALF_UP), Decimal(8) - april_fee)
        self.assertEqual(Decimal(str(may.amount)).quantize(cent), may_fee)
        self.assertFalse(june)  # the cap is reached
        self.assertEqual(Decimal(str(march_bill.late_fee_amount)).quantize(cent), Decimal(8))
        self.assertEqual(march_bill.late_fee_through, date(2026, 5, 31))
        # The April bill, paid, is charged no late fee in July.
        april_bill = self.env["prepaid.bill"].search(
            [("account_id", "=", self.account.id), ("month", "=", date(2026, 4, 1))]
        )
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=april_bill.move_id.ids
        ).create({"payment_date": date(2026, 5, 2)})._create_payments()
        july = self.new_run(date(2026, 7, 1))
        july.action_compute()
        self.assertFalse(
            july.line_ids.filtered(
                lambda line: line.kind == "late_fee" and line.late_fee_bill_id == april_bill
            )
        )

    def test_fees_recovered_from_top_ups_are_not_billed(self):
        """A prepaid tenant's fee left to bill that a debt agreement recovers from its top-ups
        is not billed too; once the agreement is cancelled, its residual is billed."""
        charge = self.fee.charge_ids.filtered(lambda c: c.account_id == self.account2)
        debt = self.env["prepaid.debt"].create(
            {
                "name": "Property fee",
                "account_id": self.account2.id,
                "amount": charge.residual,
                "fee_charge_ids": [Command.set(charge.ids)],
            }
        )
        run = self.new_run(accounts=self.account2)
        run.action_compute()
        self.assertEqual(run.line_ids.mapped("kind"), ["share"])
        debt.state = "cancelled"
        run.action_compute()
        self.assertEqual(sorted(run.line_ids.mapped("kind")), ["fee", "share"])
        self.assertEqual(
            run.line_ids.filtered(lambda line: line.kind == "fee").fee_charge_id, charge
        )

    def test_an_account_that_cannot_be_rated_is_named_and_billed_later(self):
        # A tariff in force from June only: March cannot be rated.
        june = self._create_tariff(
            utility="electricity",
            tz="UTC",
            version_ids=[
                Command.create(
                    {
                        "date_from": "2026-06-01",
                        "kind": "tiered",
                        "tier_ids": [Command.create({"quantity_from": 0, "unit_price": 0.5})],
                    }
                )
            ],
        )
        self.account3.sudo().write({"billing_mode": "postpaid", "electricity_tariff_id": june.id})
        self.read_meter(
            self.account3.meter_ids, (datetime(2026, 3, 1), 0), (datetime(2026, 3, 2), 10)
        )
        run = self.new_run(accounts=self.account | self.account3)
        run.action_compute()
        self.assertEqual(run.line_ids.account_id, self.account)
        self.assertIn(self.account3.display_name, run.issues)
        self.assertEqual(len(run.issues.splitlines()), 1)
        self.assertIn("No tariff version is in force on", run.issues)
        run.action_generate()
        self.assertEqual(run.bill_ids.account_id, self.account)
        # Its fee and share stay to bill with its consumption.
        fee3 = self.fee.charge_ids.filtered(lambda c: c.account_id == self.account3)
        self.assertEqual(fee3.state, "open")
        self.account3.sudo().electricity_tariff_id = self.tou
        again = self.new_run(accounts=self.account | self.account3)
        again.action_compute()
        self.assertFalse(again.issues)
        self.assertEqual(again.line_ids.account_id, self.account3)
        self.assertEqual(
            sorted(set(again.line_ids.mapped("kind"))), ["consumption", "fee", "share"]
        )
        again.action_generate()
        self.assertEqual(fee3.state, "billed")

    def test_computing_costs_the_same_queries_for_one_or_three_accounts(self):
        """A month end computes thousands of accounts in one run: what it reads must not grow
        with them (no query per account)."""
        others = self.account2 | self.account3
        others.sudo().write({"billing_mode": "postpaid", "electricity_tariff_id": self.tou.id})
        for account in others:
            self.read_meter(
                account.meter_ids, (datetime(2026, 3, 1), 0), (datetime(2026, 3, 2, 9), 12)
            )
        counts = []
        for accounts in (self.account, self.account | others):
            run = self.new_run(accounts=accounts)
            self.env.flush_all()
            self.env.invalidate_all()
            self.env.registry.clear_cache()
            before = self.env.cr.sql_log_count
            run.action_compute()
            self.env.flush_all()
            counts.append(self.env.cr.sql_log_count - before)
            self.assertEqual(run.line_ids.account_id, accounts)
        self.assertGreater(counts[0], 10, counts)  # it counted something
        self.assertEqual(counts[0], counts[1], counts)

    def test_a_charge_billed_by_another_run_meanwhile_is_not_billed_again(self):
        """March's fee and share are left to bill in the runs of March and April alike: the
        run generated second leaves the account out, named, instead of billing them twice."""
        march = self.new_run(accounts=self.account2)
        april = self.new_run(date(2026, 4, 1), accounts=self.account2)
        march.action_compute()
        april.action_compute()
        self.assertEqual(len(april.line_ids), 2)
        march.action_generate()
        april.action_generate()
        self.assertEqual(len(march.bill_ids), 1)
        self.assertFalse(april.bill_ids)
        self.assertIn("changed since the bill was computed", april.issues)
        april_again = self.new_run(date(2026, 4, 1), accounts=self.account2)
        april_again.action_compute()
        self.assertFalse(april_again.line_ids)  # nothing left to bill

    def test_generate_needs_a_computation(self):
        run = self.new_run()
        with self.assertRaisesRegex(UserError, "Compute the bills"):
            run.action_generate()

    def test_arrears_list_and_xlsx_totals(self):
        run = self.new_run()
        run.action_compute()
        run.action_generate()
        # A second tenant billed for its fee only (a prepaid account with a fee to bill).
        other = self.new_run(accounts=self.account2)
        other.action_compute()
        # A prepaid account: its consumption was taken from the wallet, only the rest is billed.
        self.assertEqual(sorted(other.line_ids.mapped("kind")), ["fee", "share"])
        other.action_generate()
        bills = run.bill_ids | other.bill_ids
        self.assertEqual(len(bills), 2)
        # The tenant pays part of the first bill.
        invoice = run.bill_ids.move_id
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({"amount": 100.0, "payment_date": date(2026, 4, 2)})._create_payments()
        self.assertEqual(run.bill_ids.payment_state, "partial")
        with freeze_time("2026-04-10"):
            export = (
                self.env["prepaid.bill.arrears.export"]
                .with_user(self.operator_user)
                .create({"date": date(2026, 4, 10)})
            )
            export.action_export()
        book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(export.file_data)))
        rows = list(book.active.iter_rows(min_row=2, values_only=True))
        ours = [row for row in rows[:-1] if row[4] in bills.move_id.mapped("name")]
        self.assertEqual(len(ours), 2)
        by_invoice = {row[4]: row for row in ours}
        first = by_invoice[invoice.name]
        self.assertAlmostEqual(first[7], invoice.amount_total - 100.0, places=2)
        # Due on the invoice date (immediate): 2026-03-31 -> 10 days overdue on April 10.
        self.assertEqual(first[5].date(), date(2026, 3, 31))
        self.assertEqual(first[8], 10)
        total_row = rows[-1]
        self.assertEqual(total_row[0], "Total")
        # The unpaid bills the operator sees (the accounts of their sites; not the demo's).
        all_bills = (
            self.env["prepaid.bill"]
            .with_user(self.operator_user)
            .search([("payment_state", "in", ("not_paid", "partial")), ("amount_residual", ">", 0)])
        )
        self.assertAlmostEqual(total_row[7], sum(all_bills.mapped("amount_residual")), places=2)
        self.assertAlmostEqual(total_row[7], sum(row[7] for row in rows[:-1]), places=2)
        # A paid bill leaves the list.
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=other.bill_ids.move_id.ids
        ).create({"payment_date": date(2026, 4, 2)})._create_payments()
        self.assertNotIn(other.bill_ids, self.env["prepaid.bill"].search(export._get_domain()))

    def test_send_bills_by_mail(self):
        run = self.new_run()
        run.action_compute()
        run.action_generate()
        invoice = run.bill_ids.move_id
        run.action_send()
        self.assertTrue(invoice.is_move_sent)
        mail = self.env["mail.message"].search(
            [
                ("model", "=", "account.move"),
                ("res_id", "=", invoice.id),
                ("message_type", "=", "comment"),
            ]
        )
        self.assertIn(self.tenant, mail.partner_ids)


@tagged("post_install", "-at_install")
class TestBillAccess(PrepaidAccessTestMixin, PrepaidBillCommon, HttpCase):
    def test_operators_read_and_only_managers_bill(self):
        run = self.new_run()
        run.action_compute()
        self.assertWriteRefused(
            self.operator_user, self.account, {"late_fee_rate": 1.0, "late_fee_cap": 9.0}, MANAGERS
        )
        operator_run = run.with_user(self.operator_user)
        self.assertEqual(operator_run.line_ids.mapped("amount"), run.line_ids.mapped("amount"))
        for method in ("action_compute", "action_generate", "action_send"):
            self.assertRefused(self.operator_user, run, method, message=MANAGERS)
        with self.assertRaisesRegex(xmlrpc.client.Fault, MANAGERS):
            self.rpc(self.operator_user, "prepaid.bill.run", "create", [{"month": "2026-03-01"}])
        self.assertFalse(run.bill_ids)
        # Nothing written by RPC either: the lines and bills are the process's.
        self.assertRpcRefused(
            self.manager_user, run.line_ids[:1], "write", ({"amount": 0.0},), "kept by the system"
        )
        run.action_generate()
        self.assertRpcRefused(
            self.manager_user,
            run.bill_ids,
            "write",
            ({"month": "2026-04-01"},),
            "kept by the system",
        )
        bills = self.rpc(
            self.operator_user,
            "prepaid.bill",
            "search_read",
            [("id", "in", run.bill_ids.ids)],
            fields=["amount_residual", "days_overdue"],
        )
        self.assertEqual(bills[0]["amount_residual"], run.bill_ids.amount_residual)
        # An operator of other sites sees neither the tenant's account nor its bills.
        stranger = new_test_user(
            self.env,
            login="bill_other_operator",
            groups="base.group_user,prepaid_meter.prepaid_meter_group_operator",
        )
        self.assertFalse(
            self.rpc(stranger, "prepaid.bill", "search", [("id", "in", run.bill_ids.ids)])
        )

    def test_the_tenant_sees_the_bill_on_the_portal(self):
        run = self.new_run()
        run.action_compute()
        run.action_generate()
        invoice = run.bill_ids.move_id.sudo()
        new_test_user(
            self.env,
            login="bill_portal_tenant",
            groups="base.group_portal",
            partner_id=self.tenant.id,
        )
        other = self.env["res.partner"].create({"name": "Another tenant"})
        new_test_user(
            self.env, login="bill_portal_other", groups="base.group_portal", partner_id=other.id
        )
        self.authenticate("bill_portal_tenant", "bill_portal_tenant")
        listing = self.url_open("/my/invoices")
        self.assertEqual(listing.status_code, 200)
        self.assertIn(invoice.name, listing.text)
        page = self.url_open(f"/my/invoices/{invoice.id}")
        self.assertEqual(page.status_code, 200)
        self.assertIn(invoice.name, page.text)
        # Another tenant does not see it.
        self.authenticate("bill_portal_other", "bill_portal_other")
        self.assertNotIn(invoice.name, self.url_open("/my/invoices").text)
        refused = self.url_open(f"/my/invoices/{invoice.id}", allow_redirects=False)
        self.assertNotEqual(refused.status_code, 200)
