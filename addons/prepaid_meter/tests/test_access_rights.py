import base64
from datetime import datetime

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from .common import PrepaidMeterCommon


@tagged("post_install", "-at_install")
class TestAccessRights(PrepaidMeterCommon):
    """Operators see their sites and below (meters, accounts); managers see everything of
    their companies; companies are separated for everybody."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # cls.building (A) is operated by cls.operator_user; building B by nobody.
        cls.meter_a = cls._create_meter()
        cls.account_a = cls._create_account(meters=cls.meter_a)
        cls.building_b = cls._create_site("Building B", site_type="building", parent=cls.area)
        cls.floor_b = cls._create_site("B Floor 1", site_type="floor", parent=cls.building_b)
        cls.room_b = cls._create_room("B101", floor=cls.floor_b)
        cls.meter_b = cls._create_meter(room=cls.room_b)
        cls.account_b = cls._create_account(meters=cls.meter_b, room=cls.room_b)
        cls.operator_b = cls._create_prepaid_user(
            "test_prepaid_operator_b", "operator", sites=cls.building_b
        )

    def test_operator_sees_own_building_only(self):
        Site = self.env["prepaid.site"].with_user(self.operator_user)
        Meter = self.env["prepaid.meter"].with_user(self.operator_user)
        Account = self.env["prepaid.account"].with_user(self.operator_user)
        all_sites = self.area | self.building | self.floor | self.room
        all_sites |= self.building_b | self.floor_b | self.room_b
        self.assertEqual(
            Site.search([("id", "in", all_sites.ids)]), self.building | self.floor | self.room
        )
        self.assertEqual(
            Meter.search([("id", "in", (self.meter_a | self.meter_b).ids)]), self.meter_a
        )
        self.assertEqual(
            Account.search([("id", "in", (self.account_a | self.account_b).ids)]), self.account_a
        )
        # Reading building B's records is refused.
        with self.assertRaises(AccessError):
            Meter.browse(self.meter_b.id).read(["serial_number"])
        with self.assertRaises(AccessError):
            Account.browse(self.account_b.id).read(["partner_id"])
        with self.assertRaises(AccessError):
            Site.browse(self.room_b.id).read(["name"])
        # Building A's records are readable and the meters writable.
        self.assertEqual(Meter.browse(self.meter_a.id).serial_number, self.meter_a.serial_number)
        Meter.browse(self.meter_a.id).note = "Checked"
        with self.assertRaises(AccessError):
            Meter.browse(self.meter_b.id).write({"note": "Not mine"})

    def test_operator_sees_readings_and_events_of_own_meters_only(self):
        stamp = datetime(2026, 3, 1, 8, 0)
        Reading = self.env["prepaid.reading"]
        Reading._ingest([(self.meter_a.id, stamp, 10), (self.meter_b.id, stamp, 20)], "manual")
        Event = self.env["prepaid.meter.event"]
        Event._ingest(
            [
                {"meter_id": meter.id, "event_type": "cover_open", "occurred_at": stamp}
                for meter in self.meter_a | self.meter_b
            ]
        )
        meters = self.meter_a | self.meter_b
        for model in ("prepaid.reading", "prepaid.meter.event"):
            records = (
                self.env[model]
                .with_user(self.operator_user)
                .search([("meter_id", "in", meters.ids)])
            )
            self.assertEqual(records.meter_id, self.meter_a, model)
            manager_records = (
                self.env[model]
                .with_user(self.manager_user)
                .search([("meter_id", "in", meters.ids)])
            )
            self.assertEqual(manager_records.meter_id, meters, model)

    def test_assigning_a_site_on_the_user_form_opens_it_to_the_operator(self):
        Meter = self.env["prepaid.meter"].with_user(self.operator_b)
        self.assertFalse(Meter.search([("id", "=", self.meter_a.id)]))
        with Form(self.operator_b, view="base.view_users_form") as user_form:
            user_form.prepaid_site_ids.add(self.building)
        self.assertEqual(Meter.search([("id", "=", self.meter_a.id)]), self.meter_a)

    def test_operator_hardware_actions_on_own_meters(self):
        meter = self.meter_a.with_user(self.operator_user)
        activity = meter.action_relay_off()
        self.assertEqual(activity.user_id, self.operator_user)
        with self.assertRaises(AccessError):
            self.meter_b.with_user(self.operator_user).action_relay_off()

    def test_operator_counts_are_limited_to_visible_records(self):
        area = self.area.with_user(self.manager_user)
        self.assertEqual((area.room_count, area.meter_count), (2, 2))
        building = self.building.with_user(self.operator_user)
        self.assertEqual((building.room_count, building.meter_count), (1, 1))

    def test_operator_search_panel_starts_at_their_sites(self):
        Site = self.env["prepaid.site"].with_context(hierarchical_naming=False)
        values = Site.with_user(self.operator_user).search_panel_select_range(
            "parent_id", enable_counters=True
        )["values"]
        parents = {value["id"]: value["parent_id"] for value in values}
        # The area above the building is not readable: the tree starts at the building.
        self.assertEqual(parents, {self.building.id: False, self.floor.id: self.building.id})
        self.assertEqual(
            {value["display_name"] for value in values}, {"Test Building", "Test Floor 1"}
        )

    def test_manager_sees_everything(self):
        Meter = self.env["prepaid.meter"].with_user(self.manager_user)
        Account = self.env["prepaid.account"].with_user(self.manager_user)
        self.assertEqual(
            Meter.search([("id", "in", (self.meter_a | self.meter_b).ids)]),
            self.meter_a | self.meter_b,
        )
        self.assertEqual(
            Account.search([("id", "in", (self.account_a | self.account_b).ids)]),
            self.account_a | self.account_b,
        )
        Meter.browse(self.meter_b.id).read(["serial_number"])

    def test_assignment_changes_apply_at_once(self):
        Meter = self.env["prepaid.meter"].with_user(self.operator_user)
        self.assertFalse(Meter.search([("id", "=", self.meter_b.id)]))
        # Assigned to a floor of B: sees its rooms and meters.
        self.floor_b.operator_ids = [Command.link(self.operator_user.id)]
        self.assertEqual(Meter.search([("id", "=", self.meter_b.id)]), self.meter_b)
        # New rooms below an assigned site are visible at once.
        room_b2 = self._create_room("B102", floor=self.floor_b)
        self.assertTrue(
            self.env["prepaid.site"].with_user(self.operator_user).search([("id", "=", room_b2.id)])
        )
        # Unassigned from the user's side: hidden again.
        self.operator_user.prepaid_site_ids = [Command.unlink(self.floor_b.id)]
        self.assertFalse(Meter.search([("id", "=", self.meter_b.id)]))

    def test_operator_without_site_sees_nothing(self):
        loner = self._create_prepaid_user("test_prepaid_loner", "operator")
        self.assertFalse(self.env["prepaid.meter"].with_user(loner).search([]))
        self.assertFalse(self.env["prepaid.site"].with_user(loner).search([]))

    def test_operator_cannot_manage_the_registry(self):
        with self.assertRaises(AccessError):
            self.env["prepaid.site"].with_user(self.operator_user).create(
                {"name": "Rogue", "site_type": "building"}
            )
        with self.assertRaises(AccessError):
            self.env["prepaid.meter"].with_user(self.operator_user).create(
                {
                    "serial_number": "ROGUE",
                    "model_id": self.model_electricity.id,
                    "room_id": self.room.id,
                }
            )
        with self.assertRaises(AccessError):
            self.env["prepaid.meter.model"].with_user(self.manager_user).create(
                {"name": "Rogue model"}
            )

    def test_operator_prepares_accounts(self):
        Account = self.env["prepaid.account"].with_user(self.operator_user)
        draft = Account.create({"partner_id": self.tenant.id})
        self.assertEqual(Account.search([("id", "=", draft.id)]), draft)
        in_room = Account.create({"partner_id": self.tenant.id, "room_id": self.room.id})
        self.assertTrue(in_room.name.startswith("ACC/"))
        with self.assertRaises(AccessError):
            Account.create({"partner_id": self.tenant.id, "room_id": self.room_b.id})
        # Another operator's room-less drafts stay private.
        self.assertFalse(
            self.env["prepaid.account"].with_user(self.operator_b).search([("id", "=", draft.id)])
        )

    def test_operator_cannot_move_records_out_of_their_sites(self):
        # Record rules are checked before a write: the targets are checked too.
        meter = self.meter_a.with_user(self.operator_user)
        with self.assertRaises(AccessError):
            meter.room_id = self.room_b
        with self.assertRaises(AccessError):
            meter.account_id = self.account_b
        account = self.account_a.with_user(self.operator_user)
        with self.assertRaises(AccessError):
            account.room_id = self.room_b
        self.assertEqual((self.meter_a.room_id, self.account_a.room_id), (self.room, self.room))
        # Within their sites, they still install meters and prepare accounts.
        room_a2 = self._create_room("A102")
        meter.room_id = room_a2
        account.room_id = room_a2
        self.assertEqual((self.meter_a.room_id, self.account_a.room_id), (room_a2, room_a2))

    def test_operator_cannot_write_the_account_state(self):
        account = self.account_a.with_user(self.operator_user)
        with self.assertRaises(AccessError):
            account.state = "open"
        with self.assertRaises(AccessError):
            account.write({"date_open": "2026-01-01"})
        with self.assertRaises(AccessError):
            account.create({"partner_id": self.tenant.id, "state": "open"})
        self.assertEqual(self.account_a.state, "draft")

    def test_operator_cannot_use_the_manager_wizards(self):
        with self.assertRaises(AccessError):
            self.env["prepaid.meter.replace"].with_user(self.operator_user).create(
                {"old_meter_id": self.meter_a.id, "final_total": 1.0}
            )
        with self.assertRaises(AccessError):
            self.env["prepaid.account.open"].with_user(self.operator_user).create(
                {"account_ids": [Command.set(self.account_a.ids)]}
            )
        self.assertEqual(self.account_a.state, "draft")

    def test_operator_imports_readings_of_own_meters_only(self):
        content = (
            "serial,timestamp,total\n"
            f"{self.meter_a.serial_number},2026-03-01 08:00,10\n"
            f"{self.meter_b.serial_number},2026-03-01 08:00,20\n"
        )
        wizard = (
            self.env["prepaid.reading.import"]
            .with_user(self.operator_user)
            .create({"file": base64.b64encode(content.encode()), "filename": "r.csv", "tz": "UTC"})
        )
        wizard.action_import()
        self.assertEqual((wizard.imported_count, wizard.rejected_count), (1, 1))
        self.assertIn(f"Line 3: Unknown meter {self.meter_b.serial_number}.", wizard.report)
        readings = self.env["prepaid.reading"].search(
            [("meter_id", "in", (self.meter_a | self.meter_b).ids)]
        )
        self.assertEqual(readings.meter_id, self.meter_a)


@tagged("post_install", "-at_install")
class TestMultiCompany(PrepaidMeterCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_2 = cls._create_company(name="Second Property Co")
        cls.building_2 = cls._create_site(
            "Building 2", site_type="building", company_id=cls.company_2.id
        )
        cls.room_2 = cls._create_site("Room 2", parent=cls.building_2, company_id=cls.company_2.id)
        cls.meter_2 = cls._create_meter(room=cls.room_2, company_id=cls.company_2.id)
        cls.meter_1 = cls._create_meter()
        cls.manager_both = cls._create_prepaid_user("test_prepaid_manager_both", "manager")
        cls.manager_both.company_ids = [Command.link(cls.company_2.id)]

    def test_company_rules(self):
        meters = self.meter_1 | self.meter_2
        # A manager of the first company only.
        Meter = self.env["prepaid.meter"].with_user(self.manager_user)
        self.assertEqual(Meter.search([("id", "in", meters.ids)]), self.meter_1)
        with self.assertRaises(AccessError):
            Meter.browse(self.meter_2.id).read(["name"])
        Site = self.env["prepaid.site"].with_user(self.manager_user)
        self.assertFalse(Site.search([("id", "=", self.room_2.id)]))
        # A manager of both companies sees the meters of the companies selected.
        Meter = self.env["prepaid.meter"].with_user(self.manager_both)
        one = Meter.with_context(allowed_company_ids=[self.env.company.id])
        self.assertEqual(one.search([("id", "in", meters.ids)]), self.meter_1)
        both = Meter.with_context(allowed_company_ids=[self.env.company.id, self.company_2.id])
        self.assertEqual(both.search([("id", "in", meters.ids)]), meters)

    def test_company_consistency(self):
        with self.assertRaises(UserError):
            self._create_meter(room=self.room_2)  # a meter of company 1 in a room of company 2
        with self.assertRaises(UserError):
            self._create_site("Floor X", site_type="floor", parent=self.building_2)
        with self.assertRaises(UserError):
            self._create_account(meters=self.meter_2)
        account = self._create_account(
            meters=self.meter_2,
            room=self.room_2,
            company_id=self.company_2.id,
            electricity_tariff_id=self._create_tariff(company_id=self.company_2.id).id,
            water_tariff_id=False,
        )
        account.action_open()
        self.assertEqual(account.state, "open")
        self.assertEqual(self.meter_2.state, "active")

    def test_tariff_details_are_separated(self):
        tariff = self._create_tariff(name="Company 1 tariff")
        version = self.env["prepaid.tariff.version"].create(
            {
                "tariff_id": tariff.id,
                "date_from": "2026-01-01",
                "kind": "tiered_tou",
                "price_peak": 1.0,
                "price_valley": 0.5,
                "band_ids": [
                    Command.create({"hour_from": 0.0, "hour_to": 8.0, "band": "valley"}),
                    Command.create({"hour_from": 8.0, "hour_to": 24.0, "band": "peak"}),
                ],
                "tier_ids": [Command.create({"quantity_from": 0.0, "price_adder": 0.1})],
                "fixed_charge_ids": [
                    Command.create({"name": "Meter rental", "amount": 5.0, "period": "month"})
                ],
            }
        )
        calendar = self.env["prepaid.holiday.calendar"].create(
            {
                "name": "Company 1 holidays",
                "holiday_ids": [Command.create({"date": "2026-05-01", "name": "Labour Day"})],
            }
        )
        shared = self.env["prepaid.holiday.calendar"].create(
            {
                "name": "Shared holidays",
                "company_id": False,
                "holiday_ids": [Command.create({"date": "2026-10-01", "name": "National Day"})],
            }
        )
        manager_2 = self._create_prepaid_user(
            "test_prepaid_manager_2", "manager", company=self.company_2
        )
        details = {
            "prepaid.tariff.band": version.band_ids,
            "prepaid.tariff.tier": version.tier_ids,
            "prepaid.tariff.fixed.charge": version.fixed_charge_ids,
            "prepaid.holiday": calendar.holiday_ids,
        }
        for model, records in details.items():
            self.assertEqual(len(records), 2 if model == "prepaid.tariff.band" else 1, model)
            Model = self.env[model].with_user(manager_2)
            self.assertFalse(Model.search([("id", "in", records.ids)]), model)
            with self.assertRaises(AccessError, msg=model):
                Model.browse(records.ids).read(["id"])
            # The company's own managers still see them.
            own = self.env[model].with_user(self.manager_user).search([("id", "in", records.ids)])
            self.assertEqual(own, records, model)
        self.assertEqual(
            self.env["prepaid.holiday"]
            .with_user(manager_2)
            .search([("id", "in", shared.holiday_ids.ids)]),
            shared.holiday_ids,
        )
