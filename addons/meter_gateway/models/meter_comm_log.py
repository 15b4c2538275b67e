import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from .gateway_errors import ERROR_SELECTION, error_code

_logger = logging.getLogger(__name__)

# Characters of hex kept per log line: frames are cut, never the line (size cap per entry).
MAX_HEX_CHARS = 2048
DEFAULT_RETENTION_DAYS = 7
DEFAULT_MAX_ROWS = 500_000


def _carries_credentials(data):
    """A DL/T 645 frame whose control code is 1C (remote control: password, operator code)
    or 14 (write data: password too)."""
    frame = data.lstrip(b"\xfe")
    return len(frame) >= 10 and frame[0] == 0x68 and frame[7] == 0x68 and frame[8] in (0x1C, 0x14)


class MeterCommLog(models.Model):
    """What went over the wire for one meter job (a poll, a command, a connection test): the
    frames in hex with their direction and timing, the duration and the outcome. Written by
    the gateway process only, in batches; kept ``retention_days`` and at most ``max_rows``
    rows (scheduled action). Credentials never appear: frames carry them only inside DL/T 645
    relay requests, which are logged with their data field masked."""

    _name = "meter.comm.log"
    _description = "Meter Communication Log"
    _inherit = ["prepaid.access.mixin"]
    _prepaid_immutable = True
    _order = "id desc"
    _rec_name = "action"

    gateway_id = fields.Many2one("meter.gateway", readonly=True, index=True, ondelete="cascade")
    meter_id = fields.Many2one("prepaid.meter", readonly=True, index=True, ondelete="cascade")
    company_id = fields.Many2one("res.company", readonly=True, index=True)
    action = fields.Char(readonly=True)
    ok = fields.Boolean(string="Success", readonly=True)
    error_code = fields.Selection(ERROR_SELECTION, string="Error", readonly=True)
    error_detail = fields.Char(readonly=True)
    duration_ms = fields.Integer(string="Duration (ms)", readonly=True)
    frames = fields.Text(
        readonly=True,
        help="One line per frame: offset in ms, direction (>> sent, << received), hex.",
    )
    frame_count = fields.Integer(readonly=True)

    @api.model
    def _log_results(self, gateway, jobs, results, errors_only=False):
        """Store one line per job of a session (``drivers.session``) in one INSERT; jobs
        carry the ``meter_id`` they are about. ``errors_only``: failures and commands only."""
        vals_list = []
        for job, result in zip(jobs, results, strict=True):
            if errors_only and result["error"] is None and not job.get("command_id"):
                continue
            vals_list.append(
                {
                    "gateway_id": gateway.id,
                    "meter_id": job.get("meter_id") or False,
                    "company_id": gateway.company_id.id,
                    "action": job.get("action", "poll"),
                    "ok": result["error"] is None,
                    "error_code": error_code(result["error"]) if result["error"] else False,
                    "error_detail": str(result["error"])[:500] if result["error"] else False,
                    "duration_ms": int(result["duration"] * 1000),
                    "frames": self._format_frames(result["frames"]),
                    "frame_count": len(result["frames"]),
                }
            )
        if vals_list:
            self.sudo().create(vals_list)

    @api.model
    def _format_frames(self, frames):
        lines = []
        for direction, data, offset in frames:
            text = data.hex(" ").upper()
            if direction == "tx" and _carries_credentials(data):
                # DL/T 645 1C requests carry the password and operator code: mask the data.
                text = data[: len(data) - len(data.lstrip(b"\xfe")) + 10].hex(" ").upper()
                text += " ** (credentials masked)"
            arrow = ">>" if direction == "tx" else "<<"
            lines.append(f"{int(offset * 1000):6d} ms {arrow} {text}")
        text = "\n".join(lines)
        return text[:MAX_HEX_CHARS] if text else False

    @api.model
    def _cron_purge(self):
        """Retention: drop lines older than ``meter_gateway.comm_log_days`` and keep at most
        ``meter_gateway.comm_log_max_rows`` lines (the newest)."""
        get_param = self.env["ir.config_parameter"].sudo().get_param
        try:
            days = int(get_param("meter_gateway.comm_log_days", DEFAULT_RETENTION_DAYS))
            max_rows = int(get_param("meter_gateway.comm_log_max_rows", DEFAULT_MAX_ROWS))
        except ValueError:
            days, max_rows = DEFAULT_RETENTION_DAYS, DEFAULT_MAX_ROWS
        limit = fields.Datetime.now() - timedelta(days=days)
        self.env.cr.execute(SQL("DELETE FROM meter_comm_log WHERE create_date < %s", limit))
        purged = self.env.cr.rowcount
        self.env.cr.execute(
            SQL(
                "DELETE FROM meter_comm_log WHERE id <= "
                "(SELECT id FROM meter_comm_log ORDER BY id DESC OFFSET %s LIMIT 1)",
                max_rows,
            )
        )
        purged += self.env.cr.rowcount
        self.invalidate_model()
        if purged:
            _logger.info("Communication log: %d line(s) purged", purged)
        return purged
