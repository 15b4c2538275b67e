import json
from unittest.mock import patch

from psycopg2.errors import UniqueViolation

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import PrepaidMeterCommon


@tagged("post_install", "-at_install")
class TestMeterModel(PrepaidMeterCommon):
    def test_catalogue(self):
        ddsy = self.env.ref("prepaid_meter.prepaid_meter_model_acrel_ddsy1352")
        dtsy = self.env.ref("prepaid_meter.prepaid_meter_model_acrel_dtsy1352")
        self.assertEqual((ddsy.phases, dtsy.phases), ("1", "3"))
        self.assertTrue(ddsy.has_relay and ddsy.has_meter_balance and ddsy.has_tou_registers)
        self.assertFalse(ddsy.is_generic)
        register_map = ddsy.get_register_map()
        registers = register_map["registers"]
        # PROTOCOLS.md section 5, FC03.
        self.assertEqual(register_map["function_code"], 3)
        self.assertEqual(
            registers["energy_total"],
            {"address": 0, "type": "uint32", "scale": "0.01", "unit": "kWh"},
        )
        self.assertEqual(
            [registers[f"energy_t{band}"]["address"] for band in range(1, 5)], [2, 4, 6, 8]
        )
        self.assertEqual(
            [
                (registers[key]["address"], registers[key]["type"], registers[key]["scale"])
                for key in ("voltage", "current", "active_power", "apparent_power", "power_factor")
            ],
            [
                (0x0B, "uint16", "0.1"),
                (0x0C, "uint16", "0.01"),
                (0x0D, "int16", "0.001"),
                (0x0F, "uint16", "0.001"),
                (0x10, "int16", "0.001"),
            ],
        )
        # Prepaid registers are not documented: left for configuration, not invented.
        for model in ddsy | dtsy:
            prepaid = model.get_register_map()["prepaid"]
            self.assertTrue(prepaid)
            self.assertTrue(all(value is None for value in prepaid.values()))
        generic = self.env["prepaid.meter.model"].search([("is_generic", "=", True)])
        for xmlid in ("generic_dlms", "generic_dlt645", "generic_modbus", "water_valve"):
            model = self.env.ref(f"prepaid_meter.prepaid_meter_model_{xmlid}")
            self.assertIn(model, generic)
            self.assertTrue(model.get_register_map()["generic"])
        water = self.env.ref("prepaid_meter.prepaid_meter_model_water_valve")
        self.assertEqual((water.utility, water.has_valve, water.has_relay), ("water", True, False))

    def test_register_map_validation(self):
        model = self._create_meter_model("Test Map")
        with self.assertRaisesRegex(ValidationError, "not valid JSON"):
            model.register_map = "{registers:"
        with self.assertRaisesRegex(ValidationError, "must be a JSON object"):
            model.register_map = "[]"
        bad_entries = [
            {"address": -1, "type": "uint16"},
            {"address": 1, "type": "float"},
            {"address": 1, "type": "uint16", "scale": 0.01},
            {"address": 1, "type": "uint16", "scale": "x"},
            {"type": "uint16"},
        ]
        for entry in bad_entries:
            with self.assertRaises(ValidationError):
                model.register_map = json.dumps({"registers": {"energy_total": entry}})
        model.register_map = json.dumps(
            {
                "registers": {"energy_total": {"address": 0, "type": "uint32", "scale": "0.01"}},
                "prepaid": {"remaining_amount": None},
            }
        )
        self.assertEqual(model.get_register_map()["prepaid"], {"remaining_amount": None})
        model.register_map = False
        self.assertEqual(model.get_register_map(), {})

    def test_capabilities_match_the_utility(self):
        with self.assertRaisesRegex(ValidationError, "has a valve, not a relay"):
            self._create_meter_model("Water with relay", utility="water", has_relay=True)
        with self.assertRaisesRegex(ValidationError, "has a relay, not a valve"):
            self._create_meter_model("Power with valve", has_valve=True)


@tagged("post_install", "-at_install")
class TestMeter(PrepaidMeterCommon):
    def test_utility_follows_the_model(self):
        meter = self._create_meter(utility="water")
        self.assertEqual(meter.utility, "water")
        self.assertEqual(meter.model_id, self.model_water)
        meter.model_id = self.model_electricity
        self.assertEqual(meter.utility, "electricity")
        with self.assertRaisesRegex(ValidationError, "measures Water"):
            meter.utility = "water"

    def test_name_defaults_to_serial(self):
        meter = self.env["prepaid.meter"].create(
            {"serial_number": "SN-NO-NAME", "model_id": self.model_electricity.id}
        )
        self.assertEqual(meter.name, "SN-NO-NAME")
        self.assertEqual(meter.display_name, "SN-NO-NAME")
        named = self._create_meter(name="Shop meter", serial_number="SN-1")
        self.assertEqual(named.display_name, "Shop meter (SN-1)")
        found = self.env["prepaid.meter"].name_search("SN-1")
        self.assertEqual([row[0] for row in found], named.ids)

    @mute_logger("odoo.sql_db")
    def test_serial_unique_per_company(self):
        self._create_meter(serial_number="SN-DUP")
        with self.assertRaises(UniqueViolation), self.cr.savepoint():
            self._create_meter(serial_number="SN-DUP")
        other_company = self._create_company(name="Other Co")
        other_room = self._create_room_in_company(other_company)
        # Another company may have a meter with the same serial number.
        self._create_meter(serial_number="SN-DUP", room=other_room, company_id=other_company.id)

    @mute_logger("odoo.sql_db")
    def test_asset_number_unique_per_company(self):
        self._create_meter(asset_number="AST-1")
        self._create_meter(asset_number=False)
        self._create_meter(asset_number=False)  # several meters without asset number
        with self.assertRaises(UniqueViolation), self.cr.savepoint():
            self._create_meter(asset_number="AST-1")

    def _create_room_in_company(self, company):
        building = self._create_site("Other B", site_type="building", company_id=company.id)
        return self._create_site("Other R", parent=building, company_id=company.id)

    def test_multiplier(self):
        meter = self._create_meter()
        self.assertEqual(meter.multiplier, 1.0)
        meter.write({"ct_ratio": 40.0, "pt_ratio": 100.0})
        self.assertEqual(meter.multiplier, 4000.0)
        # Writing the multiplier keeps the PT ratio and derives the CT ratio.
        meter.multiplier = 2000.0
        self.assertEqual((meter.ct_ratio, meter.pt_ratio), (20.0, 100.0))
        created = self._create_meter(multiplier=80.0)
        self.assertEqual((created.ct_ratio, created.pt_ratio, created.multiplier), (80, 1, 80))
        with self.assertRaises(ValidationError):
            meter.ct_ratio = 0
        with self.assertRaises(ValidationError):
            meter.multiplier = -5

    def test_room_must_be_a_room(self):
        with self.assertRaisesRegex(ValidationError, "installed in a room"):
            self._create_meter(room=self.floor)

    def test_negative_initial_reading(self):
        with self.assertRaises(ValidationError):
            self._create_meter(initial_reading=-1)

    def test_state_transitions(self):
        meter = self._create_meter()
        self.assertEqual(meter.state, "draft")
        meter.action_activate()
        self.assertEqual(meter.state, "active")
        self.assertTrue(meter.install_date)
        meter.action_suspend()
        self.assertEqual(meter.state, "suspended")
        meter.action_activate()
        meter.action_remove()
        self.assertEqual(meter.state, "removed")
        self.assertTrue(meter.removal_date)
        with self.assertRaisesRegex(UserError, "Cannot set these meters to Active"):
            meter.action_activate()
        with self.assertRaisesRegex(UserError, "Cannot set these meters to Suspended"):
            meter.action_suspend()
        meter.action_reset_to_draft()
        self.assertEqual(meter.state, "draft")
        self.assertFalse(meter.removal_date)

    def test_activation_needs_a_room(self):
        meter = self._create_meter(room=False)
        with self.assertRaisesRegex(UserError, "Install these meters in a room"):
            meter.action_activate()

    def test_meter_of_an_open_account_cannot_be_taken(self):
        account = self._create_open_account()
        meter = account.meter_ids
        other = self._create_account(partner=self.partner)
        with self.assertRaisesRegex(UserError, "open or suspended account"):
            meter.account_id = other
        account.sudo().action_close()
        meter.account_id = other
        self.assertEqual(other.meter_ids, meter)

    def test_communication_state(self):
        meter = self._create_meter()
        meter._set_communication_state("online")
        self.assertEqual(meter.online_state, "online")
        self.assertTrue(meter.last_contact)
        meter._set_communication_state("offline")
        self.assertEqual(meter.online_state, "offline")


@tagged("post_install", "-at_install")
class TestMeterHardwareActions(PrepaidMeterCommon):
    def _pending(self, meter):
        return meter.activity_ids.filtered(
            lambda a: (
                a.activity_type_id
                == self.env.ref("prepaid_meter.mail_activity_type_meter_operation")
            )
        )

    def test_buttons_tell_what_was_requested_and_show_it_pending(self):
        meter = self._create_meter()
        self.assertFalse(meter.hardware_pending)
        action = meter.with_context(prepaid_hardware_notify=True).action_relay_off()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["title"], "Requested: Disconnect the supply (relay off)")
        operator = self._pending(meter).user_id
        self.assertIn(operator.name, action["params"]["message"])
        meter.invalidate_recordset(["hardware_pending"])
        self.assertEqual(
            meter.hardware_pending,
            f"Disconnect the supply (relay off) (to do: {operator.name})",
        )
        self._pending(meter).action_feedback(feedback="Done at the meter")
        meter.invalidate_recordset(["hardware_pending"])
        self.assertFalse(meter.hardware_pending)

    def test_meters_keeping_the_balance_get_the_thresholds(self):
        """For accounts billed on the meter, the meter raises the alarms and cuts off: it is
        sent the account's thresholds when the account opens and when they change."""
        model = self._create_meter_model("Balance Meter", has_meter_balance=True, has_relay=True)
        meter = self._create_meter(model=model)
        account = self._create_account(
            meters=meter,
            billing_mode="prepaid_meter",
            alarm1_threshold=30.0,
            alarm2_threshold=20.0,
            alarm3_threshold=10.0,
            cutoff_threshold=0.0,
        )
        account.action_open()
        self.assertEqual(
            self._pending(meter).summary,
            "Write the alarm thresholds to the meter: $\xa030.00, $\xa020.00, $\xa010.00; "
            "cut-off at $\xa00.00",
        )
        account.alarm1_threshold = 50.0
        self.assertIn("$\xa050.00", self._pending(meter)[-1].summary)
        # Billed on the platform: the platform raises the alarms, nothing is sent.
        room = self._create_room("Room 102")
        plain_meter = self._create_meter(model=self._create_meter_model("Plain"), room=room)
        self._create_account(meters=plain_meter, room=room).action_open()
        self.assertFalse(self._pending(plain_meter))
        with self.assertRaisesRegex(UserError, "does not keep a balance"):
            plain_meter._hardware_action("set_thresholds", thresholds={})

    def test_relay_actions_create_activities(self):
        meter = self._create_meter()
        activity = meter.action_relay_off()
        self.assertEqual(activity._name, "mail.activity")
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.res_id, meter.id)
        self.assertEqual(activity.summary, "Disconnect the supply (relay off)")
        self.assertIn(meter.serial_number, str(activity.note))
        # The nearest operator of the room's sites does it.
        self.assertEqual(activity.user_id, self.operator_user)
        # The same request again is not duplicated.
        self.assertEqual(meter.action_relay_off(), activity)
        self.assertEqual(len(self._pending(meter)), 1)
        # The opposite request supersedes it.
        reconnect = meter.action_relay_on()
        self.assertFalse(activity.exists())
        self.assertEqual(self._pending(meter), reconnect)
        self.assertEqual(reconnect.summary, "Reconnect the supply (relay on)")

    def test_actions_on_many_meters(self):
        meters = self._create_meter() | self._create_meter()
        activities = meters.action_read_now()
        self.assertEqual(len(activities), 2)
        self.assertEqual(set(activities.mapped("res_id")), set(meters.ids))

    def test_assignee_without_operator(self):
        room = self._create_site(
            "Lonely Room", parent=self._create_site("Lonely", site_type="building")
        )
        meter = self._create_meter(room=room)
        activity = meter.with_user(self.manager_user).action_read_now()
        self.assertEqual(activity.user_id, self.manager_user)

    def test_missing_capabilities_are_refused(self):
        electricity = self._create_meter()
        water = self._create_meter(utility="water")
        manual = self._create_meter(model=self.model_manual)
        with self.assertRaisesRegex(UserError, "has no relay"):
            water.action_relay_off()
        with self.assertRaisesRegex(UserError, "has no relay"):
            manual.action_relay_on()
        with self.assertRaisesRegex(UserError, "has no valve"):
            electricity.action_valve_close()
        with self.assertRaisesRegex(UserError, "has no communication"):
            manual.action_read_now()
        with self.assertRaisesRegex(UserError, "does not keep a balance"):
            water._write_credit(50.0)
        with self.assertRaisesRegex(UserError, "cannot store a tariff"):
            manual._set_tariff(self.tariff_electricity)
        # All or nothing: one incapable meter refuses the whole request.
        with self.assertRaisesRegex(UserError, "has no relay"):
            (electricity | water).action_relay_off()
        self.assertFalse(self._pending(electricity | water | manual))
        electricity.action_remove()
        with self.assertRaisesRegex(UserError, "is removed"):
            electricity.action_read_now()

    def test_valve(self):
        water = self._create_meter(utility="water")
        close = water.action_valve_close()
        self.assertEqual(close.summary, "Close the valve")
        open_ = water.action_valve_open()
        self.assertFalse(close.exists())
        self.assertEqual(open_.summary, "Open the valve")

    def test_supply_actions_pick_relay_or_valve(self):
        meters = self._create_meter() | self._create_meter(utility="water")
        activities = meters.action_supply_off()
        self.assertEqual(
            sorted(activities.mapped("summary")),
            ["Close the valve", "Disconnect the supply (relay off)"],
        )

    def test_write_credit(self):
        meter = self._create_meter()
        activity = meter._write_credit(100.0)
        self.assertIn("Write a credit of", activity.summary)
        self.assertIn("100.00", activity.summary)
        with self.assertRaisesRegex(UserError, "must be positive"):
            meter._write_credit(0.0)
        with self.assertRaisesRegex(UserError, "must be positive"):
            meter._write_credit(-10.0)

    def test_set_tariff(self):
        meter = self._create_meter()
        activity = meter._set_tariff(self.tariff_electricity)
        self.assertIn(self.tariff_electricity.display_name, activity.summary)
        with self.assertRaisesRegex(UserError, "cannot be written"):
            meter._set_tariff(self.tariff_water)
        with self.assertRaisesRegex(UserError, "no account with a tariff"):
            meter.action_send_tariff()
        account = self._create_account(meters=meter)
        self.assertEqual(meter.account_id, account)
        self.assertEqual(meter.action_send_tariff(), activity)

    def test_hook_is_the_single_entry_point(self):
        """Overriding ``_request_hardware_action`` (as meter_gateway does) receives every
        action with its values, after the capability checks."""
        calls = []
        meter = self._create_meter()

        def fake_hook(records, action, **values):
            calls.append((records, action, values))
            return records.browse()

        with patch.object(type(meter), "_request_hardware_action", fake_hook):
            meter.action_relay_on()
            meter.action_relay_off()
            meter.action_read_now()
            meter._write_credit(12.5)
            meter._set_tariff(self.tariff_electricity)
        self.assertEqual(
            [(action, values) for __, action, values in calls],
            [
                ("relay_on", {}),
                ("relay_off", {}),
                ("read_now", {}),
                ("write_credit", {"amount": 12.5}),
                ("set_tariff", {"tariff": self.tariff_electricity}),
            ],
        )
        self.assertFalse(meter.activity_ids)
