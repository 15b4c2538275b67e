import logging
from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools.translate import LazyTranslate

from ..tools.related_counts import set_related_counts
from .prepaid_access_mixin import MANAGER, PROCESS, requires_group

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

# The tariff field of an account for each utility of its meters.
TARIFF_FIELD_BY_UTILITY = {
    "electricity": "electricity_tariff_id",
    "water": "water_tariff_id",
}
# What the tenant pays and when the supply is cut: free while the account is prepared, for
# managers once it is in service.
MONEY_FIELDS = (
    "partner_id",
    "billing_mode",
    "electricity_tariff_id",
    "water_tariff_id",
    "alarm1_threshold",
    "alarm2_threshold",
    "alarm3_threshold",
    "cutoff_threshold",
    "credit_limit",
)
# What a meter that keeps the balance is told (see ``_send_thresholds_to_meters``).
THRESHOLD_FIELDS = ("alarm1_threshold", "alarm2_threshold", "alarm3_threshold", "cutoff_threshold")
# Changed only by the actions (open, suspend, resume, close).
STATE_FIELDS = ("state", "date_open", "date_closed")


class PrepaidAccount(models.Model):
    """A utility account: a tenant, the meters they pay for, how and at which price.

    States: draft (prepared) -> open -> suspended <-> open -> closed. Opening checks the
    prepared data (``_get_open_errors``) and activates the meters; ``_open_batch`` opens many
    accounts and reports, per account, why the others could not be opened.
    """

    _name = "prepaid.account"
    _description = "Utility Account"
    _inherit = ["mail.thread", "mail.activity.mixin", "prepaid.access.mixin"]
    _order = "id desc"
    _check_company_auto = True

    # === FIELDS === #

    name = fields.Char(
        string="Number",
        required=True,
        copy=False,
        readonly=True,
        index="trigram",
        default=lambda self: self.env._("New"),
    )
    # Not required while the account is prepared; opening checks it.
    partner_id = fields.Many2one(
        "res.partner", string="Tenant", index=True, tracking=True, check_company=True
    )
    room_id = fields.Many2one(
        "prepaid.site",
        domain="[('site_type', '=', 'room')]",
        index=True,
        ondelete="restrict",
        check_company=True,
        tracking=True,
        help="The main room of the tenant; the account may also hold meters of other rooms.",
    )
    building_id = fields.Many2one(related="room_id.building_id", store=True, index=True)
    meter_ids = fields.One2many("prepaid.meter", "account_id", string="Meters")
    meter_count = fields.Integer(compute="_compute_meter_count")
    billing_mode = fields.Selection(
        [
            ("prepaid_platform", "Prepaid (balance on the platform)"),
            ("prepaid_meter", "Prepaid (balance on the meter)"),
            ("postpaid", "Postpaid"),
        ],
        required=True,
        default="prepaid_platform",
        tracking=True,
        help="Prepaid on the platform: consumption is rated from the readings and deducted "
        "from the balance kept here. Prepaid on the meter: credit is written to meters that "
        "keep their balance. Postpaid: consumption is invoiced periodically.",
    )
    electricity_tariff_id = fields.Many2one(
        "prepaid.tariff",
        domain="[('utility', '=', 'electricity')]",
        check_company=True,
        tracking=True,
    )
    water_tariff_id = fields.Many2one(
        "prepaid.tariff",
        domain="[('utility', '=', 'water')]",
        check_company=True,
        tracking=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    alarm1_threshold = fields.Monetary(
        string="Alarm 1",
        default=100.0,
        tracking=True,
        help="First low-balance warning: the balance fell to or below this amount.",
    )
    alarm2_threshold = fields.Monetary(
        string="Alarm 2", default=50.0, tracking=True, help="Second low-balance warning."
    )
    alarm3_threshold = fields.Monetary(
        string="Alarm 3",
        default=20.0,
        tracking=True,
        help="Last warning before the supply is cut off.",
    )
    cutoff_threshold = fields.Monetary(
        string="Cut-off Threshold",
        default=0.0,
        tracking=True,
        help="The supply is disconnected when the balance falls to or below this amount, "
        "less the credit limit.",
    )
    credit_limit = fields.Monetary(
        default=0.0,
        tracking=True,
        help="Emergency credit: how far below the cut-off threshold the balance may go before "
        "the supply is disconnected.",
    )
    state = fields.Selection(
        [("draft", "Draft"), ("open", "Open"), ("suspended", "Suspended"), ("closed", "Closed")],
        default="draft",
        required=True,
        copy=False,
        tracking=True,
    )
    date_open = fields.Date(string="Opened On", copy=False, readonly=True)
    date_closed = fields.Date(string="Closed On", copy=False, readonly=True)
    note = fields.Html()

    _sql_constraints = [
        ("name_company_uniq", "unique(company_id, name)", "The account number must be unique."),
    ]

    # === CONSTRAINT METHODS === #

    @api.constrains("alarm1_threshold", "alarm2_threshold", "alarm3_threshold", "cutoff_threshold")
    def _check_thresholds(self):
        for account in self:
            currency = account.currency_id
            if not (
                currency.compare_amounts(account.alarm1_threshold, account.alarm2_threshold) > 0
                and currency.compare_amounts(account.alarm2_threshold, account.alarm3_threshold) > 0
            ):
                raise ValidationError(
                    self.env._(
                        "Account %(account)s: the alarm thresholds must decrease: "
                        "alarm 1 > alarm 2 > alarm 3.",
                        account=account.display_name,
                    )
                )
            if currency.compare_amounts(account.alarm3_threshold, account.cutoff_threshold) < 0:
                raise ValidationError(
                    self.env._(
                        "Account %(account)s: alarm 3 cannot be below the cut-off threshold.",
                        account=account.display_name,
                    )
                )

    @api.constrains("credit_limit")
    def _check_credit_limit(self):
        for account in self:
            if account.currency_id.compare_amounts(account.credit_limit, 0.0) < 0:
                raise ValidationError(
                    self.env._(
                        "Account %(account)s: the credit limit cannot be negative.",
                        account=account.display_name,
                    )
                )

    @api.constrains("electricity_tariff_id", "water_tariff_id")
    def _check_tariff_utility(self):
        utility_label = self.env["prepaid.meter"]._get_utility_label
        for account in self:
            for utility, field_name in TARIFF_FIELD_BY_UTILITY.items():
                tariff = account[field_name]
                if tariff and tariff.utility != utility:
                    raise ValidationError(
                        self.env._(
                            "Account %(account)s: tariff %(tariff)s is for %(tariff_utility)s, "
                            "not %(utility)s.",
                            account=account.display_name,
                            tariff=tariff.display_name,
                            tariff_utility=utility_label(tariff.utility),
                            utility=utility_label(utility),
                        )
                    )

    @api.constrains(
        "partner_id",
        "meter_ids",
        "billing_mode",
        "electricity_tariff_id",
        "water_tariff_id",
        "state",
    )
    def _check_service_rules(self):
        """The rules of opening hold as long as the account is in service (open or suspended),
        whatever writes it; ``prepaid.meter.write`` calls this too when a meter changes."""
        errors = self.filtered(lambda a: a.state in ("open", "suspended"))._get_service_errors()
        if errors:
            raise ValidationError(
                self.env._(
                    "These accounts are in service and must keep a tenant, meters in rooms and "
                    "a tariff for each utility:\n%(lines)s",
                    lines=self._format_error_lines(errors),
                )
            )

    # === COMPUTE METHODS === #

    def _compute_meter_count(self):
        set_related_counts(self, "meter_count", "prepaid.meter", "account_id")

    @api.depends("name", "partner_id")
    def _compute_display_name(self):
        for account in self:
            if account.partner_id:
                account.display_name = f"{account.name} - {account.partner_id.name}"
            else:
                account.display_name = account.name

    # === ONCHANGE METHODS === #

    @api.onchange("room_id")
    def _onchange_room_id(self):
        """Propose the free meters of the room (not removed, not on an account in service)."""
        if self.room_id and not self.meter_ids and self.state == "draft":
            self.meter_ids = self.env["prepaid.meter"].search(
                [
                    ("room_id", "=", self.room_id.id),
                    ("state", "!=", "removed"),
                    "|",
                    ("account_id", "=", False),
                    ("account_id.state", "not in", ("open", "suspended")),
                ]
            )

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if not vals.get("name") or vals["name"] == self.env._("New"):
                company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
                vals["name"] = self.env["ir.sequence"].with_company(company).next_by_code(
                    "prepaid.account"
                ) or self.env._("New")
        return super().create(vals_list)

    def write(self, vals):
        # Record rules are checked before a write, not after: an operator must not give an
        # account a room outside their sites.
        if vals.get("room_id") and not self.env.su:
            self.env["prepaid.site"].browse(vals["room_id"]).check_access("read")
        res = super().write(vals)
        if any(name in vals for name in THRESHOLD_FIELDS):
            self.filtered(lambda a: a.state == "open")._send_thresholds_to_meters()
        return res

    # === ACCESS POLICY === #

    def _get_write_groups(self):
        groups = {**super()._get_write_groups(), **dict.fromkeys(STATE_FIELDS, PROCESS)}
        if any(account.state != "draft" for account in self):
            groups.update(dict.fromkeys(MONEY_FIELDS, MANAGER))
        return groups

    @api.ondelete(at_uninstall=False)
    def _unlink_only_drafts(self):
        if any(account.state != "draft" for account in self):
            raise UserError(
                self.env._(
                    "Only draft accounts can be deleted; close the others to keep their history."
                )
            )

    # === ACTION METHODS === #

    @requires_group(MANAGER, _lt("open accounts"))
    def action_open(self):
        """Open prepared accounts in one step, all or none: check the tenant, the meters and a
        tariff for the utility of each meter, then open them and activate their meters.

        :raise UserError: listing every problem of every account when any account fails
        """
        self._check_transition(("draft",), "open", strict=True)
        errors = self._get_open_errors()
        if errors:
            raise UserError(self._format_open_errors(errors))
        self._open()
        return True

    def action_open_batch(self):
        """Open the selected draft accounts through the wizard, which opens those that can be
        opened and reports, for the others, why not."""
        return {
            "name": self.env._("Open Accounts"),
            "type": "ir.actions.act_window",
            "res_model": "prepaid.account.open",
            "view_mode": "form",
            "target": "new",
            "context": {"active_model": self._name, "active_ids": self.ids},
        }

    @requires_group(MANAGER, _lt("suspend accounts"))
    def action_suspend(self):
        """Suspend open accounts (open -> suspended): no top-up, rating or reconnection until
        they are resumed. The meters are left as they are."""
        self._update_state(("open",), "suspended")
        return True

    @requires_group(MANAGER, _lt("resume accounts"))
    def action_resume(self):
        """Resume suspended accounts (suspended -> open)."""
        self._update_state(("suspended",), "open")
        return True

    @requires_group(MANAGER, _lt("close accounts"))
    def action_close(self):
        """Close open or suspended accounts for good (tenant left). The meters stay linked to
        the account as history until they are given to the next tenant's account."""
        closed = self._update_state(("open", "suspended"), "closed")
        closed.sudo().date_closed = fields.Date.context_today(self)
        return True

    def action_view_meters(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("prepaid_meter.prepaid_meter_action")
        action["domain"] = [("account_id", "=", self.id)]
        action["context"] = {"default_account_id": self.id, "default_room_id": self.room_id.id}
        return action

    # === BUSINESS METHODS === #

    def _get_tariff(self, utility):
        """Return the tariff of the account for ``utility`` (``electricity`` or ``water``)."""
        self.ensure_one()
        field_name = TARIFF_FIELD_BY_UTILITY.get(utility)
        return self[field_name] if field_name else self.env["prepaid.tariff"]

    def _get_cutoff_balance(self):
        """The balance at or below which the supply must be disconnected."""
        self.ensure_one()
        return self.cutoff_threshold - self.credit_limit

    def _get_open_errors(self):
        """Return ``{account: [messages]}`` for the accounts that cannot be opened: drafts
        whose meters are all usable (none removed) and that meet the service rules.

        A meter belongs to one account at a time, and it cannot be handed to a draft while
        another account in service holds it (see ``prepaid.meter._check_account_change``), so
        the meters checked here are on no other open account.
        """
        errors = {}
        for account in self:
            messages = []
            if account.state != "draft":
                messages.append(self.env._("it is not a draft."))
            for meter in account.meter_ids.filtered(lambda m: m.state == "removed"):
                messages.append(self.env._("meter %(meter)s is removed.", meter=meter.display_name))
            if messages:
                errors[account] = messages
        for account, messages in self._get_service_errors().items():
            errors.setdefault(account, []).extend(messages)
        return errors

    def _get_service_errors(self):
        """Return ``{account: [messages]}`` for the accounts that break the rules of an
        account in service: a tenant, at least one meter in service, each installed in a room,
        a tariff for the utility of each, and meters that keep a balance when billing is on the
        meter. Removed meters stay on the account as history (a replaced meter) and are not
        judged."""
        errors = {}
        utility_label = self.env["prepaid.meter"]._get_utility_label
        for account in self:
            messages = []
            if not account.partner_id:
                messages.append(self.env._("no tenant."))
            meters = account.meter_ids.filtered(lambda m: m.state != "removed")
            if not meters:
                messages.append(self.env._("no meter."))
            for meter in meters.filtered(lambda m: not m.room_id):
                messages.append(
                    self.env._(
                        "meter %(meter)s is not installed in a room.", meter=meter.display_name
                    )
                )
            for utility in sorted(set(meters.mapped("utility"))):
                if not account._get_tariff(utility):
                    messages.append(
                        self.env._("no %(utility)s tariff.", utility=utility_label(utility).lower())
                    )
            if account.billing_mode == "prepaid_meter":
                for meter in meters.filtered(lambda m: not m.model_id.has_meter_balance):
                    messages.append(
                        self.env._(
                            "meter %(meter)s does not keep a balance, as billing on the meter "
                            "needs.",
                            meter=meter.display_name,
                        )
                    )
            if messages:
                errors[account] = messages
        return errors

    def _format_error_lines(self, errors):
        return "\n".join(
            f"- {account.display_name}: {' '.join(messages)}"
            for account, messages in errors.items()
        )

    def _format_open_errors(self, errors):
        return self.env._(
            "These accounts cannot be opened:\n%(lines)s", lines=self._format_error_lines(errors)
        )

    def _open(self):
        """Open the accounts (no check: see ``_get_open_errors``) and activate their meters."""
        self._update_state(("draft",), "open")
        self.sudo().date_open = fields.Date.context_today(self)
        meters = self.meter_ids.filtered(lambda m: m.state in ("draft", "suspended"))
        if meters:
            meters.action_activate()
        self._send_thresholds_to_meters()
        return True

    def _send_thresholds_to_meters(self):
        """Meters that keep the balance raise the alarms and cut off by themselves: they get
        the account's thresholds (the platform raises them for the other accounts)."""
        meters = self.filtered(lambda a: a.billing_mode == "prepaid_meter").meter_ids.filtered(
            lambda m: m.state == "active" and m.model_id.has_meter_balance
        )
        if meters:
            meters.sudo()._set_thresholds()

    def _open_batch(self):
        """Open every account of ``self`` that can be opened; each one on its own, so that one
        failing account does not stop the others.

        :return: ``(opened, failures)``: the opened accounts and ``{account: message}``
        """
        self._check_group(MANAGER, _lt("open accounts"))
        opened = self.browse()
        failures = {}
        errors = self._get_open_errors()
        for account in self:
            if account in errors:
                failures[account] = " ".join(errors[account])
                continue
            try:
                # A flushing savepoint: a failing account is rolled back alone.
                with self.env.cr.savepoint():
                    account._open()
            except (UserError, ValidationError) as error:
                failures[account] = str(error.args[0]) if error.args else str(error)
                continue
            opened |= account
        _logger.info(
            "Batch opening of utility accounts: %d opened, %d failed.", len(opened), len(failures)
        )
        return opened, failures

    def _get_state_records_label(self):
        return self.env._("accounts")

    # === DEMO DATA === #

    _DEMO_TENANT_FIRST = (
        "Golden",
        "Jade",
        "Lotus",
        "Harbour",
        "Sunrise",
        "Maple",
        "Orchid",
        "Pearl",
        "Summit",
        "Willow",
    )
    _DEMO_TENANT_SECOND = ("Tea House", "Bakery", "Pharmacy", "Bookstore", "Noodle Bar", "Florist")
    # The demo in Chinese (a database created with --load-language=zh_CN): Chinese shop names.
    _DEMO_TENANT_FIRST_ZH = (
        "金源",
        "翠玉",
        "莲香",
        "港湾",
        "旭日",
        "枫林",
        "兰亭",
        "明珠",
        "峰顶",
        "柳岸",
    )
    _DEMO_TENANT_SECOND_ZH = ("茶馆", "面包坊", "大药房", "书店", "面馆", "花店")

    @api.model
    def _demo_generate_accounts(self, buildings="abc", floors=4, rooms_per_floor=5):
        """Create a tenant and an account for every demo room, open most of them, suspend a
        few and leave a few as prepared drafts (called from demo XML; idempotent).

        Tariffs are the demo tariffs of the tariff section (``prepaid_tariff_flat_demo``,
        ``prepaid_tariff_tou_demo``, ``prepaid_tariff_tiered_tou_demo``,
        ``prepaid_tariff_tiered_water_demo``); an account whose tariff is missing stays a
        draft. XML ids: ``prepaid_partner_tenant_<room>_demo``, ``prepaid_account_<room>_demo``.
        """

        def tariff(name):
            return self.env.ref(
                f"prepaid_meter.prepaid_tariff_{name}_demo", raise_if_not_found=False
            )

        electricity_tariffs = {
            "a": tariff("flat"),
            "b": tariff("tou"),
            "c": tariff("tiered_tou"),
        }
        water_tariff = tariff("tiered_water")
        IrModelData = self.env["ir.model.data"]
        chinese = self.env["res.company"]._prepaid_demo_in_chinese()
        partner_xmlid_prefix = "prepaid_meter.prepaid_partner_tenant_"
        accounts = self.browse()
        position = 0
        for letter in buildings:
            for floor_number in range(1, floors + 1):
                for room_number in range(1, rooms_per_floor + 1):
                    position += 1
                    code = f"{letter.upper()}{floor_number}{room_number:02d}"
                    room = self.env.ref(
                        f"prepaid_meter.prepaid_site_{code.lower()}_demo", raise_if_not_found=False
                    )
                    account_xmlid = f"prepaid_meter.prepaid_account_{code.lower()}_demo"
                    if not room or self.env.ref(account_xmlid, raise_if_not_found=False):
                        continue
                    index = position - 1
                    first = self._DEMO_TENANT_FIRST[index % len(self._DEMO_TENANT_FIRST)]
                    second = self._DEMO_TENANT_SECOND[
                        index // len(self._DEMO_TENANT_FIRST) % len(self._DEMO_TENANT_SECOND)
                    ]
                    name = f"{first} {second}"
                    if chinese:
                        name = (
                            self._DEMO_TENANT_FIRST_ZH[index % len(self._DEMO_TENANT_FIRST_ZH)]
                            + self._DEMO_TENANT_SECOND_ZH[
                                index
                                // len(self._DEMO_TENANT_FIRST_ZH)
                                % len(self._DEMO_TENANT_SECOND_ZH)
                            ]
                        )
                    partner = self.env["res.partner"].create(
                        {
                            "name": name,
                            "is_company": True,
                            "lang": "zh_CN" if chinese else False,
                            "email": f"{first}.{second}@example.com".lower().replace(" ", ""),
                            "phone": f"+86 21 5555 {position:04d}",
                            "street": self.env._("Golden Plaza, Shop %(room)s", room=code),
                        }
                    )
                    if letter == "c" and floor_number == 1:
                        billing_mode = "prepaid_meter"
                    elif letter == "c" and floor_number == 4 and room_number <= 2:
                        billing_mode = "postpaid"
                    else:
                        billing_mode = "prepaid_platform"
                    account = self.create(
                        {
                            "partner_id": partner.id,
                            "room_id": room.id,
                            "company_id": room.company_id.id,
                            "billing_mode": billing_mode,
                            "electricity_tariff_id": electricity_tariffs[letter].id
                            if electricity_tariffs.get(letter)
                            else False,
                            "water_tariff_id": water_tariff.id if water_tariff else False,
                            "meter_ids": [Command.set(room.meter_ids.ids)],
                        }
                    )
                    IrModelData._update_xmlids(
                        [
                            {
                                "xml_id": f"{partner_xmlid_prefix}{code.lower()}_demo",
                                "record": partner,
                                "noupdate": True,
                            },
                            {"xml_id": account_xmlid, "record": account, "noupdate": True},
                        ]
                    )
                    accounts |= account
        # The last room of the top floor of each building is still being prepared: a draft.
        drafts = accounts.filtered(lambda a: a.room_id.name[1:] == f"{floors}{rooms_per_floor:02d}")
        opened, failures = (accounts - drafts)._open_batch()
        if failures:
            _logger.warning(
                "%d demo accounts left as drafts (are the demo tariffs loaded?), e.g. %s: %s",
                len(failures),
                next(iter(failures)).name,
                next(iter(failures.values())),
            )
        # Two tenants in arrears: suspended, supply cut off.
        suspended = opened.filtered(lambda a: a.room_id.name in ("A203", "B304"))
        suspended.action_suspend()
        now = fields.Datetime.now()
        for index, meter in enumerate(opened.meter_ids.sorted("id")):
            offline = index % 13 == 7
            meter.write(
                {
                    "online_state": "offline" if offline else "online",
                    "last_contact": now
                    - timedelta(days=2 if offline else 0, minutes=5 + index % 15),
                    "supply_state": "disconnected"
                    if meter.account_id in suspended or index % 29 == 11
                    else "connected",
                }
            )
        return True
