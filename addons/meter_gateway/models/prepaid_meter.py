import json
import logging

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL
from odoo.tools.sql import column_exists, create_column

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import ADMIN, MANAGER, PROCESS

_logger = logging.getLogger(__name__)

# The credentials column is deliberately not an ORM field (like the STS key store of
# prepaid_billing): read(), search_read(), exports, onchange and tracking cannot return what
# the ORM does not know. Only _set_credential and _get_driver_settings touch it.
CREDENTIALS_COLUMN = "gateway_credentials"
CREDENTIAL_FIELDS = ("dlt645_password", "dlt645_operator_code", "dlms_password")
COMM_SETTINGS_FIELDS = (
    "gateway_id",
    "dlt645_password_level",
    "dlms_client_address",
    "dlms_server_address",
)
COMM_STATE_FIELDS = ("comm_failure_count", "last_comm_error", "clock_drift", "has_credentials")


class PrepaidMeter(models.Model):
    """How the gateway reaches the meter: its gateway, address and credentials; and what the
    poller last saw (failures in a row, last error, clock drift)."""

    _inherit = "prepaid.meter"

    gateway_id = fields.Many2one(
        "meter.gateway",
        string="Gateway",
        index=True,
        check_company=True,
        tracking=True,
        ondelete="restrict",
        help="The serial server, DTU, Modbus TCP device or serial port the meter is wired to. "
        "Without a gateway, hardware actions create activities for the staff.",
    )
    dlt645_password_level = fields.Integer(
        string="DL/T 645 Password Level",
        default=2,
        help="The password level used for relay control (02 on most meters).",
    )
    dlms_client_address = fields.Integer(
        string="DLMS Client Address",
        default=16,
        help="16: public client (no authentication); 17: low-level authentication.",
    )
    dlms_server_address = fields.Integer(string="DLMS Server Address", default=1)
    # Write-only: always read empty; the inverse stores the value outside the ORM.
    dlt645_password = fields.Char(
        string="DL/T 645 Password",
        compute="_compute_credentials",
        inverse="_inverse_dlt645_password",
        groups=ADMIN,
        copy=False,
        exportable=False,
        help="6 digits. Write-only: stored and never shown again.",
    )
    dlt645_operator_code = fields.Char(
        string="DL/T 645 Operator Code",
        compute="_compute_credentials",
        inverse="_inverse_dlt645_operator_code",
        groups=ADMIN,
        copy=False,
        exportable=False,
        help="8 digits. Write-only: stored and never shown again.",
    )
    dlms_password = fields.Char(
        string="DLMS Password",
        compute="_compute_credentials",
        inverse="_inverse_dlms_password",
        groups=ADMIN,
        copy=False,
        exportable=False,
        help="Low-level authentication secret. Write-only: stored and never shown again.",
    )
    has_credentials = fields.Boolean(
        string="Credentials Set",
        readonly=True,
        copy=False,
        help="Some communication credentials are stored for this meter.",
    )
    comm_failure_count = fields.Integer(
        string="Failed Contacts",
        readonly=True,
        copy=False,
        help="Contacts in a row the meter did not answer correctly.",
    )
    last_comm_error = fields.Char(string="Last Communication Error", readonly=True, copy=False)
    clock_drift = fields.Integer(
        string="Clock Drift (s)",
        readonly=True,
        copy=False,
        help="Meter clock minus the time of the gateway's zone at the last reading.",
    )
    command_ids = fields.One2many("meter.command", "meter_id", string="Commands")
    command_count = fields.Integer(compute="_compute_command_count")

    def init(self):
        if not column_exists(self.env.cr, self._table, CREDENTIALS_COLUMN):
            create_column(
                self.env.cr,
                self._table,
                CREDENTIALS_COLUMN,
                "jsonb",
                comment="Communication credentials of the meter (not an ORM field)",
            )

    # === CONSTRAINT METHODS === #

    @api.constrains("gateway_id", "comm_address", "model_id")
    def _check_gateway_address(self):
        for meter in self.filtered("gateway_id"):
            protocol = meter.model_id.protocol
            address = (meter.comm_address or "").strip()
            names = {"meter": meter.display_name, "address": address or "-"}
            if protocol == "none":
                raise ValidationError(
                    self.env._(
                        "Meter %(meter)s has no communication protocol: it cannot be on a gateway.",
                        **names,
                    )
                )
            if protocol in ("modbus_rtu", "modbus_tcp") and not (
                address.isdigit() and 1 <= int(address) <= 247
            ):
                raise ValidationError(
                    self.env._(
                        "Meter %(meter)s: a Modbus unit id is a number from 1 to 247, not "
                        "%(address)s.",
                        **names,
                    )
                )
            if protocol == "dlt645" and not (
                len(address) == 12 and address.isdigit() and address.isascii()
            ):
                raise ValidationError(
                    self.env._(
                        "Meter %(meter)s: a DL/T 645 address has 12 digits, not %(address)s.",
                        **names,
                    )
                )

    # === COMPUTE METHODS === #

    def _compute_credentials(self):
        for meter in self:
            meter.dlt645_password = False
            meter.dlt645_operator_code = False
            meter.dlms_password = False

    def _inverse_dlt645_password(self):
        self._inverse_credential("dlt645_password")

    def _inverse_dlt645_operator_code(self):
        self._inverse_credential("dlt645_operator_code")

    def _inverse_dlms_password(self):
        self._inverse_credential("dlms_password")

    def _inverse_credential(self, name):
        for meter in self:
            value = meter[name]
            if value:
                meter._set_credential(name, value)
        # Never keep the plain value in the cache (a read after saving must give nothing).
        self.invalidate_recordset([name])

    def _compute_hardware_pending(self):
        # The manual requests (activities) of prepaid_meter, plus the commands not finished.
        super()._compute_hardware_pending()
        waiting = (
            self.env["meter.command"]
            .sudo()
            .search(
                [("meter_id", "in", self.ids), ("state", "in", ("queued", "sending", "retry"))],
                order="priority, id",
            )
        )
        if not waiting:
            return
        states = dict(waiting._fields["state"]._description_selection(self.env))
        for meter in self:
            parts = [meter.hardware_pending] if meter.hardware_pending else []
            parts += [
                f"{command._get_description()} ({states[command.state]})"
                for command in waiting
                if command.meter_id == meter
            ]
            meter.hardware_pending = " · ".join(parts)

    def _compute_command_count(self):
        counts = dict(
            self.env["meter.command"]._read_group(
                [("meter_id", "in", self.ids)], ["meter_id"], ["__count"]
            )
        )
        for meter in self:
            meter.command_count = counts.get(meter, 0)

    # === CRUD METHODS === #

    def write(self, vals):
        if vals.get("model_id") and "gateway_id" not in vals:
            model = self.env["prepaid.meter.model"].browse(vals["model_id"])
            if model.protocol == "none" and any(self.mapped("gateway_id")):
                # A model without communication (an STS keypad meter, say) takes the meter
                # off its gateway rather than refusing the change.
                vals = {**vals, "gateway_id": False}
        result = super().write(vals)
        if "gateway_id" in vals:
            # Waiting commands follow the meter to its new gateway (none: they are cancelled).
            waiting = (
                self.env["meter.command"]
                .sudo()
                .search([("meter_id", "in", self.ids), ("state", "in", ("queued", "retry"))])
            )
            moved = waiting.filtered(lambda c: c.meter_id.gateway_id)
            for command in moved:
                command.gateway_id = command.meter_id.gateway_id
            (waiting - moved).action_cancel()
        return result

    # === ACCESS POLICY === #

    def _get_write_groups(self):
        return {
            **super()._get_write_groups(),
            **dict.fromkeys(COMM_SETTINGS_FIELDS, MANAGER),
            **dict.fromkeys(CREDENTIAL_FIELDS, ADMIN),
            **dict.fromkeys(COMM_STATE_FIELDS, PROCESS),
        }

    # === ACTION METHODS === #

    def action_view_commands(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("meter_gateway.meter_command_action")
        action["domain"] = [("meter_id", "=", self.id)]
        action["context"] = {}
        return action

    # === BUSINESS METHODS: CREDENTIALS === #

    def _set_credential(self, name, value):
        """Store one credential (administrators only: the field's group and write policy)."""
        self.ensure_one()
        if name not in CREDENTIAL_FIELDS:
            raise ValueError(name)
        value = str(value).strip()
        if name == "dlt645_password" and not (len(value) == 6 and value.isdigit()):
            raise ValidationError(self.env._("A DL/T 645 password has 6 digits."))
        if name == "dlt645_operator_code" and not (len(value) == 8 and value.isdigit()):
            raise ValidationError(self.env._("A DL/T 645 operator code has 8 digits."))
        self.flush_recordset()
        self.env.cr.execute(
            SQL(
                "UPDATE prepaid_meter SET %s = coalesce(%s, '{}'::jsonb) || %s::jsonb "
                "WHERE id = %s",
                SQL.identifier(CREDENTIALS_COLUMN),
                SQL.identifier(CREDENTIALS_COLUMN),
                json.dumps({name: value}),
                self.id,
            )
        )
        self.sudo().has_credentials = True
        self.message_post(
            body=Markup("<p>%s</p>")
            % self.env._(
                "Credential %(name)s changed by %(user)s.",
                name=self._fields[name]._description_string(self.env),
                user=self.env.user.name,
            )
        )

    def _get_credentials(self):
        """``{meter id: {name: value}}`` for the drivers, in the server only."""
        if not self.ids:
            return {}
        self.env.cr.execute(
            SQL(
                "SELECT id, %s FROM prepaid_meter WHERE id IN %s",
                SQL.identifier(CREDENTIALS_COLUMN),
                tuple(self.ids),
            )
        )
        return {meter_id: values or {} for meter_id, values in self.env.cr.fetchall()}

    def _get_driver_settings(self, credentials=None):
        """The plain description of the meter that ``drivers.channel.Channel.driver`` takes."""
        self.ensure_one()
        if credentials is None:
            credentials = self._get_credentials().get(self.id, {})
        protocol = self.model_id.protocol
        if protocol == "modbus_rtu" and self.gateway_id.kind == "modbus_tcp":
            protocol = "modbus_tcp"
        settings = {
            "protocol": protocol,
            "address": (self.comm_address or "").strip(),
            "register_map": self.model_id.get_register_map(),
            "password_level": self.dlt645_password_level,
            "password": credentials.get("dlt645_password"),
            "operator_code": credentials.get("dlt645_operator_code"),
            "client_address": self.dlms_client_address,
            "server_address": self.dlms_server_address,
            "dlms_password": credentials.get("dlms_password"),
        }
        return settings

    # === BUSINESS METHODS: HARDWARE === #

    def _get_hardware_request_message(self, action, requests):
        if requests._name != "meter.command":
            return super()._get_hardware_request_message(action, requests)
        return (
            self.env._("Sent to the meter gateway: %(what)s", what=requests[:1]._get_description()),
            self.env._(
                "%(count)s command(s) queued for %(meters)s. The gateway sends them within a "
                "minute, reads the meter back and posts the result on each meter.",
                count=len(requests),
                meters=", ".join(self.mapped("display_name")),
            ),
        )

    def _gateway_can(self, action):
        """Whether the meter's gateway can carry out ``action`` on it with the drivers of
        this addon and the register map of its model (never guessed: a register the map
        leaves null is a function the meter does not offer through the gateway)."""
        self.ensure_one()
        meter = self.sudo()
        if not meter.gateway_id.active or meter.gateway_id.kind == "dlms_tcp":
            return False
        protocol = meter.model_id.protocol
        if protocol not in ("modbus_rtu", "modbus_tcp", "dlt645"):
            return False
        if action == "read_now":
            return True
        if action == "sync_clock":
            return protocol == "dlt645"
        if action in ("relay_on", "relay_off", "valve_open", "valve_close"):
            if protocol == "dlt645":
                return True
            prepaid = (meter.model_id.get_register_map().get("prepaid")) or {}
            return bool(prepaid.get("relay_command") or prepaid.get("valve_command"))
        # Credit, tariff, thresholds: no documented register in the catalogue's maps.
        return False

    def _request_hardware_action(self, action, **values):
        """Queue real commands for the meters whose gateway can carry ``action`` out; the
        others get the default (activities for the staff), with a note saying why when they
        are on a gateway. See prepaid_meter's docstring for the contract."""
        on_gateway = self.filtered(lambda m: m._gateway_can(action))
        others = self - on_gateway
        for meter in others.filtered(lambda m: m.sudo().gateway_id.active):
            meter.sudo().message_post(
                body=self.env._(
                    "Gateway %(gateway)s cannot do this on model %(model)s (protocol or register "
                    "not available): %(what)s is left to the staff.",
                    gateway=meter.sudo().gateway_id.display_name,
                    model=meter.model_id.name,
                    what=meter._get_hardware_action_summary(action, **values),
                )
            )
        result = self.env["meter.command"]
        if on_gateway:
            result = self.env["meter.command"]._queue(on_gateway, action, **values)
        if others:
            activities = super(PrepaidMeter, others)._request_hardware_action(action, **values)
            if not on_gateway:
                return activities
        return result
