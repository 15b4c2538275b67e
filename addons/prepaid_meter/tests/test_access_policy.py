"""The access policy of the registry, tried as each group through the ORM and the external API.

Every guarded field and method of ``prepaid.meter`` and ``prepaid.account`` (see
``prepaid.access.mixin`` and the readme's table) is tried as an operator, a manager and an
administrator, in-process and over XML-RPC: what the policy refuses is refused with a clear
message for every client, and what managers may do still works.
"""

import xmlrpc.client
from datetime import datetime

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, tagged

from ..models.prepaid_account import MONEY_FIELDS
from ..models.prepaid_meter import METROLOGY_FIELDS, PROCESS_FIELDS
from .common import PrepaidAccessTestMixin, PrepaidMeterTestMixin

# A value each guarded field accepts (the policy is checked before the value).
METER_VALUES = {
    "model_id": None,  # set in setUpClass: the water model would change the utility
    "utility": "electricity",
    "ct_ratio": 2.0,
    "pt_ratio": 3.0,
    "multiplier": 4.0,
    "initial_reading": 12.5,
    "register_digits": 7,
    "max_load": 55.0,
    "state": "removed",
    "supply_state": "disconnected",
    "online_state": "offline",
    "last_contact": "2026-01-01 00:00:00",
}
ACCOUNT_MONEY_VALUES = {
    "partner_id": None,  # set in setUpClass
    "billing_mode": "postpaid",
    "electricity_tariff_id": None,
    "water_tariff_id": None,
    "alarm1_threshold": 500.0,
    "alarm2_threshold": 60.0,
    "alarm3_threshold": 30.0,
    "cutoff_threshold": 5.0,
    "credit_limit": 10.0,
}


@tagged("post_install", "-at_install")
class TestAccessPolicy(PrepaidAccessTestMixin, PrepaidMeterTestMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_prepaid_registry()
        cls.admin_user = cls._create_prepaid_user("test_prepaid_admin", "admin")
        cls.users = {
            "operator": cls.operator_user,
            "manager": cls.manager_user,
            "admin": cls.admin_user,
        }
        cls.account = cls._create_open_account()
        cls.meter = cls.account.meter_ids
        METER_VALUES["model_id"] = cls.model_electricity.id
        other_tenant = cls.env["res.partner"].create({"name": "Other Tenant"})
        ACCOUNT_MONEY_VALUES.update(
            partner_id=other_tenant.id,
            electricity_tariff_id=cls._create_tariff(utility="electricity").id,
            water_tariff_id=cls._create_tariff(utility="water").id,
        )
        # Building B: operated by nobody of this test.
        cls.building_b = cls._create_site("Building B", site_type="building", parent=cls.area)
        cls.floor_b = cls._create_site("B Floor 1", site_type="floor", parent=cls.building_b)
        cls.room_b = cls._create_room("B101", floor=cls.floor_b)
        cls.account_b = cls._create_open_account(room=cls.room_b)
        cls.meter_b = cls.account_b.meter_ids

    # === METERS === #

    def test_meter_metrology_is_for_managers(self):
        metrology = {name: METER_VALUES[name] for name in METROLOGY_FIELDS}
        self.assertWriteRefused(
            self.operator_user, self.meter, metrology, "only users of the group .*Manager"
        )
        # The operator may still write what is theirs to write.
        self.rpc(self.operator_user, "prepaid.meter", "write", self.meter.ids, {"note": "ok"})
        for name, value in metrology.items():
            with self.subTest(field=name):
                self.rpc(self.manager_user, "prepaid.meter", "write", self.meter.ids, {name: value})
        self.meter.invalidate_recordset()
        self.assertEqual(self.meter.register_digits, 7)
        self.assertEqual(self.meter.max_load, 55.0)

    def test_meter_process_fields_are_written_by_processes_only(self):
        process = {name: METER_VALUES[name] for name in PROCESS_FIELDS}
        for user in self.users.values():
            self.assertWriteRefused(user, self.meter, process, "kept by the system")
        self.meter.invalidate_recordset()
        self.assertEqual(self.meter.state, "active")
        self.assertEqual(self.meter.supply_state, "unknown")
        # Creating a meter straight into a state is refused too (managers create meters).
        with self.assertRaisesRegex(AccessError, "kept by the system"):
            self.env["prepaid.meter"].with_user(self.manager_user).create(
                {
                    "serial_number": "POLICY-1",
                    "model_id": self.model_electricity.id,
                    "state": "active",
                }
            )
        # The processes: the state machine and the communication state.
        self.meter.with_user(self.manager_user).action_suspend()
        self.assertEqual(self.meter.state, "suspended")
        self.meter.with_user(self.operator_user)._set_communication_state("offline")
        self.assertEqual(self.meter.online_state, "offline")

    def test_meter_state_actions_are_for_managers(self):
        meter = self._create_meter()
        meter.action_activate()
        for method in ("action_suspend", "action_remove"):
            self.assertRefused(self.operator_user, meter, method, message="group .*Manager")
        self.assertEqual(meter.state, "active")
        meter.with_user(self.manager_user).action_remove()
        self.assertEqual(meter.state, "removed")
        self.assertRefused(
            self.operator_user, meter, "action_reset_to_draft", message="group .*Manager"
        )
        self.rpc(self.manager_user, "prepaid.meter", "action_reset_to_draft", meter.ids)
        meter.invalidate_recordset()
        self.assertEqual(meter.state, "draft")
        # Operators still put meters in service (installation work).
        meter.with_user(self.operator_user).action_activate()
        self.assertEqual(meter.state, "active")

    def test_credit_and_tariff_writes_are_not_rpc_endpoints(self):
        for user in self.users.values():
            for method, args in (("_write_credit", (10.0,)), ("_set_tariff", (1,))):
                with self.subTest(user=user.login, method=method):
                    with self.assertRaises(xmlrpc.client.Fault) as caught:
                        self.rpc(user, "prepaid.meter", method, self.meter.ids, *args)
                    self.assertIn("cannot be called remotely", caught.exception.faultString)
        self.assertFalse(self.meter.activity_ids)

    def test_meter_actions_answer_rpc_clients(self):
        """Through RPC a meter action answers with the ids of the requests it made."""
        result = self.rpc(self.operator_user, "prepaid.meter", "action_read_now", self.meter.ids)
        self.assertEqual(result, self.meter.activity_ids.ids)
        self.assertEqual(len(result), 1)

    def test_meter_of_an_account_in_service_stays_with_it(self):
        # Nobody takes a meter off an open account, to another account or to none.
        draft = self._create_account()
        for account_id in (False, draft.id):
            self.assertRefused(
                self.manager_user,
                self.meter,
                "write",
                ({"account_id": account_id},),
                "open or suspended account",
                error=UserError,
            )
        # Only managers add meters to an account in service.
        spare = self._create_meter(utility="water")
        self.assertRefused(
            self.operator_user,
            spare,
            "write",
            ({"account_id": self.account.id},),
            "may add meters to account",
        )
        spare.with_user(self.manager_user).account_id = self.account
        self.assertEqual(self.account.meter_ids, self.meter | spare)
        # Removing the only meter in service of an open account breaks its service rules.
        self.assertRefused(
            self.manager_user,
            self.meter | spare,
            "action_remove",
            message="no meter",
            error=ValidationError,
        )

    # === ACCOUNTS === #

    def test_account_money_fields_are_for_managers_once_open(self):
        self.assertWriteRefused(
            self.operator_user,
            self.account,
            ACCOUNT_MONEY_VALUES,
            "only users of the group .*Manager",
        )
        self.rpc(self.operator_user, "prepaid.account", "write", self.account.ids, {"note": "ok"})
        # A draft is prepared by operators, money fields included.
        draft = self._create_account(room=self.room)
        self.rpc(
            self.operator_user,
            "prepaid.account",
            "write",
            draft.ids,
            {"credit_limit": 15.0, "billing_mode": "postpaid"},
        )
        draft.invalidate_recordset()
        self.assertEqual((draft.credit_limit, draft.billing_mode), (15.0, "postpaid"))
        # Managers change them on an open account.
        self.rpc(
            self.manager_user,
            "prepaid.account",
            "write",
            self.account.ids,
            {name: ACCOUNT_MONEY_VALUES[name] for name in MONEY_FIELDS},
        )
        self.account.invalidate_recordset()
        self.assertEqual(self.account.credit_limit, 10.0)
        self.assertEqual(self.account.partner_id.name, "Other Tenant")

    def test_account_state_changes_only_through_the_actions(self):
        for user in self.users.values():
            self.assertWriteRefused(
                user,
                self.account,
                {"state": "closed", "date_open": "2020-01-01", "date_closed": "2020-01-01"},
                "kept by the system",
            )
        with self.assertRaisesRegex(AccessError, "kept by the system"):
            self.env["prepaid.account"].with_user(self.manager_user).create(
                {"partner_id": self.tenant.id, "state": "open"}
            )
        for method in ("action_suspend", "action_close"):
            self.assertRefused(self.operator_user, self.account, method, message="group .*Manager")
        self.rpc(self.manager_user, "prepaid.account", "action_suspend", self.account.ids)
        self.rpc(self.manager_user, "prepaid.account", "action_resume", self.account.ids)
        self.rpc(self.manager_user, "prepaid.account", "action_close", self.account.ids)
        self.account.invalidate_recordset()
        self.assertEqual(self.account.state, "closed")
        self.assertTrue(self.account.date_closed)
        draft = self._create_account(meters=self._create_meter())
        self.assertRefused(self.operator_user, draft, "action_open", message="group .*Manager")
        self.rpc(self.manager_user, "prepaid.account", "action_open", draft.ids)
        draft.invalidate_recordset()
        self.assertEqual(draft.state, "open")

    def test_service_rules_hold_for_accounts_in_service(self):
        # What opening checks holds afterwards, whoever writes (a manager, over RPC).
        for values, message in (
            ({"electricity_tariff_id": False}, "no electricity tariff"),
            ({"partner_id": False}, "no tenant"),
            (
                {
                    "billing_mode": "prepaid_meter",
                    "meter_ids": [(4, self._create_meter(model=self.model_manual).id, 0)],
                },
                "does not keep a balance",
            ),
        ):
            with self.subTest(values=values):
                with self.assertRaises(xmlrpc.client.Fault) as caught:
                    self.rpc(
                        self.manager_user, "prepaid.account", "write", self.account.ids, values
                    )
                self.assertIn(message, caught.exception.faultString)
        # Prepared accounts are free to be incomplete.
        draft = self._create_account()
        draft.with_user(self.operator_user).electricity_tariff_id = False

    # === LOGS === #

    def test_events_and_load_profile_are_immutable(self):
        stamp = datetime(2026, 3, 1, 8, 0)
        self.env["prepaid.meter.event"]._ingest(
            [{"meter_id": self.meter.id, "event_type": "cover_open", "occurred_at": stamp}]
        )
        event = self.env["prepaid.meter.event"].search([("meter_id", "=", self.meter.id)])
        self.env["prepaid.load.profile"]._ingest(
            [{"meter_id": self.meter.id, "interval_start": stamp, "quantity": 1.5}]
        )
        interval = self.env["prepaid.load.profile"].search([("meter_id", "=", self.meter.id)])
        self.assertEqual(len(event), 1)
        self.assertEqual(len(interval), 1)
        for user in (self.manager_user, self.admin_user):
            self.assertWriteRefused(
                user,
                event,
                {"severity": "critical", "acknowledged": True, "acknowledged_by_id": user.id},
                "kept by the system",
            )
            self.assertWriteRefused(user, interval, {"quantity": 99.0}, "kept by the system")
        # Acknowledging is the documented path, open to operators of the meter.
        self.rpc(self.operator_user, "prepaid.meter.event", "action_acknowledge", event.ids)
        event.invalidate_recordset()
        self.assertEqual(event.acknowledged_by_id, self.operator_user)

    # === VISIBILITY === #

    def test_other_buildings_stay_invisible(self):
        stamp = datetime(2026, 3, 1, 8, 0)
        self.env["prepaid.reading"]._ingest(
            [(self.meter.id, stamp, 10), (self.meter_b.id, stamp, 20)], "manual"
        )
        operator = self.operator_user
        operator.groups_id |= self.env.ref("base.group_allow_export")
        meters = (self.meter | self.meter_b).ids
        # read
        with self.assertRaises(xmlrpc.client.Fault):
            self.rpc(operator, "prepaid.meter", "read", self.meter_b.ids, ["serial_number"])
        with self.assertRaises(xmlrpc.client.Fault):
            self.rpc(operator, "prepaid.account", "read", self.account_b.ids, ["partner_id"])
        # read_group
        groups = self.rpc(
            operator,
            "prepaid.meter",
            "read_group",
            [("id", "in", meters)],
            ["building_id"],
            ["building_id"],
        )
        self.assertEqual([group["building_id"][0] for group in groups], [self.building.id])
        # name_search
        found = self.rpc(
            operator, "prepaid.meter", "name_search", "Test Meter", [("id", "in", meters)]
        )
        self.assertEqual([meter_id for meter_id, _name in found], self.meter.ids)
        # export_data (and a related path through the meter)
        readings = self.env["prepaid.reading"].search([("meter_id", "in", meters)])
        exported = self.rpc(
            operator,
            "prepaid.reading",
            "search_read",
            [("id", "in", readings.ids)],
            ["meter_id"],
        )
        self.assertEqual({row["meter_id"][0] for row in exported}, set(self.meter.ids))
        rows = self.rpc(
            operator,
            "prepaid.meter",
            "export_data",
            self.meter.ids,
            ["serial_number", "account_id/partner_id/name", "room_id/parent_id/name"],
        )["datas"]
        self.assertEqual(rows, [[self.meter.serial_number, self.tenant.name, self.floor.name]])
        with self.assertRaises(xmlrpc.client.Fault):
            self.rpc(operator, "prepaid.meter", "export_data", self.meter_b.ids, ["serial_number"])
        # Related fields do not open another building: the meter's tenant is readable on its
        # own meter, not through another building's account.
        with self.assertRaises(xmlrpc.client.Fault):
            self.rpc(operator, "prepaid.account", "read", self.account_b.ids, ["meter_ids"])
        self.assertEqual(
            self.rpc(operator, "prepaid.meter", "read", self.meter.ids, ["partner_id"])[0][
                "partner_id"
            ][0],
            self.tenant.id,
        )

    # === INSTALLATION === #

    def test_installing_administrator_holds_the_suite_administrator_group(self):
        # As Odoo's own apps do for base.user_admin: the administrator of a new database can
        # configure the suite (and, through the implied groups, manage and operate it).
        admin = self.env.ref("base.user_admin")
        for level in ("admin", "manager", "operator"):
            self.assertTrue(admin.has_group(f"prepaid_meter.prepaid_meter_group_{level}"), level)
