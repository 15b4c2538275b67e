import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools.safe_eval import safe_eval

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import MANAGER, PROCESS
from odoo.addons.prepaid_meter.models.prepaid_meter_hardware import HARDWARE_ACTIONS

_logger = logging.getLogger(__name__)

BATCH_ACTIONS = [
    ("relay_off", "Relay Off"),
    ("relay_on", "Relay On"),
    ("valve_close", "Close Valve"),
    ("valve_open", "Open Valve"),
    ("set_tariff", "Set Tariff"),
    ("read_now", "Read Now"),
    ("sync_clock", "Synchronise Clock"),
]
# What defines the task: frozen once it has started.
DEFINITION_FIELDS = (
    "name",
    "action",
    "tariff_id",
    "site_ids",
    "meter_model_ids",
    "meter_domain",
    "scheduled_at",
    "company_id",
)
FINISHED_LINE_STATES = ("done", "failed", "expired", "cancelled", "skipped")


class MeterBatchTask(models.Model):
    """One operation over many meters (批量操作): the meters are chosen by site (area, building,
    floor or room), meter model and a domain; the task runs now or at a scheduled time, queues
    one command per meter through the command queue and follows them: progress, per-meter
    result, retry of the failed ones, cancel. A task over meters of several buildings needs a
    manager."""

    _name = "meter.batch.task"
    _description = "Meter Batch Task"
    _inherit = ["mail.thread", "prepaid.access.mixin"]
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    action = fields.Selection(BATCH_ACTIONS, required=True, tracking=True)
    tariff_id = fields.Many2one("prepaid.tariff", check_company=True, tracking=True)
    site_ids = fields.Many2many(
        "prepaid.site",
        string="Sites",
        help="Meters installed in these sites or below (areas, buildings, floors, rooms).",
    )
    meter_model_ids = fields.Many2many("prepaid.meter.model", string="Meter Models")
    meter_domain = fields.Char(
        string="Other Conditions", default="[]", help="A domain on the meters, e.g. by state."
    )
    scheduled_at = fields.Datetime(
        string="Run At", tracking=True, help="Empty: run when started. Set: run at that time."
    )
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("scheduled", "Scheduled"),
            ("running", "Running"),
            ("done", "Done"),
            ("cancelled", "Cancelled"),
        ],
        default="draft",
        required=True,
        readonly=True,
        copy=False,
        tracking=True,
    )
    started_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    started_at = fields.Datetime(readonly=True, copy=False)
    line_ids = fields.One2many("meter.batch.task.line", "task_id", string="Meters", readonly=True)
    meter_count = fields.Integer(compute="_compute_progress")
    done_count = fields.Integer(compute="_compute_progress")
    failed_count = fields.Integer(compute="_compute_progress")
    progress = fields.Float(compute="_compute_progress", help="Meters finished, in percent.")
    preview_count = fields.Integer(
        string="Meters Selected", compute="_compute_preview_count", help="Meters the task covers."
    )

    # === COMPUTE METHODS === #

    @api.depends("line_ids.state")
    def _compute_progress(self):
        for task in self:
            states = task.line_ids.mapped("state")
            finished = sum(state in FINISHED_LINE_STATES for state in states)
            task.meter_count = len(states)
            task.done_count = states.count("done")
            task.failed_count = sum(
                state in ("failed", "expired", "skipped", "cancelled") for state in states
            )
            task.progress = 100.0 * finished / len(states) if states else 0.0

    @api.depends("site_ids", "meter_model_ids", "meter_domain", "action")
    def _compute_preview_count(self):
        for task in self:
            try:
                task.preview_count = self.env["prepaid.meter"].search_count(
                    task._get_meter_domain()
                )
            except (ValueError, SyntaxError, UserError):
                task.preview_count = 0

    # === ACCESS POLICY === #

    def _get_write_groups(self):
        return {
            **super()._get_write_groups(),
            **dict.fromkeys(("state", "started_by_id", "started_at"), PROCESS),
        }

    def write(self, vals):
        if set(DEFINITION_FIELDS) & set(vals) and not self.env.su:
            started = self.filtered(lambda t: t.state != "draft")
            if started:
                raise UserError(
                    self.env._(
                        "These batch tasks have started; their definition no longer changes: "
                        "%(tasks)s",
                        tasks=", ".join(started.mapped("display_name")),
                    )
                )
        return super().write(vals)

    # === ACTION METHODS === #

    def action_start(self):
        """Run now (no time set, or a time already passed) or schedule the task."""
        for task in self:
            task._check_can_start()
            if task.scheduled_at and task.scheduled_at > fields.Datetime.now():
                task._update_state(("draft",), "scheduled")
            else:
                task._run()
        return True

    def action_cancel(self):
        """Cancel the task and the commands of its meters still waiting."""
        self._check_transition(("draft", "scheduled", "running"), "cancelled")
        waiting = self.line_ids.command_id.filtered(lambda c: c.state in ("queued", "retry"))
        if waiting:
            waiting.action_cancel()
        self._update_state(("draft", "scheduled", "running"), "cancelled")
        return True

    def action_retry_failed(self):
        """Queue again the meters whose command failed or expired."""
        for task in self:
            lines = task.line_ids.filtered(lambda line: line.state in ("failed", "expired"))
            if not lines:
                raise UserError(self.env._("No failed meter to retry in %(task)s.", task=task.name))
            task._check_can_start()
            task._queue_lines(lines)
            task.sudo().state = "running"
        return True

    # === BUSINESS METHODS === #

    def _get_meter_domain(self):
        self.ensure_one()
        domain = [("state", "!=", "removed"), ("company_id", "=", self.company_id.id)]
        if self.site_ids:
            domain.append(("room_id", "child_of", self.site_ids.ids))
        if self.meter_model_ids:
            domain.append(("model_id", "in", self.meter_model_ids.ids))
        if self.meter_domain and self.meter_domain.strip() not in ("", "[]"):
            extra = safe_eval(self.meter_domain)
            if not isinstance(extra, list):
                raise UserError(self.env._("The other conditions must be a domain (a list)."))
            domain += extra
        return domain

    def _check_can_start(self):
        """Refuse a task over several buildings to non-managers, and an empty or incomplete
        one to everybody."""
        self.ensure_one()
        if self.action == "set_tariff" and not self.tariff_id:
            raise UserError(self.env._("Choose the tariff to write to the meters."))
        meters = self.env["prepaid.meter"].search(self._get_meter_domain())
        if not meters and not self.line_ids:
            raise UserError(
                self.env._("Batch task %(task)s selects no meter you may see.", task=self.name)
            )
        buildings = (meters | self.line_ids.meter_id).building_id
        if len(buildings) > 1 and not (self.env.su or self.env.user.has_group(MANAGER)):
            raise AccessError(
                self.env._(
                    "Batch task %(task)s covers meters of %(count)s buildings: only users of the "
                    "group %(group)s may run it.",
                    task=self.name,
                    count=len(buildings),
                    group=self._get_group_label(MANAGER),
                )
            )
        return meters

    def _run(self):
        """Take the meters the task selects now and queue their commands."""
        self.ensure_one()
        meters = self._check_can_start()
        self._update_state(("draft", "scheduled"), "running")
        self.sudo().write({"started_by_id": self.env.uid, "started_at": fields.Datetime.now()})
        lines = (
            self.env["meter.batch.task.line"]
            .sudo()
            .create([{"task_id": self.id, "meter_id": meter.id} for meter in meters])
        )
        self._queue_lines(lines)
        self.message_post(
            body=self.env._(
                "Started by %(user)s over %(count)s meter(s).",
                user=self.env.user.name,
                count=len(meters),
            )
        )

    def _queue_lines(self, lines):
        """Queue one command per line (skipping, with the reason, meters that cannot)."""
        self.ensure_one()
        # One wake-up of the dispatcher for the whole batch, not one per meter.
        Command = self.env["meter.command"].with_context(meter_command_defer_trigger=True)
        values = {"tariff": self.tariff_id} if self.action == "set_tariff" else {}
        for line in lines:
            meter = line.meter_id
            reason = False
            if not meter.sudo().gateway_id.active:
                reason = self.env._("No gateway reaches this meter.")
            elif not meter._gateway_can(self.action):
                reason = self.env._(
                    "The gateway cannot do this on this meter model (protocol or register not "
                    "available)."
                )
            elif self.action in HARDWARE_ACTIONS:
                errors = meter._get_hardware_action_errors(self.action, **values)
                reason = errors.get(meter, False)
            if reason:
                line.sudo().write({"skip_reason": reason, "command_id": False})
                continue
            attempt = line.attempt + 1
            command = Command._queue(
                meter,
                self.action,
                idempotency_key=f"batch/{self.id}/{meter.id}/{attempt}",
                **values,
            )
            line.sudo().write({"command_id": command.id, "attempt": attempt, "skip_reason": False})
        Command._trigger_dispatch()

    @api.model
    def _cron_run_scheduled(self):
        """Start the scheduled tasks that are due, and close the running ones finished."""
        due = self.sudo().search(
            [("state", "=", "scheduled"), ("scheduled_at", "<=", fields.Datetime.now())], limit=20
        )
        for task in due:
            try:
                with self.env.cr.savepoint():
                    task.with_user(task.create_uid)._run()
            except (UserError, AccessError) as error:
                task.message_post(body=self.env._("Not started: %(error)s", error=error))
                task._update_state(("scheduled",), "cancelled")
        running = self.sudo().search([("state", "=", "running")])
        running._close_finished()
        return due

    def _close_finished(self):
        finished = self.filtered(
            lambda t: (
                t.line_ids and all(s in FINISHED_LINE_STATES for s in t.line_ids.mapped("state"))
            )
        )
        if finished:
            finished._update_state(("running",), "done")
        return finished


class MeterBatchTaskLine(models.Model):
    """One meter of a batch task: its command and where it stands."""

    _name = "meter.batch.task.line"
    _description = "Meter Batch Task Line"
    _inherit = ["prepaid.access.mixin"]
    _order = "task_id, id"

    task_id = fields.Many2one(
        "meter.batch.task", required=True, readonly=True, index=True, ondelete="cascade"
    )
    meter_id = fields.Many2one("prepaid.meter", required=True, readonly=True, ondelete="cascade")
    room_id = fields.Many2one(related="meter_id.room_id")
    command_id = fields.Many2one("meter.command", readonly=True, ondelete="set null")
    attempt = fields.Integer(readonly=True)
    skip_reason = fields.Char(readonly=True)
    state = fields.Selection(
        [
            ("skipped", "Skipped"),
            ("queued", "Queued"),
            ("sending", "Sending"),
            ("retry", "Waiting to Retry"),
            ("done", "Done"),
            ("failed", "Failed"),
            ("expired", "Expired"),
            ("cancelled", "Cancelled"),
        ],
        compute="_compute_state",
    )
    result = fields.Char(compute="_compute_state")

    @api.depends("command_id.state", "skip_reason")
    def _compute_state(self):
        for line in self:
            command = line.command_id.sudo()
            if line.skip_reason or not command:
                line.state = "skipped"
                line.result = line.skip_reason
            else:
                line.state = command.state
                line.result = command.error_reason or command.result

    def _get_write_groups(self):
        return {
            name: PROCESS
            for name, field in self._fields.items()
            if field.store and not field.automatic
        }
