from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import ADMIN

from ..models.prepaid_meter import UNITS
from ..models.prepaid_sts_vending import ISSUE_GROUPS


class PrepaidStsTokenIssue(models.TransientModel):
    """Issue STS tokens for one or many meters: credit and management tokens (managers) or
    key change sets (administrators); see ``ISSUE_GROUPS``. Credit tokens issued here are free
    issues with a reason; operators open it to learn that credit is sold through top-ups
    (``prepaid.topup``). The checks are in the
    ``prepaid.sts.vending`` service it calls (through the meters' ``_sts_issue_*`` methods);
    the options hidden here for lower groups are refused there too."""

    _name = "prepaid.sts.token.issue"
    _description = "Issue STS Tokens"

    # === FIELDS === #

    meter_ids = fields.Many2many(
        "prepaid.meter",
        string="Meters",
        required=True,
        domain="[('has_sts_keypad', '=', True), ('state', '!=', 'removed')]",
        default=lambda self: self._default_meter_ids(),
    )
    meter_count = fields.Integer(compute="_compute_meter_count")
    token_kind = fields.Selection(
        [("credit", "Credit"), ("management", "Management"), ("key_change", "Key Change")],
        string="Token",
        required=True,
        default="credit",
    )
    can_issue_credit = fields.Boolean(compute="_compute_can")
    can_manage = fields.Boolean(compute="_compute_can")
    can_change_keys = fields.Boolean(compute="_compute_can")
    utility = fields.Selection(
        [("electricity", "Electricity"), ("water", "Water")], compute="_compute_utility"
    )
    unit = fields.Char(compute="_compute_utility")
    # Credit
    amount = fields.Float(
        string="Quantity",
        digits=(16, 1),
        help="Credit in kWh (electricity) or m³ (water), in steps of 0.1; above 1638.3 it is "
        "rounded up to the next value a token can carry.",
    )
    origin = fields.Char(string="Source Document", help="The sale the tokens belong to.")
    free_reason = fields.Char(
        string="Reason for a Free Issue",
        help="Credit is sold through top-ups; a credit token issued here is free (emergency "
        "credit, goodwill, a replacement): say why.",
    )
    # Management
    management_type = fields.Selection(
        [
            ("max_power_limit", "Set Maximum Power Limit"),
            ("clear_credit", "Clear Credit"),
            ("clear_tamper", "Clear Tamper"),
            ("max_phase_unbalance", "Set Maximum Phase Power Unbalance Limit"),
            ("water_factor", "Set Water Meter Factor"),
            ("tariff_rate", "Set Tariff Rate"),
        ],
        default="max_power_limit",
    )
    power_limit = fields.Integer(string="Power Limit (W)")
    clear_all_registers = fields.Boolean(default=True)
    register = fields.Integer(help="The credit register to clear (0 = the main register).")
    raw_value = fields.Integer(
        string="Value",
        help="The raw 16-bit value (0..65535) of the data field, as the meter's manufacturer "
        "documents it.",
    )
    # Key change (administrators)
    new_vending_key_id = fields.Many2one(
        "prepaid.sts.vending.key",
        string="New Vending Key",
        groups=ADMIN,
        help="Leave empty to keep each meter's vending key (SGC and key revision).",
    )
    rollover = fields.Boolean(
        string="Roll Over to Next Base Date",
        help="Move the meters to the next TID base date (1993 to 2014, 2014 to 2035): the key "
        "change tokens carry the roll-over bit and the meters forget their old TIDs.",
    )
    change_tariff_index = fields.Boolean()
    new_tariff_index = fields.Integer(string="New Tariff Index")
    change_key_type = fields.Boolean()
    new_key_type = fields.Selection(
        [
            ("0", "0 - Initialisation (DITK)"),
            ("1", "1 - Default (DDTK)"),
            ("2", "2 - Unique (DUTK)"),
            ("3", "3 - Common (DCTK)"),
        ],
        default="2",
    )
    change_key_expiry = fields.Boolean()
    new_key_expiry = fields.Integer(string="New Key Expiry Number", default=255)

    @api.model
    def _default_meter_ids(self):
        context = self.env.context
        if context.get("active_model") == "prepaid.meter" and context.get("active_ids"):
            return [fields.Command.set(context["active_ids"])]
        return False

    # === COMPUTE METHODS === #

    @api.depends("meter_ids")
    def _compute_meter_count(self):
        for wizard in self:
            wizard.meter_count = len(wizard.meter_ids)

    # A dependency on a field with a default: the form's first onchange computes only the fields
    # that depend on the values it starts from (a context dependency alone leaves them False).
    @api.depends("token_kind")
    @api.depends_context("uid")
    def _compute_can(self):
        user = self.env.user
        can_issue_credit = user.has_group(ISSUE_GROUPS["credit"])
        can_manage = user.has_group(ISSUE_GROUPS["management"])
        can_change_keys = user.has_group(ISSUE_GROUPS["key_change"])
        for wizard in self:
            wizard.can_issue_credit = can_issue_credit
            wizard.can_manage = can_manage
            wizard.can_change_keys = can_change_keys

    @api.depends("meter_ids")
    def _compute_utility(self):
        for wizard in self:
            utilities = set(wizard.meter_ids.mapped("utility"))
            wizard.utility = utilities.pop() if len(utilities) == 1 else False
            wizard.unit = UNITS.get(wizard.utility, False)

    # === ACTION METHODS === #

    def action_issue(self):
        """Issue the tokens and show them."""
        self.ensure_one()
        meters = self.meter_ids
        if not meters:
            raise UserError(self.env._("Select the meters to issue tokens for."))
        # The rights first: a user who may not issue these tokens learns it before anything else.
        self.env["prepaid.sts.vending"]._check_issue_access(meters, self.token_kind)
        if self.token_kind == "credit":
            if len(set(meters.mapped("utility"))) > 1:
                raise UserError(
                    self.env._(
                        "Select meters of one utility for credit tokens: the amount is in kWh "
                        "for electricity and in m³ for water."
                    )
                )
            if float_compare(self.amount, 0.0, precision_digits=1) <= 0:
                raise UserError(self.env._("Enter a positive amount of credit."))
            tokens = meters._sts_issue_credit(
                self.amount, origin=self.origin, free_reason=self.free_reason
            )
        elif self.token_kind == "management":
            tokens = meters._sts_issue_management(
                self.management_type, self._management_value(), origin=self.origin
            )
        else:
            tokens = meters._sts_issue_key_change(**self._key_change_values())
        return tokens._get_action_view()

    def _management_value(self):
        if self.management_type in ("max_power_limit", "max_phase_unbalance"):
            return self.power_limit
        if self.management_type == "clear_credit":
            return None if self.clear_all_registers else self.register
        if self.management_type in ("tariff_rate", "water_factor"):
            return self.raw_value
        return None

    def _key_change_values(self):
        # The new key is an admin-only field: read it in sudo, the meter method checks the
        # group of the user anyway.
        wizard = self.sudo()
        return {
            "vending_key": wizard.new_vending_key_id or None,
            "tariff_index": self.new_tariff_index if self.change_tariff_index else None,
            "key_type": self.new_key_type if self.change_key_type else None,
            "key_expiry": self.new_key_expiry if self.change_key_expiry else None,
            "rollover": self.rollover,
        }
