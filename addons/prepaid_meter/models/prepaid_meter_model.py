import json
from decimal import Decimal, InvalidOperation

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools.related_counts import set_related_counts

# Value types a register map entry may declare (decoding is done by the gateway drivers with
# integers and the entry's decimal scale; see readme/CONFIGURE.md for the format).
REGISTER_VALUE_TYPES = {
    "uint16",
    "int16",
    "uint32",
    "int32",
    "uint64",
    "int64",
    "bcd",
    "cosem",
}


class PrepaidMeterModel(models.Model):
    """A meter model of the catalogue: what the meter measures, the protocol it speaks, what
    it can do (relay, valve, balance kept on the meter, STS keypad, TOU registers) and where
    its values are (the register map, data for the gateway drivers)."""

    _name = "prepaid.meter.model"
    _description = "Meter Model"
    _order = "utility, manufacturer, name"

    # === FIELDS === #

    name = fields.Char(required=True, translate=True)
    manufacturer = fields.Char()
    model_code = fields.Char(string="Model Code", help="The manufacturer's model reference.")
    utility = fields.Selection(
        [("electricity", "Electricity"), ("water", "Water")], required=True, default="electricity"
    )
    phases = fields.Selection(
        [("1", "Single-phase"), ("3", "Three-phase")],
        help="Electricity meters only.",
    )
    protocol = fields.Selection(
        [
            ("modbus_rtu", "Modbus RTU"),
            ("modbus_tcp", "Modbus TCP"),
            ("dlms", "DLMS/COSEM"),
            ("dlt645", "DL/T 645-2007"),
            ("none", "None (manual reading)"),
        ],
        required=True,
        default="none",
    )
    is_generic = fields.Boolean(
        string="Generic",
        help="A generic profile of the protocol rather than a named commercial model: check its "
        "register map against the documentation of the meters you install.",
    )
    has_relay = fields.Boolean(string="Relay", help="The meter can switch the supply on and off.")
    has_valve = fields.Boolean(string="Valve", help="The water meter can open and close a valve.")
    has_meter_balance = fields.Boolean(
        string="Balance on Meter",
        help="The meter keeps a prepaid balance: credit can be written to it and it rates "
        "consumption itself with the tariff written to it.",
    )
    has_sts_keypad = fields.Boolean(
        string="STS Keypad", help="Credit is entered as a 20-digit STS token on the keypad."
    )
    has_tou_registers = fields.Boolean(
        string="TOU Registers",
        help="Energy registers per time-of-use band (T1..T4: sharp, peak, flat, valley).",
    )
    register_map = fields.Text(
        help="JSON: where the values are in the meter (Modbus registers, OBIS codes or DL/T 645 "
        "data identifiers) with types and decimal scale factors. Empty prepaid entries (null) "
        "must be configured from the manufacturer's documentation before use.",
    )
    description = fields.Text()
    active = fields.Boolean(default=True)
    meter_ids = fields.One2many("prepaid.meter", "model_id", string="Meters")
    meter_count = fields.Integer(compute="_compute_meter_count")

    _sql_constraints = [
        ("name_uniq", "unique(name)", "A meter model with this name already exists."),
    ]

    # === CONSTRAINT METHODS === #

    @api.constrains("utility", "has_relay", "has_valve", "phases")
    def _check_capabilities(self):
        for model in self:
            if model.utility == "water" and (model.has_relay or model.phases):
                raise ValidationError(
                    self.env._(
                        "%(model)s is a water meter: it has a valve, not a relay, and no phases.",
                        model=model.name,
                    )
                )
            if model.utility == "electricity" and model.has_valve:
                raise ValidationError(
                    self.env._(
                        "%(model)s is an electricity meter: it has a relay, not a valve.",
                        model=model.name,
                    )
                )

    @api.constrains("register_map")
    def _check_register_map(self):
        for model in self:
            model._parse_register_map()

    # === COMPUTE METHODS === #

    def _compute_meter_count(self):
        set_related_counts(self, "meter_count", "prepaid.meter", "model_id")

    # === ACTION METHODS === #

    def action_view_meters(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("prepaid_meter.prepaid_meter_action")
        action["domain"] = [("model_id", "=", self.id)]
        action["context"] = {"default_model_id": self.id}
        return action

    # === BUSINESS METHODS === #

    def get_register_map(self):
        """Return the register map of the model as a dict (empty when none is configured).

        Layout (see readme/CONFIGURE.md)::

            {"generic": false, "function_code": 3, "byte_order": "big", "word_order": "big",
             "registers": {"energy_total": {"address": 0, "type": "uint32", "scale": "0.01",
                                            "unit": "kWh"}, ...},
             "prepaid": {"remaining_amount": null, ...}}

        Scales are decimal strings so that the drivers decode with integers and Decimal,
        never with binary floats. A ``null`` entry is a register still to be configured.
        """
        self.ensure_one()
        return self._parse_register_map()

    def _parse_register_map(self):
        """Parse and validate ``register_map``; raise a ValidationError naming the problem."""
        self.ensure_one()
        if not self.register_map or not self.register_map.strip():
            return {}
        try:
            register_map = json.loads(self.register_map)
        except ValueError as error:
            raise ValidationError(
                self.env._(
                    "The register map of %(model)s is not valid JSON: %(error)s",
                    model=self.name,
                    error=error,
                )
            ) from error
        if not isinstance(register_map, dict):
            raise ValidationError(
                self.env._("The register map of %(model)s must be a JSON object.", model=self.name)
            )
        for section in ("registers", "prepaid"):
            entries = register_map.get(section, {})
            if not isinstance(entries, dict):
                raise ValidationError(
                    self.env._(
                        "Section %(section)s of the register map of %(model)s must be an object.",
                        section=section,
                        model=self.name,
                    )
                )
            for key, entry in entries.items():
                if entry is not None:
                    self._check_register_entry(key, entry)
        return register_map

    def _check_register_entry(self, key, entry):
        def invalid(reason):
            return ValidationError(
                self.env._(
                    "Register %(register)s of %(model)s: %(reason)s",
                    register=key,
                    model=self.name,
                    reason=reason,
                )
            )

        if not isinstance(entry, dict):
            raise invalid(self.env._("an entry must be an object or null."))
        address = entry.get("address")
        if isinstance(address, bool) or not isinstance(address, int | str):
            raise invalid(
                self.env._("an address (integer, OBIS code or data identifier) is needed.")
            )
        if isinstance(address, int) and not 0 <= address <= 0xFFFF:
            raise invalid(self.env._("a Modbus address must be between 0 and 65535."))
        if entry.get("type") not in REGISTER_VALUE_TYPES:
            raise invalid(
                self.env._(
                    "the type must be one of %(types)s.",
                    types=", ".join(sorted(REGISTER_VALUE_TYPES)),
                )
            )
        scale = entry.get("scale", "1")
        if not isinstance(scale, str):
            raise invalid(self.env._('the scale must be a decimal string such as "0.01".'))
        try:
            Decimal(scale)
        except InvalidOperation as error:
            raise invalid(
                self.env._("the scale %(scale)s is not a decimal.", scale=scale)
            ) from error
