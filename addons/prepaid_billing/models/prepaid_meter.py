import dataclasses
import logging
import uuid
from datetime import timezone

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, format_datetime

from .. import sts
from ..sts.amount import to_decimal
from ..sts.tid import next_base_date
from ..sts.transpose import parse_digits

_logger = logging.getLogger(__name__)

OPERATOR_GROUP = "prepaid_meter.prepaid_meter_group_operator"
MANAGER_GROUP = "prepaid_meter.prepaid_meter_group_manager"
ADMIN_GROUP = "prepaid_meter.prepaid_meter_group_admin"
ISSUE_GROUPS = {"credit": OPERATOR_GROUP, "management": MANAGER_GROUP, "key_change": ADMIN_GROUP}
"""Who may issue which kind of token (each group implies the ones before it)."""
DEFAULT_IIN = "600727"
"""The issuer identification number of STS meters (IEC 62055-41)."""
# STS parameters that define the meter's decoder key: once a meter has a vending key they only
# change through a key change set, or by an administrator.
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
CREDIT_TYPES = {"electricity": sts.CreditType.ELECTRICITY, "water": sts.CreditType.WATER}
UNITS = {"electricity": "kWh", "water": "m³"}
MANAGEMENT_TYPES = {
    "max_power_limit": sts.Management.MAX_POWER_LIMIT,
    "clear_credit": sts.Management.CLEAR_CREDIT,
    "tariff_rate": sts.Management.TARIFF_RATE,
    "clear_tamper": sts.Management.CLEAR_TAMPER,
    "max_phase_unbalance": sts.Management.MAX_PHASE_UNBALANCE,
    "water_factor": sts.Management.WATER_FACTOR,
}


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
    """STS parameters and token vending for meters with an STS keypad.

    The decoder key of a meter is derived from the vending key of its supply group and from
    public parameters (PAN, SGC, KRN, TI, KT, EA, DKGA, base date): together they are
    :meth:`_sts_key_params`. Tokens are issued by the token provider of the vending key
    (:meth:`_sts_issue_credit`, :meth:`_sts_issue_management`, :meth:`_sts_issue_key_change`)
    and logged as ``prepaid.sts.token`` records.
    """

    _inherit = "prepaid.meter"

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
        groups=ADMIN_GROUP,
    )
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
        counts = dict(
            self.env["prepaid.sts.token"]._read_group(
                [("meter_id", "in", self.ids)], groupby=["meter_id"], aggregates=["__count"]
            )
        )
        for meter in self:
            meter.sts_token_count = counts.get(meter._origin, 0)

    @api.depends("sts_vending_key_id")
    def _compute_sts_is_keyed(self):
        for meter in self:
            meter.sts_is_keyed = bool(meter.sts_vending_key_id)

    @api.depends("sts_is_keyed")
    @api.depends_context("uid")
    def _compute_sts_params_locked(self):
        is_admin = self.env.user.has_group(ADMIN_GROUP)
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
        changed = STS_KEY_FIELDS & vals.keys()
        if changed and not self.env.su and not self.env.user.has_group(ADMIN_GROUP):
            self._sts_check_key_fields_write(changed, vals)
        return super().write(vals)

    def _sts_check_key_fields_write(self, changed, vals):
        """Refuse non-administrators changing the key parameters of meters with a vending key:
        the meter would keep its decoder key and refuse every new token."""

        def differs(meter, name):
            if name == "sts_pan":
                return _digits(vals[name]) != (meter.sts_pan or "")
            return meter._fields[name].convert_to_write(meter[name], meter) != vals[name]

        locked = self.sudo().filtered(
            lambda m: m.sts_vending_key_id and any(differs(m, name) for name in changed)
        )
        if locked:
            raise AccessError(
                self.env._(
                    "The STS parameters of meters with a vending key change through a key change "
                    "set, issued by a prepaid administrator: %(meters)s.",
                    meters=", ".join(locked.mapped("display_name")),
                )
            )

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
            raise meter._sts_user_error(error) from None

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

    def _sts_token_provider(self, vending_keys=None):
        """The ``sts.TokenProvider`` of the meter's vending key (plus ``vending_keys``)."""
        self.ensure_one()
        key = self.sudo().sts_vending_key_id
        provider = key.provider_id
        if not provider.active:
            raise UserError(
                self.env._(
                    "The token provider %(provider)s of meter %(meter)s is archived.",
                    provider=provider.display_name,
                    meter=self.display_name,
                )
            )
        return provider._get_token_provider(key | (vending_keys or key.browse()))

    def _sts_decoder_key(self, params):
        """The meter's decoder key (bytes), for decoding; never leaves the server."""
        self.ensure_one()
        key = self.sudo().sts_vending_key_id
        try:
            return key.provider_id._get_decoder_key(key, params)
        except sts.StsError as error:
            raise self._sts_user_error(error) from None

    def _sts_user_error(self, error):
        """Map an ``sts.StsError`` to a UserError naming the meter, with advice."""
        if isinstance(error, sts.TidRangeError):
            message = self.env._(
                "Meter %(meter)s cannot get tokens dated now on its TID base date %(base)s: "
                "%(error)s. Issue a key change set that moves it to the next base date "
                "(roll-over) first.",
                meter=self.display_name,
                base=self.sudo().sts_base_date,
                error=error,
            )
        elif isinstance(error, sts.KeyExpiredError):
            message = self.env._(
                "The decoder key of meter %(meter)s has expired (key expiry number %(ken)s): "
                "issue a key change set first. Details: %(error)s",
                meter=self.display_name,
                ken=self.sudo().sts_ken,
                error=error,
            )
        elif isinstance(error, sts.ProviderError):
            message = self.env._(
                "The token provider failed for meter %(meter)s%(retry)s: %(error)s",
                meter=self.display_name,
                retry=self.env._(" (try again later)") if error.retryable else "",
                error=error,
            )
        else:
            message = self.env._("Meter %(meter)s: %(error)s", meter=self.display_name, error=error)
        return UserError(message)

    # === BUSINESS METHODS: ISSUING === #

    def _sts_check_issue_access(self, kind):
        """Operators issue credit tokens, managers also management tokens, administrators
        also key change sets; everybody only for the meters they can see."""
        if self.env.su:
            return
        group = self.env.ref(ISSUE_GROUPS[kind])
        if not self.env.user.has_group(ISSUE_GROUPS[kind]):
            labels = {
                "credit": self.env._("credit tokens"),
                "management": self.env._("management tokens"),
                "key_change": self.env._("key change sets"),
            }
            raise AccessError(
                self.env._(
                    "Only users of the group %(group)s may issue %(what)s.",
                    group=group.sudo().full_name,
                    what=labels[kind],
                )
            )
        self.check_access("read")

    def _sts_lock(self):
        """Lock the meters' rows until the end of the transaction, in id order.

        Two sessions issuing tokens for a meter run one after the other, so the second one sees
        the TIDs of the first. ``FOR NO KEY UPDATE`` and not ``FOR UPDATE``: it still excludes
        another issuer, but not the inserts of readings or events that reference the meter.
        """
        self.flush_recordset()
        self.env.cr.execute(
            SQL(
                "SELECT id FROM %s WHERE id IN %s ORDER BY id FOR NO KEY UPDATE",
                SQL.identifier(self._table),
                tuple(self.ids),
            )
        )
        self.invalidate_recordset()

    def _sts_last_tids(self):
        """``{(meter id, base date): highest TID issued}`` from the token log (cancelled tokens
        included: the meter may have accepted them)."""
        Token = self.env["prepaid.sts.token"]
        Token.flush_model(["meter_id", "base_date", "tid", "has_tid"])
        self.env.cr.execute(
            SQL(
                """SELECT meter_id, base_date, max(tid) FROM %s
                    WHERE meter_id IN %s AND has_tid
                 GROUP BY meter_id, base_date""",
                SQL.identifier(Token._table),
                tuple(self.ids),
            )
        )
        return {(meter_id, int(base)): tid for meter_id, base, tid in self.env.cr.fetchall()}

    def _sts_issue(self, kind, make, origin=False):
        """Issue one token per meter, under a row lock, and log it.

        The TID of each token is the current minute on the meter's base date, or one more than
        the last TID issued to the meter if that is higher: two tokens in the same minute (or a
        clock set back) still get distinct, increasing TIDs, as the meter requires.

        :param kind: ``credit`` or ``management`` (access check)
        :param make: ``make(meter, provider, params, tid)`` returning ``(IssuedToken, vals)``
        :return: the ``prepaid.sts.token`` records, in the user's environment
        """
        meters = self.browse(dict.fromkeys(self.ids))  # a meter selected twice gets one token
        if not meters:
            return self.env["prepaid.sts.token"]
        meters._sts_check_issue_access(kind)
        meters._sts_check_ready()
        meters._sts_lock()
        now = fields.Datetime.now()
        batch_ref = _batch_ref(now)
        last_tids = meters._sts_last_tids()
        providers = {}  # one provider (one decryption of the key) per vending key and request
        vals_list = []
        for meter in meters.sudo():
            params = meter._sts_key_params()
            try:
                tid = sts.tid_for(now, params.base_date)
                slot = (meter.id, params.base_date)
                tid = max(tid, last_tids.get(slot, -1) + 1)
                last_tids[slot] = tid
                key_id = meter.sts_vending_key_id.id
                if key_id not in providers:
                    providers[key_id] = meter._sts_token_provider()
                issued, vals = make(meter, providers[key_id], params, tid)
            except sts.StsError as error:
                raise meter._sts_user_error(error) from None
            vals_list.append(
                meter._sts_token_vals(issued, params, now, batch_ref, origin, tid=tid, **vals)
            )
        tokens = self.env["prepaid.sts.token"].sudo().create(vals_list)
        _logger.info(
            "Issued %s STS %s token(s) for meters %s (batch %s, user %s)",
            len(tokens),
            kind,
            meters.ids,
            batch_ref,
            self.env.uid,
        )
        return tokens.with_env(self.env)

    def _sts_issue_credit(self, amount, origin=False):
        """Issue a credit token of ``amount`` (kWh or m3, by utility) for each meter.

        The amount is rounded up to what a token can carry (0.1 steps, coarser above 1638.3):
        the token's ``amount`` says what the meter adds.

        :param amount: a positive number (Decimal, int, str or float)
        :param origin: the sale the token belongs to (reference)
        :return: the ``prepaid.sts.token`` records
        """
        try:
            value = sts.encode_credit(amount)
        except sts.StsError as error:
            raise UserError(self.env._("Invalid credit amount: %(error)s", error=error)) from None
        if not value:
            raise UserError(self.env._("The credit amount must be positive."))
        exact = sts.decode_credit(value)
        utilities = set(self.mapped("utility"))
        if not utilities <= CREDIT_TYPES.keys():
            raise UserError(self.env._("Credit tokens exist for electricity and water meters."))

        def make(meter, provider, params, tid):
            issued = provider.issue_credit(
                params, exact, credit_type=CREDIT_TYPES[meter.utility], tid=tid
            )
            return issued, {
                "token_type": f"credit_{meter.utility}",
                "amount": float(exact),
                "unit": meter._sts_unit(),
                "data_value": value,
            }

        return self._sts_issue("credit", make, origin=origin)

    def _sts_issue_management(self, management_type, value=None, origin=False):
        """Issue a standard management token of ``management_type`` for each meter.

        :param management_type: a key of ``MANAGEMENT_TYPES`` (``max_power_limit``,
            ``clear_credit``, ``tariff_rate``, ``clear_tamper``, ``max_phase_unbalance``,
            ``water_factor``)
        :param value: watts for the power limits, the register for ``clear_credit`` (None: all
            registers), the raw 16-bit value for ``tariff_rate`` and ``water_factor``
        :return: the ``prepaid.sts.token`` records
        """
        subclass = MANAGEMENT_TYPES[management_type]
        if management_type == "water_factor" and set(self.mapped("utility")) != {"water"}:
            raise UserError(self.env._("The water meter factor is only for water meters."))
        amount, unit, data = 0.0, False, None
        try:
            if subclass in (sts.Management.MAX_POWER_LIMIT, sts.Management.MAX_PHASE_UNBALANCE):
                if value is None or to_decimal(value) <= 0:
                    raise UserError(self.env._("Enter the power limit in watts."))
                data = sts.encode_power(value)
                amount, unit = float(sts.decode_power(data)), "W"
                value = sts.decode_power(data)
            elif subclass == sts.Management.CLEAR_CREDIT:
                data = sts.ALL_REGISTERS if value is None else int(value)
                value = data
            elif subclass in (sts.Management.TARIFF_RATE, sts.Management.WATER_FACTOR):
                data = value = int(value or 0)
            else:
                data, value = 0, None
            if data is not None and not 0 <= data <= 0xFFFF:
                raise sts.StsInputError(f"the value {data} does not fit in 16 bits")
        except sts.StsError as error:
            raise UserError(
                self.env._("Invalid management token value: %(error)s", error=error)
            ) from None

        def make(meter, provider, params, tid):
            issued = provider.issue_management(params, subclass, value, tid=tid)
            return issued, {
                "token_type": management_type,
                "amount": amount,
                "unit": unit,
                "data_value": data,
            }

        return self._sts_issue("management", make, origin=origin)

    def _sts_issue_key_change(
        self, vending_key=None, tariff_index=None, key_type=None, key_expiry=None, rollover=False
    ):
        """Issue a key change set (KCT1, KCT2, plus KCT3 and KCT4 for 128-bit keys) per meter,
        then give the meters their new parameters.

        Values left to None keep the meter's. The tokens are encrypted with the meter's current
        key and must be entered in order; ``rollover`` moves the meter to the next TID base
        date (roll-over bit set), e.g. from 1993 to 2014.

        :param vending_key: the new ``prepaid.sts.vending.key`` (new SGC or KRN), same provider
        :return: the ``prepaid.sts.token`` records (2 or 4 per meter)
        """
        meters = self.browse(dict.fromkeys(self.ids))  # a meter selected twice gets one set
        if not meters:
            return self.env["prepaid.sts.token"]
        meters._sts_check_issue_access("key_change")
        meters._sts_check_ready()
        meters._sts_lock()
        now = fields.Datetime.now()
        batch_ref = _batch_ref(now)
        vals_list = []
        updates = []
        for meter in meters.sudo():
            params = meter._sts_key_params()
            old_key = meter.sts_vending_key_id
            new_key = (vending_key or old_key).sudo()
            if new_key.provider_id != old_key.provider_id:
                raise UserError(
                    self.env._(
                        "Meter %(meter)s: the new vending key must belong to the same token "
                        "provider (%(provider)s) as the current one.",
                        meter=meter.display_name,
                        provider=old_key.provider_id.display_name,
                    )
                )
            try:
                new_params = dataclasses.replace(
                    params,
                    sgc=int(new_key.sgc),
                    krn=new_key.krn,
                    dkga=int(new_key.dkga),
                    ti=params.ti if tariff_index is None else tariff_index,
                    kt=params.kt if key_type is None else int(key_type),
                    ken=params.ken if key_expiry is None else key_expiry,
                    base_date=next_base_date(params.base_date) if rollover else params.base_date,
                )
                if new_params == params:
                    raise UserError(
                        self.env._(
                            "Meter %(meter)s: the key change set would change nothing.",
                            meter=meter.display_name,
                        )
                    )
                issued = meter._sts_token_provider(new_key).issue_key_change(params, new_params)
            except sts.StsError as error:
                raise meter._sts_user_error(error) from None
            description = _describe_key_change(params, new_params)
            for sequence, section in enumerate(issued, start=1):
                subclass = _key_change_subclass(section, sequence, len(issued))
                vals_list.append(
                    meter._sts_token_vals(
                        section,
                        params,
                        now,
                        batch_ref,
                        False,
                        sequence=sequence,
                        token_type=subclass.name.lower(),
                        description=description,
                    )
                )
            updates.append((meter, new_key, new_params, description))
        tokens = self.env["prepaid.sts.token"].sudo().create(vals_list)
        for meter, new_key, new_params, description in updates:
            meter.write(
                {
                    "sts_vending_key_id": new_key.id,
                    "sts_ti": new_params.ti,
                    "sts_kt": str(new_params.kt),
                    "sts_ken": new_params.ken,
                    "sts_base_date": str(new_params.base_date),
                }
            )
            meter.message_post(
                body=Markup("%s<br/>%s")
                % (
                    self.env._(
                        "STS key change set issued (%(count)s tokens, batch %(batch)s).",
                        count=len(tokens.filtered(lambda t, m=meter: t.meter_id == m)),
                        batch=batch_ref,
                    ),
                    description,
                ),
                author_id=self.env.user.partner_id.id,
            )
        _logger.info(
            "Issued STS key change sets for meters %s (batch %s, user %s)",
            meters.ids,
            batch_ref,
            self.env.uid,
        )
        return tokens.with_env(self.env)

    def _sts_token_vals(
        self, issued, params, now, batch_ref, origin, sequence=1, tid=None, **values
    ):
        """Values of the ``prepaid.sts.token`` that logs ``issued`` for this meter.

        ``tid`` is the TID requested from the provider; the token's own wins when the provider
        says what it issued.
        """
        self.ensure_one()
        if issued.token is not None:
            tid = issued.tid
        return {
            "meter_id": self.id,
            "account_id": self.account_id.id,
            "partner_id": self.account_id.partner_id.id,
            "digits": issued.digits,
            "tid": tid or 0,
            "tid_datetime": _naive(sts.datetime_for(tid, params.base_date))
            if tid is not None
            else False,
            "base_date": str(params.base_date),
            "sgc": f"{params.sgc:06d}",
            "krn": params.krn,
            "issued_at": now,
            "issued_by_id": self.env.uid,
            "origin": origin or False,
            "batch_ref": batch_ref,
            "sequence": sequence,
            **values,
        }

    # === BUSINESS METHODS: DECODING === #

    def _sts_decode(self, digits):
        """Decode ``digits`` as this meter would, for support.

        The meter's memory of TIDs is taken from the token log: every token issued to it on its
        current base date, except the one with these very digits (so a token we issued is
        judged as if it had not been entered yet, and a token from elsewhere that reuses one of
        our TIDs is refused as already used).

        :return: dict with ``token`` (the decoded sts token or None), ``accepted`` (bool),
            ``reason`` (a ``sts.RejectReason`` value or False), ``message``, ``tid``,
            ``tid_datetime`` (naive UTC), ``amount``, ``unit`` and ``matching_token`` (the
            ``prepaid.sts.token`` with these digits, if any)
        """
        self.ensure_one()
        if not self.env.su:
            self.check_access("read")
        Token = self.env["prepaid.sts.token"]
        result = {
            "token": None,
            "accepted": False,
            "reason": False,
            "message": "",
            "tid": False,
            "tid_datetime": False,
            "amount": 0.0,
            "unit": False,
            "matching_token": Token,
        }
        try:
            parsed = f"{parse_digits(digits or ''):020d}"
        except sts.TokenRejected as error:
            result.update(reason=error.reason.value, message=self._sts_reject_message(error))
            return result
        matching = Token.sudo().search([("meter_id", "=", self.id), ("digits", "=", parsed)])
        result["matching_token"] = matching.with_env(self.env)[:1]
        params = self._sts_key_params()
        decoder_key = self._sts_decoder_key(params)
        meter = self.sudo()
        try:
            token = sts.decode_token(parsed, decoder_key, params.ea)
        except sts.TokenRejected as error:
            result.update(reason=error.reason.value, message=self._sts_reject_message(error))
            if matching:
                result["message"] = self.env._(
                    "This token was issued to this meter on %(date)s with an earlier key (before "
                    "a key change): the meter no longer accepts it.",
                    date=format_datetime(self.env, matching[:1].issued_at),
                )
            else:
                elsewhere = Token.search([("digits", "=", parsed)], limit=1)
                if elsewhere:
                    result["message"] = self.env._(
                        "This token was issued to another meter: %(meter)s.",
                        meter=elsewhere.meter_id.display_name,
                    )
            return result
        result["token"] = token
        tid = getattr(token, "tid", None)
        if tid is not None:
            result["tid"] = tid
            result["tid_datetime"] = _naive(sts.datetime_for(tid, params.base_date))
        if isinstance(token, sts.CreditToken):
            result["amount"] = float(token.amount)
            result["unit"] = UNITS.get(token.subclass.name.lower(), "")
        elif isinstance(token, sts.ManagementToken) and token.power_limit is not None:
            result["amount"], result["unit"] = float(token.power_limit), "W"
        state = sts.MeterState()
        remembered = Token.sudo().search_fetch(
            [
                ("meter_id", "=", self.id),
                ("base_date", "=", str(params.base_date)),
                ("has_tid", "=", True),
                ("digits", "!=", parsed),
            ],
            ["tid"],
            order="tid desc",
            limit=state.capacity,  # what the meter remembers: its latest TIDs
        )
        state.tids = sorted(remembered.mapped("tid"))
        decoder = sts.MeterDecoder(
            decoder_key, params.ea, base_date=params.base_date, ken=meter.sts_ken, state=state
        )
        try:
            decoder.enter(parsed)
        except sts.TokenRejected as error:
            result.update(reason=error.reason.value, message=self._sts_reject_message(error))
            return result
        result["accepted"] = True
        result["message"] = self.env._("The meter would accept this token.")
        return result

    def _sts_reject_message(self, error):
        """A translated explanation of a ``sts.TokenRejected``."""
        reasons = {
            sts.RejectReason.FORMAT: self.env._(
                "Not a valid token: %(detail)s", detail=error.message
            ),
            sts.RejectReason.CRC: self.env._(
                "The token does not decode with this meter's key: a typing error, a token for "
                "another meter, or a token made with another key."
            ),
            sts.RejectReason.USED: self.env._(
                "Already used: another token with this TID was issued to the meter (%(detail)s).",
                detail=error.message,
            ),
            sts.RejectReason.OLD: self.env._(
                "Too old: the meter has accepted newer tokens and no longer remembers this TID "
                "(%(detail)s).",
                detail=error.message,
            ),
            sts.RejectReason.KEY_EXPIRED: self.env._(
                "The meter's key has expired for this token: %(detail)s", detail=error.message
            ),
        }
        return reasons[error.reason]


def _batch_ref(now):
    return f"{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"


def _naive(moment):
    """A UTC-aware datetime as Odoo stores it: naive UTC."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _key_change_subclass(issued, sequence, count):
    """The management subclass of the ``sequence``-th section of a key change set."""
    if issued.token is not None:
        return sts.Management(issued.token.subclass)
    # The order of sts.tokens.key_change(): KCT1, KCT2, then KCT3, KCT4 for 128-bit keys.
    order = [sts.Management.KEY_CHANGE_1, sts.Management.KEY_CHANGE_2]
    if count == 4:
        order += [sts.Management.KEY_CHANGE_3, sts.Management.KEY_CHANGE_4]
    return order[sequence - 1]


def _describe_key_change(old, new):
    """One line saying what a key change set changes (no key material)."""
    parts = []
    for label, name in (
        ("SGC", "sgc"),
        ("KRN", "krn"),
        ("DKGA", "dkga"),
        ("TI", "ti"),
        ("KT", "kt"),
        ("KEN", "ken"),
        ("base date", "base_date"),
    ):
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            parts.append(f"{label} {before} → {after}")
    if new.base_date != old.base_date:
        parts.append("roll-over (RO=1)")
    return ", ".join(parts)
