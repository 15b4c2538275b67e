import logging

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools.misc import formatLang

from .related_counts import set_related_counts

_logger = logging.getLogger(__name__)

# Hardware actions: the capability check each one needs and the action it cancels.
# The keys are the ``action`` values given to ``_request_hardware_action``.
HARDWARE_ACTIONS = (
    "relay_on",
    "relay_off",
    "valve_open",
    "valve_close",
    "read_now",
    "write_credit",
    "set_tariff",
)
OPPOSITE_HARDWARE_ACTIONS = {
    "relay_on": "relay_off",
    "relay_off": "relay_on",
    "valve_open": "valve_close",
    "valve_close": "valve_open",
}


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
    _inherit = ["mail.thread", "mail.activity.mixin"]
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
        digits=(12, 4),
        tracking=True,
        help="Current transformer ratio (e.g. 200 for 1000/5 A); 1 for a direct meter.",
    )
    pt_ratio = fields.Float(
        string="PT Ratio",
        default=1.0,
        digits=(12, 4),
        tracking=True,
        help="Voltage (potential) transformer ratio; 1 without a transformer.",
    )
    multiplier = fields.Float(
        compute="_compute_multiplier",
        inverse="_inverse_multiplier",
        store=True,
        digits=(12, 4),
        tracking=True,
        help="CT ratio x PT ratio: the register values are multiplied by it.",
    )
    initial_reading = fields.Float(
        string="Initial Register Value",
        digits=(16, 3),
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
            if meter.ct_ratio <= 0 or meter.pt_ratio <= 0:
                raise ValidationError(
                    self.env._(
                        "The CT and PT ratios of meter %(meter)s must be positive.",
                        meter=meter.display_name,
                    )
                )

    @api.constrains("initial_reading")
    def _check_initial_reading(self):
        for meter in self:
            if meter.initial_reading < 0:
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
            if meter.multiplier <= 0:
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
        if vals.get("account_id"):
            self._check_account_change(vals["account_id"])
        return super().write(vals)

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
        """A meter of an open or suspended account cannot be handed to another account
        (close the account first, or replace the meter)."""
        busy = self.filtered(
            lambda m: (
                m.account_id
                and m.account_id.id != account_id
                and m.account_id.state in ("open", "suspended")
            )
        )
        if busy:
            raise UserError(
                self.env._(
                    "These meters are on an open or suspended account; close it first:\n%(lines)s",
                    lines="\n".join(
                        f"- {meter.display_name}: {meter.account_id.display_name}" for meter in busy
                    ),
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

    def action_suspend(self):
        """Take active meters out of service temporarily (active -> suspended)."""
        self._update_state(("active",), "suspended")
        return True

    def action_remove(self):
        """Remove meters from service for good (draft, active or suspended -> removed)."""
        self._update_state(("draft", "active", "suspended"), "removed")
        self.filtered(lambda m: not m.removal_date).removal_date = fields.Date.context_today(self)
        return True

    def action_reset_to_draft(self):
        """Bring removed meters back to stock (removed -> draft), e.g. after a repair.

        The series reopens: readings after reinstallation count from the final reading
        instead of being flagged as read after removal.
        """
        self._update_state(("removed",), "draft")
        self.write({"removal_date": False, "final_reading_at": False})
        return True

    def _update_state(self, allowed_states, target_state):
        """Move the meters to ``target_state`` if they all are in ``allowed_states``.

        Meters already in the target state are skipped; any other state is an illegal
        transition and raises a UserError naming the meters, so that nothing changes.
        """
        labels = dict(self._fields["state"]._description_selection(self.env))
        illegal = self.filtered(lambda m: m.state != target_state and m.state not in allowed_states)
        if illegal:
            raise UserError(
                self.env._(
                    "Cannot set these meters to %(target)s (allowed from %(allowed)s):\n%(lines)s",
                    target=labels[target_state],
                    allowed=", ".join(labels[s] for s in allowed_states),
                    lines="\n".join(
                        f"- {meter.display_name}: {labels[meter.state]}" for meter in illegal
                    ),
                )
            )
        to_update = self.filtered(lambda m: m.state != target_state)
        if to_update:
            to_update.state = target_state
        return to_update

    # === ACTION METHODS: HARDWARE === #

    def action_relay_on(self):
        """Reconnect the electricity supply. Needs a model with a relay.

        :return: what ``_request_hardware_action`` returns (activities, or gateway commands)
        """
        return self._hardware_action("relay_on")

    def action_relay_off(self):
        """Disconnect the electricity supply. Needs a model with a relay.

        :return: what ``_request_hardware_action`` returns (activities, or gateway commands)
        """
        return self._hardware_action("relay_off")

    def action_valve_open(self):
        """Open the water valve. Needs a model with a valve.

        :return: what ``_request_hardware_action`` returns (activities, or gateway commands)
        """
        return self._hardware_action("valve_open")

    def action_valve_close(self):
        """Close the water valve. Needs a model with a valve.

        :return: what ``_request_hardware_action`` returns (activities, or gateway commands)
        """
        return self._hardware_action("valve_close")

    def action_read_now(self):
        """Read the registers now. Needs a model with a communication protocol.

        :return: what ``_request_hardware_action`` returns (activities, or gateway commands)
        """
        return self._hardware_action("read_now")

    def action_supply_on(self):
        """Reconnect the supply of each meter with the device it has (relay or valve)."""
        relays = self.filtered(lambda m: m.utility == "electricity")
        result = relays.action_relay_on() if relays else None
        valves = self - relays
        if valves:
            valve_result = valves.action_valve_open()
            result = valve_result if result is None else result | valve_result
        return result

    def action_supply_off(self):
        """Disconnect the supply of each meter with the device it has (relay or valve)."""
        relays = self.filtered(lambda m: m.utility == "electricity")
        result = relays.action_relay_off() if relays else None
        valves = self - relays
        if valves:
            valve_result = valves.action_valve_close()
            result = valve_result if result is None else result | valve_result
        return result

    def write_credit(self, amount):
        """Write a credit of ``amount`` (company currency, positive) to meters that keep their
        balance on the meter (meter-side prepayment).

        :param float amount: the credit to add to the meter's balance
        :return: what ``_request_hardware_action`` returns (activities, or gateway commands)
        """
        for meter in self:
            if meter.company_id.currency_id.compare_amounts(amount, 0.0) <= 0:
                raise UserError(
                    self.env._(
                        "The credit written to meter %(meter)s must be positive.",
                        meter=meter.display_name,
                    )
                )
        return self._hardware_action("write_credit", amount=amount)

    def set_tariff(self, tariff):
        """Write ``tariff`` (prices and time-of-use bands) to meters that rate on the meter or
        keep time-of-use registers.

        :param tariff: a ``prepaid.tariff`` record of the meters' utility
        :return: what ``_request_hardware_action`` returns (activities, or gateway commands)
        """
        tariff.ensure_one()
        wrong_utility = self.filtered(lambda m: m.utility != tariff.utility)
        if wrong_utility:
            raise UserError(
                self.env._(
                    "Tariff %(tariff)s is for %(utility)s; it cannot be written to %(meters)s.",
                    tariff=tariff.display_name,
                    utility=self._get_utility_label(tariff.utility),
                    meters=", ".join(wrong_utility.mapped("display_name")),
                )
            )
        return self._hardware_action("set_tariff", tariff=tariff)

    def action_send_tariff(self):
        """Write the account's tariff for the meter's utility to each meter."""
        results = []
        for meter in self:
            tariff = meter.account_id and meter.account_id._get_tariff(meter.utility)
            if not tariff:
                raise UserError(
                    self.env._(
                        "Meter %(meter)s has no account with a tariff for its utility.",
                        meter=meter.display_name,
                    )
                )
            results.append(meter.set_tariff(tariff))
        return results[0].concat(*results[1:]) if results else None

    def _hardware_action(self, action, **values):
        """Check that every meter can perform ``action``, then request it for all of them."""
        errors = self._get_hardware_action_errors(action, **values)
        if errors:
            raise UserError("\n".join(errors.values()))
        if not self:
            return self.env["mail.activity"]
        return self._request_hardware_action(action, **values)

    # === BUSINESS METHODS: HARDWARE === #

    def _get_hardware_action_errors(self, action, **values):
        """Return ``{meter: message}`` for the meters that cannot perform ``action``."""
        if action not in HARDWARE_ACTIONS:
            raise ValueError(f"Unknown hardware action {action!r}")
        errors = {}
        for meter in self:
            model = meter.model_id
            names = {"meter": meter.display_name, "model": model.name}
            if meter.state == "removed":
                errors[meter] = self.env._("Meter %(meter)s is removed.", **names)
            elif action in ("relay_on", "relay_off") and not model.has_relay:
                errors[meter] = self.env._(
                    "Meter %(meter)s (model %(model)s) has no relay to switch.", **names
                )
            elif action in ("valve_open", "valve_close") and not model.has_valve:
                errors[meter] = self.env._(
                    "Meter %(meter)s (model %(model)s) has no valve to operate.",
                    **names,
                )
            elif action == "read_now" and model.protocol == "none":
                errors[meter] = self.env._(
                    "Meter %(meter)s (model %(model)s) has no communication: read it on site "
                    "and record a manual reading.",
                    **names,
                )
            elif action == "write_credit" and not model.has_meter_balance:
                errors[meter] = self.env._(
                    "Meter %(meter)s (model %(model)s) does not keep a balance: its credit is "
                    "kept by the platform.",
                    **names,
                )
            elif action == "set_tariff" and not (
                model.has_meter_balance or model.has_tou_registers
            ):
                errors[meter] = self.env._(
                    "Meter %(meter)s (model %(model)s) cannot store a tariff (no balance on the "
                    "meter, no time-of-use registers).",
                    **names,
                )
        return errors

    def _request_hardware_action(self, action, **values):
        """Request ``action`` from the hardware of the meters in ``self``.

        This is the single hook between the registry and the hardware. Callers (buttons,
        billing cut-off and reconnection, credit vending) use the public ``action_*``,
        ``write_credit`` and ``set_tariff`` methods, which check the capabilities of the meter
        model first and then call this hook once for the whole recordset.

        By default nothing talks to the meters: a to-do activity is scheduled on each meter
        for the staff, with a summary saying what to do, and returned. An identical pending
        request is not duplicated, and a pending request of the opposite action (relay on vs
        off, valve open vs close) is cancelled, as the new request supersedes it.

        The ``meter_gateway`` addon overrides this method to queue real commands
        (``meter.command``) and returns those instead; it calls ``super()`` for the meters it
        cannot reach.

        :param str action: one of ``relay_on``, ``relay_off``, ``valve_open``,
            ``valve_close``, ``read_now``, ``write_credit``, ``set_tariff``
        :param values: parameters of the action: ``amount`` (float, company currency) for
            ``write_credit``, ``tariff`` (``prepaid.tariff`` record) for ``set_tariff``
        :return: the records standing for the requests, one per meter (``mail.activity`` by
            default)
        """
        todo_type = self.env.ref("mail.mail_activity_data_todo", raise_if_not_found=False)
        Activity = self.env["mail.activity"]
        activities = Activity
        requester = self.env.user
        opposite = OPPOSITE_HARDWARE_ACTIONS.get(action)
        for meter in self:
            summary = meter._get_hardware_action_summary(action, **values)
            pending = meter.activity_ids.filtered(lambda a, t=todo_type: a.activity_type_id == t)
            same = pending.filtered(lambda a, s=summary: a.summary == s)
            if same:
                activities |= same[:1]
                continue
            if opposite:
                superseded_summary = meter._get_hardware_action_summary(opposite, **values)
                superseded = pending.filtered(lambda a, s=superseded_summary: a.summary == s)
                if superseded:
                    meter.message_post(
                        body=self.env._(
                            "Request cancelled, superseded by a new one: %(summary)s",
                            summary=superseded_summary,
                        )
                    )
                    superseded.unlink()
            note = Markup("<p>%s</p><p>%s</p>") % (
                self.env._(
                    "Requested by %(user)s for meter %(meter)s (serial %(serial)s, address "
                    "%(address)s) in %(room)s.",
                    user=requester.name,
                    meter=meter.name,
                    serial=meter.serial_number,
                    address=meter.comm_address or "-",
                    room=meter.room_id.complete_name or "-",
                ),
                self.env._(
                    "No gateway handles this meter: perform the operation at the meter, then "
                    "mark this activity as done."
                ),
            )
            activities |= (
                meter.activity_schedule(
                    act_type_xmlid="mail.mail_activity_data_todo",
                    summary=summary,
                    note=note,
                    user_id=meter._get_hardware_action_user().id,
                )
                or Activity
            )
        _logger.info(
            "Hardware action %s requested on %d meter(s) by user %s: manual activities.",
            action,
            len(self),
            requester.login,
        )
        return activities

    def _get_hardware_action_summary(self, action, **values):
        self.ensure_one()
        if action == "write_credit":
            amount = formatLang(
                self.env,
                values.get("amount", 0.0),
                currency_obj=self.company_id.currency_id,
            )
            return self.env._("Write a credit of %(amount)s to the meter", amount=amount)
        if action == "set_tariff":
            tariff = values.get("tariff")
            return self.env._(
                "Write tariff %(tariff)s to the meter",
                tariff=tariff.display_name if tariff else "",
            )
        return {
            "relay_on": self.env._("Reconnect the supply (relay on)"),
            "relay_off": self.env._("Disconnect the supply (relay off)"),
            "valve_open": self.env._("Open the valve"),
            "valve_close": self.env._("Close the valve"),
            "read_now": self.env._("Read the meter now"),
        }[action]

    def _get_hardware_action_user(self):
        """Who does a manual hardware operation on the meter: the nearest operator of its room
        (room, floor, building...), else the requesting user when it is a person, else a
        manager of the company."""
        self.ensure_one()
        site_ids = self.room_id._get_path_ids() if self.room_id else []
        sites = self.env["prepaid.site"].sudo().browse(list(reversed(site_ids)))
        for site in sites:
            operators = site.operator_ids.filtered(lambda u: u.active and not u.share)
            if operators:
                return operators[0]
        user = self.env.user
        if not user._is_superuser() and not user.share and user.active:
            return user
        managers = self.env.ref("prepaid_meter.prepaid_meter_group_manager").sudo().users
        managers = managers.filtered(
            lambda u: u.active and self.company_id in u.company_ids and not u._is_superuser()
        )
        return managers[:1] or user

    def _set_communication_state(self, online_state, last_contact=None):
        """Record the outcome of a contact attempt (for the gateway and ingestion): writes
        only the meters whose state changes, to keep polling cheap.

        :param str online_state: ``online``, ``offline`` or ``unknown``
        :param datetime last_contact: when the meter answered (``online`` only); now by default
        """
        changed = self.filtered(lambda m: m.online_state != online_state)
        if changed:
            changed.online_state = online_state
        if online_state == "online":
            self.last_contact = last_contact or fields.Datetime.now()

    @api.model
    def _get_utility_label(self, utility):
        return dict(self._fields["utility"]._description_selection(self.env)).get(utility, "")

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

    # === READINGS === #
    # The last reading is maintained by prepaid.reading._ingest() in SQL, one statement per
    # batch, never by per-record ORM writes. last_reading_id is derived from (meter,
    # last_reading_at) through the readings' unique index instead of being stored: a stored
    # foreign key would add a referential check to every meter update of the ingestion and a
    # reverse lookup to every reading deletion.
    last_reading_at = fields.Datetime(string="Last Reading At", readonly=True, copy=False)
    last_reading_total = fields.Float(
        string="Last Register Value", digits=(16, 3), readonly=True, copy=False
    )
    last_reading_id = fields.Many2one(
        "prepaid.reading", string="Last Reading", compute="_compute_last_reading_id"
    )
    register_digits = fields.Integer(
        default=6,
        help="Integer digits of the total register: with 6 it shows up to 999999.99 and then "
        "rolls over to zero. Used to count consumption through a roll-over.",
    )
    max_load = fields.Float(
        string="Max Plausible Load",
        digits=(12, 3),
        help="kW for electricity, m3/h for water, after the multiplier. A reading implying more "
        "is flagged as an implausible jump. 0: the default of the utility (system parameters "
        "prepaid_meter.max_load_electricity and prepaid_meter.max_load_water).",
    )
    replaced_meter_id = fields.Many2one(
        "prepaid.meter",
        string="Replaces",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The meter this one replaced: its series of readings continues in this one.",
    )
    replacement_meter_id = fields.Many2one(
        "prepaid.meter",
        string="Replaced By",
        readonly=True,
        copy=False,
        index="btree_not_null",
    )
    final_reading = fields.Float(
        string="Final Register Value", digits=(16, 3), readonly=True, copy=False
    )
    final_reading_at = fields.Datetime(
        string="Final Reading At",
        readonly=True,
        copy=False,
        help="Readings after this moment are flagged and not counted: the series is closed.",
    )
    reading_count = fields.Integer(compute="_compute_reading_count")
    open_event_count = fields.Integer(string="Open Events", compute="_compute_open_event_count")

    @api.depends("last_reading_at")
    def _compute_last_reading_id(self):
        dated = self.filtered("last_reading_at")
        readings = self.env["prepaid.reading"]
        if dated.ids:
            readings = readings.search_fetch(
                [
                    ("meter_id", "in", dated.ids),
                    ("read_at", "in", list(set(dated.mapped("last_reading_at")))),
                ],
                ["meter_id", "read_at"],
            )
        by_key = {(reading.meter_id.id, reading.read_at): reading for reading in readings}
        for meter in self:
            meter.last_reading_id = by_key.get((meter.id, meter.last_reading_at), False)

    def _compute_reading_count(self):
        set_related_counts(self, "reading_count", "prepaid.reading", "meter_id")

    def _compute_open_event_count(self):
        set_related_counts(
            self,
            "open_event_count",
            "prepaid.meter.event",
            "meter_id",
            domain=[("acknowledged", "=", False)],
        )

    def action_view_readings(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_meter.prepaid_reading_action"
        )
        action["domain"] = [("meter_id", "=", self.id)]
        action["context"] = {"default_meter_id": self.id}
        return action

    def action_view_events(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_meter.prepaid_meter_event_action"
        )
        action["domain"] = [("meter_id", "=", self.id)]
        action["context"] = {"default_meter_id": self.id}
        return action

    def action_view_load_profile(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_meter.prepaid_load_profile_action"
        )
        action["domain"] = [("meter_id", "=", self.id)]
        return action

    def action_open_replace_wizard(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_meter.prepaid_meter_replace_action"
        )
        action["context"] = {"default_old_meter_id": self.id}
        return action
