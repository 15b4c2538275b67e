"""The gateway visits: one scheduled action claims gateways with work (polls due, commands
ready), visits them in parallel threads (one line = one thread = one request at a time), then
stores what came back.

Threads do IO only (``drivers.session.run_session`` on plain settings); the database work is
done in the cron's thread before (claim, commands marked sending, committed) and after
(readings through prepaid_meter's batch ingestion, events, command states, meter and gateway
states, the communication log). A crashed worker leaves leases that expire and commands in
``sending`` that the next claimant puts back to retry.
"""

import functools
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..drivers.exceptions import ConfigurationError
from ..drivers.session import new_result, run_session
from .gateway_errors import error_code, error_message
from .meter_gateway import meters_local_now

_logger = logging.getLogger(__name__)

# Gateways claimed per run and lines visited at once by one worker.
GATEWAYS_PER_RUN = 20
MAX_THREADS = 8
COMMANDS_PER_VISIT = 50
# The meter answered (refusing, or showing a command not carried out): it is reachable.
ANSWERED_CODES = ("device", "verification")
# Failures of the line or the meter's communication: they count towards offline.
LINE_CODES = ("timeout", "connection", "checksum", "frame", "address", "range", "other")


def _testing():
    return getattr(threading.current_thread(), "testing", False)


class MeterGateway(models.Model):
    _inherit = "meter.gateway"

    # === SCHEDULED ACTIONS === #

    @api.model
    def _cron_run(self, limit=GATEWAYS_PER_RUN):
        """Visit the gateways with work, ``limit`` at a time, and re-trigger while some remain.

        :return: the gateways visited by this run
        """
        # The gateway process: crons run as their user without sudo.
        return self.sudo()._run_due(limit)

    @api.model
    def _run_due(self, limit):
        self.env["meter.command"]._expire_overdue()
        gateways, owner = self._claim_in_own_transaction(limit)
        self._commit()  # the leases are visible to the other workers from now on
        try:
            gateways._visit()
        finally:
            gateways._release(owner)
            self._commit()
        remaining = self._count_due() if len(gateways) >= limit else 0
        self.env["ir.cron"]._notify_progress(done=len(gateways), remaining=remaining)
        if remaining:
            self.env.ref("meter_gateway.meter_gateway_cron_run")._trigger()
        return gateways

    def _claim_in_own_transaction(self, limit):
        """Claim gateways in a transaction of their own at READ COMMITTED: under Odoo's
        REPEATABLE READ, a lease another worker commits between our snapshot and our row lock
        makes PostgreSQL refuse the lock (serialization failure); read committed re-reads
        such rows and SKIP LOCKED passes the locked ones, which is what a queue claim needs.
        (Under tests, with no commits, the claim runs in the test's transaction.)"""
        if not _testing():
            self.env.cr.commit()  # pylint: disable=invalid-commit
            self.env.cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        return self._claim_gateways(limit)

    def _commit(self):
        if not _testing():
            self.env.cr.commit()  # pylint: disable=invalid-commit

    # === VISITS === #

    def _visit(self):
        """Poll and dispatch on the gateways of ``self`` (leased by the caller)."""
        if not self:
            return {}
        self.env["meter.command"]._recover_stale(self)
        plans = {gateway: gateway._plan_visit() for gateway in self}
        self._commit()  # commands are "sending" before anything goes on the wire
        work = [
            (gateway, plan)
            for gateway, plan in plans.items()
            if plan["jobs"] and plan["error"] is None
        ]
        results = {}
        if work:
            threads = min(MAX_THREADS, sum(len(plan["sessions"]) for _, plan in work))
            with ThreadPoolExecutor(threads, thread_name_prefix="meter-gateway") as pool:
                futures = {
                    (gateway, index): pool.submit(
                        run_session, plan["settings"], jobs, plan["local_now"]
                    )
                    for gateway, plan in work
                    for index, jobs in enumerate(plan["sessions"])
                }
                for (gateway, index), future in futures.items():
                    results.setdefault(gateway, {})[index] = future.result()
        for gateway, plan in plans.items():
            session_results = results.get(gateway, {})
            flat = [
                result
                for index in range(len(plan["sessions"]))
                for result in session_results.get(index, [])
            ]
            jobs = [job for session in plan["sessions"] for job in session]
            if plan.get("error") is not None:
                flat = [dict(new_result(job), error=plan["error"]) for job in jobs]
            try:
                with self.env.cr.savepoint():
                    gateway._store_visit(plan, jobs, flat)
            except Exception:
                # One gateway's failure must not lose the others' results; its commands stay
                # "sending" and are put back to retry by the next claimant.
                _logger.exception("Gateway %s: storing the visit failed", gateway.display_name)
            self._commit()
        return results

    def _plan_visit(self):
        """What to do on this gateway now: the commands ready (marked sending) and, when a
        poll is due, one read per meter. Returns ``{"settings", "local_now", "sessions",
        "jobs", "commands", "polled"}``; a settings error fails every job with it."""
        self.ensure_one()
        now = fields.Datetime.now()
        commands = self.env["meter.command"]._take_for_gateway(self, COMMANDS_PER_VISIT)
        poll_due = self.poll_enabled and (not self.next_poll_at or self.next_poll_at <= now)
        meters = self.meter_ids.filtered(lambda m: m.state != "removed")
        credentials = meters._get_credentials()
        settings_by_meter = {}

        def meter_settings(meter):
            if meter.id not in settings_by_meter:
                settings_by_meter[meter.id] = meter._get_driver_settings(
                    credentials.get(meter.id, {})
                )
            return settings_by_meter[meter.id]

        jobs = []
        for command in commands:
            jobs.append(
                {
                    "key": ("command", command.id),
                    "meter_id": command.meter_id.id,
                    "command_id": command.id,
                    "action": command.action,
                    "meter": meter_settings(command.meter_id),
                    "max_clock_drift": self.max_clock_drift,
                }
            )
        polled = self.env["prepaid.meter"]
        if poll_due:
            commanded = set(commands.mapped("meter_id").ids)
            polled = meters.filtered(lambda m: m.id not in commanded and m.protocol != "none")
            jobs += [
                {
                    "key": ("poll", meter.id),
                    "meter_id": meter.id,
                    "action": "poll",
                    "meter": meter_settings(meter),
                    "max_clock_drift": self.max_clock_drift,
                }
                for meter in polled
            ]
        plan = {
            "jobs": jobs,
            "commands": commands,
            "polled": polled,
            "poll_due": poll_due,
            # Plain values only: the worker threads never touch records (nor the cursor).
            "local_now": functools.partial(meters_local_now, self.kind, self.tz),
            "settings": None,
            "sessions": [],
            "error": None,
        }
        if not jobs:
            return plan
        try:
            plan["settings"] = self._get_channel_settings()
        except UserError as error:
            plan["error"] = ConfigurationError(str(error))
        # An RS-485 line: one session (one request at a time). Modbus TCP devices: up to
        # ``concurrency`` connections, meters dealt round-robin.
        sessions = max(1, min(self.concurrency, len(jobs)))
        plan["sessions"] = [jobs[index::sessions] for index in range(sessions)]
        return plan

    # === STORING === #

    def _store_visit(self, plan, jobs, results):
        """Store the outcome of a visit (as superuser: this is the gateway process)."""
        self.ensure_one()
        gateway = self.sudo()
        now = fields.Datetime.now()
        # Events keep the microseconds: a meter lost and found again within one second are
        # two events (unique per meter, type and time).
        event_now = datetime.now(timezone.utc).replace(tzinfo=None)
        Meter = self.env["prepaid.meter"].sudo()
        meters = Meter.browse({job["meter_id"] for job in jobs})
        # Meters that keep the balance of their account: their balance register is passed on,
        # to be mirrored and reconciled (per meter: only where it is needed).
        billed_on_meter = set(
            meters.filtered(lambda m: m.account_id.billing_mode == "prepaid_meter").ids
        )
        by_meter = {}
        rows, events = [], []
        for job, result in zip(jobs, results, strict=True):
            by_meter.setdefault(job["meter_id"], []).append((job, result))
            reading = result["reading"]
            # A read-back that shows a command not carried out is still a good reading.
            readable = result["error"] is None or error_code(result["error"]) == "verification"
            if readable and reading is not None:
                row = gateway._reading_row(
                    job["meter_id"], reading, now, job["meter_id"] in billed_on_meter
                )
                if row:
                    rows.append(row)
            if result["clock_synced"]:
                events.append(
                    {
                        "meter_id": job["meter_id"],
                        "event_type": "clock_error",
                        "occurred_at": event_now,
                        "severity": "warning",
                        "message": self.env._(
                            "Meter clock %(drift)s s off: set by the gateway.",
                            drift=format(result["clock_drift"], "+.0f"),
                        ),
                    }
                )
        if rows:
            self.env["prepaid.reading"].sudo()._ingest(rows, source="gateway")
        answered = 0
        for meter in meters:
            outcomes = by_meter.get(meter.id, [])
            answered += gateway._store_meter_outcome(meter, outcomes, now, event_now, events)
        if events:
            self.env["prepaid.meter.event"].sudo()._ingest(events)
        for job, result in zip(jobs, results, strict=True):
            if job.get("command_id"):
                self.env["meter.command"].sudo().browse(job["command_id"])._record_result(result)
        gateway._store_gateway_outcome(plan, jobs, results, answered, now)
        self.env["meter.comm.log"]._log_results(
            gateway, jobs, results, errors_only=gateway.comm_log_level != "all"
        )

    def _reading_row(self, meter_id, reading, now, with_balance=False):
        total = reading.energy_total
        if total is None:
            total = reading.values.get("volume_total")
        if total is None:
            return None
        row = {
            "meter_id": meter_id,
            "read_at": now,
            "total": total,
            "t1": reading.energy_t1,
            "t2": reading.energy_t2,
            "t3": reading.energy_t3,
            "t4": reading.energy_t4,
        }
        if with_balance and reading.remaining_amount is not None:
            row["remaining_amount"] = reading.remaining_amount
        return row

    def _store_meter_outcome(self, meter, outcomes, now, event_now, events):
        """Online/offline, failures in a row, supply state and clock drift of one meter;
        returns 1 when the meter answered at least once.

        A meter that answered, even to refuse (error reply) or to show that a command was not
        carried out (read-back), is in contact; only line failures (silence, broken frames,
        another meter's reply) count towards offline. What the meter's model cannot do
        (unsupported) and settings errors say nothing of the line either way.
        """
        contacts = [
            result
            for _job, result in outcomes
            if result["error"] is None or error_code(result["error"]) in ANSWERED_CODES
        ]
        line_errors = [
            result["error"]
            for _job, result in outcomes
            if result["error"] is not None and error_code(result["error"]) in LINE_CODES
        ]
        other_errors = [
            result["error"]
            for _job, result in outcomes
            if result["error"] is not None and error_code(result["error"]) not in LINE_CODES
        ]
        values = {}
        if contacts:
            if meter.online_state == "offline":
                events.append(
                    {
                        "meter_id": meter.id,
                        "event_type": "other",
                        "occurred_at": event_now,
                        "severity": "info",
                        "message": self.env._("Communication restored."),
                    }
                )
            values.update(comm_failure_count=0, last_comm_error=False)
            meter._set_communication_state("online", now)
            for result in contacts:
                reading = result["reading"]
                if reading is not None and reading.relay_closed is not None:
                    values["supply_state"] = "connected" if reading.relay_closed else "disconnected"
                if result["clock_drift"] is not None:
                    values["clock_drift"] = int(result["clock_drift"])
        elif line_errors:
            failures = meter.comm_failure_count + 1
            values.update(
                comm_failure_count=failures,
                last_comm_error=error_message(self.env, line_errors[-1])[:250],
            )
            if failures >= self.offline_after and meter.online_state != "offline":
                meter._set_communication_state("offline")
                events.append(
                    {
                        "meter_id": meter.id,
                        "event_type": "other",
                        "occurred_at": event_now,
                        "severity": "warning",
                        "message": self.env._(
                            "Communication lost after %(count)s failed contacts: %(reason)s",
                            count=failures,
                            reason=values["last_comm_error"],
                        ),
                    }
                )
        if other_errors and not line_errors:
            values["last_comm_error"] = error_message(self.env, other_errors[-1])[:250]
        if values:
            changed = {k: v for k, v in values.items() if meter[k] != v}
            if changed:
                meter.write(changed)
        return 1 if contacts else 0

    def _store_gateway_outcome(self, plan, jobs, results, answered, now):
        values = {}
        if plan["poll_due"]:
            values["next_poll_at"] = now + timedelta(minutes=self.poll_interval)
        errors = [r["error"] for r in results if r["error"] is not None]
        line_failed = [e for e in errors if error_code(e) in LINE_CODES]
        if answered:
            values.update(online_state="online", last_contact=now, failure_count=0)
            values["last_error"] = False
        elif jobs and line_failed:
            failures = self.failure_count + 1
            values.update(
                failure_count=failures,
                last_error=error_message(self.env, line_failed[-1])[:250],
            )
            if failures >= self.offline_after:
                values["online_state"] = "offline"
        elif errors and not answered:
            values["last_error"] = error_message(self.env, errors[-1])[:250]
        if values:
            self.write(values)
