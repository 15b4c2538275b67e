from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare, format_datetime

from ..models.prepaid_access_mixin import MANAGER, _lt, requires_group


class PrepaidMeterReplace(models.TransientModel):
    """Swap a meter for another one without a gap in consumption.

    The old meter's final reading closes its series (it is removed, readings after it are
    flagged and not counted); the new meter takes the room, account and settings of the old one
    and its series starts from its initial register value. Consumption over a period spanning
    the swap is (old final - old previous) + (new reading - new initial).
    """

    _name = "prepaid.meter.replace"
    _inherit = ["prepaid.access.mixin"]
    _description = "Replace Meter"

    old_meter_id = fields.Many2one(
        "prepaid.meter",
        string="Meter to Replace",
        required=True,
        domain="[('state', '!=', 'removed')]",
    )
    utility = fields.Selection(related="old_meter_id.utility")
    company_id = fields.Many2one(related="old_meter_id.company_id")
    old_last_reading_at = fields.Datetime(related="old_meter_id.last_reading_at")
    old_last_reading_total = fields.Float(related="old_meter_id.last_reading_total")
    replaced_at = fields.Datetime(string="Replaced At", required=True, default=fields.Datetime.now)
    unit_label = fields.Char(related="old_meter_id.unit_label")
    # Starts from the last reading: the final value is never below it, and is often it.
    final_total = fields.Float(
        string="Final Register Value",
        digits=(16, 3),
        required=True,
        compute="_compute_final_total",
        store=True,
        readonly=False,
        precompute=True,
        help="The old meter's total register when it was taken off.",
    )
    new_meter_mode = fields.Selection(
        [("new", "Create a new meter"), ("existing", "Use a meter in stock")],
        string="Replacement",
        required=True,
        default="new",
    )
    new_meter_id = fields.Many2one(
        "prepaid.meter",
        string="New Meter",
        domain="[('id', '!=', old_meter_id), ('state', '=', 'draft'), "
        "('utility', '=', utility), ('company_id', '=', company_id)]",
    )
    new_serial_number = fields.Char(string="New Serial Number")
    new_name = fields.Char(string="New Meter Name", help="Defaults to the serial number.")
    new_model_id = fields.Many2one(
        "prepaid.meter.model",
        string="New Meter Model",
        compute="_compute_new_model_id",
        store=True,
        readonly=False,
        domain="[('utility', '=', utility)]",
    )
    new_comm_address = fields.Char(string="New Communication Address")
    new_initial_reading = fields.Float(
        string="New Initial Register Value",
        digits=(16, 3),
        help="The new meter's total register when it was put in.",
    )
    note = fields.Text(string="Reason")

    # === COMPUTE METHODS === #
    @api.depends("old_meter_id")
    def _compute_final_total(self):
        for wizard in self:
            wizard.final_total = wizard.old_meter_id.last_reading_total

    @api.depends("old_meter_id")
    def _compute_new_model_id(self):
        for wizard in self:
            wizard.new_model_id = wizard.old_meter_id.model_id

    # === ONCHANGE METHODS === #
    @api.onchange("new_meter_id")
    def _onchange_new_meter_id(self):
        if self.new_meter_id:
            self.new_initial_reading = self.new_meter_id.initial_reading

    # === ACTION METHODS === #
    @requires_group(MANAGER, _lt("replace meters"))
    def action_replace(self):
        """Record the final reading of the old meter, put the new one in its place and record
        its initial reading; open the new meter.

        The fields that close and continue the series (final reading, replaced/replacement
        meter) belong to this process: written as superuser once the checks below passed.
        """
        self.ensure_one()
        old = self.old_meter_id
        self._check_replacement()
        Reading = self.env["prepaid.reading"]
        previous_total = old.last_reading_total
        final = Reading._ingest(
            [{"meter_id": old.id, "read_at": self.replaced_at, "total": self.final_total}],
            source="manual",
        )
        self._check_ingested(final, old)
        if final["qualities"].get("backwards"):
            # Stored as is, a backwards final reading counts nothing: the consumption since
            # the last reading would be lost with the swap.
            raise UserError(
                self.env._(
                    "The final register value %(total)s of meter %(meter)s is below its last "
                    "reading %(last)s. Check the value (a register that rolled over through "
                    "zero is accepted).",
                    total=self.final_total,
                    meter=old.display_name,
                    last=previous_total,
                )
            )

        new = self._get_new_meter()
        new.check_access("write")
        new.write(
            {
                "room_id": old.room_id.id,
                "account_id": old.account_id.id,
                "initial_reading": self.new_initial_reading,
                "register_digits": new.register_digits or old.register_digits,
                "max_load": new.max_load or old.max_load,
                "install_date": fields.Date.context_today(self, self.replaced_at),
            }
        )
        new.sudo().write({"replaced_meter_id": old.id})
        # The old meter keeps its room and account as history: its last readings are still
        # billed to the account. Its series is closed by the final reading.
        old.write({"removal_date": fields.Date.context_today(self, self.replaced_at)})
        old.sudo().write(
            {
                "final_reading": self.final_total,
                "final_reading_at": self.replaced_at,
                "replacement_meter_id": new.id,
            }
        )
        old.action_remove()
        if new.room_id and new.state == "draft":
            new.action_activate()
        initial = Reading._ingest(
            [{"meter_id": new.id, "read_at": self.replaced_at, "total": self.new_initial_reading}],
            source="manual",
        )
        self._check_ingested(initial, new)

        _ = self.env._
        reason = self.note or ""
        date = format_datetime(self.env, self.replaced_at)
        held = ""
        if final["held"]:
            held = _(
                "The final reading is implausible: it is held for review and counts nothing "
                "until a manager accepts it."
            )
        old.message_post(
            body=_(
                "Replaced by %(meter)s at %(date)s, final register value %(total)s. %(held)s "
                "%(reason)s",
                meter=new.display_name,
                date=date,
                total=self.final_total,
                held=held,
                reason=reason,
            )
        )
        new.message_post(
            body=_(
                "Replaces %(meter)s since %(date)s, initial register value %(total)s. %(reason)s",
                meter=old.display_name,
                date=date,
                total=self.new_initial_reading,
                reason=reason,
            )
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "prepaid.meter",
            "res_id": new.id,
            "view_mode": "form",
            "target": "current",
        }

    # === BUSINESS METHODS === #
    def _check_replacement(self):
        _ = self.env._
        old = self.old_meter_id
        old.check_access("write")
        if old.state == "removed":
            raise UserError(_("Meter %(meter)s is already removed.", meter=old.display_name))
        # Any stored reading, held ones included, must come before the final one.
        state = self.env["prepaid.meter.reading.state"].sudo().search([("meter_id", "=", old.id)])
        if state.newest_read_at and state.newest_read_at > self.replaced_at:
            raise UserError(
                _(
                    "Meter %(meter)s has readings until %(last)s: the replacement must be later.",
                    meter=old.display_name,
                    last=format_datetime(self.env, state.newest_read_at),
                )
            )
        if any(
            float_compare(value, 0.0, precision_digits=3) < 0
            for value in (self.new_initial_reading, self.final_total)
        ):
            raise UserError(_("Register values cannot be negative."))
        if self.new_meter_mode == "existing":
            new = self.new_meter_id
            if not new:
                raise UserError(_("Choose the meter that replaces %(meter)s.", meter=old.name))
            if new == old or new.state != "draft":
                raise UserError(_("The replacement meter must be another meter in stock (draft)."))
            if new.utility != old.utility:
                raise UserError(
                    _("The replacement meter must measure the same utility as the old one.")
                )
            if new.reading_count:
                raise UserError(
                    _(
                        "Meter %(meter)s already has readings; a replacement meter starts a new "
                        "series from its initial register value.",
                        meter=new.display_name,
                    )
                )
        elif not self.new_serial_number or not self.new_model_id:
            raise UserError(_("Give the serial number and the model of the new meter."))

    def _get_new_meter(self):
        if self.new_meter_mode == "existing":
            return self.new_meter_id
        old = self.old_meter_id
        return self.env["prepaid.meter"].create(
            {
                "name": self.new_name or self.new_serial_number,
                "serial_number": self.new_serial_number,
                "model_id": self.new_model_id.id,
                "comm_address": self.new_comm_address,
                "ct_ratio": old.ct_ratio,
                "pt_ratio": old.pt_ratio,
                "company_id": old.company_id.id,
            }
        )

    def _check_ingested(self, summary, meter):
        """The swap needs its two readings: raise if one could not be stored, or if another
        value is already stored at the same moment."""
        if summary["rejected"]:
            raise UserError("; ".join(reason for _index, reason in summary["errors"]))
        if summary["duplicates"]:
            stored = self.env["prepaid.reading"].search(
                [("meter_id", "=", meter.id), ("read_at", "=", self.replaced_at)], limit=1
            )
            expected = self.final_total if meter == self.old_meter_id else self.new_initial_reading
            if stored and float_compare(stored.total, expected, precision_digits=3):
                raise UserError(
                    self.env._(
                        "Meter %(meter)s already has a reading of %(total)s at %(date)s.",
                        meter=meter.display_name,
                        total=stored.total,
                        date=format_datetime(self.env, self.replaced_at),
                    )
                )
