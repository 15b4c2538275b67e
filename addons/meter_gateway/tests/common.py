"""Shared base of the gateway tests: real simulated lines on loopback sockets.

``MeterGatewayCommon`` starts, for each test class, two simulated RS-485 lines carried over
TCP (like serial servers): a Modbus RTU line whose meters use the simulator's register map
(it has relay registers), and a DL/T 645 line. Gateways of kind ``serial_server`` point at
them, so every test talks real frames over real sockets. The world clock of the simulated
meters is frozen: energy moves only when a test advances it. Demo gateways (if any) are
archived for the test so that the scheduled action only sees the test's own gateways.
"""

import json
from datetime import datetime, timedelta, timezone

from odoo import Command

from odoo.addons.prepaid_meter.tests.common import PrepaidMeterCommon

from ..simulators import SIMULATOR_MAP, SimClock, SimulatorHost, make_meters, start_line

FAST_TIMEOUT = 0.5  # seconds: a dead meter costs this much per request (loaded CI machines)


class MeterGatewayCommon(PrepaidMeterCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["meter.gateway"].search([]).write({"active": False})
        cls.host = SimulatorHost()
        cls.addClassCleanup(cls.host.close)
        cls.clock = SimClock(datetime.now().replace(microsecond=0), speed=0)
        cls.model_sim = cls._create_meter_model(
            "Test Simulated Modbus Meter",
            protocol="modbus_rtu",
            is_generic=True,
            has_relay=True,
            has_tou_registers=True,
            register_map=json.dumps(SIMULATOR_MAP),
        )
        cls.model_dlt645 = cls.env.ref("prepaid_meter.prepaid_meter_model_generic_dlt645")
        cls.sim_modbus = make_meters(cls.clock, 3, first_address=1)
        cls.sim_dlt645 = make_meters(cls.clock, 2, first_address=240000000101)
        cls.line_modbus = cls._start_line("modbus_rtu", cls.sim_modbus, SIMULATOR_MAP)
        cls.line_dlt645 = cls._start_line("dlt645", cls.sim_dlt645)
        cls.gateway_modbus = cls._create_gateway("Test Modbus line", cls.line_modbus.port)
        cls.gateway_dlt645 = cls._create_gateway("Test DL/T 645 line", cls.line_dlt645.port)
        cls.rooms = [cls.room] + [cls._create_room(f"Test Room 10{n}") for n in range(2, 6)]
        cls.meters_modbus = cls.env["prepaid.meter"].concat(
            *(
                cls._create_meter(
                    model=cls.model_sim,
                    room=cls.rooms[index],
                    comm_address=str(sim.unit),
                    gateway_id=cls.gateway_modbus.id,
                )
                for index, sim in enumerate(cls.sim_modbus)
            )
        )
        cls.meters_dlt645 = cls.env["prepaid.meter"].concat(
            *(
                cls._create_meter(
                    model=cls.model_dlt645,
                    room=cls.rooms[3 + index],
                    comm_address=sim.address,
                    gateway_id=cls.gateway_dlt645.id,
                )
                for index, sim in enumerate(cls.sim_dlt645)
            )
        )
        cls.meters_modbus.action_activate()
        cls.meters_dlt645.action_activate()

    @classmethod
    def _start_line(cls, protocol, meters, register_map=None, line=None):
        server = start_line(cls.host, protocol, meters, register_map=register_map, line=line)
        cls.addClassCleanup(server.stop)
        return server

    @classmethod
    def _create_gateway(cls, name, port, **values):
        return cls.env["meter.gateway"].create(
            {
                "name": name,
                "kind": "serial_server",
                "host": "127.0.0.1",
                "port": port,
                "timeout": FAST_TIMEOUT,
                "site_id": cls.building.id,
                "tz": "UTC",
                **values,
            }
        )

    def setUp(self):
        super().setUp()
        for sim in self.sim_modbus + self.sim_dlt645:
            sim.faults.clear()
            sim.relay_stuck = False
            sim.relay_closed = True
            sim.clock_offset = timedelta()
        # Simulated clocks run on the server's local time; the gateways are in UTC here, so
        # the meters' clocks are set to UTC.
        offset = datetime.now(timezone.utc).replace(tzinfo=None) - datetime.now()
        for sim in self.sim_dlt645:
            sim.clock_offset = offset

    # === HELPERS === #

    def run_cron(self, limit=20):
        """One run of the scheduled action, as the cron runs it (superuser)."""
        return self.env["meter.gateway"].sudo()._cron_run(limit=limit)

    def make_commands_due(self, commands):
        """Skip the back-off wait of ``commands`` (as if time had passed)."""
        commands.sudo().write({"next_attempt_at": datetime(2000, 1, 1)})

    def sim_of(self, meter):
        for sim in self.sim_modbus:
            if meter in self.meters_modbus and str(sim.unit) == meter.comm_address:
                return sim
        for sim in self.sim_dlt645:
            if sim.address == meter.comm_address:
                return sim
        raise AssertionError(f"no simulated meter for {meter.display_name}")

    def readings_of(self, meters):
        return self.env["prepaid.reading"].search([("meter_id", "in", meters.ids)])

    @classmethod
    def link_operator(cls, user, sites):
        sites.write({"operator_ids": [Command.link(user.id)]})
