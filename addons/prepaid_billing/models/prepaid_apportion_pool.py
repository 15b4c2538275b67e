"""Common-area apportionment (公区分摊): the consumption of a common meter, or of a bulk meter
less its sub-meters, valued at a unit price and shared each month over the rooms of the pool
by ratio, by (weighted) area, by usage or equally. Shares add up to the pool exactly, to the
cent (largest remainder: ``tools/allocation.py``); rooms are weighted by the days they were let
in the month, so a room that becomes vacant re-splits from that day; the vacant days are left
out, charged to the landlord, or charged to the landlord at a share of their weight."""

import logging
import threading
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.translate import LazyTranslate

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import MANAGER, requires_group

from ..tools.allocation import allocate
from ..tools.periods import overlap_days, period_of

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

METHODS = [
    ("ratio", "By Ratio"),
    ("area", "By Area"),
    ("usage", "By Usage"),
    ("equal", "Equally"),
]
VACANT_POLICIES = [
    ("exclude", "Left Out"),
    ("landlord", "Charged to the Landlord"),
    ("share", "Charged to the Landlord at a Share"),
]


class PrepaidApportionPool(models.Model):
    _name = "prepaid.apportion.pool"
    _description = "Common-Area Pool"
    _inherit = ["mail.thread", "prepaid.access.mixin"]
    _order = "company_id, name, id"
    _check_company_auto = True

    # === FIELDS === #

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    source = fields.Selection(
        [("meter", "Common Meter"), ("bulk", "Bulk Meter less its Sub-meters")],
        required=True,
        default="meter",
        tracking=True,
    )
    meter_id = fields.Many2one(
        "prepaid.meter", string="Meter", required=True, check_company=True, tracking=True
    )
    sub_meter_ids = fields.Many2many(
        "prepaid.meter",
        "prepaid_apportion_pool_sub_meter_rel",
        "pool_id",
        "meter_id",
        string="Sub-meters",
        check_company=True,
    )
    utility = fields.Selection(related="meter_id.utility")
    unit_price = fields.Float(
        digits=(12, 4), required=True, tracking=True, help="Per kWh or m³ of the pool."
    )
    method = fields.Selection(METHODS, required=True, default="area", tracking=True)
    member_ids = fields.One2many("prepaid.apportion.member", "pool_id", string="Rooms")
    vacant_policy = fields.Selection(
        VACANT_POLICIES,
        string="Vacant Rooms",
        required=True,
        default="exclude",
        tracking=True,
        help="The days a room is not let: left out of the sharing, charged to the landlord's "
        "account, or charged to the landlord at a share of the room's weight. Not used by "
        "usage (a vacant room uses nothing).",
    )
    vacant_share = fields.Float(string="Vacant Share (%)", default=50.0)
    landlord_account_id = fields.Many2one(
        "prepaid.account", string="Landlord's Account", check_company=True
    )
    charge_mode = fields.Selection(
        [("wallet", "Taken from the Wallet"), ("bill", "Billed")],
        required=True,
        default="wallet",
        tracking=True,
        help="Taken from the wallet: only the credit above the cut-off threshold; the rest is "
        "left to bill.",
    )
    date_from = fields.Date(
        string="Effective From", required=True, default=fields.Date.context_today
    )
    date_to = fields.Date(string="Effective To")
    run_ids = fields.One2many("prepaid.apportion.run", "pool_id", string="Runs")

    _sql_constraints = [
        ("unit_price_positive", "CHECK(unit_price > 0)", "The unit price must be positive."),
        (
            "vacant_share_range",
            "CHECK(vacant_share BETWEEN 0 AND 100)",
            "The vacant share is a percentage.",
        ),
    ]

    # === CONSTRAINT METHODS === #

    @api.constrains("source", "sub_meter_ids", "meter_id", "vacant_policy", "landlord_account_id")
    def _check_configuration(self):
        for pool in self:
            if pool.source == "bulk" and not pool.sub_meter_ids:
                raise ValidationError(
                    self.env._(
                        "Pool %(pool)s: name the sub-meters of the bulk meter.", pool=pool.name
                    )
                )
            if pool.meter_id in pool.sub_meter_ids:
                raise ValidationError(
                    self.env._(
                        "Pool %(pool)s: the bulk meter is not its own sub-meter.", pool=pool.name
                    )
                )
            if pool.vacant_policy != "exclude" and not pool.landlord_account_id:
                raise ValidationError(
                    self.env._(
                        "Pool %(pool)s: vacant rooms are charged to the landlord: name the "
                        "landlord's account.",
                        pool=pool.name,
                    )
                )

    # === ACTION METHODS === #

    def action_view_runs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_billing.prepaid_apportion_share_action"
        )
        action["domain"] = [("pool_id", "=", self.id)]
        return action

    @requires_group(MANAGER, _lt("apportion common areas"))
    def action_apportion(self, day):
        """Share the pools' month holding ``day`` (a date or its ISO text); a month shared
        before shares nothing again. Returns a notification."""
        day = fields.Date.to_date(day)
        if not day:
            raise UserError(self.env._("Say which month to share (a day in it)."))
        runs = self.sudo()._apportion(day)
        flagged = runs.filtered(lambda r: r.state == "flagged")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": self.env._(
                    "%(count)s pool(s) shared, %(flagged)s flagged (see their note).",
                    count=len(runs - flagged),
                    flagged=len(flagged),
                ),
                "type": "warning" if flagged else "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    # === BUSINESS METHODS === #

    def _apportion(self, day):
        """Share each pool's month holding ``day``: one run per pool and month (a flagged run,
        bad data, is done again). Runs in sudo."""
        Run = self.env["prepaid.apportion.run"]
        runs = Run
        for pool in self:
            key, first, last = period_of("monthly", day)
            if pool.date_from > last or (pool.date_to and pool.date_to < first):
                continue
            previous = Run.search([("pool_id", "=", pool.id), ("period_key", "=", key)])
            if previous.filtered(lambda r: r.state != "flagged"):
                continue
            previous.unlink()
            runs |= pool._run(key, first, last)
        return runs

    def _run(self, key, first, last):
        self.ensure_one()
        Run = self.env["prepaid.apportion.run"]
        values = {
            "pool_id": self.id,
            "period_key": key,
            "period_start": first,
            "period_end": last,
            "method": self.method,
        }
        quantities = self._get_consumptions(self.meter_id | self.sub_meter_ids, first, last)
        main = quantities.get(self.meter_id.id, Decimal(0))
        subs = sum((quantities.get(m.id, Decimal(0)) for m in self.sub_meter_ids), Decimal(0))
        quantity = main - subs if self.source == "bulk" else main
        unit = Decimal(1).scaleb(-self.currency_id.decimal_places)
        amount = (quantity * Decimal(str(self.unit_price))).quantize(unit, rounding=ROUND_HALF_UP)
        values.update(
            meter_quantity=float(main),
            sub_quantity=float(subs),
            quantity=float(quantity),
            amount=float(amount),
        )
        if quantity < 0:
            return Run.create(
                {
                    **values,
                    "state": "flagged",
                    "note": self.env._(
                        "The sub-meters used more than the bulk meter: check the readings."
                    ),
                }
            )
        bases = self._get_bases(first, last)
        if not amount or not any(weight for *_rest, weight, _note in bases):
            return Run.create(
                {
                    **values,
                    "state": "flagged" if amount else "done",
                    "note": self.env._("No basis to share the pool on.") if amount else False,
                }
            )
        shares = allocate(amount, [weight for *_rest, weight, _note in bases], unit=unit)
        by_account = {}
        for (account, vacant, weight, note), share in zip(bases, shares, strict=True):
            entry = by_account.setdefault(
                account, {"amount": Decimal(0), "basis": Fraction(0), "notes": [], "vacant": vacant}
            )
            entry["amount"] += share
            entry["basis"] += weight
            entry["notes"].append(note)
            entry["vacant"] = entry["vacant"] and vacant
        total = sum((weight for *_rest, weight, _note in bases), Fraction(0))
        run = Run.create(
            {
                **values,
                "basis_total": float(total),
                "share_ids": [
                    (
                        0,
                        0,
                        {
                            "account_id": account.id,
                            "amount": float(entry["amount"]),
                            "basis": float(entry["basis"]),
                            "basis_note": "; ".join(entry["notes"]),
                            "vacant": entry["vacant"],
                        },
                    )
                    for account, entry in by_account.items()
                    if entry["amount"]
                ],
                "state": "done",
            }
        )
        run.share_ids._take_from_wallets()
        return run

    def _get_bases(self, first, last):
        """``[(account, vacant, weight, note)]``: who bears what part of the pool. Each room
        weighs its ratio, weighted area or 1 (equally), or the usage of its tenants, times the
        days it was let; its vacant days go to the landlord (at the vacant share) or nowhere."""
        self.ensure_one()
        days_in_period = overlap_days(first, last)
        bases = []
        usages = {}
        if self.method == "usage":
            meters = self.member_ids.room_id.account_ids.meter_ids.filtered(
                lambda m: m.utility == self.utility
            )
            usages = self._get_consumptions(meters, first, last)
        for member in self.member_ids:
            room = member.room_id
            if self.method == "ratio":
                room_weight = Fraction(Decimal(str(member.ratio)))
                unit_label = self.env._("ratio %(ratio)s", ratio=member.ratio)
            elif self.method == "area":
                room_weight = Fraction(Decimal(str(room.floor_area))) * Fraction(
                    Decimal(str(member.weight))
                )
                unit_label = self.env._(
                    "%(area)s m² at weight %(weight)s", area=room.floor_area, weight=member.weight
                )
            else:
                room_weight = Fraction(1)
                unit_label = self.env._("1 room")
            let_days = 0
            for account in room.with_context(active_test=False).account_ids.filtered(
                lambda a: a.state != "draft" and a.date_open
            ):
                days = overlap_days(
                    first, last, starts=[account.date_open], ends=[account.date_closed]
                )
                if not days:
                    continue
                let_days += days
                if self.method == "usage":
                    usage = sum(
                        (
                            usages.get(m.id, Decimal(0))
                            for m in account.meter_ids
                            if m.utility == self.utility
                        ),
                        Decimal(0),
                    )
                    weight = Fraction(usage)
                    note = self.env._("%(room)s: %(usage)s used", room=room.name, usage=usage)
                else:
                    weight = room_weight * days / days_in_period
                    note = self.env._(
                        "%(room)s: %(unit)s, %(days)s/%(total)s days",
                        room=room.name,
                        unit=unit_label,
                        days=days,
                        total=days_in_period,
                    )
                bases.append((account, False, weight, note))
            vacant_days = max(days_in_period - let_days, 0)
            if vacant_days and self.method != "usage" and self.vacant_policy != "exclude":
                share = (
                    Fraction(1)
                    if self.vacant_policy == "landlord"
                    else Fraction(Decimal(str(self.vacant_share))) / 100
                )
                bases.append(
                    (
                        self.landlord_account_id,
                        True,
                        room_weight * vacant_days / days_in_period * share,
                        self.env._(
                            "%(room)s vacant: %(unit)s, %(days)s/%(total)s days",
                            room=room.name,
                            unit=unit_label,
                            days=vacant_days,
                            total=days_in_period,
                        ),
                    )
                )
        return bases

    @api.model
    def _get_consumptions(self, meters, first, last):
        """``{meter id: Decimal}``: the consumption of the readings taken in ``[first, last]``
        (each reading counts the interval that ends at it)."""
        if not meters:
            return {}
        self.env["prepaid.reading"].flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT meter_id, sum(consumption)::text
                     FROM prepaid_reading
                    WHERE meter_id IN %s AND read_at >= %s AND read_at < %s
                 GROUP BY meter_id""",
                tuple(meters.ids),
                datetime.combine(first, time.min),
                datetime.combine(last + timedelta(days=1), time.min),
            )
        )
        return {meter_id: Decimal(total or 0) for meter_id, total in self.env.cr.fetchall()}

    @api.model
    def _cron_apportion(self, today=None):
        """Share last month's pools (each once), pool by pool."""
        today = today or fields.Date.context_today(self)
        last_month = today - relativedelta(months=1)
        testing = getattr(threading.current_thread(), "testing", False)
        for pool in self.search([]):
            try:
                with self.env.cr.savepoint():
                    pool.sudo()._apportion(last_month)
            except (UserError, ValidationError):
                _logger.exception("Pool %s could not be shared for %s", pool.id, last_month)
            if not testing:
                self.env.cr.commit()  # pylint: disable=invalid-commit
        return True

    # === DEMO DATA === #

    @api.model
    def _demo_generate_pool(self):
        """A common meter for the corridors of building A's first floor, this month's readings,
        a pool sharing it by area over the floor's rooms (billed), and this month shared
        (called from demo XML; idempotent)."""
        xmlid = "prepaid_billing.prepaid_apportion_pool_a_f1_demo"
        if self.env.ref(xmlid, raise_if_not_found=False):
            return True
        floor = self.env.ref("prepaid_meter.prepaid_site_a_f1_demo", raise_if_not_found=False)
        if not floor:
            return True
        corridor = self.env["prepaid.site"].create(
            {"name": "A1 Corridors", "site_type": "room", "parent_id": floor.id}
        )
        meter = self.env["prepaid.meter"].create(
            {
                "serial_number": "DEMO-A1-COMMON",
                "name": self.env._("A1 common areas"),
                "model_id": self.env.ref("prepaid_meter.prepaid_meter_model_acrel_ddsy1352").id,
                "room_id": corridor.id,
                "comm_address": "201",
                "initial_reading": 0,
                "max_load": 2000,
            }
        )
        # This month so far: the demo tenants moved in today.
        first = fields.Date.context_today(self).replace(day=1)
        start = datetime.combine(first, time(0, 5))
        now = fields.Datetime.now().replace(microsecond=0)
        self.env["prepaid.reading"]._ingest(
            [(meter.id, start, 0), (meter.id, max(now - timedelta(minutes=10), start), 861.25)],
            "manual",
        )
        rooms = floor.child_ids.filtered(lambda r: r.site_type == "room" and r != corridor)
        pool = self.create(
            {
                "name": self.env._("Building A floor 1 corridors and lifts"),
                "meter_id": meter.id,
                "unit_price": 1.05,
                "method": "area",
                "charge_mode": "bill",
                "date_from": first,
                "member_ids": [(0, 0, {"room_id": room.id}) for room in rooms],
            }
        )
        self.env["ir.model.data"]._update_xmlids(
            [{"xml_id": xmlid, "record": pool, "noupdate": True}]
        )
        pool._apportion(first)
        return True
