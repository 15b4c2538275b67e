from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, HttpCase, tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.prepaid_meter.tests.common import PrepaidAccessTestMixin, PrepaidMeterTestMixin

from .test_topup import PrepaidTopupCommon

MANAGERS = "Manager"


class PrepaidRefundCommon(PrepaidTopupCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.prepaid_refund_manager_limit = 500.0
        # Billing on the meter: a meter that keeps its balance, no keypad (credit writes).
        cls.balance_meter = cls._create_meter()
        cls.meter_account = cls._create_account(
            meters=cls.balance_meter, billing_mode="prepaid_meter"
        )
        cls.meter_account.action_open()

    def _refund(self, account, amount, user=None, submit=True, **values):
        """A refund from the account form, as ``user`` (the operator by default)."""
        user = user or self.operator_user
        form = Form(
            self.env["prepaid.refund"].with_user(user).with_context(default_account_id=account.id)
        )
        form.amount = amount
        form.reason = values.pop("reason", "Tenant moves out")
        for name, value in values.items():
            setattr(form, name, value)
        refund = form.save()
        if submit:
            refund.action_submit()
        return refund


@tagged("post_install", "-at_install")
class TestRefund(PrepaidRefundCommon):
    def test_refund_of_a_platform_account(self):
        self._sell(self.account, 100.0)
        refund = self._refund(self.account, 40.0, payment_method="bank_transfer")
        self.assertRecordValues(
            refund,
            [
                {
                    "state": "paid",
                    "paid_by_id": self.operator_user.id,
                    "submitted_by_id": self.operator_user.id,
                    "balance_after": 60.0,
                }
            ],
        )
        self.assertTrue(refund.name.startswith("REF/"))
        self.assertRecordValues(
            refund.ledger_line_id,
            [
                {
                    "kind": "refund",
                    "amount": -40.0,
                    "idempotency_key": f"refund:{refund.id}",
                    "res_model": "prepaid.refund",
                    "res_id": refund.id,
                    "description": "Tenant moves out",
                }
            ],
        )
        self.assertEqual(self.account.balance, 60.0)
        self.assertEqual(self.account.refund_count, 1)
        self.assertEqual(
            self.account.action_view_refunds()["domain"], [("account_id", "=", self.account.id)]
        )
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("prepaid_billing.prepaid_refund_report", refund.ids)[0]
            .decode()
        )
        self.assertIn(refund.name, html)
        self.assertIn("Tenant moves out", html)

    def test_over_refund_is_refused(self):
        self._sell(self.account, 50.0)
        for amount in (50.01, 80.0):
            with self.subTest(amount=amount), self.assertRaisesRegex(UserError, "50.00 to refund"):
                self._refund(self.account, amount)
        self.assertEqual(self.account.balance, 50.0)
        self.assertEqual(len(self.account.ledger_line_ids), 1)
        with self.assertRaisesRegex(ValidationError, "positive"):
            self._refund(self.account, -5.0)

    def test_a_refund_submitted_twice_pays_once(self):
        self._sell(self.account, 30.0)
        refund = self._refund(self.account, 30.0)
        refund.action_submit()  # a double click
        refund._pay_out()  # and a replayed pay-out: the ledger key holds
        self.assertEqual(self.account.balance, 0.0)
        self.assertEqual(len(self.account.ledger_line_ids.filtered(lambda r: r.amount < 0)), 1)
        # A second refund of the same credit finds nothing left.
        with self.assertRaisesRegex(UserError, "0.00 to refund"):
            self._refund(self.account, 30.0)

    def test_refunds_above_the_limit_need_a_manager(self):
        self._sell(self.account, 800.0)
        refund = self._refund(self.account, 600.0, submit=False)
        self.assertTrue(refund.needs_manager)
        with self.assertRaisesRegex(AccessError, MANAGERS):
            refund.action_submit()
        self.assertEqual((refund.state, self.account.balance), ("draft", 800.0))
        refund.with_user(self.manager_user).action_submit()
        self.assertEqual((refund.state, self.account.balance), ("paid", 200.0))
        # At or below the limit, operators refund.
        self.assertEqual(self._refund(self.account, 200.0).state, "paid")

    def test_refund_of_a_reversed_topup_is_refused(self):
        topup = self._sell(self.account, 70.0)
        topup.with_user(self.manager_user).action_reverse("Wrong account")
        with self.assertRaisesRegex(UserError, "was reversed"):
            self._refund(self.account, 70.0, topup_id=topup)
        # Its money is gone from the wallet: nothing left to refund either.
        with self.assertRaisesRegex(UserError, "0.00 to refund"):
            self._refund(self.account, 70.0)
        self.assertEqual(self.account.balance, 0.0)

    def test_refund_of_a_topup(self):
        topup = self._sell(self.account, 70.0)
        self._sell(self.account, 100.0)
        refund = self._refund(self.account, 50.0, topup_id=topup)
        self.assertEqual(refund.ledger_line_id.corrected_line_id, topup.ledger_line_id)
        with self.assertRaisesRegex(UserError, "20.00 left to refund"):
            self._refund(self.account, 30.0, topup_id=topup)
        # A refunded top-up is not reversed as well: that would pay it back twice.
        with self.assertRaisesRegex(UserError, "pay back twice"):
            topup.with_user(self.manager_user).action_reverse("Mistake")
        self.assertEqual(self.account.balance, 120.0)

    def test_meter_side_refund_takes_the_credit_back_first(self):
        topup = self._sell(self.meter_account, 40.0)
        topup.with_user(self.operator_user).action_mark_delivered()
        refund = self._refund(self.meter_account, 15.0)
        # The meter is asked for the credit back; nothing is paid out yet.
        self.assertEqual(refund.state, "to_withdraw")
        withdrawal = self.balance_meter._get_hardware_action_summary("write_credit", amount=-15.0)
        self.assertIn(withdrawal, self.balance_meter.activity_ids.mapped("summary"))
        self.assertEqual(self.meter_account.balance, 40.0)
        self.assertFalse(refund.ledger_line_id)
        # A second refund cannot take what the first one is withdrawing.
        with self.assertRaisesRegex(UserError, "25.00 to refund"):
            self._refund(self.meter_account, 30.0)
        with self.assertRaisesRegex(UserError, "Withdrawn|To Withdraw"):
            self._refund(self.meter_account, 5.0, submit=False).action_confirm_withdrawal()
        refund.with_user(self.operator_user).action_confirm_withdrawal()
        self.assertRecordValues(refund, [{"state": "paid", "balance_after": 25.0}])
        self.assertTrue(refund.withdrawn_at)
        self.assertEqual(refund.ledger_line_id.utility, "electricity")
        refund.with_user(self.operator_user).action_confirm_withdrawal()  # replayed: no-op
        self.assertEqual(self.meter_account.balance, 25.0)

    def test_a_withdrawal_the_meter_refused_is_cancelled_by_a_manager(self):
        self._sell(self.meter_account, 40.0)
        refund = self._refund(self.meter_account, 10.0)
        with self.assertRaisesRegex(AccessError, MANAGERS):
            refund.with_user(self.operator_user).action_cancel()
        refund.with_user(self.manager_user).action_cancel()
        self.assertEqual((refund.state, self.meter_account.balance), ("cancelled", 40.0))

    def test_a_full_refund_closes_the_account(self):
        self._sell(self.account, 35.0)
        with self.assertRaisesRegex(AccessError, MANAGERS):
            self._refund(self.account, 35.0, close_account=True)
        partial = self.env["prepaid.refund"].create(
            {"account_id": self.account.id, "amount": 20.0, "reason": "x", "close_account": True}
        )
        with self.assertRaisesRegex(UserError, "whole balance"):
            partial.with_user(self.manager_user).action_submit()
        refund = self._refund(self.account, 35.0, user=self.manager_user, close_account=True)
        self.assertEqual(refund.state, "paid")
        self.assertEqual((self.account.state, self.account.balance), ("closed", 0.0))

    def test_a_closed_account_pays_out_what_it_holds(self):
        self._sell(self.account, 25.0)
        self.account.with_user(self.manager_user).action_close()
        refund = self._refund(self.account, 25.0)
        self.assertEqual((refund.state, self.account.balance), ("paid", 0.0))

    def test_a_submitted_refund_is_fixed(self):
        self._sell(self.account, 25.0)
        refund = self._refund(self.account, 10.0)
        with self.assertRaisesRegex(AccessError, "kept by the system"):
            refund.with_user(self.manager_user).write({"amount": 1.0})
        with self.assertRaisesRegex(UserError, "never deleted"):
            refund.with_user(self.manager_user).unlink()


@tagged("post_install", "-at_install")
class TestRefundAccess(PrepaidAccessTestMixin, PrepaidRefundCommon, HttpCase):
    def test_refunds_through_the_external_api(self):
        self._sell(self.account, 900.0)
        refund_id = self.rpc(
            self.operator_user,
            "prepaid.refund",
            "create",
            {"account_id": self.account.id, "amount": 600.0, "reason": "Moving out"},
        )
        refund = self.env["prepaid.refund"].browse(refund_id)
        self.assertRefused(self.operator_user, refund, "action_submit", (), MANAGERS)
        for user in (self.operator_user, self.manager_user):
            self.assertWriteRefused(
                user, refund, {"state": "paid", "ledger_line_id": False}, "kept by the system"
            )
            for method in ("_submit", "_pay_out", "_on_withdrawn"):
                self.assertRpcRefused(user, refund, method, (), "cannot be called remotely")
        self.assertEqual((refund.state, self.account.balance), ("draft", 900.0))
        self.rpc(self.manager_user, "prepaid.refund", "action_submit", [refund_id])
        self.assertEqual((refund.state, self.account.balance), ("paid", 300.0))
        # Operators refund up to the limit over RPC too.
        small = self.rpc(
            self.operator_user,
            "prepaid.refund",
            "create",
            {"account_id": self.account.id, "amount": 100.0, "reason": "Overpaid"},
        )
        self.rpc(self.operator_user, "prepaid.refund", "action_submit", [small])
        self.assertEqual(self.account.balance, 200.0)


@tagged("post_install", "-at_install")
class TestRefundAccounting(PrepaidMeterTestMixin, AccountTestInvoicingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(su=True)
        cls._setup_prepaid_registry()
        cls.company = cls.env.company
        cls.account = cls._create_open_account()

    def test_a_refund_is_an_outbound_payment_against_the_prepayments(self):
        counter = (
            self.env["prepaid.topup.counter"]
            .with_user(self.operator_user)
            .create({"account_id": self.account.id, "amount": 120.0})
        )
        counter.action_sell()
        refund = (
            self.env["prepaid.refund"]
            .with_user(self.operator_user)
            .create(
                {
                    "account_id": self.account.id,
                    "amount": 45.0,
                    "reason": "Overpaid",
                    "payment_method": "bank_transfer",
                }
            )
        )
        refund.action_submit()
        company = self.company
        self.assertRecordValues(
            refund.payment_id,
            [
                {
                    "payment_type": "outbound",
                    "amount": 45.0,
                    "partner_id": self.tenant.id,
                    "journal_id": company.prepaid_bank_journal_id.id,
                    "destination_account_id": company.prepaid_prepayment_account_id.id,
                }
            ],
        )
        figures = self.env["prepaid.ledger.accounting"]._get_prepayment_figures(company)[company]
        self.assertEqual((figures["wallets"], figures["accounting"]), (75.0, 75.0))
        self.assertEqual(figures["difference"], 0.0)
