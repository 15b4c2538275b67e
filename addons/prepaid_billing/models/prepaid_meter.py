from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import ADMIN, PROCESS
from odoo.addons.prepaid_meter.tools.related_counts import set_related_counts

from .. import sts

DEFAULT_IIN = "600727"
"""The issuer identification number of STS meters (IEC 62055-41)."""
# STS parameters that define the meter's decoder key: once a meter has a vending key they only
# change through a key change set, or by an administrator (see _get_write_groups).
STS_KEY_FIELDS = frozenset(
    {
        "sts_iin",
        "sts_drn",
        "sts_pan",
        "sts_vending_key_id",
        "sts_ti",
        "sts_kt",
        "sts_ea",
        "sts_ken",
        "sts_base_date",
    }
)
UNITS = {"electricity": "kWh", "water": "m³"}
"""The unit of the credit tokens of each utility."""


def luhn_check_digit(digits):
    """The Luhn (ISO/IEC 7812) check digit of a string of digits, as a one-digit string."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # every second digit from the right, starting with the last
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str(-total % 10)


def _digits(text):
    """``text`` without blanks, dashes and dots (how meter numbers are printed)."""
    return "".join(char for char in (text or "") if char not in " -.\t")


class PrepaidMeter(models.Model):
    """STS parameters of the meters with an STS keypad.

    The decoder key of a meter is derived from the vending key of its supply group and from
    public parameters (PAN, SGC, KRN, TI, KT, EA, DKGA, base date): together they are
    :meth:`_sts_key_params`. Tokens are issued and decoded by the ``prepaid.sts.vending``
    service; the meter's :meth:`_sts_issue_credit`, :meth:`_sts_issue_management`,
    :meth:`_sts_issue_key_change` and :meth:`_sts_decode` are its entry points.
    """

    _inherit = "prepaid.meter"  # with prepaid.access.mixin: see _get_write_groups

    # === FIELDS === #

    has_sts_keypad = fields.Boolean(related="model_id.has_sts_keypad")
    sts_iin = fields.Char(
        string="IIN",
        size=6,
        default=DEFAULT_IIN,
        copy=False,
        tracking=True,
        help="Issuer identification number: the first 6 digits of the meter PAN (600727 for "
        "STS meters).",
    )
    sts_drn = fields.Char(
        string="DRN",
        copy=False,
        tracking=True,
        help="Decoder reference number: the 11 digits that identify the meter's decoder. The "
        "check digit of the PAN is computed from the IIN and the DRN.",
    )
    sts_pan = fields.Char(
        string="Meter PAN",
        compute="_compute_sts_pan",
        inverse="_inverse_sts_pan",
        store=True,
        readonly=False,
        index="btree_not_null",
        copy=False,
        help="IIN + DRN + Luhn check digit (18 digits). Writing a PAN checks its check digit "
        "and sets the IIN and the DRN.",
    )
    # Admins only: which key a meter uses is key management. Operators and managers see the
    # public parameters of the key (SGC, KRN, DKGA) through the related fields below.
    sts_vending_key_id = fields.Many2one(
        "prepaid.sts.vending.key",
        string="Vending Key",
        ondelete="restrict",
        index="btree_not_null",
        copy=False,
        tracking=True,
        check_company=True,
        groups=ADMIN,
    )
    # The key's public parameters follow the key: they are not written on the meter (policy).
    sts_sgc = fields.Char(
        string="SGC",
        related="sts_vending_key_id.sgc",
        store=True,
        help="Supply group code, from the vending key.",
    )
    sts_krn = fields.Integer(
        string="Key Revision",
        related="sts_vending_key_id.krn",
        store=True,
        help="Key revision number (KRN), from the vending key.",
    )
    sts_dkga = fields.Selection(
        string="Key Generation Algorithm",
        related="sts_vending_key_id.dkga",
        store=True,
    )
    sts_ti = fields.Integer(
        string="Tariff Index",
        default=1,
        copy=False,
        tracking=True,
        help="Tariff index (TI, 0..99) that is part of the decoder key.",
    )
    sts_kt = fields.Selection(
        [
            ("0", "0 - Initialisation (DITK)"),
            ("1", "1 - Default (DDTK)"),
            ("2", "2 - Unique (DUTK)"),
            ("3", "3 - Common (DCTK)"),
        ],
        string="Key Type",
        default="2",
        copy=False,
        tracking=True,
    )
    sts_ea = fields.Selection(
        [("sta", "STA (EA07)"), ("misty1", "MISTY1 (EA11)")],
        string="Encryption Algorithm",
        default="sta",
        copy=False,
        tracking=True,
        help="STA takes a 64-bit decoder key (DKGA02 or DKGA04), MISTY1 a 128-bit one (DKGA04).",
    )
    sts_ken = fields.Integer(
        string="Key Expiry Number",
        default=255,
        copy=False,
        tracking=True,
        help="Key expiry number (KEN, 0..255): the meter refuses tokens whose TID's top 8 bits "
        "exceed it. 255 never expires.",
    )
    sts_base_date = fields.Selection(
        [("1993", "1993"), ("2014", "2014"), ("2035", "2035")],
        string="TID Base Date",
        default="2014",
        copy=False,
        tracking=True,
        help="Base date of the token identifiers. The 1993 window ended on 2024-11-24: meters "
        "still on 1993 need a key change with roll-over to 2014 before new tokens.",
    )
    sts_token_ids = fields.One2many("prepaid.sts.token", "meter_id", string="STS Tokens")
    sts_token_count = fields.Integer(string="Tokens", compute="_compute_sts_token_count")
    sts_is_keyed = fields.Boolean(
        string="Has Vending Key", compute="_compute_sts_is_keyed", compute_sudo=True
    )
    sts_params_locked = fields.Boolean(
        string="STS Parameters Locked", compute="_compute_sts_params_locked"
    )

    _sql_constraints = [
        (
            "sts_pan_company_uniq",
            "unique(company_id, sts_pan)",
            "Another meter of the company has this STS meter PAN.",
        ),
    ]

    # === CONSTRAINT METHODS === #

    @api.constrains("sts_iin", "sts_drn")
    def _check_sts_pan(self):
        for meter in self:
            if meter.sts_iin and not (len(meter.sts_iin) == 6 and meter.sts_iin.isdigit()):
                raise ValidationError(
                    self.env._(
                        "The IIN of meter %(meter)s must be 6 digits (600727 for STS meters).",
                        meter=meter.display_name,
                    )
                )
            if meter.sts_drn and not (
                len(meter.sts_drn) == 11 and meter.sts_drn.isdigit() and meter.sts_drn.isascii()
            ):
                raise ValidationError(
                    self.env._(
                        "The DRN of meter %(meter)s must be 11 digits, got %(drn)s.",
                        meter=meter.display_name,
                        drn=meter.sts_drn,
                    )
                )
            if meter.sts_drn and not meter.sts_iin:
                raise ValidationError(
                    self.env._("Meter %(meter)s has a DRN but no IIN.", meter=meter.display_name)
                )

    @api.constrains("sts_ti", "sts_ken", "sts_ea", "sts_dkga")
    def _check_sts_params(self):
        for meter in self:
            if not 0 <= meter.sts_ti <= 99:
                raise ValidationError(
                    self.env._(
                        "The tariff index of meter %(meter)s must be between 0 and 99.",
                        meter=meter.display_name,
                    )
                )
            if not 0 <= meter.sts_ken <= 255:
                raise ValidationError(
                    self.env._(
                        "The key expiry number of meter %(meter)s must be between 0 and 255.",
                        meter=meter.display_name,
                    )
                )
            if meter.sts_ea == "misty1" and meter.sts_dkga == "02":
                raise ValidationError(
                    self.env._(
                        "Meter %(meter)s uses MISTY1, which needs a 128-bit decoder key: its "
                        "vending key must be a DKGA04 key, not DKGA02.",
                        meter=meter.display_name,
                    )
                )

    # === COMPUTE METHODS === #

    @api.depends("sts_iin", "sts_drn")
    def _compute_sts_pan(self):
        for meter in self:
            iin, drn = meter.sts_iin, meter.sts_drn
            if iin and drn and len(iin + drn) == 17 and (iin + drn).isdigit():
                meter.sts_pan = iin + drn + luhn_check_digit(iin + drn)
            else:
                meter.sts_pan = False

    def _inverse_sts_pan(self):
        for meter in self:
            pan = _digits(meter.sts_pan)
            if not pan:
                meter.sts_drn = False
                continue
            if not (len(pan) == 18 and pan.isdigit() and pan.isascii()):
                raise ValidationError(
                    self.env._(
                        "The PAN of meter %(meter)s must be 18 digits (IIN, DRN and check "
                        "digit), got %(pan)s.",
                        meter=meter.display_name,
                        pan=meter.sts_pan,
                    )
                )
            expected = luhn_check_digit(pan[:17])
            if pan[17] != expected:
                raise ValidationError(
                    self.env._(
                        "The PAN %(pan)s of meter %(meter)s has a wrong check digit: with the "
                        "Luhn algorithm it ends in %(digit)s. Check it for a typing error.",
                        pan=pan,
                        meter=meter.display_name,
                        digit=expected,
                    )
                )
            meter.sts_iin, meter.sts_drn = pan[:6], pan[6:17]

    def _compute_sts_token_count(self):
        set_related_counts(self, "sts_token_count", "prepaid.sts.token", "meter_id")

    @api.depends("sts_vending_key_id")
    def _compute_sts_is_keyed(self):
        for meter in self:
            meter.sts_is_keyed = bool(meter.sts_vending_key_id)

    @api.depends("sts_is_keyed")
    @api.depends_context("uid")
    def _compute_sts_params_locked(self):
        is_admin = self.env.user.has_group(ADMIN)
        for meter in self:
            meter.sts_params_locked = meter.sts_is_keyed and not is_admin

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            for name in ("sts_drn", "sts_pan"):
                if vals.get(name):
                    vals[name] = _digits(vals[name])
        return super().create(vals_list)

    def write(self, vals):
        for name in ("sts_drn", "sts_pan"):
            if vals.get(name):
                vals = dict(vals, **{name: _digits(vals[name])})
        if STS_KEY_FIELDS & vals.keys() and not self.env.su:
            vals = self._sts_drop_unchanged(vals)
        return super().write(vals)

    def _sts_drop_unchanged(self, vals):
        """``vals`` without the STS key parameters that equal those of every meter of ``self``
        (a form saved unchanged, an export imported back): writing them changes nothing, and
        the policy is about changes."""
        meters = self.sudo()

        def unchanged(name):
            if name == "sts_pan":
                return all((meter.sts_pan or "") == (vals[name] or "") for meter in meters)
            field = self._fields[name]
            return all(field.convert_to_write(meter[name], meter) == vals[name] for meter in meters)

        same = {name for name in STS_KEY_FIELDS & vals.keys() if unchanged(name)}
        return {name: value for name, value in vals.items() if name not in same}

    # === POLICY === #

    def _get_write_groups(self):
        """The STS parameters that make a keyed meter's decoder key are for administrators:
        changed by anyone else, the meter would keep its decoder key and refuse every new
        token; they change through a key change set. The parameters of meters without a
        vending key are prepared by whoever may edit the meter. Which key a meter uses is
        always key management (administrators); the key's public parameters follow the key."""
        policy = {
            **super()._get_write_groups(),
            "sts_vending_key_id": ADMIN,
            **dict.fromkeys(("sts_sgc", "sts_krn", "sts_dkga"), PROCESS),
        }
        if any(self.sudo().mapped("sts_vending_key_id")):
            policy.update(dict.fromkeys(STS_KEY_FIELDS, ADMIN))
        return policy

    # === ACTION METHODS === #

    def action_sts_issue_token(self):
        """Open the token issue wizard for the selected meters."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_billing.prepaid_sts_token_issue_action"
        )
        action["context"] = {"default_meter_ids": self.ids}
        return action

    def action_sts_decode_token(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_billing.prepaid_sts_token_decode_action"
        )
        action["context"] = {"default_meter_id": self.id}
        return action

    def action_view_sts_tokens(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_billing.prepaid_sts_token_action"
        )
        action["domain"] = [("meter_id", "=", self.id)]
        action["context"] = {"create": False}
        return action

    # === BUSINESS METHODS: PARAMETERS === #

    def _sts_key_params(self):
        """Return the meter's :class:`sts.KeyParams` (raises a UserError when incomplete)."""
        self.ensure_one()
        meter = self.sudo()
        meter._sts_check_ready()
        key = meter.sts_vending_key_id
        try:
            return sts.KeyParams(
                pan=meter.sts_pan,
                sgc=int(key.sgc),
                ti=meter.sts_ti,
                krn=key.krn,
                kt=int(meter.sts_kt or 2),
                ea=sts.EA[meter.sts_ea.upper()],
                dkga=int(key.dkga),
                base_date=int(meter.sts_base_date),
                ken=meter.sts_ken,
            )
        except sts.StsError as error:
            raise self.env["prepaid.sts.vending"]._user_error(meter, error) from None

    def _sts_check_ready(self):
        """Raise one UserError listing the meters that cannot get tokens, and why."""
        problems = []
        for meter in self.sudo():
            if not meter.has_sts_keypad:
                reason = self.env._(
                    "its model %(model)s has no STS keypad", model=meter.model_id.name
                )
            elif meter.state == "removed":
                reason = self.env._("it is removed")
            elif not meter.sts_pan:
                reason = self.env._("it has no meter PAN (IIN and DRN)")
            elif not meter.sts_vending_key_id:
                reason = self.env._("it has no vending key (ask a prepaid administrator)")
            elif not meter.sts_base_date or not meter.sts_ea:
                reason = self.env._("its TID base date or encryption algorithm is not set")
            else:
                continue
            problems.append(f"- {meter.display_name}: {reason}")
        if problems:
            raise UserError(
                self.env._(
                    "STS tokens cannot be issued for these meters:\n%(lines)s",
                    lines="\n".join(problems),
                )
            )

    def _sts_unit(self):
        self.ensure_one()
        return UNITS.get(self.utility, "")

    # === BUSINESS METHODS: VENDING (entry points of prepaid.sts.vending) === #

    def _sts_issue_credit(self, amount, origin=False, topup=None, free_reason=None):
        """Issue a credit token of ``amount`` (kWh or m3, by utility) for each meter, rounded
        up to what a token can carry, for a paid ``topup`` or as a free issue with its
        ``free_reason``; see ``prepaid.sts.vending._issue_credit``.

        :return: the ``prepaid.sts.token`` records
        """
        return self.env["prepaid.sts.vending"]._issue_credit(
            self, amount, origin=origin, topup=topup, free_reason=free_reason
        )

    def _sts_issue_management(self, management_type, value=None, origin=False):
        """Issue a management token of ``management_type`` (``max_power_limit``,
        ``clear_credit``...) for each meter; see ``prepaid.sts.vending._issue_management``.

        :return: the ``prepaid.sts.token`` records
        """
        return self.env["prepaid.sts.vending"]._issue_management(
            self, management_type, value=value, origin=origin
        )

    def _sts_issue_key_change(
        self, vending_key=None, tariff_index=None, key_type=None, key_expiry=None, rollover=False
    ):
        """Issue a key change set per meter, then give the meters their new parameters (values
        left to None keep the meter's); see ``prepaid.sts.vending._issue_key_change``.

        :return: the ``prepaid.sts.token`` records (2 or 4 per meter)
        """
        return self.env["prepaid.sts.vending"]._issue_key_change(
            self,
            vending_key=vending_key,
            tariff_index=tariff_index,
            key_type=key_type,
            key_expiry=key_expiry,
            rollover=rollover,
        )

    def _sts_decode(self, digits):
        """Decode ``digits`` as this meter would, for support; see
        ``prepaid.sts.vending._decode`` for the result.

        :return: dict (``token``, ``accepted``, ``reason``, ``message``, ``tid``...)
        """
        self.ensure_one()
        return self.env["prepaid.sts.vending"]._decode(self, digits)

    # === DEMO DATA === #

    @api.model
    def _demo_setup_sts_meters(self, meter_xmlids):
        """Make the demo meters ``meter_xmlids`` STS keypad meters (called from demo XML;
        idempotent): the demo model ``prepaid_meter_model_sts_keypad_demo``, a DRN made of the
        digits of the serial number, STA on base date 2014, and the demo vending key when it
        exists (``prepaid.sts.vending.key._demo_create_vending_key``). A meter that already
        has a PAN keeps its parameters; it only gets the demo key if it has none.
        """
        sts_model = self.env.ref("prepaid_billing.prepaid_meter_model_sts_keypad_demo")
        key = self.env.ref("prepaid_billing.prepaid_sts_vending_key_demo", raise_if_not_found=False)
        for xmlid in meter_xmlids:
            meter = self.env.ref(xmlid, raise_if_not_found=False)
            if not meter:
                continue
            vals = {}
            if not meter.sts_pan:
                drn = "".join(char for char in meter.serial_number if char.isdigit())
                vals = {
                    "model_id": sts_model.id,
                    "sts_drn": drn.zfill(11)[-11:],
                    "sts_ea": "sta",
                    "sts_kt": "2",
                    "sts_base_date": "2014",
                }
            if key and not meter.sts_vending_key_id and (vals or meter.model_id == sts_model):
                vals["sts_vending_key_id"] = key.id
            if vals:
                meter.with_context(tracking_disable=True).write(vals)
        return True
