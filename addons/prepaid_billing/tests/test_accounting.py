from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import Form, tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.prepaid_meter.tests.common import PrepaidMeterTestMixin


@tagged("post_install", "-at_install")
class TestAccounting(PrepaidMeterTestMixin, AccountTestInvoicingCommon):
    """Odoo accounting mirrors the wallets: payments for the money, daily summary entries for
    consumption, and the prepayments account equal to the sum of the wallet balances."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The accounting test base runs as an accountant; the registry is set up by the
        # superuser, in the company of the base (with its chart of accounts).
        cls.env = cls.env(su=True)
        cls._setup_prepaid_registry()
        cls.company = cls.env.company
        cls.flat = cls._create_tariff(
            utility="electricity",
            tz="UTC",
            version_ids=[
                Command.create({"date_from": "2020-01-01", "kind": "flat", "unit_price": 0.5})
            ],
        )
        cls.account = cls._create_open_account(electricity_tariff_id=cls.flat.id)
        cls.account.date_open = date(2026, 2, 1)
        cls.meter = cls.account.meter_ids
        cls.meter.initial_reading = 0

    def _sell(self, amount, method="cash"):
        counter = (
            self.env["prepaid.topup.counter"]
            .with_user(self.operator_user)
            .create({"account_id": self.account.id, "amount": amount, "payment_method": method})
        )
        counter.action_sell()
        return counter.topup_id

    def figures(self):
        return self.env["prepaid.ledger.accounting"]._get_prepayment_figures(self.company)[
            self.company
        ]

    def test_accounts_and_journals_are_set_up_once(self):
        company = self.company._prepaid_get_accounting()
        self.assertEqual(company.prepaid_prepayment_account_id.account_type, "liability_current")
        self.assertEqual(company.prepaid_revenue_electricity_account_id.account_type, "income")
        self.assertEqual(company.prepaid_cash_journal_id.type, "cash")
        self.assertEqual(company.prepaid_bank_journal_id.type, "bank")
        self.assertEqual(company.prepaid_summary_journal_id.type, "general")
        account = company.prepaid_prepayment_account_id
        self.assertEqual(
            self.company._prepaid_get_accounting().prepaid_prepayment_account_id, account
        )

    def test_a_topup_is_a_payment_against_the_prepayments(self):
        topup = self._sell(100.0, method="wechat")
        payment = topup.payment_id
        company = self.company
        self.assertRecordValues(
            payment,
            [
                {
                    "state": "in_process",
                    "payment_type": "inbound",
                    "amount": 100.0,
                    "partner_id": self.tenant.id,
                    "journal_id": company.prepaid_bank_journal_id.id,
                    "destination_account_id": company.prepaid_prepayment_account_id.id,
                }
            ],
        )
        cash = self._sell(20.0, method="cash")
        self.assertEqual(cash.payment_id.journal_id, company.prepaid_cash_journal_id)
        self.assertEqual(self.figures()["accounting"], 120.0)
        self.assertEqual(self.figures()["difference"], 0.0)

    def test_a_reversal_pays_back(self):
        topup = self._sell(50.0)
        form = Form(self.env["prepaid.topup.reverse"].with_context(default_topup_ids=topup.ids))
        form.reason = "Wrong account"
        form.save().action_reverse()
        self.assertEqual(topup.reversal_payment_id.payment_type, "outbound")
        self.assertEqual(topup.reversal_payment_id.amount, 50.0)
        self.assertEqual(self.figures(), {**self.figures(), "wallets": 0.0, "accounting": 0.0})

    def test_consumption_is_summarised_per_company_utility_and_day(self):
        self._sell(200.0)
        start = datetime(2026, 3, 1)
        self.env["prepaid.reading"]._ingest(
            [(self.meter.id, start + timedelta(hours=hour), hour * 2.5) for hour in range(5)]
        )
        self.env["prepaid.rating"]._rate_accounts(self.account)
        self.assertEqual(self.account.balance, 200.0 - 5.0)  # 10 kWh at 0.5
        # Today's consumption waits for the day to be over.
        figures = self.figures()
        self.assertEqual((figures["pending"], figures["difference"]), (-5.0, 0.0))
        Accounting = self.env["prepaid.ledger.accounting"]
        self.assertFalse(Accounting._cron_post_daily_summaries())
        moves = Accounting._cron_post_daily_summaries(today=date.today() + timedelta(days=1))
        self.assertEqual(len(moves), 1)  # one entry for the 4 consumption lines of the day
        self.assertEqual(moves.state, "posted")
        revenue = moves.line_ids.filtered(
            lambda line: line.account_id == self.company.prepaid_revenue_electricity_account_id
        )
        self.assertEqual(revenue.credit, 5.0)
        figures = self.figures()
        self.assertEqual((figures["accounting"], figures["pending"]), (195.0, 0.0))
        self.assertEqual(figures["wallets"], figures["accounting"])
        # Summarised once: nothing more the next night.
        self.assertFalse(
            Accounting._cron_post_daily_summaries(today=date.today() + timedelta(days=2))
        )
        lines = self.account.ledger_line_ids.filtered(lambda line: line.kind == "consumption")
        self.assertEqual(lines.move_id, moves)

    def test_adjustments_go_to_the_adjustment_account(self):
        self._sell(30.0)
        self.env["prepaid.ledger"]._post(
            [{"account": self.account, "kind": "adjustment", "amount": 4.0, "key": "goodwill"}]
        )
        moves = self.env["prepaid.ledger.accounting"]._cron_post_daily_summaries(
            today=date.today() + timedelta(days=1)
        )
        adjustment = moves.line_ids.filtered(
            lambda line: line.account_id == self.company.prepaid_adjustment_account_id
        )
        self.assertEqual(adjustment.debit, 4.0)
        self.assertEqual(self.figures()["difference"], 0.0)
        self.assertEqual(self.figures()["wallets"], 34.0)

    def test_the_check_report(self):
        self._sell(10.0)
        check = Form(self.env["prepaid.prepayment.check"].with_user(self.manager_user)).save()
        line = check.line_ids.filtered(lambda line: line.company_id == self.company)
        self.assertRecordValues(
            line, [{"wallets": 10.0, "accounting": 10.0, "pending": 0.0, "difference": 0.0}]
        )

    def test_tax_included_tariffs_split_the_tax_out_of_the_revenue(self):
        # A 13 % VAT included in the prices, on the generic chart's sales tax account.
        vat = self.company_data["default_tax_sale"].copy(
            {"name": "VAT 13% included", "amount": 13.0, "price_include_override": "tax_included"}
        )
        tax_account = vat.invoice_repartition_line_ids.filtered(
            lambda rep: rep.repartition_type == "tax"
        ).account_id
        self.assertTrue(tax_account)
        self.company.prepaid_electricity_tax_id = vat
        self._sell(200.0)
        start = datetime(2026, 3, 1)
        # 40 kWh at 0.50 (tax included): 20.00 = 17.70 net + 2.30 VAT.
        self.env["prepaid.reading"]._ingest(
            [(self.meter.id, start + timedelta(hours=hour), hour * 10.0) for hour in range(5)]
        )
        self.env["prepaid.rating"]._rate_accounts(self.account)
        self.assertEqual(self.account.balance, 180.0)
        move = self.env["prepaid.ledger.accounting"]._cron_post_daily_summaries(
            today=date.today() + timedelta(days=1)
        )
        self.assertEqual(move.state, "posted")
        company = self.company
        by_account = {line.account_id: line for line in move.line_ids}
        self.assertEqual(len(move.line_ids), 3)
        self.assertEqual(by_account[company.prepaid_prepayment_account_id].debit, 20.0)
        revenue = by_account[company.prepaid_revenue_electricity_account_id]
        self.assertRecordValues(revenue, [{"credit": 17.70, "tax_ids": vat.ids}])
        self.assertRecordValues(by_account[tax_account], [{"credit": 2.30, "tax_line_id": vat.id}])
        figures = self.figures()
        self.assertEqual((figures["wallets"], figures["accounting"]), (180.0, 180.0))
        self.assertEqual(figures["difference"], 0.0)

    def test_water_without_tax_keeps_one_revenue_line(self):
        vat = self.company_data["default_tax_sale"].copy(
            {"name": "VAT 13% included", "amount": 13.0, "price_include_override": "tax_included"}
        )
        self.company.prepaid_electricity_tax_id = vat
        lines = self.env["prepaid.ledger.accounting"]._get_summary_counterpart_lines(
            self.company._prepaid_get_accounting(), True, "water", -9.0
        )
        self.assertEqual(
            lines,
            [{"account_id": self.company.prepaid_revenue_water_account_id.id, "balance": -9.0}],
        )

    def test_monthly_invoice_paid_by_the_prepayment(self):
        vat = self.company_data["default_tax_sale"].copy(
            {"name": "VAT 13% included", "amount": 13.0, "price_include_override": "tax_included"}
        )
        self.company.prepaid_electricity_tax_id = vat
        with self.assertRaises(AccessError):
            self.account.with_user(self.operator_user).invoice_consumption = True
        self.account.with_user(self.manager_user).invoice_consumption = True
        other = self._create_open_account(electricity_tariff_id=self.flat.id)
        other.date_open = date(2026, 2, 1)
        self._sell(200.0)
        self.env["prepaid.topup.counter"].with_user(self.operator_user).create(
            {"account_id": other.id, "amount": 50.0}
        ).action_sell()
        self.env["prepaid.ledger"]._post(
            [{"account": other, "kind": "consumption", "amount": -4.0, "key": "other-use"}]
        )
        start = datetime(2026, 3, 1)
        self.env["prepaid.reading"]._ingest(
            [(self.meter.id, start + timedelta(hours=hour), hour * 10.0) for hour in range(5)]
        )
        self.env["prepaid.rating"]._rate_accounts(self.account)
        self.assertEqual(self.account.balance, 180.0)  # 40 kWh at 0.50, tax included
        tomorrow = date.today() + timedelta(days=1)
        Accounting = self.env["prepaid.ledger.accounting"]
        Invoicing = self.env["prepaid.finance.invoice"]
        summaries = Accounting._cron_post_daily_summaries(today=tomorrow)
        company = self.company
        unbilled = company.prepaid_unbilled_account_id
        # The invoiced account's consumption waits in the unbilled consumption; the other
        # account's goes to the revenue as before.
        self.assertEqual(
            sum(
                summaries.line_ids.filtered(lambda line: line.account_id == unbilled).mapped(
                    "credit"
                )
            ),
            20.0,
        )
        revenue = company.prepaid_revenue_electricity_account_id
        self.assertEqual(
            sum(
                summaries.line_ids.filtered(lambda line: line.account_id == revenue).mapped(
                    "credit"
                )
            ),
            4.0,
        )
        # Not before the month is over.
        self.assertFalse(Invoicing._cron_invoice_months(today=date.today()))
        next_month = date.today().replace(day=1) + relativedelta(months=1)
        invoice = Invoicing._cron_invoice_months(today=next_month)
        self.assertRecordValues(
            invoice,
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": self.tenant.id,
                    "state": "posted",
                    "amount_total": 20.0,
                    "amount_untaxed": 17.70,
                    "amount_tax": 2.30,
                    "payment_state": "paid",
                    "prepaid_account_id": self.account.id,
                }
            ],
        )
        self.assertEqual(invoice.invoice_line_ids.tax_ids, vat)
        lines = self.account.ledger_line_ids.filtered(lambda line: line.kind == "consumption")
        self.assertEqual(lines.invoice_id, invoice)
        self.assertFalse(Invoicing._cron_invoice_months(today=next_month))  # invoiced once
        balance = sum(
            self.env["account.move.line"]
            .search([("account_id", "=", unbilled.id), ("parent_state", "=", "posted")])
            .mapped("balance")
        )
        self.assertEqual(balance, 0.0)
        figures = self.figures()
        self.assertEqual((figures["wallets"], figures["accounting"]), (226.0, 226.0))
        self.assertEqual(figures["difference"], 0.0)
