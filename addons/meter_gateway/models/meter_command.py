import logging
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, float_round

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import PROCESS

from .gateway_errors import ERROR_SELECTION, error_reason

_logger = logging.getLogger(__name__)

ACTIONS = [
    ("relay_off", "Relay Off"),
    ("valve_close", "Close Valve"),
    ("relay_on", "Relay On"),
    ("valve_open", "Open Valve"),
    ("write_credit", "Write Credit"),
    ("set_tariff", "Set Tariff"),
    ("set_thresholds", "Set Alarm Thresholds"),
    ("sync_clock", "Synchronise Clock"),
    ("read_now", "Read Now"),
]
# Lower goes first: a cut-off before a reconnection, money before settings, reads last.
PRIORITIES = {
    "relay_off": 10,
    "valve_close": 10,
    "relay_on": 20,
    "valve_open": 20,
    "write_credit": 30,
    "set_tariff": 40,
    "set_thresholds": 40,
    "sync_clock": 50,
    "read_now": 60,
}
OPPOSITES = {
    "relay_on": "relay_off",
    "relay_off": "relay_on",
    "valve_open": "valve_close",
    "valve_close": "valve_open",
}
STATES = [
    ("queued", "Queued"),
    ("sending", "Sending"),
    ("retry", "Waiting to Retry"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("expired", "Expired"),
    ("cancelled", "Cancelled"),
]
WAITING = ("queued", "retry")
# Each request is a distinct one (a credit of the same amount sold twice is written twice):
# never merged with a pending one unless the caller gives an idempotency key.
NEVER_MERGED = ("write_credit",)
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_DEADLINE_HOURS = 24


def retry_delay(attempts):
    """Exponential back-off: 30 s, 1 min, 2 min... capped at one hour."""
    return min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS)


class MeterCommand(models.Model):
    """A request to one meter, carried out by the gateway's dispatcher.

    States: queued -> sending -> done | retry (a transient failure: back-off, then sending
    again) | failed (a permanent failure, or the attempts used up); queued/retry -> expired
    (deadline passed) | cancelled (by a user, or superseded by the opposite request). Every
    field is written by this process only; users act through ``action_cancel`` and
    ``action_retry``.
    """

    _name = "meter.command"
    _description = "Meter Command"
    _inherit = ["prepaid.access.mixin"]
    _order = "id desc"
    _check_company_auto = True

    # === FIELDS === #

    meter_id = fields.Many2one(
        "prepaid.meter", required=True, readonly=True, index=True, ondelete="cascade"
    )
    # Restrict: the history of a gateway's commands (who, when, what) outlives the gateway's
    # use; archive gateways instead of deleting them.
    gateway_id = fields.Many2one(
        "meter.gateway", required=True, readonly=True, index=True, ondelete="restrict"
    )
    room_id = fields.Many2one(related="meter_id.room_id")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    action = fields.Selection(ACTIONS, required=True, readonly=True)
    state = fields.Selection(STATES, default="queued", required=True, readonly=True, index=True)
    priority = fields.Integer(
        readonly=True, help="Lower goes first: cut-offs, then reconnections, credit, settings."
    )
    idempotency_key = fields.Char(
        readonly=True,
        copy=False,
        help="The same key queues one command only, however many times it is requested.",
    )
    amount = fields.Float(readonly=True, digits=(16, 2))
    tariff_id = fields.Many2one("prepaid.tariff", readonly=True, ondelete="set null")
    origin_ref = fields.Char(
        string="Origin",
        readonly=True,
        help="The record the request is made for (model,id), e.g. a refund taking the credit "
        "back from the meter; it is told when the command is done.",
    )
    requested_by_id = fields.Many2one("res.users", string="Requested By", readonly=True)
    requested_at = fields.Datetime(string="Requested At", readonly=True)
    deadline = fields.Datetime(
        readonly=True, help="Not carried out by then, the command expires (never sent late)."
    )
    attempts = fields.Integer(readonly=True)
    max_attempts = fields.Integer(readonly=True, default=DEFAULT_MAX_ATTEMPTS)
    next_attempt_at = fields.Datetime(string="Next Attempt", readonly=True)
    sent_at = fields.Datetime(string="Last Sent At", readonly=True)
    done_at = fields.Datetime(string="Finished At", readonly=True)
    verified = fields.Boolean(
        readonly=True, help="The result was confirmed by reading the meter back."
    )
    result = fields.Text(readonly=True)
    error_code = fields.Selection(ERROR_SELECTION, string="Error", readonly=True)
    error_detail = fields.Char(readonly=True, help="The driver's technical detail.")
    error_reason = fields.Char(compute="_compute_error_reason")
    cancelled_by_id = fields.Many2one("res.users", string="Cancelled By", readonly=True)

    def init(self):
        # At most one command in flight per meter, and one waiting request per meter and
        # action (credit writes aside): guaranteed by the database, also across workers.
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS meter_command_one_sending_per_meter
                ON meter_command (meter_id) WHERE state = 'sending';
            CREATE UNIQUE INDEX IF NOT EXISTS meter_command_one_waiting_per_action
                ON meter_command (meter_id, action)
             WHERE state IN ('queued', 'retry') AND action != 'write_credit';
            CREATE UNIQUE INDEX IF NOT EXISTS meter_command_idempotency_key_uniq
                ON meter_command (idempotency_key) WHERE idempotency_key IS NOT NULL;
            CREATE INDEX IF NOT EXISTS meter_command_waiting_idx
                ON meter_command (gateway_id, priority, id) WHERE state IN ('queued', 'retry');
            """
        )

    # === COMPUTE METHODS === #

    @api.depends("error_code")
    def _compute_error_reason(self):
        for command in self:
            command.error_reason = (
                error_reason(self.env, command.error_code) if command.error_code else False
            )

    @api.depends("action", "meter_id")
    def _compute_display_name(self):
        labels = dict(self._fields["action"]._description_selection(self.env))
        for command in self:
            command.display_name = f"{labels.get(command.action, '')} - {command.meter_id.name}"

    # === ACCESS POLICY === #

    def _get_write_groups(self):
        # Everything is the process's: created by _queue, moved by the state methods.
        return {
            name: PROCESS
            for name, field in self._fields.items()
            if field.store and not field.automatic
        }

    # === ACTION METHODS === #

    def action_cancel(self):
        """Cancel waiting commands (operators, on the meters of their sites)."""
        self.check_access("write")
        changed = self._update_state(WAITING, "cancelled")
        changed.sudo().write({"cancelled_by_id": self.env.uid, "done_at": fields.Datetime.now()})
        for command in changed:
            command._post_on_meter(
                self.env._("Command cancelled by %(user)s: %(command)s"),
                user=self.env.user.name,
            )
        return True

    def action_retry(self):
        """Queue failed or expired commands again, with fresh attempts and deadline."""
        self.check_access("write")
        self._check_transition(("failed", "expired"), "queued", strict=True)
        for command in self:
            command.sudo()._clear_waiting_duplicates()
        self._update_state(("failed", "expired"), "queued")
        self.sudo().write(
            {
                "attempts": 0,
                "next_attempt_at": False,
                "error_code": False,
                "error_detail": False,
                "done_at": False,
                "deadline": self._default_deadline(),
            }
        )
        self._trigger_dispatch()
        return True

    # === BUSINESS METHODS: QUEUE === #

    @api.model
    def _default_deadline(self):
        hours = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("meter_gateway.command_deadline_hours", DEFAULT_DEADLINE_HOURS)
        )
        try:
            hours = float(hours)
        except ValueError:
            hours = DEFAULT_DEADLINE_HOURS
        return fields.Datetime.now() + timedelta(hours=hours)

    @api.model
    def _queue(self, meters, action, idempotency_key=None, deadline=None, **values):
        """Queue ``action`` for each of ``meters`` (on a gateway) and return the commands.

        A request already waiting for the same meter and action is returned instead of a new
        one (credit writes excepted: each is a sale); a waiting opposite request (relay on vs
        off) is cancelled as superseded; a waiting ``set_tariff`` of another tariff too.
        With ``idempotency_key`` (per meter when several), a command with that key is returned
        whatever its state. The user must be allowed to read the meters (operators: their sites).
        """
        if action not in PRIORITIES:
            raise UserError(self.env._("Unknown meter command %(action)s.", action=action))
        meters.check_access("read")
        tariff = values.get("tariff")
        amount = values.get("amount") or 0.0
        origin = values.get("origin")
        origin_ref = f"{origin._name},{origin.id}" if origin else False
        Command = self.sudo()
        commands = self.browse()
        now = fields.Datetime.now()
        deadline = deadline or self._default_deadline()
        vals_list = []
        for meter in meters:
            key = (
                f"{idempotency_key}:{meter.id}"
                if idempotency_key and len(meters) > 1
                else (idempotency_key)
            )
            if key:
                existing = Command.search([("idempotency_key", "=", key)], limit=1)
                if existing:
                    commands |= existing
                    continue
            waiting = Command.search([("meter_id", "=", meter.id), ("state", "in", WAITING)])
            if action not in NEVER_MERGED:
                # Also with a key: the request already waiting carries this one out (and the
                # database allows one waiting command per meter and action).
                same = waiting.filtered(
                    lambda c: (
                        c.action == action and (action != "set_tariff" or c.tariff_id == tariff)
                    )
                )
                if same:
                    commands |= same[:1]
                    continue
            superseded = waiting.filtered(
                lambda c: (
                    c.action == OPPOSITES.get(action)
                    or (action == "set_tariff" and c.action == "set_tariff")
                )
            )
            if superseded:
                superseded._update_state(WAITING, "cancelled")
                superseded.write({"done_at": now, "cancelled_by_id": self.env.uid})
                for command in superseded:
                    command._post_on_meter(
                        self.env._("Command superseded by a new request: %(command)s")
                    )
            gateway = meter.sudo().gateway_id
            vals_list.append(
                {
                    "meter_id": meter.id,
                    "gateway_id": gateway.id,
                    "company_id": meter.company_id.id,
                    "action": action,
                    "priority": PRIORITIES[action],
                    "idempotency_key": key or False,
                    "amount": float_round(amount, precision_digits=2),
                    "tariff_id": tariff.id if tariff else False,
                    "origin_ref": origin_ref,
                    "requested_by_id": self.env.uid,
                    "requested_at": now,
                    "deadline": deadline,
                    "max_attempts": DEFAULT_MAX_ATTEMPTS,
                }
            )
        if vals_list:
            created = Command.create(vals_list)
            for command in created:
                command._post_on_meter(
                    self.env._("Command queued by %(user)s: %(command)s"),
                    user=self.env.user.name,
                )
            commands |= created
            if not self.env.context.get("meter_command_defer_trigger"):
                self._trigger_dispatch()
        _logger.info(
            "Command %s queued for %d meter(s) by %s (%d new)",
            action,
            len(meters),
            self.env.user.login,
            len(vals_list),
        )
        return commands.with_env(self.env)

    def _clear_waiting_duplicates(self):
        """Before re-queueing: a newer waiting request of the same action wins."""
        self.ensure_one()
        if self.action in NEVER_MERGED:
            return
        newer = self.search(
            [
                ("meter_id", "=", self.meter_id.id),
                ("action", "=", self.action),
                ("state", "in", WAITING),
            ]
        )
        if newer:
            raise UserError(
                self.env._(
                    "Meter %(meter)s already has this command waiting; retry is not needed.",
                    meter=self.meter_id.display_name,
                )
            )

    @api.model
    def _trigger_dispatch(self):
        cron = self.env.ref("meter_gateway.meter_gateway_cron_run", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger()

    def _post_on_meter(self, template, **values):
        """Post ``template`` (translated, with ``%(command)s``) in the meter's chatter."""
        self.ensure_one()
        body = template % {"command": self.sudo()._get_description(), **values}
        self.meter_id.sudo().message_post(body=Markup("<p>%s</p>") % body)

    def _get_description(self):
        self.ensure_one()
        labels = dict(self._fields["action"]._description_selection(self.env))
        description = labels.get(self.action, self.action)
        if self.action == "write_credit":
            description += f" {self.amount:.2f}"
        elif self.action == "set_tariff" and self.tariff_id:
            description += f" {self.tariff_id.display_name}"
        return description

    # === BUSINESS METHODS: DISPATCH === #

    @api.model
    def _expire_overdue(self):
        """Waiting commands past their deadline expire: a late cut-off or credit is worse than
        none (the situation has been looked at again since)."""
        overdue = self.sudo().search(
            [
                ("state", "in", WAITING),
                ("deadline", "!=", False),
                ("deadline", "<", fields.Datetime.now()),
            ],
            limit=1000,
        )
        if overdue:
            overdue._update_state(WAITING, "expired")
            overdue.write({"error_code": "expired", "done_at": fields.Datetime.now()})
            for command in overdue:
                command._post_on_meter(
                    self.env._("Command expired before it could be carried out: %(command)s")
                )
        return overdue

    @api.model
    def _take_for_gateway(self, gateway, limit=50):
        """Commands ready on ``gateway``, at most one per meter, by priority; marked sending
        (the caller holds the gateway's lease)."""
        now = fields.Datetime.now()
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT DISTINCT ON (c.meter_id) c.id
                  FROM meter_command c
                 WHERE c.gateway_id = %(gateway)s AND c.state IN ('queued', 'retry')
                   AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= %(now)s)
                   AND NOT EXISTS (SELECT FROM meter_command s
                                    WHERE s.meter_id = c.meter_id AND s.state = 'sending')
                 ORDER BY c.meter_id, c.priority, c.id
                """,
                gateway=gateway.id,
                now=now,
            )
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        commands = self.sudo().browse(ids).sorted(lambda c: (c.priority, c.id))[:limit]
        if commands:
            commands._update_state(WAITING, "sending")
            for command in commands:
                command.write({"attempts": command.attempts + 1, "sent_at": now})
        return commands

    def _record_result(self, result):
        """Move the command on from the session's ``result`` (see ``drivers.session``)."""
        self.ensure_one()
        now = fields.Datetime.now()
        error = result["error"]
        if error is None:
            self._update_state(("sending",), "done")
            self.write(
                {
                    "done_at": now,
                    "verified": bool(result["verified"]),
                    "result": self._format_result(result),
                    "error_code": False,
                    "error_detail": False,
                }
            )
            message = (
                self.env._("Command done and verified by reading the meter back: %(command)s")
                if result["verified"]
                else self.env._("Command done: %(command)s")
            )
            self._post_on_meter(message)
            self._notify_origin()
            return
        from .gateway_errors import error_code

        code = error_code(error)
        values = {"error_code": code, "error_detail": str(error)[:500]}
        next_at = now + timedelta(seconds=retry_delay(self.attempts))
        if (
            error.retryable
            and self.attempts < self.max_attempts
            and (not self.deadline or next_at < self.deadline)
        ):
            self._update_state(("sending",), "retry")
            self.write({**values, "next_attempt_at": next_at})
            return
        self._update_state(("sending",), "failed")
        self.write({**values, "done_at": now})
        self._post_on_meter(
            self.env._("Command failed after %(attempts)s attempt(s): %(command)s. %(reason)s"),
            attempts=self.attempts,
            reason=error_reason(self.env, code),
        )

    def _get_origin(self):
        self.ensure_one()
        if not self.origin_ref:
            return None
        model, _sep, record_id = self.origin_ref.partition(",")
        if model not in self.env or not record_id.isdigit():
            return None
        return self.env[model].sudo().browse(int(record_id)).exists() or None

    def _notify_origin(self):
        """Tell the record the command was made for that the meter carried it out: a credit
        taken back from the meter (negative credit write) confirms a refund's withdrawal
        (``_on_withdrawn``, prepaid_billing's contract)."""
        origin = self._get_origin()
        if (
            origin is not None
            and self.action == "write_credit"
            and self.amount < 0
            and hasattr(origin, "_on_withdrawn")
        ):
            origin._on_withdrawn()

    def _format_result(self, result):
        reading = result.get("reading")
        parts = []
        if reading is not None:
            if reading.energy_total is not None:
                parts.append(f"total={reading.energy_total}")
            if reading.relay_closed is not None:
                parts.append(f"relay={'closed' if reading.relay_closed else 'open'}")
        if result.get("clock_drift") is not None:
            parts.append(f"clock_drift={result['clock_drift']:+.0f}s")
        return ", ".join(parts) or False

    @api.model
    def _recover_stale(self, gateways):
        """Commands left ``sending`` by a worker that died: the gateway is ours now (lease),
        so nobody is sending them; they wait for a retry (the meter may or may not have
        carried them out: the read-back of the retry tells)."""
        stale = self.sudo().search([("gateway_id", "in", gateways.ids), ("state", "=", "sending")])
        if stale:
            stale._update_state(("sending",), "retry")
            stale.write({"error_code": "other", "error_detail": "interrupted (worker lost)"})
        return stale
