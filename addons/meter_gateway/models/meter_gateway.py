import logging
import uuid
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal

import pytz

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.translate import LazyTranslate

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import (
    MANAGER,
    OPERATOR,
    PROCESS,
    requires_group,
)

from ..drivers.channel import RS485_KINDS
from ..drivers.session import run_session
from .gateway_errors import error_message

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

KINDS = [
    ("serial_server", "Serial Server / DTU (Modbus RTU or DL/T 645 over TCP)"),
    ("modbus_tcp", "Modbus TCP"),
    ("serial", "Local Serial Port"),
    ("dlms_tcp", "DLMS/COSEM over TCP"),
    ("simulator", "Simulator (loopback)"),
]
TCP_KINDS = ("serial_server", "modbus_tcp", "dlms_tcp")
# Communication settings: what a wrong value breaks is every meter of the line, hence managers.
SETTINGS_FIELDS = (
    "kind",
    "host",
    "port",
    "device",
    "baudrate",
    "parity",
    "bytesize",
    "stopbits",
    "timeout",
    "inter_frame_delay",
    "concurrency",
    "poll_interval",
    "poll_enabled",
    "offline_after",
    "max_clock_drift",
    "tz",
    "comm_log_level",
    "site_id",
    "company_id",
)
# Written by the poller and the dispatcher only.
STATE_FIELDS = (
    "online_state",
    "last_contact",
    "failure_count",
    "last_error",
    "next_poll_at",
    "lease_until",
    "lease_owner",
)


def meters_local_now(kind, tz_name):
    """Now on the clocks of a gateway's meters: naive local time of ``tz_name`` (pure: called
    from the poller's worker threads)."""
    if kind == "simulator":
        return datetime.now()  # simulated clocks run on the server's local time
    tz = pytz.timezone(tz_name or "UTC")
    return datetime.now(pytz.utc).astimezone(tz).replace(tzinfo=None)


def _tz_selection(self):
    return [(tz, tz) for tz in sorted(pytz.all_timezones_set)]


class MeterGateway(models.Model):
    """A line to meters: a serial server or DTU, a Modbus TCP device, a local serial port, a
    DLMS endpoint or a simulated line. It says how to reach the meters and how fast to talk to
    them; the poller visits it every ``poll_interval`` minutes and the command queue through
    it, one worker at a time (see ``_claim_gateways``)."""

    _name = "meter.gateway"
    _description = "Meter Gateway"
    _inherit = ["mail.thread", "prepaid.access.mixin"]
    _order = "name, id"
    _check_company_auto = True

    # === FIELDS === #

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    site_id = fields.Many2one(
        "prepaid.site",
        string="Site",
        index=True,
        check_company=True,
        tracking=True,
        help="Where the gateway is installed: operators of this site and the sites above it see "
        "it and command its meters.",
    )
    kind = fields.Selection(KINDS, required=True, default="serial_server", tracking=True)
    host = fields.Char(tracking=True, help="Host name or IP address of the TCP gateway.")
    port = fields.Integer(
        tracking=True,
        help="TCP port (often 502 for Modbus TCP, 4001 or 10001 for serial servers). For a "
        "simulator, 0 picks any free loopback port.",
    )
    device = fields.Char(tracking=True, help="Local serial port, e.g. /dev/ttyUSB0.")
    baudrate = fields.Integer(default=9600, tracking=True)
    parity = fields.Selection(
        [("none", "None"), ("even", "Even"), ("odd", "Odd")], default="none", required=True
    )
    bytesize = fields.Integer(string="Data Bits", default=8)
    stopbits = fields.Integer(string="Stop Bits", default=1)
    timeout = fields.Float(
        string="Timeout (s)",
        default=1.0,
        help="How long to wait for each reply. A dead meter costs its whole timeout on every "
        "poll: keep it short.",
    )
    inter_frame_delay = fields.Float(
        string="Inter-frame Delay (s)",
        default=0.0,
        help="Pause after each exchange, for converters that need a quiet line.",
    )
    concurrency = fields.Integer(
        default=1,
        help="Requests in flight at once. An RS-485 line is half duplex: always 1 for serial "
        "servers, DTUs and serial ports.",
    )
    poll_interval = fields.Integer(string="Poll Interval (min)", default=15)
    poll_enabled = fields.Boolean(string="Polling", default=True, tracking=True)
    offline_after = fields.Integer(
        string="Offline After (failures)",
        default=3,
        help="Consecutive failed contacts before a meter (or the gateway) is reported offline.",
    )
    max_clock_drift = fields.Integer(
        string="Max Clock Drift (s)",
        default=60,
        help="Meter clocks further off than this are set (DL/T 645: broadcast time).",
    )
    tz = fields.Selection(
        _tz_selection,
        string="Meter Time Zone",
        default=lambda self: self.env.user.tz or "UTC",
        help="The time zone of the meters' clocks.",
    )
    comm_log_level = fields.Selection(
        [("errors", "Failures and Commands"), ("all", "Every Exchange")],
        string="Communication Log",
        default="errors",
        required=True,
        help="Successful polls are not logged by default: on a large site they would be most "
        "of the log.",
    )
    online_state = fields.Selection(
        [("online", "Online"), ("offline", "Offline"), ("unknown", "Unknown")],
        string="Communication",
        default="unknown",
        required=True,
        copy=False,
    )
    last_contact = fields.Datetime(copy=False, readonly=True)
    failure_count = fields.Integer(
        string="Consecutive Failures",
        copy=False,
        readonly=True,
        help="Visits in a row in which no meter of the gateway answered.",
    )
    last_error = fields.Char(copy=False, readonly=True)
    next_poll_at = fields.Datetime(string="Next Poll", copy=False, readonly=True)
    # Lease of a cron worker on the gateway (see _claim_gateways); not shown.
    lease_until = fields.Datetime(copy=False, readonly=True)
    lease_owner = fields.Char(copy=False, readonly=True)
    meter_ids = fields.One2many("prepaid.meter", "gateway_id", string="Meters")
    meter_count = fields.Integer(compute="_compute_counts")
    command_count = fields.Integer(compute="_compute_counts")

    # === CONSTRAINT METHODS === #

    @api.constrains("kind", "host", "port", "device", "concurrency", "timeout", "poll_interval")
    def _check_settings(self):
        for gateway in self:
            names = {"gateway": gateway.display_name}
            if gateway.kind in TCP_KINDS and not (gateway.host and gateway.port):
                raise ValidationError(
                    self.env._("Gateway %(gateway)s needs a host and a port.", **names)
                )
            if gateway.kind == "serial" and not gateway.device:
                raise ValidationError(
                    self.env._("Gateway %(gateway)s needs a serial device.", **names)
                )
            if not 0 <= gateway.port <= 65535:
                raise ValidationError(
                    self.env._("The port of gateway %(gateway)s is 0..65535.", **names)
                )
            if gateway.concurrency < 1 or (
                gateway.kind in RS485_KINDS and gateway.concurrency != 1
            ):
                raise ValidationError(
                    self.env._(
                        "Gateway %(gateway)s: an RS-485 line carries one request at a time "
                        "(concurrency 1); other gateways need at least 1.",
                        **names,
                    )
                )
            if gateway.timeout <= 0 or gateway.poll_interval < 1:
                raise ValidationError(
                    self.env._(
                        "Gateway %(gateway)s: the timeout and the poll interval must be positive.",
                        **names,
                    )
                )

    # === COMPUTE METHODS === #

    def _compute_counts(self):
        meters = dict(
            self.env["prepaid.meter"]._read_group(
                [("gateway_id", "in", self.ids)], ["gateway_id"], ["__count"]
            )
        )
        commands = dict(
            self.env["meter.command"]._read_group(
                [("gateway_id", "in", self.ids)], ["gateway_id"], ["__count"]
            )
        )
        for gateway in self:
            gateway.meter_count = meters.get(gateway, 0)
            gateway.command_count = commands.get(gateway, 0)

    # === ACCESS POLICY === #

    def _get_write_groups(self):
        return {
            **super()._get_write_groups(),
            **dict.fromkeys(SETTINGS_FIELDS, MANAGER),
            **dict.fromkeys(STATE_FIELDS, PROCESS),
        }

    # === CRUD METHODS === #

    def write(self, vals):
        result = super().write(vals)
        if {"kind", "host", "port", "poll_interval", "poll_enabled"} & set(vals):
            # Visit again soon with the new settings.
            self.sudo().next_poll_at = False
        return result

    # === ACTION METHODS === #

    @requires_group(OPERATOR, _lt("test gateway connections"))
    def action_test_connection(self):
        """Read the first meter of the gateway once and say what happened, in words."""
        self.ensure_one()
        self.check_access("read")
        meter = self.meter_ids.filtered(lambda m: m.state != "removed")[:1]
        if not meter:
            raise UserError(
                self.env._(
                    "Gateway %(gateway)s has no meter to talk to: assign meters first.",
                    gateway=self.display_name,
                )
            )
        gateway = self.sudo()
        job = {
            "key": meter.id,
            "meter_id": meter.id,
            "action": "poll",
            "meter": meter.sudo()._get_driver_settings(),
        }
        (result,) = run_session(gateway._get_channel_settings(), [job], gateway._local_now)
        self.env["meter.comm.log"].sudo()._log_results(gateway, [job], [result])
        if result["error"] is not None:
            message = error_message(self.env, result["error"])
            title = self.env._("Connection failed")
            kind = "danger"
        else:
            reading = result["reading"]
            message = self.env._(
                "Meter %(meter)s answered in %(ms)s ms (total %(total)s).",
                meter=meter.display_name,
                ms=int(result["duration"] * 1000),
                total=reading.energy_total if reading.energy_total is not None else "-",
            )
            title = self.env._("Connection successful")
            kind = "success"
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": title, "message": message, "type": kind, "sticky": False},
        }

    def action_poll_now(self):
        """Queue a *read now* for every meter of the gateway (operators of its sites)."""
        meters = self.meter_ids.filtered(lambda m: m.state != "removed" and m.protocol != "none")
        if not meters:
            raise UserError(self.env._("There is no meter to read on these gateways."))
        return meters.action_read_now()

    def action_view_meters(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("prepaid_meter.prepaid_meter_action")
        action["domain"] = [("gateway_id", "=", self.id)]
        action["context"] = {"default_gateway_id": self.id}
        return action

    def action_view_commands(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("meter_gateway.meter_command_action")
        action["domain"] = [("gateway_id", "=", self.id)]
        action["context"] = {}
        return action

    # === BUSINESS METHODS: CONNECTION === #

    def _local_now(self):
        """Now on the meters' clocks (naive local time of the gateway's time zone)."""
        self.ensure_one()
        return meters_local_now(self.kind, self.tz)

    def _get_channel_settings(self):
        """The plain settings ``drivers.channel.Channel`` needs (starts a simulated line)."""
        self.ensure_one()
        settings = {
            "kind": self.kind,
            "host": self.host,
            "port": self.port,
            "device": self.device,
            "baudrate": self.baudrate,
            "parity": self.parity,
            "bytesize": self.bytesize,
            "stopbits": self.stopbits,
            "timeout": self.timeout,
            "inter_frame_delay": self.inter_frame_delay,
        }
        if self.kind == "simulator":
            settings.update(host="127.0.0.1", port=self._ensure_simulator())
        return settings

    def _get_simulator_key(self):
        return (self.env.cr.dbname, self.id)

    def _ensure_simulator(self):
        """Start (once per server process) the simulated line of this gateway and return its
        loopback port; its meters are the gateway's meters, by address."""
        from ..simulators import service

        meters = self.meter_ids.filtered(lambda m: m.state != "removed" and m.comm_address)
        protocols = set(meters.mapped("model_id.protocol")) or {"modbus_rtu"}
        if len(protocols) > 1:
            raise UserError(
                self.env._(
                    "The simulated line of gateway %(gateway)s carries one protocol; its meters "
                    "speak %(protocols)s.",
                    gateway=self.display_name,
                    protocols=", ".join(sorted(protocols)),
                )
            )
        (protocol,) = protocols
        if protocol not in ("modbus_rtu", "dlt645"):
            raise UserError(
                self.env._(
                    "The simulator serves Modbus RTU and DL/T 645 meters, not %(protocol)s.",
                    protocol=protocol,
                )
            )
        register_map = None
        if protocol == "modbus_rtu" and meters:
            register_map = meters[0].model_id.get_register_map() or None
        return service.ensure_line(
            self._get_simulator_key(),
            protocol,
            [
                {
                    "address": m.comm_address,
                    # Rounded up to the registers' resolution (0.01 in the simulator's maps):
                    # a register below the last reading stored would read as running backwards.
                    "energy": Decimal(str(m.last_reading_total or m.initial_reading or 0)).quantize(
                        Decimal("0.01"), rounding=ROUND_CEILING
                    ),
                }
                for m in meters
            ],
            port=self.port or 0,
            register_map=register_map,
        )

    # === BUSINESS METHODS: SCHEDULING === #

    @api.model
    def _get_due_domain_sql(self, now):
        """Gateways with work: a poll due, or a command ready to send."""
        return SQL(
            """
            g.active AND (g.lease_until IS NULL OR g.lease_until < %(now)s)
            AND (
                (g.poll_enabled AND (g.next_poll_at IS NULL OR g.next_poll_at <= %(now)s)
                 AND EXISTS (SELECT FROM prepaid_meter m WHERE m.gateway_id = g.id
                                AND m.state != 'removed'))
                OR EXISTS (SELECT FROM meter_command c
                            WHERE c.gateway_id = g.id AND c.state IN ('queued', 'retry')
                              AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= %(now)s))
            )""",
            now=now,
        )

    @api.model
    def _claim_gateways(self, limit, lease_seconds=600):
        """Take a lease on up to ``limit`` gateways with work, skipping those another worker
        holds (row locked now, or leased and not expired), and return them with the lease's
        owner token.

        The rows are locked with ``FOR UPDATE SKIP LOCKED`` only for the time of the claim: the
        lease (``lease_until``, ``lease_owner``) is what keeps other workers away while the
        gateway is visited, and it expires by itself if the worker dies, so another one takes
        the gateway over. The caller commits right after, so that the lease is visible.
        """
        self._flush_scheduling()
        now = fields.Datetime.now()
        owner = uuid.uuid4().hex
        self.env.cr.execute(
            SQL(
                """
                WITH due AS (
                    SELECT g.id FROM meter_gateway g
                     WHERE %(due)s
                     ORDER BY g.next_poll_at NULLS FIRST, g.id
                     LIMIT %(limit)s
                       FOR UPDATE SKIP LOCKED
                )
                UPDATE meter_gateway g SET lease_until = %(until)s, lease_owner = %(owner)s
                  FROM due WHERE g.id = due.id
                RETURNING g.id
                """,
                due=self._get_due_domain_sql(now),
                limit=limit,
                until=now + timedelta(seconds=lease_seconds),
                owner=owner,
            )
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        self.invalidate_model(["lease_until", "lease_owner"])
        return self.browse(sorted(ids)), owner

    @api.model
    def _flush_scheduling(self):
        """Flush what the scheduling statements read behind the ORM's back."""
        self.env["meter.gateway"].flush_model()
        self.env["meter.command"].flush_model()
        self.env["prepaid.meter"].flush_model(["gateway_id", "state"])

    def _release(self, owner):
        """Give the leases of ``owner`` back (only those still ours)."""
        if not self:
            return
        self.flush_recordset()
        self.env.cr.execute(
            SQL(
                "UPDATE meter_gateway SET lease_until = NULL, lease_owner = NULL "
                "WHERE id IN %s AND lease_owner = %s",
                tuple(self.ids),
                owner,
            )
        )
        self.invalidate_recordset(["lease_until", "lease_owner"])

    @api.model
    def _count_due(self):
        self._flush_scheduling()
        self.env.cr.execute(
            SQL(
                "SELECT count(*) FROM meter_gateway g WHERE %s",
                self._get_due_domain_sql(fields.Datetime.now()),
            )
        )
        return self.env.cr.fetchone()[0]

    # === DEMO === #

    @api.model
    def _demo_create_gateways(self):
        """One simulated line per floor, utility and protocol for the demo meters that speak
        Modbus RTU or DL/T 645 (called from demo XML; idempotent). DLMS demo meters stay
        without a gateway: their hardware actions remain activities for the staff."""
        data = (
            self.env["ir.model.data"]
            .sudo()
            .search([("module", "=", "prepaid_meter"), ("model", "=", "prepaid.meter")])
        )
        meters = (
            self.env["prepaid.meter"]
            .browse(data.filtered(lambda d: d.name.endswith("_demo")).mapped("res_id"))
            .exists()
            .filtered(
                lambda m: (
                    not m.gateway_id
                    and m.comm_address
                    and m.room_id.floor_id
                    and m.model_id.protocol in ("modbus_rtu", "dlt645")
                )
            )
        )
        lines = {}
        for meter in meters:
            key = (meter.room_id.floor_id, meter.utility, meter.model_id.protocol)
            lines.setdefault(key, self.env["prepaid.meter"])
            lines[key] |= meter
        for (floor, utility, protocol), line_meters in sorted(
            lines.items(), key=lambda item: (item[0][0].complete_name, item[0][1], item[0][2])
        ):
            xmlid = f"gateway_{floor.id}_{utility}_{protocol}_demo"
            gateway = self.env.ref(f"meter_gateway.{xmlid}", raise_if_not_found=False)
            if not gateway:
                gateway = self.create(
                    {
                        "name": self.env._(
                            "%(floor)s %(utility)s bus (simulated)",
                            floor=floor.complete_name,
                            utility=line_meters[0]._get_utility_label(utility),
                        ),
                        "kind": "simulator",
                        "site_id": floor.id,
                        "company_id": floor.company_id.id,
                        "timeout": 0.5,
                        "tz": "UTC",
                        "max_clock_drift": 120,
                    }
                )
                self.env["ir.model.data"].create(
                    {
                        "module": "meter_gateway",
                        "name": xmlid,
                        "model": self._name,
                        "res_id": gateway.id,
                        "noupdate": True,
                    }
                )
            line_meters.write({"gateway_id": gateway.id})
