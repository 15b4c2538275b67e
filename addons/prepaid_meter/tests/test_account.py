from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged

from .common import PrepaidMeterCommon


@tagged("post_install", "-at_install")
class TestAccount(PrepaidMeterCommon):
    def test_sequence_number(self):
        first = self._create_account()
        second = self._create_account()
        self.assertTrue(first.name.startswith("ACC/"))
        self.assertNotEqual(first.name, second.name)
        self.assertEqual(first.display_name, f"{first.name} - Test Tenant")

    def test_open_single(self):
        electricity = self._create_meter()
        water = self._create_meter(utility="water")
        account = self._create_account(meters=electricity | water)
        account.action_open()
        self.assertEqual(account.state, "open")
        self.assertTrue(account.date_open)
        self.assertEqual((electricity | water).mapped("state"), ["active", "active"])
        self.assertEqual(self.room.tenant_id, self.tenant)

    def test_open_checks(self):
        account = self._create_account(partner=False, electricity_tariff_id=False)
        with self.assertRaisesRegex(UserError, "no tenant.*no meter"):
            account.action_open()
        account.partner_id = self.tenant
        account.meter_ids = [Command.link(self._create_meter().id)]
        with self.assertRaisesRegex(UserError, "no electricity tariff"):
            account.action_open()
        account.meter_ids = [Command.link(self._create_meter(utility="water").id)]
        account.write(
            {"electricity_tariff_id": self.tariff_electricity.id, "water_tariff_id": False}
        )
        with self.assertRaisesRegex(UserError, "no water tariff"):
            account.action_open()
        account.water_tariff_id = self.tariff_water
        stock_meter = self._create_meter(room=False)
        account.meter_ids = [Command.link(stock_meter.id)]
        with self.assertRaisesRegex(UserError, "not installed in a room"):
            account.action_open()
        stock_meter.room_id = self.room
        stock_meter.action_remove()
        with self.assertRaisesRegex(UserError, "is removed"):
            account.action_open()
        account.meter_ids = [Command.unlink(stock_meter.id)]
        self.assertEqual(account.state, "draft")
        account.action_open()
        self.assertEqual(account.state, "open")

    def test_billing_on_meter_needs_meters_with_balance(self):
        water = self._create_meter(utility="water")
        account = self._create_account(meters=water, billing_mode="prepaid_meter")
        with self.assertRaisesRegex(UserError, "does not keep a balance"):
            account.action_open()
        account.billing_mode = "prepaid_platform"
        account.action_open()

    def test_tariff_utility(self):
        with self.assertRaisesRegex(ValidationError, "is for Water, not Electricity"):
            self._create_account(electricity_tariff_id=self.tariff_water.id)

    def test_open_batch(self):
        good = self._create_account(meters=self._create_meter())
        room2 = self._create_room("Room 102")
        also_good = self._create_account(meters=self._create_meter(room=room2), room=room2)
        no_tariff = self._create_account(meters=self._create_meter(), electricity_tariff_id=False)
        already_open = self._create_open_account(room=room2)
        wizard = (
            self.env["prepaid.account.open"]
            .with_context(
                active_model="prepaid.account",
                active_ids=(good | also_good | no_tariff | already_open).ids,
            )
            .create({})
        )
        # Only drafts are taken; the open one is counted as left out.
        self.assertEqual((wizard.account_count, wizard.skipped_count), (3, 1))
        wizard.action_open_accounts()
        self.assertEqual(wizard.state, "done")
        self.assertEqual((wizard.opened_count, wizard.failed_count), (2, 1))
        self.assertEqual((good | also_good).mapped("state"), ["open", "open"])
        self.assertEqual(good.meter_ids.state, "active")
        self.assertEqual(no_tariff.state, "draft")
        self.assertEqual(no_tariff.meter_ids.state, "draft")
        failed = {
            line.account_id: line.message for line in wizard.line_ids if line.result == "failed"
        }
        self.assertEqual(set(failed), {no_tariff})
        self.assertIn("no electricity tariff", failed[no_tariff])
        action = wizard.action_view_failed()
        self.assertEqual(self.env["prepaid.account"].search(action["domain"]), no_tariff)
        # The service itself refuses non-drafts, whoever calls it.
        _opened, failures = already_open._open_batch()
        self.assertIn("not a draft", failures[already_open])

    def test_open_batch_without_drafts(self):
        already_open = self._create_open_account()
        wizard = (
            self.env["prepaid.account.open"]
            .with_context(active_model="prepaid.account", active_ids=already_open.ids)
            .create({})
        )
        self.assertEqual((wizard.account_count, wizard.skipped_count), (0, 1))
        with self.assertRaisesRegex(UserError, "Select the draft accounts to open"):
            wizard.action_open_accounts()

    def test_open_batch_isolates_unexpected_failures(self):
        """An account failing while it opens (past the checks) is rolled back alone."""
        good = self._create_account(meters=self._create_meter())
        bad_meter = self._create_meter()
        bad = self._create_account(meters=bad_meter)
        Meter = type(bad_meter)
        activate = Meter.action_activate

        def failing_activate(meters):
            if bad_meter in meters:
                raise ValidationError(meters.env._("The meter refused."))
            return activate(meters)

        with patch.object(Meter, "action_activate", failing_activate):
            opened, failures = (good | bad)._open_batch()
        self.assertEqual(opened, good)
        self.assertEqual(failures, {bad: "The meter refused."})
        self.assertEqual((good.state, bad.state), ("open", "draft"))
        self.assertFalse(bad.date_open)

    def test_open_batch_button_returns_the_wizard(self):
        accounts = self._create_account() | self._create_account()
        action = accounts.action_open_batch()
        self.assertEqual(action["res_model"], "prepaid.account.open")
        self.assertEqual(action["context"]["active_ids"], accounts.ids)

    def test_state_transitions(self):
        account = self._create_open_account()
        with self.assertRaisesRegex(UserError, "Cannot set these accounts to Open"):
            account.action_open()
        account.action_resume()  # already open: nothing to do
        self.assertEqual(account.state, "open")
        account.action_suspend()
        self.assertEqual(account.state, "suspended")
        account.action_resume()
        self.assertEqual(account.state, "open")
        account.action_suspend()
        account.action_close()
        self.assertEqual(account.state, "closed")
        self.assertTrue(account.date_closed)
        for action in (account.action_open, account.action_suspend, account.action_resume):
            with self.assertRaisesRegex(UserError, "Cannot set these accounts"):
                action()
        draft = self._create_account()
        with self.assertRaisesRegex(UserError, "Cannot set these accounts to Suspended"):
            draft.action_suspend()
        with self.assertRaisesRegex(UserError, "Cannot set these accounts to Closed"):
            draft.action_close()

    def test_only_drafts_can_be_deleted(self):
        draft = self._create_account()
        draft.unlink()
        account = self._create_open_account()
        with self.assertRaisesRegex(UserError, "Only draft accounts"):
            account.unlink()
        account.action_close()
        with self.assertRaisesRegex(UserError, "Only draft accounts"):
            account.unlink()

    def test_tenant_required_in_service(self):
        account = self._create_open_account()
        with self.assertRaisesRegex(ValidationError, "no tenant"):
            account.partner_id = False

    def test_threshold_order(self):
        account = self._create_account()
        self.assertEqual(
            (account.alarm1_threshold, account.alarm2_threshold, account.alarm3_threshold),
            (100.0, 50.0, 20.0),
        )
        for values in (
            {"alarm1_threshold": 50.0},  # alarm 1 == alarm 2
            {"alarm2_threshold": 150.0},  # alarm 2 > alarm 1
            {"alarm3_threshold": 60.0},  # alarm 3 > alarm 2
            {"cutoff_threshold": 30.0},  # cut-off above alarm 3
            {"credit_limit": -1.0},
        ):
            with self.subTest(values=values), self.assertRaises(ValidationError):
                account.write(values)
        account.write(
            {
                "alarm1_threshold": 30.0,
                "alarm2_threshold": 10.0,
                "alarm3_threshold": 0.0,
                "cutoff_threshold": -5.0,
                "credit_limit": 15.0,
            }
        )
        self.assertEqual(account._get_cutoff_balance(), -20.0)

    def test_get_tariff(self):
        account = self._create_account()
        self.assertEqual(account._get_tariff("electricity"), self.tariff_electricity)
        self.assertEqual(account._get_tariff("water"), self.tariff_water)

    def test_room_proposes_its_free_meters(self):
        free = self._create_meter()
        self._create_open_account()  # its meter is taken
        self._create_meter().action_remove()
        with Form(self.env["prepaid.account"]) as form:
            form.partner_id = self.tenant
            form.room_id = self.room
        self.assertEqual(form.record.meter_ids, free)

    def test_operators_prepare_but_managers_open(self):
        account = self._create_account(meters=self._create_meter())
        operator_account = account.with_user(self.operator_user)
        operator_account.note = "Prepared by the front desk"
        with self.assertRaises(AccessError):
            operator_account.action_open()
        account.with_user(self.manager_user).action_open()
        self.assertEqual(account.state, "open")
