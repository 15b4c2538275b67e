import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import float_compare
from odoo.tools.translate import LazyTranslate

from .prepaid_access_mixin import MANAGER, PROCESS, requires_group

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

# Decimal places of the transformer ratios and of the register values.
RATIO_DIGITS = 4
REGISTER_DIGITS = 3
# What the meter measures and how its registers convert to quantities: billing depends on
# them, so only managers change them.
METROLOGY_FIELDS = (
    "model_id",
    "utility",
    "ct_ratio",
    "pt_ratio",
    "multiplier",
    "initial_reading",
    "register_digits",
    "max_load",
)
# Kept by processes: the state machine (actions), the gateway and ingestion (supply and
# communication state).
PROCESS_FIELDS = ("state", "supply_state", "online_state", "last_contact")
# Fields whose change can break the service rules of the meter's account.
ACCOUNT_RULE_FIELDS = ("account_id", "state", "room_id", "model_id", "utility")


class PrepaidMeter(models.Model):
    """A physical meter: where it is (room), whose it is (account), how it is reached
    (model, protocol, communication address) and its last known state (supply, online).

    Hardware actions (relay, valve, read, credit, tariff) are public methods that check the
    capabilities of the meter model, then delegate to one hook, ``_request_hardware_action``.
    Without a gateway the hook creates a to-do activity for the staff; the meter_gateway addon
    overrides it to queue real commands.
    """

    _name = "prepaid.meter"
    _description = "Meter"
    _inherit = ["mail.thread", "mail.activity.mixin", "prepaid.access.mixin"]
    _order = "room_id, utility, name"
    _check_company_auto = True

    # === FIELDS === #

    name = fields.Char(required=True, tracking=True)
    serial_number = fields.Char(required=True, index=True, copy=False, tracking=True)
    asset_number = fields.Char(
        copy=False, tracking=True, help="The owner's asset tag, unique in the company."
    )
    model_id = fields.Many2one(
        "prepaid.meter.model", string="Meter Model", required=True, tracking=True
    )
    # Follows the model; kept as a field of its own because readings, tariffs and accounts
    # filter on it, and the constraint below keeps both consistent.
    utility = fields.Selection(
        [("electricity", "Electricity"), ("water", "Water")],
        required=True,
        compute="_compute_utility",
        store=True,
        readonly=False,
        precompute=True,
    )
    unit_label = fields.Char(string="Unit", compute="_compute_unit_label")
    protocol = fields.Selection(related="model_id.protocol")
    has_relay = fields.Boolean(related="model_id.has_relay")
    has_valve = fields.Boolean(related="model_id.has_valve")
    has_meter_balance = fields.Boolean(related="model_id.has_meter_balance")
    has_tou_registers = fields.Boolean(related="model_id.has_tou_registers")
    comm_address = fields.Char(
        string="Communication Address",
        tracking=True,
        help="Modbus slave id, DL/T 645 address (12 digits) or DLMS logical/physical address.",
    )
    ct_ratio = fields.Float(
        string="CT Ratio",
        default=1.0,
        digits=(12, RATIO_DIGITS),
        tracking=True,
        help="Current transformer ratio (e.g. 200 for 1000/5 A); 1 for a direct meter.",
    )
    pt_ratio = fields.Float(
        string="PT Ratio",
        default=1.0,
        digits=(12, RATIO_DIGITS),
        tracking=True,
        help="Voltage (potential) transformer ratio; 1 without a transformer.",
    )
    multiplier = fields.Float(
        compute="_compute_multiplier",
        inverse="_inverse_multiplier",
        store=True,
        digits=(12, RATIO_DIGITS),
        tracking=True,
        help="CT ratio x PT ratio: the register values are multiplied by it.",
    )
    initial_reading = fields.Float(
        string="Initial Register Value",
        digits=(16, REGISTER_DIGITS),
        help="The total register of the meter when it was installed.",
    )
    install_date = fields.Date(tracking=True)
    removal_date = fields.Date(tracking=True, copy=False)
    room_id = fields.Many2one(
        "prepaid.site",
        domain="[('site_type', '=', 'room')]",
        index=True,
        ondelete="restrict",
        check_company=True,
        tracking=True,
    )
    building_id = fields.Many2one(related="room_id.building_id", store=True, index=True)
    floor_id = fields.Many2one(related="room_id.floor_id", store=True)
    account_id = fields.Many2one(
        "prepaid.account", index=True, copy=False, check_company=True, tracking=True
    )
    partner_id = fields.Many2one(related="account_id.partner_id", string="Tenant")
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("active", "Active"),
            ("suspended", "Suspended"),
            ("removed", "Removed"),
        ],
        default="draft",
        required=True,
        copy=False,
        tracking=True,
    )
    supply_state = fields.Selection(
        [
            ("connected", "Connected"),
            ("disconnected", "Disconnected"),
            ("unknown", "Unknown"),
        ],
        string="Relay/Valve",
        default="unknown",
        required=True,
        copy=False,
        tracking=True,
        help="The last known state of the relay (electricity) or valve (water).",
    )
    # Not tracked: the gateway updates it at every poll.
    online_state = fields.Selection(
        [("online", "Online"), ("offline", "Offline"), ("unknown", "Unknown")],
        string="Communication",
        default="unknown",
        required=True,
        copy=False,
    )
    last_contact = fields.Datetime(copy=False, help="When the meter last answered.")
    monitor_color = fields.Integer(compute="_compute_monitor_color")
    note = fields.Html()

    _sql_constraints = [
        (
            "serial_number_company_uniq",
            "unique(company_id, serial_number)",
            "A meter with this serial number already exists in the company.",
        ),
        (
            "asset_number_company_uniq",
            "unique(company_id, asset_number)",
            "A meter with this asset number already exists in the company.",
        ),
    ]

    # === CONSTRAINT METHODS === #

    @api.constrains("utility", "model_id")
    def _check_utility(self):
        for meter in self:
            if meter.model_id.utility != meter.utility:
                raise ValidationError(
                    self.env._(
                        "Meter %(meter)s measures %(utility)s but its model %(model)s is a "
                        "%(model_utility)s meter.",
                        meter=meter.display_name,
                        utility=meter._get_utility_label(meter.utility),
                        model=meter.model_id.name,
                        model_utility=meter._get_utility_label(meter.model_id.utility),
                    )
                )

    @api.constrains("ct_ratio", "pt_ratio")
    def _check_ratios(self):
        for meter in self:
            if (
                float_compare(meter.ct_ratio, 0.0, precision_digits=RATIO_DIGITS) <= 0
                or float_compare(meter.pt_ratio, 0.0, precision_digits=RATIO_DIGITS) <= 0
            ):
                raise ValidationError(
                    self.env._(
                        "The CT and PT ratios of meter %(meter)s must be positive.",
                        meter=meter.display_name,
                    )
                )

    @api.constrains("initial_reading")
    def _check_initial_reading(self):
        for meter in self:
            if float_compare(meter.initial_reading, 0.0, precision_digits=REGISTER_DIGITS) < 0:
                raise ValidationError(
                    self.env._(
                        "The initial register value of meter %(meter)s cannot be negative.",
                        meter=meter.display_name,
                    )
                )

    @api.constrains("room_id")
    def _check_room(self):
        for meter in self:
            if meter.room_id and meter.room_id.site_type != "room":
                raise ValidationError(
                    self.env._(
                        "Meter %(meter)s must be installed in a room, not in %(site)s.",
                        meter=meter.display_name,
                        site=meter.room_id.complete_name,
                    )
                )

    # === COMPUTE METHODS === #

    @api.depends("utility")
    def _compute_unit_label(self):
        for meter in self:
            meter.unit_label = self._get_unit_label(meter.utility)

    @api.depends("model_id")
    def _compute_utility(self):
        for meter in self:
            if meter.model_id:
                meter.utility = meter.model_id.utility
            elif not meter.utility:
                meter.utility = "electricity"

    @api.depends("ct_ratio", "pt_ratio")
    def _compute_multiplier(self):
        for meter in self:
            meter.multiplier = meter.ct_ratio * meter.pt_ratio

    def _inverse_multiplier(self):
        # Writing the multiplier directly (imports, other addons) keeps the PT ratio and derives
        # the CT ratio, so that multiplier = CT x PT always holds.
        for meter in self:
            if float_compare(meter.multiplier, 0.0, precision_digits=RATIO_DIGITS) <= 0:
                raise ValidationError(
                    self.env._(
                        "The multiplier of meter %(meter)s must be positive.",
                        meter=meter.display_name,
                    )
                )
            pt_ratio = meter.pt_ratio or 1.0
            meter.ct_ratio = meter.multiplier / pt_ratio

    @api.depends("state", "online_state", "supply_state")
    def _compute_monitor_color(self):
        # Colour indexes of the web client: 10 green, 1 red, 2 orange, 0 none.
        for meter in self:
            if meter.state == "removed":
                meter.monitor_color = 0
            elif meter.online_state == "offline":
                meter.monitor_color = 1
            elif meter.supply_state == "disconnected":
                meter.monitor_color = 2
            elif meter.online_state == "online":
                meter.monitor_color = 10
            else:
                meter.monitor_color = 0

    @api.depends("name", "serial_number")
    def _compute_display_name(self):
        for meter in self:
            if meter.name and meter.serial_number and meter.name != meter.serial_number:
                meter.display_name = f"{meter.name} ({meter.serial_number})"
            else:
                meter.display_name = meter.name or meter.serial_number or ""

    @api.model
    def _search_display_name(self, operator, value):
        if operator in ("ilike", "=ilike", "like", "=like", "=") and value:
            return ["|", ("name", operator, value), ("serial_number", operator, value)]
        return super()._search_display_name(operator, value)

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if not vals.get("name") and vals.get("serial_number"):
                vals["name"] = vals["serial_number"]
        return super().create(vals_list)

    def write(self, vals):
        self._check_target_access(vals)
        if "account_id" in vals:
            self._check_account_change(vals["account_id"])
        accounts = self.account_id if set(ACCOUNT_RULE_FIELDS) & set(vals) else None
        result = super().write(vals)
        if accounts is not None:
            (accounts | self.account_id).sudo()._check_service_rules()
        return result

    # === ACCESS POLICY === #

    def _get_write_groups(self):
        return {
            **super()._get_write_groups(),
            **dict.fromkeys(METROLOGY_FIELDS, MANAGER),
            **dict.fromkeys(PROCESS_FIELDS, PROCESS),
        }

    @api.model
    def _check_target_access(self, vals):
        """Record rules are checked before a write, not after: check that the user may read
        the room and the account a meter is given, so that an operator cannot move a meter of
        their sites into a room or onto an account of sites they do not operate."""
        if self.env.su:
            return
        if vals.get("room_id"):
            self.env["prepaid.site"].browse(vals["room_id"]).check_access("read")
        if vals.get("account_id"):
            self.env["prepaid.account"].browse(vals["account_id"]).check_access("read")

    def _check_account_change(self, account_id):
        """The meters of an account in service are billed: only managers add meters to it,
        and nobody takes a meter off it (close the account first, or replace the meter)."""
        account_id = account_id or False
        in_service = ("open", "suspended")
        busy = self.filtered(
            lambda m: (
                m.account_id and m.account_id.id != account_id and m.account_id.state in in_service
            )
        )
        if busy:
            raise UserError(
                self.env._(
                    "These meters are on an open or suspended account; close it or replace the "
                    "meter first:\n%(lines)s",
                    lines="\n".join(
                        f"- {meter.display_name}: {meter.account_id.display_name}" for meter in busy
                    ),
                )
            )
        target = self.env["prepaid.account"].browse(account_id)
        if (
            target
            and target.sudo().state in in_service
            and any(meter.account_id != target for meter in self)
            and not (self.env.su or self.env.user.has_group(MANAGER))
        ):
            raise AccessError(
                self.env._(
                    "Only users of the group %(group)s may add meters to account %(account)s, "
                    "which is in service.",
                    group=self._get_group_label(MANAGER),
                    account=target.sudo().display_name,
                )
            )

    # === ACTION METHODS: STATE === #

    def action_activate(self):
        """Put the meters in service (draft or suspended -> active). A meter in service must be
        installed in a room; the install date defaults to today."""
        missing_room = self.filtered(lambda m: not m.room_id)
        if missing_room:
            raise UserError(
                self.env._(
                    "Install these meters in a room before activating them: %(meters)s",
                    meters=", ".join(missing_room.mapped("display_name")),
                )
            )
        self._update_state(("draft", "suspended"), "active")
        for meter in self.filtered(lambda m: not m.install_date):
            meter.install_date = fields.Date.context_today(meter)
        return True

    @requires_group(MANAGER, _lt("suspend meters"))
    def action_suspend(self):
        """Take active meters out of service temporarily (active -> suspended)."""
        self._update_state(("active",), "suspended")
        return True

    @requires_group(MANAGER, _lt("remove meters"))
    def action_remove(self):
        """Remove meters from service for good (draft, active or suspended -> removed)."""
        self._update_state(("draft", "active", "suspended"), "removed")
        self.filtered(lambda m: not m.removal_date).removal_date = fields.Date.context_today(self)
        return True

    @requires_group(MANAGER, _lt("bring removed meters back to stock"))
    def action_reset_to_draft(self):
        """Bring removed meters back to stock (removed -> draft), e.g. after a repair.

        The series reopens: readings after reinstallation count from the final reading
        instead of being flagged as read after removal.
        """
        self._update_state(("removed",), "draft")
        self.write({"removal_date": False})
        # The series state belongs to ingestion and replacement: reopened here, by this action.
        self.sudo().final_reading_at = False
        return True

    def _get_state_records_label(self):
        return self.env._("meters")

    # === BUSINESS METHODS === #

    @api.model
    def _get_utility_label(self, utility):
        return dict(self._fields["utility"]._description_selection(self.env)).get(utility, "")

    @api.model
    def _get_unit_label(self, utility):
        """The unit of quantities of ``utility``: kWh for electricity, m³ for water."""
        return self.env._("m³") if utility == "water" else self.env._("kWh")

    # === DEMO DATA === #

    @api.model
    def _demo_generate_meters(self, buildings="abc", floors=4, rooms_per_floor=5):
        """Install the demo meters in the demo rooms (called from demo XML; idempotent).

        An electricity meter in every room (Acrel DDSY1352 in building A, DDSY1352 and generic
        DL/T 645 in B, a three-phase DTSY1352 with a current transformer on the ground floor
        of C and generic DLMS above), and a valve-controlled water meter in the rooms of the
        first two floors of A, the ground floor of B and the first floor of C: 80 meters for
        60 rooms.
        XML ids: ``prepaid_meter_<room>_e_demo`` and ``prepaid_meter_<room>_w_demo``.
        """

        def model(xmlid):
            return self.env.ref(f"prepaid_meter.prepaid_meter_model_{xmlid}")

        vals_list, xmlids = [], []
        bus_address = {}
        for building_index, letter in enumerate(buildings):
            for floor_number in range(1, floors + 1):
                for room_number in range(1, rooms_per_floor + 1):
                    code = f"{letter.upper()}{floor_number}{room_number:02d}"
                    room = self.env.ref(
                        f"prepaid_meter.prepaid_site_{code.lower()}_demo",
                        raise_if_not_found=False,
                    )
                    if not room:
                        continue
                    index = (building_index * floors + floor_number - 1) * rooms_per_floor
                    index += room_number
                    # One RS-485 bus per floor: Modbus slave ids count from 1 on each bus.
                    bus = (letter, floor_number)
                    values = {
                        "room_id": room.id,
                        "company_id": room.company_id.id,
                        "install_date": "2024-03-01",
                        "initial_reading": float((index * 37) % 500),
                    }
                    if letter == "c" and floor_number == 1:
                        meter_model, prefix = model("acrel_dtsy1352"), "DTSY"
                        # 150/5 A current transformers on the large ground-floor shops.
                        values["ct_ratio"] = 30.0
                    elif letter == "c":
                        meter_model, prefix = model("generic_dlms"), "DLMS"
                    elif letter == "b" and floor_number > 2:
                        meter_model, prefix = model("generic_dlt645"), "D645"
                    else:
                        meter_model, prefix = model("acrel_ddsy1352"), "DDSY"
                    serial = f"{prefix}24{index:06d}"
                    if meter_model.protocol == "dlt645":
                        address = f"{240000000000 + index:012d}"
                    else:
                        bus_address[bus] = bus_address.get(bus, 0) + 1
                        address = str(bus_address[bus])
                    xmlid = f"prepaid_meter.prepaid_meter_{code.lower()}_e_demo"
                    if not self.env.ref(xmlid, raise_if_not_found=False):
                        vals_list.append(
                            {
                                **values,
                                "name": self.env._("%(room)s Electricity", room=code),
                                "serial_number": serial,
                                "asset_number": f"AST-E-{index:04d}",
                                "model_id": meter_model.id,
                                "comm_address": address,
                            }
                        )
                        xmlids.append(xmlid)
                    if (letter, floor_number) in (
                        ("a", 1),
                        ("a", 2),
                        ("b", 1),
                        ("c", 2),
                    ):
                        bus_address[bus] = bus_address.get(bus, 0) + 1
                        xmlid = f"prepaid_meter.prepaid_meter_{code.lower()}_w_demo"
                        if not self.env.ref(xmlid, raise_if_not_found=False):
                            vals_list.append(
                                {
                                    **values,
                                    "ct_ratio": 1.0,
                                    "name": self.env._("%(room)s Water", room=code),
                                    "serial_number": f"WTR24{index:06d}",
                                    "asset_number": f"AST-W-{index:04d}",
                                    "model_id": model("water_valve").id,
                                    "comm_address": str(bus_address[bus]),
                                    "initial_reading": float(index % 40),
                                }
                            )
                            xmlids.append(xmlid)
        meters = self.create(vals_list)
        self.env["ir.model.data"]._update_xmlids(
            [
                {"xml_id": xmlid, "record": meter, "noupdate": True}
                for xmlid, meter in zip(xmlids, meters, strict=True)
            ]
        )
        return True
