from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import PrepaidMeterCommon


@tagged("post_install", "-at_install")
class TestSite(PrepaidMeterCommon):
    def test_complete_name_and_levels(self):
        self.assertEqual(
            self.room.complete_name, "Test Plaza / Test Building / Test Floor 1 / Test Room 101"
        )
        self.assertEqual(self.room.display_name, self.room.complete_name)
        self.assertEqual(self.room.building_id, self.building)
        self.assertEqual(self.room.floor_id, self.floor)
        self.assertEqual(self.room.area_id, self.area)
        self.assertEqual(self.building.building_id, self.building)
        self.assertFalse(self.building.floor_id)
        # Renaming a building renames everything below it.
        self.building.name = "Tower"
        self.assertEqual(
            self.room.complete_name, "Test Plaza / Tower / Test Floor 1 / Test Room 101"
        )

    def test_levels_follow_a_move(self):
        other_building = self._create_site("Other", site_type="building", parent=self.area)
        other_floor = self._create_site("Other F1", site_type="floor", parent=other_building)
        meter = self._create_meter()
        self.room.parent_id = other_floor
        self.assertEqual(self.room.building_id, other_building)
        self.assertEqual(meter.building_id, other_building)
        self.assertEqual(meter.floor_id, other_floor)

    def test_parent_type_rules(self):
        Site = self.env["prepaid.site"]
        with self.assertRaisesRegex(ValidationError, "needs a parent site"):
            Site.create({"name": "Orphan room", "site_type": "room"})
        with self.assertRaisesRegex(ValidationError, "needs a parent site"):
            Site.create({"name": "Orphan floor", "site_type": "floor"})
        with self.assertRaisesRegex(ValidationError, "cannot be placed in"):
            Site.create({"name": "Floor in area", "site_type": "floor", "parent_id": self.area.id})
        with self.assertRaisesRegex(ValidationError, "cannot be placed in"):
            Site.create({"name": "Room in area", "site_type": "room", "parent_id": self.area.id})
        with self.assertRaisesRegex(ValidationError, "cannot be placed in"):
            Site.create(
                {"name": "Building in floor", "site_type": "building", "parent_id": self.floor.id}
            )
        with self.assertRaisesRegex(ValidationError, "cannot be placed in"):
            Site.create({"name": "Room in room", "site_type": "room", "parent_id": self.room.id})
        # Allowed: a root building, a sub-area, a room directly in a building (market hall).
        Site.create({"name": "Standalone", "site_type": "building"})
        Site.create({"name": "Zone", "site_type": "area", "parent_id": self.area.id})
        Site.create({"name": "Stall 1", "site_type": "room", "parent_id": self.building.id})

    def test_changing_a_type_checks_the_children(self):
        with self.assertRaisesRegex(ValidationError, "cannot be placed in"):
            self.floor.site_type = "room"

    def test_no_cycle(self):
        zone = self._create_site("Zone", site_type="area", parent=self.area)
        with self.assertRaises(UserError):  # "Recursion Detected" by the parent store
            self.area.parent_id = zone

    def test_negative_floor_area(self):
        with self.assertRaises(ValidationError):
            self.room.floor_area = -1

    def test_counts(self):
        floor2 = self._create_site("Test Floor 2", site_type="floor", parent=self.building)
        room2 = self._create_room("Room 102")
        room3 = self._create_room("Room 201", floor=floor2)
        self._create_meter(room=self.room)
        self._create_meter(utility="water", room=self.room)
        self._create_meter(room=room3)
        self._create_meter(room=room2).action_remove()  # removed meters do not count
        self._create_meter(room=False)  # in stock
        sites = self.area | self.building | self.floor | floor2 | self.room | room2 | room3
        sites.invalidate_recordset(["room_count", "meter_count"])
        self.assertEqual(sites.mapped("room_count"), [3, 3, 2, 1, 0, 0, 0])
        self.assertEqual(sites.mapped("meter_count"), [3, 3, 2, 1, 2, 0, 1])

    def test_counts_query_count_does_not_grow(self):
        floors = self.env["prepaid.site"]
        for number in range(5):
            floor = self._create_site(f"F{number}", site_type="floor", parent=self.building)
            floors |= floor
            for room_number in range(3):
                self._create_meter(room=self._create_room(f"R{number}{room_number}", floor=floor))
        floors.invalidate_recordset(["room_count", "meter_count"])
        self.env.invalidate_all()
        # Two grouped queries and the parent paths of the groups, whatever the number of sites.
        with self.assertQueryCount(4):
            counts = [(floor.room_count, floor.meter_count) for floor in floors]
        self.assertEqual(counts, [(3, 3)] * 5)

    def test_monitor_state(self):
        self.assertEqual(self.room.monitor_state, "no_meter")
        electricity = self._create_meter()
        water = self._create_meter(utility="water")
        # Without an open account the room is vacant, whatever its meters say...
        self.assertEqual(self.room.monitor_state, "vacant")
        account = self._create_account(meters=electricity | water)
        self.assertEqual(self.room.monitor_state, "vacant")
        account.action_open()
        # ...with one, meters never read yet show as such.
        self.assertEqual(self.room.monitor_state, "unknown")
        (electricity | water).write({"online_state": "online", "supply_state": "connected"})
        self.assertEqual(self.room.monitor_state, "normal")
        water.supply_state = "disconnected"
        self.assertEqual(self.room.monitor_state, "disconnected")
        self.assertEqual(self.room.disconnected_meter_count, 1)
        electricity.online_state = "offline"
        self.assertEqual(self.room.monitor_state, "offline")
        self.assertEqual(self.room.offline_meter_count, 1)
        self.assertFalse(self.floor.monitor_state)
        offline_rooms = self.env["prepaid.site"].search([("monitor_state", "=", "offline")])
        self.assertIn(self.room, offline_rooms)
        # An offline meter shows even in a vacant room.
        account.action_close()
        self.assertEqual(self.room.monitor_state, "offline")
        electricity.online_state = "online"
        self.assertEqual(self.room.monitor_state, "vacant")

    def test_room_monitoring_titles_floors_by_building(self):
        """Room monitoring groups by floor with short titles, so many columns fit."""
        Site = self.env["prepaid.site"]
        self.assertEqual(self.floor.display_name, "Test Plaza / Test Building / Test Floor 1")
        groups = Site.with_context(prepaid_short_site_names=True).read_group(
            [("id", "=", self.room.id)], ["floor_id"], ["floor_id"]
        )
        self.assertEqual(groups[0]["floor_id"][1], "Test Building · Test Floor 1")

    def test_suite_users_land_on_room_monitoring(self):
        action = self.env.ref("prepaid_meter.prepaid_site_action_room_monitoring")
        self.assertEqual(self.operator_user.action_id.id, action.id)
        self.assertEqual(self.env.ref("base.user_admin").action_id.id, action.id)
        # A user outside the suite keeps Odoo's default; a chosen home action is kept.
        other = self.env["res.users"].create(
            {"name": "Accountant", "login": "prepaid_test_accountant"}
        )
        self.assertFalse(other.action_id)
        sites = self.env.ref("prepaid_meter.prepaid_site_action")
        other.action_id = sites.id
        other.groups_id = [
            Command.link(self.env.ref("prepaid_meter.prepaid_meter_group_operator").id)
        ]
        self.assertEqual(other.action_id.id, sites.id)
        other.action_id = False
        other.write({"groups_id": [Command.link(self.env.ref("base.group_user").id)]})
        self.assertEqual(other.action_id.id, action.id)

    def test_tenant_of_a_room(self):
        self.assertFalse(self.room.tenant_id)
        account = self._create_open_account()
        self.room.invalidate_recordset(["tenant_id", "account_id"])
        self.assertEqual(self.room.tenant_id, self.tenant)
        self.assertEqual(self.room.account_id, account)
        rooms = self.env["prepaid.site"].search([("tenant_id", "=", self.tenant.id)])
        self.assertEqual(rooms, self.room)

    def test_view_actions(self):
        self._create_meter()
        action = self.building.action_view_meters()
        self.assertEqual(self.env["prepaid.meter"].search(action["domain"]).room_id, self.room)
        action = self.building.action_view_rooms()
        self.assertEqual(self.env["prepaid.site"].search(action["domain"]), self.room)

    def test_room_monitoring_query_count_does_not_grow(self):
        """The fields of the room monitoring kanban are computed for the whole page."""
        fields_shown = [
            "name",
            "monitor_state",
            "tenant_id",
            "account_id",
            "meter_count",
            "offline_meter_count",
            "disconnected_meter_count",
            "floor_area",
        ]

        def read_queries(rooms):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            rooms.read(fields_shown)
            return self.env.cr.sql_log_count - before

        def make_rooms(prefix, number):
            rooms = self.env["prepaid.site"]
            for index in range(number):
                room = self._create_room(f"{prefix}{index}")
                self._create_meter(room=room).online_state = "offline"
                self._create_meter(utility="water", room=room).supply_state = "disconnected"
                rooms |= room
            return rooms

        few, many = make_rooms("Few", 2), make_rooms("Many", 12)
        self._create_open_account(room=few[0])
        self._create_open_account(room=many[0])
        self.assertEqual(read_queries(few), read_queries(many))
        self.assertEqual(
            many.mapped("offline_meter_count"), [1] * 12, "each room has one offline meter"
        )
        self.assertEqual(many.mapped("disconnected_meter_count"), [1] * 12)


@tagged("post_install", "-at_install")
class TestDemoInChinese(PrepaidMeterCommon):
    def test_demo_speaks_chinese_only_when_created_in_chinese(self):
        floor = self._create_site("Floor 7", site_type="floor", parent=self.building)
        Company = self.env["res.company"]
        admin = self.env.ref("base.user_admin")
        self.assertEqual(admin.lang, "en_US")
        Company._prepaid_demo_localize()
        self.assertEqual(floor.name, "Floor 7")
        self.env["res.lang"]._activate_lang("zh_CN")
        admin.lang = "zh_CN"  # a database created in Chinese
        self.assertTrue(Company._prepaid_demo_in_chinese())
        Company._prepaid_demo_localize()
        self.assertEqual(floor.name, "7层")
        operator = self.env.ref(
            "prepaid_meter.prepaid_meter_user_operator_a_demo", raise_if_not_found=False
        )
        if operator:  # with the demo data
            self.assertEqual((operator.name, operator.lang), ("陈美", "zh_CN"))
