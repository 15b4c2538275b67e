from datetime import date, datetime, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, tagged

from odoo.addons.prepaid_meter.tests.common import PrepaidAccessTestMixin

from .alarm_common import PrepaidAlarmCommon

OFF = "Disconnect the supply (relay off)"
ON = "Reconnect the supply (relay on)"
WEDNESDAY_DAY = datetime(2026, 12, 2, 10, 0)  # UTC
WEDNESDAY_NIGHT = datetime(2026, 12, 2, 20, 0)
THURSDAY_MORNING = datetime(2026, 12, 3, 9, 30)
SATURDAY_DAY = datetime(2026, 12, 5, 10, 0)


@tagged("post_install", "-at_install")
class TestCutoff(PrepaidAlarmCommon):
    def _calendar(self, **values):
        return self.env["prepaid.cutoff.calendar"].create(
            {
                "name": "Test friendly hours",
                "tz": "UTC",
                "night_start": 18.0,
                "night_end": 9.0,
                "no_cut_weekends": True,
                **values,
            }
        )

    def decisions(self, account=None):
        return (account or self.account).supply_decision_ids.sorted("id").mapped("decision")

    def test_cut_at_the_threshold_and_reconnected_by_a_topup(self):
        self.credit(self.account, 30.0)
        self.debit(self.account, 29.99)
        self.assertEqual(self.account.cutoff_state, "supplied")
        self.assertNotIn(OFF, self.meter_activities())
        self.debit(self.account, 0.01)  # 0.00: at the cut-off balance
        self.assertEqual(self.account.cutoff_state, "cut")
        self.assertIn(OFF, self.meter_activities())
        decision = self.account.supply_decision_ids
        self.assertRecordValues(
            decision,
            [
                {
                    "decision": "cut",
                    "balance": 0.0,
                    "cutoff_balance": 0.0,
                    "user_id": self.env.user.id,
                    "meter_ids": self.meter.ids,
                }
            ],
        )
        self.assertIn("nothing holds it", decision.rule)
        # The supply state is the hardware's to report: the platform only asked.
        self.assertNotEqual(self.meter.supply_state, "disconnected")
        # Still below after a small top-up: stays cut.
        self.debit(self.account, 5.0)
        self.credit(self.account, 5.0)
        self.assertEqual(self.account.cutoff_state, "cut")
        self.credit(self.account, 20.0)
        self.assertEqual(self.account.cutoff_state, "supplied")
        self.assertEqual(self.meter_activities(), [ON])  # the pending cut is superseded
        self.assertEqual(self.decisions(), ["cut", "reconnect"])

    def test_the_credit_limit_lowers_the_cutoff_balance(self):
        self.account.write({"credit_limit": 10.0})
        self.credit(self.account, 5.0)
        self.debit(self.account, 14.0)  # -9.00
        self.assertEqual(self.account.cutoff_state, "supplied")
        self.debit(self.account, 1.0)  # -10.00
        self.assertEqual(self.account.cutoff_state, "cut")
        self.assertEqual(self.account.supply_decision_ids.cutoff_balance, -10.0)

    def test_a_lower_credit_limit_cuts_at_once(self):
        self.account.write({"credit_limit": 10.0})
        self.credit(self.account, 5.0)
        self.debit(self.account, 14.0)  # -9.00
        self.assertEqual(
            (self.account.alarm_level, self.account.cutoff_state), ("alarm3", "supplied")
        )
        self.account.with_user(self.manager_user).credit_limit = 5.0
        self.assertEqual((self.account.alarm_level, self.account.cutoff_state), ("cutoff", "cut"))
        self.assertEqual(self.account.alarm_ids.sorted("id").mapped("level"), ["alarm3", "cutoff"])

    def test_the_cutoff_cron_takes_bounded_batches(self):
        self._calendar()
        other = self._create_open_account()
        with freeze_time(WEDNESDAY_NIGHT):
            for account in (self.account, other):
                self.credit(account, 10.0)
                self.debit(account, 10.0)
        cron = self.env.ref("prepaid_billing.prepaid_account_cron_execute_cutoffs")
        Trigger = self.env["ir.cron.trigger"]
        triggers = Trigger.search([("cron_id", "=", cron.id)])
        with freeze_time(THURSDAY_MORNING):
            self.env["prepaid.account"]._cron_execute_cutoffs(batch_size=1)
            self.assertEqual((self.account + other).mapped("cutoff_state"), ["cut", "deferred"])
            self.assertTrue(Trigger.search([("cron_id", "=", cron.id)]) - triggers)
            self.env["prepaid.account"]._cron_execute_cutoffs(batch_size=1)
        self.assertEqual((self.account + other).mapped("cutoff_state"), ["cut", "cut"])

    def test_water_meters_close_their_valve(self):
        account = self._create_open_account(utilities=("electricity", "water"))
        self.credit(account, 1.0)
        self.debit(account, 1.0)
        water = account.meter_ids.filtered(lambda m: m.utility == "water")
        self.assertIn("Close the valve", self.meter_activities(water))

    def test_deferred_in_friendly_hours_and_executed_by_the_cron_after(self):
        self._calendar()
        with freeze_time(WEDNESDAY_NIGHT):
            self.credit(self.account, 10.0)
            self.debit(self.account, 10.0)
            self.assertEqual(self.account.cutoff_state, "deferred")
            self.assertNotIn(OFF, self.meter_activities())
            self.assertIn("night (18:00-09:00)", self.account.supply_decision_ids.rule)
        with freeze_time(WEDNESDAY_NIGHT + timedelta(hours=3)):
            self.env["prepaid.account"]._cron_execute_cutoffs()
            self.assertEqual(self.decisions(), ["deferred"])  # logged once
        with freeze_time(THURSDAY_MORNING):
            self.env["prepaid.account"]._cron_execute_cutoffs()
        self.assertEqual(self.account.cutoff_state, "cut")
        self.assertIn(OFF, self.meter_activities())
        self.assertEqual(self.decisions(), ["deferred", "cut"])

    def test_weekends_and_holidays_are_friendly(self):
        holidays = self.env["prepaid.holiday.calendar"].create(
            {
                "name": "Test holidays",
                "holiday_ids": [Command.create({"date": date(2026, 12, 3), "name": "Test day"})],
            }
        )
        self._calendar(holiday_calendar_ids=[Command.set(holidays.ids)])
        Calendar = self.env["prepaid.cutoff.calendar"]
        company = self.account.company_id
        self.assertIn("weekend", Calendar._get_friendly_rule(company, SATURDAY_DAY))
        self.assertIn("holiday Test day", Calendar._get_friendly_rule(company, THURSDAY_MORNING))
        self.assertFalse(Calendar._get_friendly_rule(company, WEDNESDAY_DAY))
        # Another company's calendar does not apply.
        other = self.env["res.company"].create({"name": "Other utility company"})
        self.assertFalse(Calendar._get_friendly_rule(other, SATURDAY_DAY))

    def test_a_topup_cancels_a_deferred_cutoff(self):
        self._calendar()
        with freeze_time(WEDNESDAY_NIGHT):
            self.credit(self.account, 10.0)
            self.debit(self.account, 10.0)
            self.credit(self.account, 50.0)
        self.assertEqual(self.account.cutoff_state, "supplied")
        self.assertEqual(self.decisions(), ["deferred", "cancelled"])
        self.assertNotIn(OFF, self.meter_activities())

    def test_keep_power_holds_until_its_expiry(self):
        with freeze_time(WEDNESDAY_DAY):
            self.account.with_user(self.manager_user).write(
                {
                    "keep_power": True,
                    "keep_power_reason": "Hospital ward",
                    "keep_power_until": WEDNESDAY_DAY + timedelta(days=2),
                }
            )
            self.credit(self.account, 10.0)
            self.debit(self.account, 10.0)
            self.assertEqual(self.account.cutoff_state, "held")
            self.assertIn("Hospital ward", self.account.supply_decision_ids.rule)
        with freeze_time(WEDNESDAY_DAY + timedelta(days=1)):
            self.env["prepaid.account"]._cron_execute_cutoffs()
            self.assertEqual(self.account.cutoff_state, "held")
            self.assertNotIn(OFF, self.meter_activities())
        with freeze_time(WEDNESDAY_DAY + timedelta(days=2, minutes=15)):
            self.env["prepaid.account"]._cron_execute_cutoffs()
        self.assertEqual(self.account.cutoff_state, "cut")
        self.assertEqual(self.decisions(), ["held", "cut"])

    def test_lifting_keep_power_cuts_at_once(self):
        self.account.write({"keep_power": True, "keep_power_reason": "Festival"})
        self.credit(self.account, 10.0)
        self.debit(self.account, 10.0)
        self.assertEqual(self.account.cutoff_state, "held")
        self.account.with_user(self.manager_user).keep_power = False
        self.assertEqual(self.account.cutoff_state, "cut")

    def test_keep_power_needs_a_reason(self):
        with self.assertRaisesRegex(Exception, "say why"):
            self.account.write({"keep_power": True})

    def test_managers_override(self):
        manager_account = self.account.with_user(self.manager_user)
        self.credit(self.account, 30.0)
        with self.assertRaisesRegex(UserError, "art. 944"):
            manager_account.action_cut_now(reason="Unpaid rent")
        self.assertFalse(self.account.supply_decision_ids)
        # Without a reason: the wizard asks for one.
        action = manager_account.action_cut_now()
        self.assertEqual(action["res_model"], "prepaid.supply.override")
        # Friendly hours defer the automatic cut-off; a manager cuts now.
        self._calendar()
        with freeze_time(WEDNESDAY_NIGHT):
            self.debit(self.account, 30.0)
            self.assertEqual(self.account.cutoff_state, "deferred")
            wizard = (
                self.env["prepaid.supply.override"]
                .with_user(self.manager_user)
                .create(
                    {
                        "account_ids": [Command.set(self.account.ids)],
                        "mode": "cut",
                        "reason": "Tenant left, meter to be checked",
                    }
                )
            )
            wizard.action_confirm()
        self.assertEqual(self.account.cutoff_state, "cut")
        last = self.account.supply_decision_ids.sorted("id")[-1]
        self.assertRecordValues(
            last,
            [
                {
                    "decision": "override_cut",
                    "reason": "Tenant left, meter to be checked",
                    "user_id": self.manager_user.id,
                }
            ],
        )
        # Reconnect now, below the cut-off balance: not cut again by the next debit.
        manager_account.action_reconnect_now(reason="Medical equipment")
        self.assertEqual(self.account.cutoff_state, "overridden")
        self.assertEqual(self.meter_activities(), [ON])
        self.debit(self.account, 1.0)
        self.assertEqual(self.account.cutoff_state, "overridden")
        # Once the balance is back above, the automatic rules apply again.
        self.credit(self.account, 10.0)
        self.assertEqual(self.account.cutoff_state, "supplied")
        self.assertEqual(self.decisions(), ["deferred", "override_cut", "override_reconnect"])

    def test_operators_may_not_hold_nor_override(self):
        operator_account = self.account.with_user(self.operator_user)
        for values in (
            {"keep_power": True, "keep_power_reason": "Friend"},
            {"keep_power_until": "2030-01-01 00:00:00"},
            {"cutoff_state": "supplied"},
            {"alarm_level": "none"},
        ):
            with self.subTest(values=values), self.assertRaises(AccessError):
                operator_account.write(values)
        for method in ("action_cut_now", "action_reconnect_now"):
            with self.subTest(method=method), self.assertRaises(AccessError):
                getattr(operator_account, method)(reason="Because")
        # Managers neither write what the process keeps.
        with self.assertRaisesRegex(AccessError, "kept by the system"):
            self.account.with_user(self.manager_user).write({"cutoff_state": "cut"})

    def test_accounts_billed_elsewhere_or_not_open_are_not_cut(self):
        postpaid = self._create_open_account(billing_mode="postpaid")
        meter_billed = self._create_open_account(billing_mode="prepaid_meter")
        suspended = self._create_open_account()
        closed = self._create_open_account()
        for account in (postpaid, meter_billed):
            self.credit(account, 10.0)
            self.debit(account, 15.0)
        for account in (suspended, closed):
            self.credit(account, 10.0)
        suspended.action_suspend()
        self._post(suspended, "adjustment", -10.0, "suspended-adjust", description="Test")
        closed.action_close()
        self._post(closed, "refund", -10.0, "closed-refund")
        for account in (postpaid, meter_billed, suspended, closed):
            with self.subTest(account=account.billing_mode, state=account.state):
                self.assertEqual(account.cutoff_state, "supplied")
                self.assertFalse(account.supply_decision_ids)
                self.assertNotIn(OFF, self.meter_activities(account.meter_ids))
        with self.assertRaisesRegex(UserError, "billed on the platform"):
            postpaid.with_user(self.manager_user).action_cut_now(reason="Test")

    def test_a_meter_without_relay_is_a_recorded_failure(self):
        meter = self._create_meter(model=self.model_manual)
        account = self._create_account(meters=meter)
        account.action_open()
        self.credit(account, 5.0)
        self.debit(account, 5.0)  # the posting goes through
        self.assertEqual(account.balance, 0.0)
        self.assertEqual(account.cutoff_state, "failed")
        self.assertIn("cut it on site", account.supply_decision_ids.rule)


@tagged("post_install", "-at_install")
class TestCutoffAccess(PrepaidAccessTestMixin, PrepaidAlarmCommon, HttpCase):
    def test_keep_power_and_overrides_over_xmlrpc(self):
        manager_only = "group .*Manager"
        for values in (
            {"keep_power": True, "keep_power_reason": "Friend"},
            {"keep_power_until": "2030-01-01 00:00:00"},
        ):
            self.assertWriteRefused(self.operator_user, self.account, values, manager_only)
        self.assertWriteRefused(
            self.manager_user, self.account, {"cutoff_state": "supplied"}, "kept by the system"
        )
        for method in ("action_cut_now", "action_reconnect_now"):
            self.assertRefused(self.operator_user, self.account, method, ("Because",), manager_only)
        # Managers may; the policy lets them through (the balance is above: nothing to cut).
        self.credit(self.account, 10.0)
        self.rpc(
            self.manager_user,
            "prepaid.account",
            "write",
            self.account.ids,
            {"keep_power": True, "keep_power_reason": "Festival"},
        )
        self.assertTrue(self.account.keep_power)
        self.assertRpcRefused(
            self.manager_user, self.account, "action_cut_now", ("Because",), "art. 944"
        )
        # Nobody writes the logs.
        decision = (
            self.env["prepaid.supply.decision"]
            .sudo()
            .create({"account_id": self.account.id, "decision": "cut"})
        )
        self.assertRefused(
            self.manager_user, decision, "write", ({"decision": "reconnect"},), "kept by the system"
        )
