from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.tests import tagged

from .alarm_common import PrepaidAlarmCommon

NOW = datetime(2026, 12, 2, 10, 0)  # a Wednesday, 10:00 UTC


@tagged("post_install", "-at_install")
class TestAlarm(PrepaidAlarmCommon):
    def test_each_level_is_notified_once_per_downward_crossing(self):
        self.credit(self.account, 150.0)
        self.assertEqual(self.account.alarm_level, "none")
        self.assertFalse(self.account.alarm_ids)
        for amount, level, notices in (
            (60.0, "alarm1", 1),  # 90
            (5.0, "alarm1", 1),  # 85: same level, no new notice
            (40.0, "alarm2", 2),  # 45
            (30.0, "alarm3", 3),  # 15
            (1.0, "alarm3", 3),  # 14
            (14.0, "cutoff", 4),  # 0: at the cut-off balance
        ):
            with self.subTest(amount=amount, level=level):
                self.debit(self.account, amount)
                self.assertEqual(self.account.alarm_level, level)
                self.assertEqual(len(self.account.alarm_ids), notices)
                self.assertEqual(len(self.mails_to_tenant()), notices)
                self.assertEqual(len(self.sms_to_tenant()), notices)
        alarms = self.account.alarm_ids.sorted("id")
        self.assertEqual(alarms.mapped("level"), ["alarm1", "alarm2", "alarm3", "cutoff"])
        self.assertEqual(alarms.mapped("balance"), [90.0, 45.0, 15.0, 0.0])
        self.assertEqual(set(alarms.mapped("state")), {"sent"})
        self.assertEqual(alarms[0].channels, "Email, SMS")
        self.assertIn("Please top up", self.sms_to_tenant()[0].body)
        self.assertIn(self.account.name, self.mails_to_tenant()[0].subject)
        notes = self.account.message_ids.filtered(lambda m: "Sent through" in (m.body or ""))
        self.assertEqual(len(notes), 4)

    def test_a_fall_through_several_levels_sends_the_lowest(self):
        self.credit(self.account, 150.0)
        self.debit(self.account, 120.0)  # 30: through alarm 1 and 2
        self.assertEqual(self.account.alarm_ids.mapped("level"), ["alarm2"])
        self.assertEqual(len(self.sms_to_tenant()), 1)

    def test_repeats_after_the_interval_are_bounded(self):
        self.rules["alarm1"].write({"repeat_count": 2, "repeat_interval": 24})
        with freeze_time(NOW):
            self.credit(self.account, 150.0)
            self.debit(self.account, 60.0)
            self.assertEqual(self.account.alarm_next_date, NOW + timedelta(hours=24))
        sent = []
        for hours in (1, 25, 26, 49, 73, 200):
            with freeze_time(NOW + timedelta(hours=hours)):
                self.account._cron_repeat_alarms()
                sent.append(len(self.account.alarm_ids))
        # First notice, then two repeats, a day apart; no more.
        self.assertEqual(sent, [1, 2, 2, 3, 3, 3])
        self.assertEqual(self.account.alarm_ids.sorted("id").mapped("sequence"), [1, 2, 3])
        self.assertEqual(len(self.sms_to_tenant()), 3)
        self.assertFalse(self.account.alarm_next_date)

    def test_a_topup_above_rearms_the_levels(self):
        self.credit(self.account, 150.0)
        self.debit(self.account, 110.0)  # 40: alarm 2
        self.credit(self.account, 30.0)  # 70: back to alarm 1, no notice
        self.assertEqual(self.account.alarm_level, "alarm1")
        self.assertEqual(len(self.account.alarm_ids), 1)
        self.debit(self.account, 25.0)  # 45: alarm 2 again, notified again
        self.assertEqual(len(self.account.alarm_ids), 2)
        self.credit(self.account, 200.0)  # 245: no alarm
        self.assertEqual(self.account.alarm_level, "none")
        self.assertFalse(self.account.alarm_next_date)
        self.debit(self.account, 150.0)  # 95: alarm 1 again
        self.assertEqual(
            self.account.alarm_ids.sorted("id").mapped("level"), ["alarm2", "alarm2", "alarm1"]
        )

    def test_a_failing_channel_is_recorded_and_the_others_go(self):
        self.tenant.email = False
        self.credit(self.account, 150.0)
        self.debit(self.account, 60.0)
        alarm = self.account.alarm_ids
        self.assertRecordValues(alarm, [{"state": "partial", "channels": "SMS"}])
        self.assertIn("no email address", alarm.failures)
        self.assertEqual(len(self.sms_to_tenant()), 1)

    def test_the_repeat_cron_isolates_failures(self):
        self.rules["alarm1"].write({"repeat_count": 1, "repeat_interval": 1})
        other = self._create_open_account()
        with freeze_time(NOW):
            for account in (self.account, other):
                self.credit(account, 150.0)
                self.debit(account, 60.0)
        original = type(self.account)._send_alarm

        def send_alarm(account):
            if account == self.account:
                raise ValueError("template broken")
            return original(account)

        with (
            freeze_time(NOW + timedelta(hours=2)),
            patch.object(type(self.account), "_send_alarm", send_alarm),
            self.assertLogs("odoo.addons.prepaid_billing.models.prepaid_account_alarm", "ERROR"),
        ):
            self.env["prepaid.account"]._cron_repeat_alarms()
        self.assertEqual(len(other.alarm_ids), 2)
        self.assertEqual(len(self.account.alarm_ids), 1)
        # Tried again in an hour.
        self.assertEqual(self.account.alarm_next_date, NOW + timedelta(hours=3))

    def test_accounts_not_billed_on_the_platform_get_no_alarm(self):
        postpaid = self._create_open_account(billing_mode="postpaid")
        meter_billed = self._create_open_account(billing_mode="prepaid_meter")
        for account in (postpaid, meter_billed):
            self.credit(account, 150.0)
            self.debit(account, 140.0)
            self.assertEqual(account.alarm_level, "none")
            self.assertFalse(account.alarm_ids)
        self.assertFalse(self.sms_to_tenant())
