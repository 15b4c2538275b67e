import logging

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL
from odoo.tools.translate import LazyTranslate

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import ADMIN, PROCESS, requires_group

from .. import sts

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

TOKEN_TYPES = [
    # Class 0: credit.
    ("credit_electricity", "Electricity Credit"),
    ("credit_water", "Water Credit"),
    ("credit_gas", "Gas Credit"),
    ("credit_time", "Time Credit"),
    ("credit_currency", "Currency Credit"),
    # Class 1: test.
    ("test", "Meter Test"),
    # Class 2: management.
    ("max_power_limit", "Set Maximum Power Limit"),
    ("clear_credit", "Clear Credit"),
    ("tariff_rate", "Set Tariff Rate"),
    ("key_change_1", "Key Change 1 (KCT1)"),
    ("key_change_2", "Key Change 2 (KCT2)"),
    ("clear_tamper", "Clear Tamper"),
    ("max_phase_unbalance", "Set Maximum Phase Power Unbalance Limit"),
    ("water_factor", "Set Water Meter Factor"),
    ("key_change_3", "Key Change 3 (KCT3)"),
    ("key_change_4", "Key Change 4 (KCT4)"),
]
# (class, subclass) of each token type, as in IEC 62055-41.
TYPE_CODES = {
    **{f"credit_{kind.name.lower()}": (0, int(kind)) for kind in sts.CreditType},
    "test": (1, 0),
    **{kind.name.lower(): (2, int(kind)) for kind in sts.Management},
}
KEY_CHANGE_TYPES = frozenset({"key_change_1", "key_change_2", "key_change_3", "key_change_4"})
"""Key change tokens: their digits are for prepaid administrators only (record rules), since
whoever holds them can move a meter to another key."""
NO_TID_TYPES = KEY_CHANGE_TYPES | {"test"}
TID_INDEX = "prepaid_sts_token_meter_tid_uniq"
# The only fields an issued token lets change, and only to cancel it.
CANCEL_FIELDS = frozenset({"state", "cancel_reason", "cancelled_by_id", "cancelled_at"})
DEMO_CREDIT_AMOUNTS = (100, 50, 25.5, 200)
"""kWh (or m3) of the credit tokens of the demo meters, in turn."""


class PrepaidStsToken(models.Model):
    """The log of every STS token issued: one record per 20-digit token.

    Tokens are created only by the ``prepaid.sts.vending`` service (nobody has the create
    right), are never deleted and never change, except that a prepaid administrator can cancel
    one with a reason (:meth:`_cancel`, which alone writes the cancellation fields). Cancelling
    does not undo anything on the meter (a token may already have been entered); it marks the
    token void for the sale it belongs to. Key change tokens are visible to prepaid
    administrators only (record rules); their display name never shows their digits.
    """

    _name = "prepaid.sts.token"
    _inherit = ["prepaid.access.mixin"]
    _description = "STS Token"
    _order = "issued_at desc, batch_ref desc, sequence, id desc"
    _rec_names_search = ["digits", "origin"]
    _check_company_auto = True

    # === FIELDS === #

    meter_id = fields.Many2one(
        "prepaid.meter", required=True, index=True, ondelete="restrict", readonly=True
    )
    company_id = fields.Many2one(related="meter_id.company_id", store=True, index=True)
    # Who the token was sold to when it was issued: the meter may change account later.
    account_id = fields.Many2one("prepaid.account", readonly=True, index="btree_not_null")
    partner_id = fields.Many2one("res.partner", string="Tenant", readonly=True)
    token_class = fields.Selection(
        [("0", "Credit"), ("1", "Test"), ("2", "Management")],
        compute="_compute_class",
        store=True,
        precompute=True,
    )
    subclass = fields.Integer(compute="_compute_class", store=True, precompute=True)
    # Key change and test tokens carry no TID; the ORM stores their empty TID as 0, which is
    # also a valid TID, so the uniqueness of TIDs (see init) only covers the tokens that have one.
    has_tid = fields.Boolean(
        string="Has TID", compute="_compute_class", store=True, precompute=True
    )
    token_type = fields.Selection(TOKEN_TYPES, required=True, readonly=True)
    digits = fields.Char(
        size=20,
        required=True,
        readonly=True,
        index=True,  # support looks tokens up by their digits
        help="The 20 digits to enter on the meter's keypad.",
    )
    token_grouped = fields.Char(string="Token", compute="_compute_token_grouped")
    tid = fields.Integer(
        string="TID",
        readonly=True,
        aggregator=False,
        help="Token identifier: minutes since the base date. Unique per meter and base date; "
        "key change tokens have none.",
    )
    tid_datetime = fields.Datetime(
        string="TID Date",
        readonly=True,
        help="The moment the TID stands for (a token issued in the same minute as another one "
        "gets the next minute).",
    )
    base_date = fields.Selection(
        [("1993", "1993"), ("2014", "2014"), ("2035", "2035")],
        string="TID Base Date",
        required=True,
        readonly=True,
    )
    sgc = fields.Char(string="SGC", readonly=True, help="Supply group code of the key used.")
    krn = fields.Integer(string="Key Revision", readonly=True, aggregator=False)
    amount = fields.Float(
        string="Quantity",
        digits=(16, 1),
        readonly=True,
        aggregator=False,  # kWh, m3 and W do not add up
        help="Credit (kWh, m3) or power limit (W) the meter gets: what the token carries, "
        "after rounding up to a value a token can hold.",
    )
    unit = fields.Char(readonly=True)
    data_value = fields.Integer(
        string="Data Field", readonly=True, aggregator=False, help="The raw 16-bit data field."
    )
    value_display = fields.Char(string="Value", compute="_compute_value_display")
    description = fields.Char(readonly=True)
    origin = fields.Char(
        string="Source Document",
        readonly=True,
        index="btree_not_null",
        help="The sale this token belongs to.",
    )
    topup_id = fields.Many2one(
        "prepaid.topup",
        string="Top-up",
        readonly=True,
        index="btree_not_null",
        help="The paid top-up this credit token delivers.",
    )
    free_issue_reason = fields.Char(
        readonly=True, help="Why this credit token was given without a top-up (managers)."
    )
    batch_ref = fields.Char(
        string="Batch",
        readonly=True,
        index=True,
        help="Tokens issued together (one request, one key change set) share it.",
    )
    sequence = fields.Integer(
        readonly=True, default=1, help="Order of entry within a key change set."
    )
    issued_at = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    issued_by_id = fields.Many2one(
        "res.users", string="Issued By", required=True, readonly=True, index=True
    )
    state = fields.Selection(
        [("issued", "Issued"), ("cancelled", "Cancelled")],
        default="issued",
        required=True,
        readonly=True,
    )
    cancel_reason = fields.Text(readonly=True)
    cancelled_by_id = fields.Many2one("res.users", string="Cancelled By", readonly=True)
    cancelled_at = fields.Datetime(readonly=True)

    _sql_constraints = [
        ("digits_check", "CHECK(digits ~ '^[0-9]{20}$')", "A token is 20 digits."),
    ]

    def init(self):
        # A meter refuses a TID it has seen: one TID per meter and base date, guaranteed by the
        # database (a partial unique index, which _sql_constraints cannot declare). The issuing
        # code already serialises per meter (prepaid.sts.vending._lock_meters) and never
        # reuses a TID.
        self.env.cr.execute(
            SQL(
                """CREATE UNIQUE INDEX IF NOT EXISTS %s
                       ON %s (meter_id, base_date, tid) WHERE has_tid""",
                SQL.identifier(TID_INDEX),
                SQL.identifier(self._table),
            )
        )

    # === COMPUTE METHODS === #

    @api.depends("token_type")
    def _compute_class(self):
        for token in self:
            token_class, subclass = TYPE_CODES.get(token.token_type, (0, 0))
            token.token_class = str(token_class) if token.token_type else False
            token.subclass = subclass
            token.has_tid = bool(token.token_type) and token.token_type not in NO_TID_TYPES

    @api.depends("digits")
    def _compute_token_grouped(self):
        for token in self:
            token.token_grouped = sts.group(token.digits) if token.digits else False

    @api.depends("token_type", "amount", "unit", "data_value", "description")
    def _compute_value_display(self):
        for token in self:
            if token.unit == "W":
                token.value_display = f"{token.amount:.0f} W"
            elif token.unit:
                token.value_display = f"{token.amount:.1f} {token.unit}"
            elif token.token_type == "clear_credit":
                token.value_display = (
                    self.env._("All registers")
                    if token.data_value == sts.ALL_REGISTERS
                    else self.env._("Register %(number)s", number=token.data_value)
                )
            elif token.token_type in ("tariff_rate", "water_factor"):
                token.value_display = f"{token.data_value} (0x{token.data_value:04X})"
            else:
                token.value_display = token.description or False

    @api.depends("digits", "token_type", "batch_ref")
    def _compute_display_name(self):
        # The web client reads the display name of many2one values in sudo (web_read): the
        # digits of a key change token must not be part of it.
        labels = dict(self._fields["token_type"]._description_selection(self.env))
        for token in self:
            label = labels.get(token.token_type, "")
            if token.token_type in KEY_CHANGE_TYPES:
                token.display_name = f"{label} {token.batch_ref or ''}".strip()
            else:
                grouped = sts.group(token.digits) if token.digits else ""
                token.display_name = f"{label} {grouped}".strip()

    # === POLICY === #

    def _get_write_groups(self):
        # Nothing of a token is written by a client: the issuing service creates it (in sudo)
        # and _cancel() alone writes the cancellation, after its own checks.
        return {
            **super()._get_write_groups(),
            **dict.fromkeys(CANCEL_FIELDS, PROCESS),
        }

    # === CRUD METHODS === #

    def write(self, vals):
        if set(vals) - CANCEL_FIELDS:
            raise UserError(
                self.env._(
                    "An issued STS token cannot be changed: it may already be on the meter. "
                    "Cancel it (administrators) and issue a new one."
                )
            )
        self._check_write_groups(vals)  # before the checks below, which would tell about data
        if (
            vals.get("state") != "cancelled"
            or not vals.get("cancel_reason")
            or any(token.state != "issued" for token in self)
        ):
            raise UserError(
                self.env._(
                    "An STS token can only be cancelled, once, with a reason; nothing else in it "
                    "changes."
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_issued(self):
        raise UserError(
            self.env._(
                "STS tokens are never deleted: they are the meter's TID history. Cancel them "
                "instead."
            )
        )

    # === ACTION METHODS === #

    def action_print_receipt(self):
        return self.env.ref("prepaid_billing.prepaid_sts_token_report").report_action(self)

    @requires_group(ADMIN, _lt("cancel STS tokens"))
    def action_cancel(self):
        """Open the cancel wizard (administrators)."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_billing.prepaid_sts_token_cancel_action"
        )
        action["context"] = {"default_token_ids": self.ids}
        return action

    def action_view_batch(self):
        """Show the tokens issued with this one (a key change set, a batch)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_billing.prepaid_sts_token_action"
        )
        action["domain"] = [("batch_ref", "=", self.batch_ref)]
        return action

    # === BUSINESS METHODS === #

    @requires_group(ADMIN, _lt("cancel STS tokens"))
    def _cancel(self, reason):
        """Cancel issued tokens with ``reason`` (prepaid administrators): the only writer of
        the cancellation fields, in sudo, with the current user and time."""
        self.check_access("write")
        if not (reason or "").strip():
            raise UserError(self.env._("Give the reason for cancelling the tokens."))
        cancelled = self.filtered(lambda t: t.state == "cancelled")
        if cancelled:
            raise UserError(
                self.env._(
                    "These tokens are already cancelled: %(tokens)s",
                    tokens=", ".join(cancelled.mapped("display_name")),
                )
            )
        self.sudo().write(
            {
                "state": "cancelled",
                "cancel_reason": reason.strip(),
                "cancelled_by_id": self.env.uid,
                "cancelled_at": fields.Datetime.now(),
            }
        )
        _logger.info("STS tokens %s cancelled by user %s", self.ids, self.env.uid)
        return True

    def _get_action_view(self):
        """The tokens as a list (a form for a single token), e.g. after issuing them."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_billing.prepaid_sts_token_action"
        )
        if len(self) == 1:
            action.update(res_id=self.id, view_mode="form", views=[(False, "form")])
        else:
            action["domain"] = [("id", "in", self.ids)]
        action["context"] = {"create": False}
        return action

    # === DEMO DATA === #

    @api.model
    def _demo_issue_tokens(self, meter_xmlids):
        """Issue a few tokens to the demo STS meters ``meter_xmlids``, as the administrator
        (called from demo XML; idempotent): a credit token per meter and a power limit on the
        first one, with XML ids ``prepaid_sts_token_<n>_demo``. Nothing without the demo
        vending key (see ``prepaid.sts.vending.key._demo_create_vending_key``).
        """
        if self.env.ref("prepaid_billing.prepaid_sts_token_1_demo", raise_if_not_found=False):
            return True
        key = self.env.ref("prepaid_billing.prepaid_sts_vending_key_demo", raise_if_not_found=False)
        meters = self.env["prepaid.meter"]
        for xmlid in meter_xmlids:
            meter = self.env.ref(xmlid, raise_if_not_found=False)
            if key and meter and meter.sts_vending_key_id == key:
                meters |= meter
        if not meters:
            return True
        admin = self.env.ref("base.user_admin", raise_if_not_found=False)
        Vending = self.env["prepaid.sts.vending"]
        if admin:
            Vending = Vending.with_user(admin).sudo()  # issued by the administrator
        tokens = self.browse()
        try:
            with self.env.cr.savepoint():
                for number, meter in enumerate(meters, start=1):
                    amount = DEMO_CREDIT_AMOUNTS[(number - 1) % len(DEMO_CREDIT_AMOUNTS)]
                    tokens |= Vending._issue_credit(
                        meter, amount, origin=f"DEMO/{number:04d}", free_reason="Demo"
                    )
                tokens |= Vending._issue_management(meters[0], "max_power_limit", 10000)
        except UserError as error:
            _logger.warning("Demo data: no STS demo tokens: %s", error)
            return True
        self.env["ir.model.data"]._update_xmlids(
            [
                {
                    "xml_id": f"prepaid_billing.prepaid_sts_token_{number}_demo",
                    "record": token,
                    "noupdate": True,
                }
                for number, token in enumerate(tokens, start=1)
            ]
        )
        return True
