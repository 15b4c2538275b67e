from odoo import Command
from odoo.tests import HttpCase, tagged

from .common import PrepaidMeterTestMixin


@tagged("post_install", "-at_install")
class TestUi(PrepaidMeterTestMixin, HttpCase):
    def test_room_monitoring_tour(self):
        area = self._create_site("Tour Plaza", site_type="area")
        building = self._create_site("Tour Building", site_type="building", parent=area)
        floor = self._create_site("Tour Floor", site_type="floor", parent=building)
        room = self._create_site("Tour Room 1", site_type="room", parent=floor)
        meter = self._create_meter(
            room=room,
            model=self.env.ref("prepaid_meter.prepaid_meter_model_acrel_ddsy1352"),
            name="Tour Meter",
            serial_number="TOUR-0001",
        )
        tariff = self._create_tariff(utility="electricity")
        account = self.env["prepaid.account"].create(
            {
                "partner_id": self.env["res.partner"].create({"name": "Tour Tenant"}).id,
                "room_id": room.id,
                "electricity_tariff_id": tariff.id,
                "meter_ids": [Command.set(meter.ids)],
            }
        )
        account.action_open()
        meter.write({"online_state": "offline", "supply_state": "connected"})
        self.start_tour(
            "/odoo/action-prepaid_meter.prepaid_site_action_room_monitoring",
            "prepaid_room_monitoring_tour",
            login="admin",
        )
        self.assertEqual(meter.activity_ids.mapped("summary"), ["Read the meter now"])
