"""Low-balance alarms, cut-off and reconnection of the accounts billed on the platform.

The posting service calls ``prepaid.account._on_balance_changed`` after every posting, in the
poster's transaction: the alarm level follows the balance (a notice per downward crossing,
re-armed when a top-up brings the balance back above), and the supply is cut off when the
balance reaches the cut-off balance (unless keep-power or friendly hours hold it) and
reconnected when a top-up brings it back above. Two scheduled actions repeat the notices and
execute the cut-offs that were deferred or held.

Only what the tenant has for energy counts (Civil Code art. 944: no cut-off to collect
anything else); today that is the wallet balance. Accounts billed on the meter are cut by the
meter itself, postpaid accounts are not cut: both are left alone, as are accounts that are not
open.
"""

import logging
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, formatLang
from odoo.tools.translate import LazyTranslate

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import MANAGER, PROCESS, requires_group

from .prepaid_alarm_rule import ALARM_LEVELS, ALARM_RANK

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

# Kept by the alarm and cut-off service.
ALARM_PROCESS_FIELDS = ("alarm_level", "alarm_sent_count", "alarm_next_date", "cutoff_state")
# Keep-power (保电) is for managers.
KEEP_POWER_FIELDS = ("keep_power", "keep_power_reason", "keep_power_until")
# Fields whose change moves the alarm level or the cut-off balance.
LEVEL_FIELDS = (
    "alarm1_threshold",
    "alarm2_threshold",
    "alarm3_threshold",
    "cutoff_threshold",
    "credit_limit",
)
LEVEL_THRESHOLD_FIELDS = {
    "alarm1": "alarm1_threshold",
    "alarm2": "alarm2_threshold",
    "alarm3": "alarm3_threshold",
}
CUTOFF_STATES = [
    ("supplied", "Supplied"),
    ("deferred", "Cut-off Deferred"),
    ("held", "Cut-off Held"),
    ("cut", "Cut Off"),
    ("failed", "Cut-off Failed"),
    ("overridden", "Reconnected by a Manager"),
]
# Errors of one account that must not stop a posting or a cron run.
ACCOUNT_ERRORS = (UserError, ValidationError, AccessError)
CRON_BATCH_SIZE = 200


class PrepaidAccount(models.Model):
    _inherit = "prepaid.account"

    # === FIELDS === #

    alarm_level = fields.Selection(
        ALARM_LEVELS,
        default="none",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        help="Where the balance stands against the alarm thresholds and the cut-off balance "
        "(accounts billed on the platform).",
    )
    alarm_sent_count = fields.Integer(
        string="Notices Sent", readonly=True, copy=False, help="Notices of the current level."
    )
    # Indexed: the repeat cron looks up the accounts whose next notice is due.
    alarm_next_date = fields.Datetime(string="Next Notice", readonly=True, copy=False, index=True)
    cutoff_state = fields.Selection(
        CUTOFF_STATES,
        string="Cut-off",
        default="supplied",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        help="What the platform decided for the supply. The meters' Relay/Valve shows what "
        "the hardware reported.",
    )
    keep_power = fields.Boolean(
        string="Keep Power",
        copy=False,
        tracking=True,
        help="保电: the supply is not cut off while this is set (until its expiry).",
    )
    keep_power_reason = fields.Char(copy=False, tracking=True)
    keep_power_until = fields.Datetime(
        string="Keep Power Until", copy=False, tracking=True, help="Empty: until unset."
    )
    keep_power_active = fields.Boolean(
        compute="_compute_keep_power_active", help="Keep-power is set and not expired."
    )
    alarm_ids = fields.One2many("prepaid.alarm", "account_id", string="Alarm History")
    supply_decision_ids = fields.One2many(
        "prepaid.supply.decision", "account_id", string="Supply Decisions"
    )

    # === CONSTRAINT METHODS === #

    @api.constrains("keep_power", "keep_power_reason")
    def _check_keep_power_reason(self):
        for account in self:
            if account.keep_power and not (account.keep_power_reason or "").strip():
                raise ValidationError(
                    self.env._(
                        "Account %(account)s: say why the power is kept on.",
                        account=account.display_name,
                    )
                )

    # === COMPUTE METHODS === #

    @api.depends("keep_power", "keep_power_until")
    def _compute_keep_power_active(self):
        now = fields.Datetime.now()
        for account in self:
            account.keep_power_active = account.keep_power and (
                not account.keep_power_until or account.keep_power_until > now
            )

    # === ACCESS POLICY === #

    def _get_write_groups(self):
        return {
            **super()._get_write_groups(),
            **dict.fromkeys(ALARM_PROCESS_FIELDS, PROCESS),
            **dict.fromkeys(KEEP_POWER_FIELDS, MANAGER),
        }

    # === CRUD METHODS === #

    def write(self, vals):
        res = super().write(vals)
        if any(name in vals for name in KEEP_POWER_FIELDS + LEVEL_FIELDS):
            # A hold lifted, or thresholds changed: decide again now for the accounts whose
            # money has moved (a new account at zero waits for its first posting).
            self.filtered(
                lambda a: a.cutoff_state in ("held", "deferred") or a.ledger_line_ids
            )._evaluate_balance()
        return res

    # === ACTION METHODS === #

    @requires_group(MANAGER, _lt("cut off the supply"))
    def action_cut_now(self, reason=None):
        """Cut the supply now, through friendly hours and keep-power, of accounts whose
        balance is at or below the cut-off balance (nothing else may cut the supply)."""
        if not reason:
            return self._action_supply_override("cut")
        for account in self:
            account._check_platform_cutoff()
            if not account._is_at_cutoff():
                raise UserError(
                    self.env._(
                        "Account %(account)s still has energy credit above its cut-off "
                        "balance: its supply cannot be cut (the supply is never cut off to "
                        "collect anything else, Civil Code art. 944).",
                        account=account.display_name,
                    )
                )
            account.sudo()._cut_off(
                "override_cut", self.env._("Manager's decision"), reason=reason, strict=True
            )
        return True

    @requires_group(MANAGER, _lt("reconnect the supply"))
    def action_reconnect_now(self, reason=None):
        """Reconnect the supply now, even below the cut-off balance: the platform does not
        cut it again until the balance has come back above the cut-off balance."""
        if not reason:
            return self._action_supply_override("reconnect")
        for account in self:
            account._check_platform_cutoff()
            account.sudo()._reconnect(
                "override_reconnect", self.env._("Manager's decision"), reason=reason, strict=True
            )
        return True

    def _action_supply_override(self, mode):
        return {
            "name": self.env._("Cut Off Now") if mode == "cut" else self.env._("Reconnect Now"),
            "type": "ir.actions.act_window",
            "res_model": "prepaid.supply.override",
            "view_mode": "form",
            "target": "new",
            "context": {"default_account_ids": self.ids, "default_mode": mode},
        }

    def _check_platform_cutoff(self):
        self.ensure_one()
        if self.state != "open" or self.billing_mode != "prepaid_platform":
            raise UserError(
                self.env._(
                    "Account %(account)s: the platform switches the supply of open accounts "
                    "billed on the platform only.",
                    account=self.display_name,
                )
            )

    # === BUSINESS METHODS: BALANCE HOOK === #

    def _on_balance_changed(self, lines):
        res = super()._on_balance_changed(lines)
        self._evaluate_balance()
        return res

    def _evaluate_balance(self):
        """Follow the balance of the open accounts billed on the platform: alarm level and
        notices, then cut-off or reconnection. Runs in the caller's environment and user (the
        poster, a manager, a cron); writes in sudo. An account that fails is logged and left
        for the next change: a posting never fails because a notice or a relay did."""
        for account in self._filter_platform_accounts():
            account = account.sudo()
            # Most postings leave the level as it is: no savepoint for them (rating runs post
            # on thousands of accounts).
            if account._get_balance_alarm_level() != account.alarm_level:
                try:
                    with self.env.cr.savepoint():
                        account._update_alarm_level()
                except ACCOUNT_ERRORS:
                    _logger.exception("Alarm level of account %s could not be updated", account.id)
            account._evaluate_supply()

    def _filter_platform_accounts(self):
        return self.filtered(lambda a: a.state == "open" and a.billing_mode == "prepaid_platform")

    # === BUSINESS METHODS: ALARMS === #

    def _get_energy_balance(self):
        """What the tenant has left for energy: the balance that alarms and cut-off look at.

        Today the wallet balance. Supply is never cut to collect anything but energy (Civil
        Code art. 944): when fees, rent or service charges are taken from the wallet, override
        this to leave them out."""
        self.ensure_one()
        return self.balance

    def _is_at_cutoff(self):
        """Whether the energy balance is at or below the cut-off balance."""
        self.ensure_one()
        return (
            self.currency_id.compare_amounts(self._get_energy_balance(), self._get_cutoff_balance())
            <= 0
        )

    def _get_balance_alarm_level(self):
        """The alarm level of the balance: ``cutoff`` at or below the cut-off balance, else
        the lowest alarm threshold it is at or below, else ``none``."""
        self.ensure_one()
        compare = self.currency_id.compare_amounts
        if self._is_at_cutoff():
            return "cutoff"
        for level in ("alarm3", "alarm2", "alarm1"):
            if compare(self._get_energy_balance(), self[LEVEL_THRESHOLD_FIELDS[level]]) <= 0:
                return level
        return "none"

    def _update_alarm_level(self):
        """Move the account to the level of its balance; a downward crossing sends the notice
        of the new level, an upward one (a top-up) re-arms the lower levels."""
        self.ensure_one()
        level = self._get_balance_alarm_level()
        previous = self.alarm_level
        if level == previous:
            return False
        self.write({"alarm_level": level, "alarm_sent_count": 0, "alarm_next_date": False})
        if ALARM_RANK[level] > ALARM_RANK[previous]:
            self._send_alarm()
        else:
            labels = dict(self._fields["alarm_level"]._description_selection(self.env))
            self._message_log(
                body=self.env._(
                    "Balance %(balance)s: alarm level back to %(level)s.",
                    balance=self._format_money(self._get_energy_balance()),
                    level=labels[level],
                )
            )
        return True

    def _send_alarm(self):
        """Send the notice of the account's current level (mail, SMS, chatter note), record it
        in the alarm history, and plan the next repeat of its rule. A channel that fails is
        recorded; it does not stop the others."""
        self.ensure_one()
        level = self.alarm_level
        rule = self.env["prepaid.alarm.rule"]._get_rule(self.company_id, level)
        partner = self.partner_id
        channels, failures = [], []
        if rule.send_mail and rule.mail_template_id:
            if not partner.email:
                failures.append(self.env._("Email: the tenant has no email address."))
            else:
                self._send_alarm_channel(
                    self.env._("Email"),
                    lambda: rule.mail_template_id.send_mail(
                        self.id, email_layout_xmlid="mail.mail_notification_light"
                    ),
                    channels,
                    failures,
                )
        if rule.send_sms and rule.sms_template_id:
            if not (partner.mobile or partner.phone):
                failures.append(self.env._("SMS: the tenant has no mobile number."))
            else:
                self._send_alarm_channel(
                    self.env._("SMS"),
                    lambda: self._message_sms_with_template(
                        template=rule.sms_template_id,
                        partner_ids=partner.ids,
                        # Queued like the mail: sent after the posting commits, never twice
                        # when a serialization failure replays it.
                        put_in_queue=True,
                    ),
                    channels,
                    failures,
                )
        labels = dict(self._fields["alarm_level"]._description_selection(self.env))
        threshold = (
            self._get_cutoff_balance() if level == "cutoff" else self[LEVEL_THRESHOLD_FIELDS[level]]
        )
        sequence = self.alarm_sent_count + 1
        self._message_log(
            body=Markup("<p>%s</p>")
            % self.env._(
                "%(level)s (notice %(sequence)s): balance %(balance)s, threshold %(threshold)s. "
                "Sent through: %(channels)s.",
                level=labels[level],
                sequence=sequence,
                balance=self._format_money(self._get_energy_balance()),
                threshold=self._format_money(threshold),
                channels=", ".join(channels) or self.env._("none"),
            )
        )
        self.env["prepaid.alarm"].sudo().create(
            {
                "account_id": self.id,
                "partner_id": partner.id,
                "level": level,
                "sequence": sequence,
                "balance": self._get_energy_balance(),
                "threshold": threshold,
                "channels": ", ".join(channels),
                "failures": "\n".join(failures) or False,
                "state": "failed"
                if not channels and failures
                else ("partial" if failures else "sent"),
            }
        )
        repeat = rule and sequence <= rule.repeat_count
        self.write(
            {
                "alarm_sent_count": sequence,
                "alarm_next_date": fields.Datetime.now() + timedelta(hours=rule.repeat_interval)
                if repeat
                else False,
            }
        )
        return True

    def _send_alarm_channel(self, label, send, channels, failures):
        try:
            with self.env.cr.savepoint():
                send()
        except Exception as error:  # recorded in the history, logged
            _logger.exception("Alarm %s of account %s failed", label, self.id)
            failures.append(f"{label}: {error}")
        else:
            channels.append(label)

    @api.model
    def _cron_repeat_alarms(self, batch_size=CRON_BATCH_SIZE):
        """Send the notices that are due again, in bounded batches, each account on its own
        (one that fails is logged and tried again in an hour); re-trigger while work remains."""
        now = fields.Datetime.now()
        domain = [
            ("alarm_next_date", "<=", now),
            ("alarm_level", "!=", "none"),
            ("state", "=", "open"),
            ("billing_mode", "=", "prepaid_platform"),
        ]
        accounts = self._lock_for_cron(domain, batch_size, "alarm_next_date, id")
        for account in accounts:
            try:
                with self.env.cr.savepoint():
                    account.sudo()._send_alarm()
            except Exception:  # one account never stops the others
                _logger.exception("Repeat of the alarm of account %s failed", account.id)
                account.sudo().alarm_next_date = now + timedelta(hours=1)
        self._notify_cron_progress(
            domain, accounts, batch_size, "prepaid_billing.prepaid_account_cron_repeat_alarms"
        )
        return True

    def _lock_for_cron(self, domain, batch_size, order):
        """Up to ``batch_size`` accounts of ``domain``, locked like the posting service locks
        them; the accounts being posted on (or taken by another cron worker) are skipped for
        this run rather than waited for."""
        candidates = self.search(domain, limit=batch_size, order=order)
        if not candidates:
            return candidates
        self.env.cr.execute(
            SQL(
                """SELECT id FROM prepaid_account WHERE id IN %s
                    ORDER BY id FOR NO KEY UPDATE SKIP LOCKED""",
                tuple(candidates.ids),
            )
        )
        locked = {row[0] for row in self.env.cr.fetchall()}
        return candidates.filtered(lambda a: a.id in locked)

    def _notify_cron_progress(self, domain, done, batch_size, cron_xmlid):
        """Report the progress of a cron run and re-trigger the cron while work remains."""
        # The accounts done have left the domain (their notice or decision is recorded).
        remaining = self.search_count(domain) if len(done) >= batch_size else 0
        self.env["ir.cron"]._notify_progress(done=len(done), remaining=remaining)
        if remaining:
            self.env.ref(cron_xmlid)._trigger()

    # === BUSINESS METHODS: CUT-OFF AND RECONNECTION === #

    def _get_cutoff_hold(self, when=None):
        """What holds a cut-off now: ``(decision, rule)``, ``decision`` being ``held``
        (keep-power) or ``deferred`` (friendly hours); ``(False, "")`` when nothing does."""
        self.ensure_one()
        when = when or fields.Datetime.now()
        if self.keep_power and (not self.keep_power_until or self.keep_power_until > when):
            until = (
                fields.Datetime.to_string(self.keep_power_until)
                if self.keep_power_until
                else self.env._("unset")
            )
            return "held", self.env._(
                "Keep power until %(until)s: %(reason)s",
                until=until,
                reason=self.keep_power_reason or "",
            )
        rule = self.env["prepaid.cutoff.calendar"]._get_friendly_rule(self.company_id, when)
        if rule:
            return "deferred", self.env._("Friendly hours: %(rule)s", rule=rule)
        return False, ""

    def _evaluate_supply(self):
        """Cut off, defer, hold or reconnect the supply of the account from its balance."""
        self.ensure_one()
        below = self._is_at_cutoff()
        state = self.cutoff_state
        if below:
            if state in ("cut", "failed", "overridden"):
                return False
            decision, rule = self._get_cutoff_hold()
            if decision:
                if decision != state:
                    self._log_supply_decision(decision, rule)
                    self.cutoff_state = decision
                return False
            return self._cut_off(
                "cut", self.env._("Balance at or below the cut-off balance; nothing holds it")
            )
        if state == "cut":
            return self._reconnect(
                "reconnect", self.env._("Balance back above the cut-off balance")
            )
        if state in ("deferred", "held", "failed"):
            self._log_supply_decision(
                "cancelled", self.env._("Balance back above the cut-off balance")
            )
        if state != "supplied":
            self.cutoff_state = "supplied"
        return False

    def _get_switchable_meters(self):
        """The meters whose supply the platform can switch: in service, with a relay
        (electricity) or a valve (water)."""
        return self.meter_ids.filtered(
            lambda m: (
                m.state != "removed"
                and (m.model_id.has_relay if m.utility == "electricity" else m.model_id.has_valve)
            )
        )

    def _cut_off(self, decision, rule, reason=None, strict=False):
        """Request the supply off on the account's switchable meters and record it; a failure
        is recorded as such (``strict``: raised, for a manager who asked)."""
        self.ensure_one()
        meters = self._get_switchable_meters()
        try:
            if not meters:
                raise UserError(
                    self.env._("No meter of the account has a relay or a valve: cut it on site.")
                )
            with self.env.cr.savepoint():
                meters.action_supply_off()
        except ACCOUNT_ERRORS as error:
            if strict:
                raise
            _logger.warning("Cut-off of account %s failed: %s", self.id, error)
            self._log_supply_decision("failed", f"{rule}. {error}", meters=meters)
            self.cutoff_state = "failed"
            return False
        self._log_supply_decision(decision, rule, reason=reason, meters=meters)
        self.cutoff_state = "cut"
        return True

    def _reconnect(self, decision, rule, reason=None, strict=False):
        self.ensure_one()
        meters = self._get_switchable_meters()
        try:
            with self.env.cr.savepoint():
                if meters:
                    meters.action_supply_on()
        except ACCOUNT_ERRORS as error:
            if strict:
                raise
            _logger.warning("Reconnection of account %s failed: %s", self.id, error)
            self._log_supply_decision("failed", f"{rule}. {error}", meters=meters)
            return False
        self._log_supply_decision(decision, rule, reason=reason, meters=meters)
        self.cutoff_state = "overridden" if self._is_at_cutoff() else "supplied"
        return True

    def _log_supply_decision(self, decision, rule, reason=None, meters=None):
        """Record ``decision`` with its evidence, and say it in the chatter."""
        self.ensure_one()
        record = (
            self.env["prepaid.supply.decision"]
            .sudo()
            .create(
                {
                    "account_id": self.id,
                    "decision": decision,
                    "balance": self._get_energy_balance(),
                    "cutoff_balance": self._get_cutoff_balance(),
                    "rule": rule,
                    "reason": reason or False,
                    "meter_ids": [(6, 0, meters.ids)] if meters else False,
                    "user_id": self.env.user.id,
                }
            )
        )
        labels = dict(record._fields["decision"]._description_selection(self.env))
        self._message_log(
            body=self.env._(
                "Supply: %(decision)s. Balance %(balance)s, cut-off balance %(cutoff)s. "
                "%(rule)s%(reason)s",
                decision=labels[decision],
                balance=self._format_money(self._get_energy_balance()),
                cutoff=self._format_money(self._get_cutoff_balance()),
                rule=rule,
                reason=self.env._(" Reason: %(reason)s", reason=reason) if reason else "",
            )
        )
        return record

    @api.model
    def _cron_execute_cutoffs(self, batch_size=CRON_BATCH_SIZE):
        """Execute the cut-offs deferred by friendly hours or held by keep-power once nothing
        holds them any more, in bounded batches, each account on its own."""
        now = fields.Datetime.now()
        domain = [
            ("state", "=", "open"),
            ("billing_mode", "=", "prepaid_platform"),
            "|",
            ("cutoff_state", "=", "deferred"),
            # Held: only once keep-power is lifted or expired (the others would fill the batch).
            "&",
            ("cutoff_state", "=", "held"),
            "|",
            ("keep_power", "=", False),
            ("keep_power_until", "<=", now),
        ]
        accounts = self._lock_for_cron(domain, batch_size, "id")
        decided = self.browse()
        for account in accounts:
            try:
                with self.env.cr.savepoint():
                    account.sudo()._evaluate_supply()
            except Exception:  # one account never stops the others
                _logger.exception("Deferred cut-off of account %s failed", account.id)
            if account.cutoff_state not in ("deferred", "held"):
                decided |= account
        # In friendly hours the deferred accounts stay: re-trigger only when a full batch moved.
        if decided and len(accounts) >= batch_size:
            self._notify_cron_progress(
                domain, accounts, batch_size, "prepaid_billing.prepaid_account_cron_execute_cutoffs"
            )
        else:
            self.env["ir.cron"]._notify_progress(done=len(accounts), remaining=0)
        return True

    # === DEMO DATA === #

    @api.model
    def _demo_generate_alarms(self):
        """Take back the demo sale of one demo account billed on the platform (its balance
        falls to the cut-off balance: cut off) and of another on keep-power (held); called
        from demo XML after the demo top-ups, before any friendly hours exist; idempotent.

        Reversals, not consumption: the demo leaves the day's consumption summaries to the
        demo readings."""
        if self.search_count([("keep_power", "=", True)], limit=1):
            return True
        topups = (
            self.env["prepaid.topup"]
            .search(
                [
                    ("request_key", "=like", "demo:%"),
                    ("state", "=", "delivered"),
                    ("account_id.billing_mode", "=", "prepaid_platform"),
                    ("account_id.state", "=", "open"),
                    ("account_id.cutoff_state", "=", "supplied"),
                ],
                order="id desc",
            )
            .filtered(lambda t: t.account_id.balance == t.amount)[:2]
        )
        if len(topups) < 2:
            return True
        held = topups[1].account_id
        held.write(
            {
                "keep_power": True,
                "keep_power_reason": self.env._("Demo: cold storage of a pharmacy"),
                "keep_power_until": fields.Datetime.now() + timedelta(days=30),
            }
        )
        for topup in topups:
            topup.action_reverse(self.env._("Demo: sold on the wrong account"))
        return True

    def _format_money(self, amount):
        return formatLang(self.env, float(amount or 0), currency_obj=self.currency_id)
