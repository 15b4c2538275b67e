"""Debt recovery on top-ups (IEC 61968-9 auxiliary agreements): the split of each top-up, the
debt ending exactly, arrears, minimum, fixed amounts and priorities, the cut-off threshold
kept, reversal, the receipt, and who may do what through the external API."""

from datetime import date, timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, tagged

from odoo.addons.prepaid_meter.tests.common import PrepaidAccessTestMixin

from .test_fee import PrepaidFeeCommon


class PrepaidDebtCommon(PrepaidFeeCommon):
    @classmethod
    def _create_debt(cls, amount=50.0, **values):
        return cls.env["prepaid.debt"].create(
            {"name": "Property fees 2025", "account_id": cls.account.id, "amount": amount, **values}
        )

    def sell(self, amount, account=None):
        account = account or self.account
        topup = self.env["prepaid.topup"].create(
            {
                "account_id": account.id,
                "amount": amount,
                "payment_method": "cash",
                "company_id": account.company_id.id,
            }
        )
        topup.action_confirm_payment()
        return topup


@tagged("post_install", "-at_install")
class TestDebtRecovery(PrepaidDebtCommon):
    def test_a_30_percent_portion_ends_a_debt_of_50_exactly(self):
        debt = self._create_debt(amount=50.0, percent=30.0)
        first = self.sell(100.0)
        self.assertRecordValues(
            first, [{"debt_recovered_amount": 30.0, "energy_amount": 70.0, "state": "delivered"}]
        )
        self.assertEqual(self.account.balance, 70.0)
        self.assertRecordValues(debt, [{"recovered_amount": 30.0, "residual": 20.0}])
        line = first.debt_recovery_ids.ledger_line_id
        self.assertRecordValues(line, [{"kind": "fee", "amount": -30.0, "balance_after": 70.0}])
        self.assertEqual(line.idempotency_key, f"debt:{debt.id}:topup:{first.id}")
        second = self.sell(100.0)
        self.assertEqual(second.debt_recovered_amount, 20.0)
        self.assertRecordValues(debt, [{"residual": 0.0, "state": "done"}])
        third = self.sell(100.0)
        self.assertFalse(third.debt_recovery_ids)
        self.assertEqual(third.energy_amount, 100.0)
        self.assertEqual(self.account.balance, 250.0)
        self.assertFalse(self.account._check_ledger_balances())
        # The receipt shows the split.
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("prepaid_billing.prepaid_topup_report", first.ids)[0]
            .decode()
        )
        self.assertIn("Debt recovered", html)
        self.assertIn("Property fees 2025", html)
        self.assertIn("Credit for energy", html)
        self.assertRegex(html, r"70\.00")

    def test_arrears_minimum_fixed_and_priority(self):
        late = self._create_debt(
            amount=500.0,
            percent=10.0,
            arrears_percent=40.0,
            date_due=date.today() - timedelta(days=1),
            priority=1,
        )
        fixed = self._create_debt(
            name="Damages", amount=500.0, mode="fixed", fixed_amount=25.0, priority=2
        )
        small = self._create_debt(name="Key", amount=3.0, percent=1.0, min_amount=5.0, priority=3)
        topup = self.sell(100.0)
        self.assertEqual(
            [(r.debt_id, r.amount) for r in topup.debt_recovery_ids.sorted("id")],
            [(late, 40.0), (fixed, 25.0), (small, 3.0)],  # the minimum, capped by the debt
        )
        self.assertEqual(topup.energy_amount, 32.0)
        self.assertEqual(small.state, "done")
        # Not in arrears any more: the normal portion.
        late.date_due = date.today() + timedelta(days=30)
        self.assertEqual(
            self.sell(100.0).debt_recovery_ids.filtered(lambda r: r.debt_id == late).amount, 10.0
        )

    def test_recovery_never_takes_the_credit_to_the_cutoff_threshold(self):
        self.debit(self.account, 80.0)  # energy debt: -80, cut off
        self.assertEqual(self.account.cutoff_state, "cut")
        self._create_debt(amount=100.0, percent=30.0)
        topup = self.sell(100.0)
        # 20 above the threshold after the top-up: 20 to the debt, not 30.
        self.assertEqual(topup.debt_recovered_amount, 20.0)
        self.assertEqual(self.account.balance, 0.0)
        # Reconnected by the top-up; the recovery (a fee) does not cut again.
        self.assertEqual(self.account.cutoff_state, "supplied")
        self.assertEqual(
            self.account.supply_decision_ids.sorted("id").mapped("decision"), ["cut", "reconnect"]
        )

    def test_a_reversed_topup_gives_the_debt_back(self):
        debt = self._create_debt(amount=50.0, percent=30.0)
        self.credit(self.account, 10.0)
        topup = self.sell(100.0)
        self.assertEqual(self.account.balance, 80.0)
        topup.action_reverse("Wrong account")
        self.assertEqual(self.account.balance, 10.0)
        self.assertRecordValues(debt, [{"recovered_amount": 0.0, "residual": 50.0}])
        recovery = topup.debt_recovery_ids
        self.assertRecordValues(
            recovery.reversal_line_id,
            [{"kind": "reversal", "amount": 30.0, "corrected_line_id": recovery.ledger_line_id.id}],
        )
        self.assertFalse(self.account._check_ledger_balances())

    def test_fee_charges_left_to_bill_are_settled_by_the_recovery(self):
        fee = self._create_fee(amount=60.0, charge_mode="bill")
        charge = self.charge(fee, date(2026, 3, 1))
        debt = self._create_debt(
            name="March fees", amount=60.0, percent=50.0, fee_charge_ids=[Command.set(charge.ids)]
        )
        self.sell(40.0)
        self.assertRecordValues(charge, [{"recovered_amount": 20.0, "residual": 40.0}])
        self.assertEqual(self.account.fee_due, 40.0)
        self.assertEqual(self.account.debt_residual, 40.0)
        self.assertEqual(
            self.env["prepaid.debt"].search(self.account.action_view_debts()["domain"]), debt
        )
        self.assertEqual(
            self.env["prepaid.fee.charge"].search(self.account.action_view_fee_charges()["domain"]),
            charge,
        )
        self.sell(100.0)
        self.assertRecordValues(charge, [{"residual": 0.0, "state": "paid"}])
        self.assertEqual(debt.state, "done")

    def test_bad_agreements_are_refused(self):
        with self.assertRaises(ValidationError):
            self._create_debt(mode="fixed", fixed_amount=0.0)
        postpaid = self._create_open_account(
            room=self._create_room("Test Room 109"), billing_mode="postpaid"
        )
        with self.assertRaises(ValidationError):
            self._create_debt(account_id=postpaid.id)
        debt = self._create_debt(amount=50.0)
        self.sell(100.0)
        with self.assertRaises(ValidationError):
            debt.amount = 10.0  # less than recovered
        with self.assertRaises(UserError):
            debt.unlink()


@tagged("post_install", "-at_install")
class TestDebtAccess(PrepaidAccessTestMixin, PrepaidDebtCommon, HttpCase):
    def test_managers_write_agreements_the_service_recovers(self):
        with self.assertRaises(AccessError):
            self.env["prepaid.debt"].with_user(self.operator_user).create(
                {"name": "Forged", "account_id": self.account.id, "amount": 10.0}
            )
        debt_id = self.rpc(
            self.manager_user,
            "prepaid.debt",
            "create",
            {"name": "Arrears", "account_id": self.account.id, "amount": 50.0, "percent": 30.0},
        )
        debt = self.env["prepaid.debt"].browse(debt_id)
        self.assertRefused(self.operator_user, debt, "write", ({"percent": 1.0},), "not allowed")
        self.assertRefused(self.operator_user, debt, "action_cancel", (), "group .*Manager")
        for user in (self.operator_user, self.manager_user):
            self.assertRefused(
                user, debt, "write", ({"recovered_amount": 50.0},), "kept by the system"
            )
        self.sell(100.0)
        # Terms are fixed once something was recovered under them.
        self.assertRefused(
            self.manager_user, debt, "write", ({"percent": 90.0},), "kept by the system"
        )
        recovery = debt.recovery_ids
        self.assertRefused(
            self.manager_user, recovery, "write", ({"amount": 1.0},), "kept by the system"
        )
        self.assertRpcRefused(
            self.manager_user, debt, "_recover_from_topup", (), "cannot be called remotely"
        )
        # Operators see the debts and the split of the accounts of their sites.
        self.assertEqual(
            self.rpc(self.operator_user, "prepaid.debt", "read", [debt.id], ["residual"])[0][
                "residual"
            ],
            20.0,
        )
        self.rpc(self.manager_user, "prepaid.debt", "action_cancel", [debt.id])
        self.assertEqual(debt.state, "cancelled")
