"""Custom fee items: periods prorated by day, idempotent reruns, wallet or bill, the cut-off
threshold kept (Civil Code art. 944), flagged bad data, the scheduled action, and who may do
what through the external API."""

from datetime import date
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, tagged

from odoo.addons.prepaid_meter.tests.common import PrepaidAccessTestMixin

from .alarm_common import PrepaidAlarmCommon

MANAGERS = "group .*Manager"


class PrepaidFeeCommon(PrepaidAlarmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.room.floor_area = 45.5
        cls.account.sudo().date_open = date(2025, 1, 1)

    @classmethod
    def _create_fee(cls, **values):
        return cls.env["prepaid.fee.item"].create(
            {
                "name": "Test property fee",
                "kind": "property",
                "amount": 310.0,
                "date_from": date(2025, 1, 1),
                "site_ids": [Command.set(cls.building.ids)],
                **values,
            }
        )

    def charge(self, fee, day):
        """Charge ``fee`` for the period of ``day`` as the test user; return the new charges."""
        before = fee.charge_ids
        fee.action_charge(day)
        fee.invalidate_recordset(["charge_ids"])
        return fee.charge_ids - before

    def fee_lines(self, account=None):
        return (account or self.account).ledger_line_ids.filtered(lambda line: line.kind == "fee")


@tagged("post_install", "-at_install")
class TestFee(PrepaidFeeCommon):
    def test_a_month_is_prorated_by_day_and_charged_once(self):
        self.credit(self.account, 1000.0)
        self.account.sudo().date_open = date(2026, 1, 21)  # moved in: 11 days of 31
        fee = self._create_fee()
        charges = self.charge(fee, date(2026, 1, 5))
        self.assertRecordValues(
            charges,
            [
                {
                    "account_id": self.account.id,
                    "period_key": "2026-01",
                    "days": 11,
                    "period_days": 31,
                    "amount": 110.0,
                    "wallet_amount": 110.0,
                    "billed_amount": 0.0,
                    "residual": 0.0,
                    "state": "paid",
                }
            ],
        )
        self.assertEqual(charges.ledger_line_id.amount, -110.0)
        self.assertEqual(charges.ledger_line_id.idempotency_key, f"fee:{fee.id}:2026-01")
        self.assertEqual(self.account.balance, 890.0)
        # Rerun the same period (the button twice, the cron after the button): nothing new.
        self.assertFalse(self.charge(fee, date(2026, 1, 31)))
        self.assertFalse(fee.sudo()._charge_period(date(2026, 1, 20)))
        self.assertEqual(len(self.fee_lines()), 1)
        self.assertEqual(self.account.balance, 890.0)
        # February 2026: the whole month.
        february = self.charge(fee, date(2026, 2, 14))
        self.assertRecordValues(february, [{"days": 28, "period_days": 28, "amount": 310.0}])
        self.assertEqual(self.account.balance, 580.0)
        self.assertFalse(self.account._check_ledger_balances())

    def test_move_out_in_a_leap_february_and_a_30_day_month(self):
        fee = self._create_fee(amount=290.0, charge_mode="bill")
        self.account.sudo().write({"state": "closed", "date_closed": date(2028, 2, 14)})
        charge = self.charge(fee, date(2028, 2, 1))
        self.assertRecordValues(
            charge,
            [{"days": 14, "period_days": 29, "amount": 140.0, "billed_amount": 140.0}],
        )
        self.assertFalse(charge.ledger_line_id)
        # Moved out before the period: nothing.
        self.assertFalse(self.charge(fee, date(2028, 3, 1)))
        # Moved in on April 16th (30 days): 15 days.
        other = self._create_open_account(room=self._create_room("Test Room 102"))
        other.sudo().date_open = date(2026, 4, 16)
        april = self.charge(fee, date(2026, 4, 30)).filtered(lambda c: c.account_id == other)
        self.assertRecordValues(april, [{"days": 15, "period_days": 30, "amount": 145.0}])

    def test_per_square_metre_quarterly_and_per_unit(self):
        self.credit(self.account, 2000.0)
        per_m2 = self._create_fee(amount_type="area", amount=2.0, recurrence="quarterly")
        charge = self.charge(per_m2, date(2026, 5, 1))
        self.assertRecordValues(
            charge, [{"period_key": "2026-Q2", "basis": 45.5, "amount": 91.0, "days": 91}]
        )
        parking = self._create_fee(
            name="Parking",
            kind="rent",
            amount_type="unit",
            amount=150.0,
            site_ids=[],
            assignment_ids=[Command.create({"account_id": self.account.id, "quantity": 2})],
        )
        charge = self.charge(parking, date(2026, 5, 1))
        self.assertRecordValues(charge, [{"basis": 2.0, "amount": 300.0}])
        # Accounts of other sites are not charged.
        elsewhere = self._create_open_account(
            room=self._create_room(
                "Elsewhere",
                floor=self._create_site(
                    "Other floor",
                    "floor",
                    parent=self._create_site("Other", "building", parent=self.area),
                ),
            )
        )
        self.assertFalse(
            self.charge(per_m2, date(2026, 8, 1)).filtered(lambda c: c.account_id == elsewhere)
        )

    def test_a_wallet_fee_never_takes_the_credit_below_the_cutoff_threshold(self):
        self.account.cutoff_threshold = 10.0
        self.credit(self.account, 50.0)
        fee = self._create_fee(amount=100.0)
        charge = self.charge(fee, date(2026, 3, 1))
        self.assertRecordValues(
            charge,
            [
                {
                    "amount": 100.0,
                    "wallet_amount": 40.0,
                    "billed_amount": 60.0,
                    "residual": 60.0,
                    "state": "open",
                }
            ],
        )
        self.assertEqual(self.account.balance, 10.0)  # exactly the threshold
        # Only a fee brought it there: the supply stays on, no cut-off notice.
        self.assertEqual(self.account.cutoff_state, "supplied")
        self.assertFalse(self.account.supply_decision_ids)
        self.assertNotEqual(self.account.alarm_level, "cutoff")
        self.assertEqual(self.account.fee_due, 60.0)
        # Nothing left above the threshold: the next fee is billed in full.
        other = self.charge(fee, date(2026, 4, 1))
        self.assertRecordValues(other, [{"wallet_amount": 0.0, "billed_amount": 100.0}])
        self.assertFalse(other.ledger_line_id)
        self.assertEqual(self.account.cutoff_state, "supplied")
        # Energy is what cuts: the next consumption does.
        self.debit(self.account, 0.01)
        self.assertEqual(self.account.cutoff_state, "cut")

    def test_accounts_billed_elsewhere_and_billed_items_are_left_to_bill(self):
        self.credit(self.account, 1000.0)
        billed = self._create_fee(charge_mode="bill")
        charge = self.charge(billed, date(2026, 3, 1))
        self.assertRecordValues(charge, [{"wallet_amount": 0.0, "billed_amount": 310.0}])
        self.assertEqual(self.account.balance, 1000.0)
        postpaid = self._create_open_account(
            room=self._create_room("Test Room 103"), billing_mode="postpaid"
        )
        postpaid.sudo().date_open = date(2025, 1, 1)
        wallet_fee = self._create_fee(name="Garbage", kind="garbage", amount=20.0)
        charges = self.charge(wallet_fee, date(2026, 3, 1))
        self.assertRecordValues(
            charges.filtered(lambda c: c.account_id == postpaid),
            [{"wallet_amount": 0.0, "billed_amount": 20.0, "state": "open"}],
        )
        self.assertFalse(postpaid.ledger_line_ids)

    def test_a_room_without_area_is_flagged_then_charged_once_fixed(self):
        self.room.floor_area = 0.0
        self.credit(self.account, 500.0)
        fee = self._create_fee(amount_type="area", amount=2.0)
        charge = self.charge(fee, date(2026, 3, 1))
        self.assertEqual(charge.state, "flagged")
        self.assertIn("no floor area", charge.note)
        self.assertFalse(self.fee_lines())
        self.room.floor_area = 30.0
        again = self.charge(fee, date(2026, 3, 1))
        self.assertRecordValues(again, [{"state": "paid", "amount": 60.0}])
        self.assertFalse(charge.exists())
        self.assertEqual(self.account.balance, 440.0)
        # Charges are never deleted, even in sudo, once they hold money.
        with self.assertRaises(UserError):
            again.sudo().unlink()

    def test_effective_dates_and_one_off_fees(self):
        fee = self._create_fee(date_from=date(2026, 3, 10), date_to=date(2026, 4, 19))
        self.assertFalse(self.charge(fee, date(2026, 2, 1)))
        self.assertEqual(self.charge(fee, date(2026, 3, 1)).days, 22)
        self.assertEqual(self.charge(fee, date(2026, 4, 1)).days, 19)
        self.assertFalse(self.charge(fee, date(2026, 5, 1)))
        once = self._create_fee(
            name="Move-in cleaning", recurrence="once", amount=80.0, date_from=date(2026, 3, 1)
        )
        self.assertFalse(self.charge(once, date(2026, 2, 1)))
        charge = self.charge(once, date(2026, 3, 5))
        self.assertRecordValues(charge, [{"period_key": "once", "amount": 80.0}])
        self.assertFalse(self.charge(once, date(2026, 6, 5)))
        # A charged item keeps its pricing rules.
        with self.assertRaises(UserError):
            fee.recurrence = "yearly"
        fee.amount = 400.0  # the price of the next periods may change

    def test_the_scheduled_action_charges_the_periods_due(self):
        self.credit(self.account, 1000.0)
        fee = self._create_fee(charge_day=5)
        Fee = self.env["prepaid.fee.item"]
        with freeze_time("2026-03-04"):
            Fee._cron_charge_fees()
        self.assertFalse(fee.charge_ids)
        with freeze_time("2026-03-05"):
            Fee._cron_charge_fees()
            Fee._cron_charge_fees()
        self.assertEqual(fee.charge_ids.mapped("period_key"), ["2026-03"])
        self.assertEqual(self.account.balance, 690.0)

    def test_a_run_killed_midway_is_charged_exactly_once_when_rerun(self):
        accounts = self.account | self._create_open_account(room=self._create_room("R2"))
        for account in accounts:
            account.sudo().date_open = date(2025, 1, 1)
            self.credit(account, 500.0)
        property_fee = self._create_fee(amount=100.0)
        garbage = self._create_fee(name="Garbage", kind="garbage", amount=10.0)
        Ledger = type(self.env["prepaid.ledger"])
        post = Ledger._post

        def dies_on_garbage(ledger, entries):
            entries = list(entries)
            if any(entry["key"].startswith(f"fee:{garbage.id}:") for entry in entries):
                raise UserError(self.env._("worker killed"))
            return post(ledger, entries)

        Fee = self.env["prepaid.fee.item"]
        with (
            freeze_time("2026-03-02"),
            patch.object(Ledger, "_post", dies_on_garbage),
            self.assertLogs("odoo.addons.prepaid_billing.models.prepaid_fee_item", "ERROR") as logs,
        ):
            Fee._cron_charge_fees()
        self.assertIn("could not charge period 2026-03", logs.output[0])
        # The property fee was charged; nothing of the garbage fee is left, not even a charge.
        self.assertEqual(len(property_fee.charge_ids), 2)
        self.assertFalse(garbage.charge_ids)
        self.assertEqual(accounts.mapped("balance"), [400.0, 400.0])
        with freeze_time("2026-03-03"):
            Fee._cron_charge_fees()
        self.assertEqual(len(property_fee.charge_ids), 2)
        self.assertEqual(len(garbage.charge_ids), 2)
        self.assertEqual(accounts.mapped("balance"), [390.0, 390.0])
        self.assertFalse(accounts._check_ledger_balances())

    def test_a_run_costs_as_many_queries_for_2_or_8_accounts(self):
        def run(count):
            floor = self._create_site(f"Floor of {count}", "floor", parent=self.building)
            accounts = self.env["prepaid.account"].concat(
                *(
                    self._create_open_account(room=self._create_room(f"{count}-{n}", floor=floor))
                    for n in range(count)
                )
            )
            for account in accounts:
                account.sudo().date_open = date(2025, 1, 1)
                self.credit(account, 1000.0)
            fee = self._create_fee(amount=10.0, site_ids=[Command.set(floor.ids)])
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            charges = fee.sudo()._charge_period(date(2026, 3, 1))
            self.assertEqual(len(charges.ledger_line_id), count)
            return self.env.cr.sql_log_count - before

        run(1)  # warm-up: what is read once per transaction
        self.assertEqual(run(2), run(8))

    def test_a_wallet_fee_posted_in_the_same_run_on_many_accounts(self):
        accounts = self.account | self.env["prepaid.account"].concat(
            *(self._create_open_account(room=self._create_room(f"R{n}")) for n in range(3))
        )
        for account in accounts:
            account.sudo().date_open = date(2025, 1, 1)
            self.credit(account, 100.0)
        fee = self._create_fee(amount=30.0)
        charges = self.charge(fee, date(2026, 3, 1))
        self.assertEqual(len(charges), 4)
        self.assertEqual(accounts.mapped("balance"), [70.0] * 4)


@tagged("post_install", "-at_install")
class TestFeeAccess(PrepaidAccessTestMixin, PrepaidFeeCommon, HttpCase):
    def test_managers_write_fee_items_operators_read(self):
        fee = self._create_fee()
        self.assertRefused(
            self.operator_user, fee, "write", ({"amount": 1.0},), "not allowed|access"
        )
        self.assertRefused(self.operator_user, fee, "action_charge", ("2026-03-01",), MANAGERS)
        with self.assertRaises(AccessError):
            self.env["prepaid.fee.item"].with_user(self.operator_user).create(
                {"name": "Forged", "amount": 1.0}
            )
        # Operators see the items and the charges of their sites.
        self.assertEqual(
            self.rpc(self.operator_user, "prepaid.fee.item", "read", [fee.id], ["name"])[0]["name"],
            "Test property fee",
        )
        self.credit(self.account, 500.0)
        result = self.rpc(
            self.manager_user, "prepaid.fee.item", "action_charge", [fee.id], "2026-03-01"
        )
        self.assertIn("1 charge(s) recorded", result["params"]["message"])
        charge = fee.charge_ids
        self.assertEqual(charge.amount, 310.0)
        self.assertEqual(
            self.rpc(
                self.operator_user, "prepaid.fee.charge", "search", [("item_id", "=", fee.id)]
            ),
            charge.ids,
        )
        # Charges are the fee service's: nobody writes or deletes them.
        for user in (self.operator_user, self.manager_user):
            self.assertRefused(user, charge, "write", ({"residual": 0.0},), "kept by the system")
            self.assertRefused(user, charge, "unlink", (), "not allowed")
        self.assertRpcRefused(
            self.manager_user, charge, "_take_from_wallets", (), "cannot be called remotely"
        )
        self.rpc(self.manager_user, "prepaid.fee.item", "write", [fee.id], {"amount": 320.0})
        self.assertEqual(fee.amount, 320.0)
