from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import float_compare

# Which site types may hold a site of a given type (``False``: no parent, a root).
# One hierarchy: area > building > floor > room. Areas may nest (a campus and its zones);
# a room may sit directly in a building that has no floors (a market hall).
PARENT_SITE_TYPES = {
    "area": (False, "area"),
    "building": (False, "area"),
    "floor": ("building",),
    "room": ("floor", "building"),
}

# Monitoring summary of a room, worst first (see ``_compute_monitor_state``).
# A room without an open account is "Vacant" before anything but an offline meter: its
# supply is usually cut on purpose, and its meters are often never read.
MONITOR_STATES = [
    ("offline", "Offline"),
    ("vacant", "Vacant"),
    ("disconnected", "Disconnected"),
    ("unknown", "Not Read Yet"),
    ("normal", "Normal"),
    ("no_meter", "No Meter"),
]


class PrepaidSite(models.Model):
    """A place that holds meters: one hierarchy area > building > floor > room.

    Operators are assigned to sites and see the sites they are assigned to and all their
    descendants (record rules on ``prepaid_site_ids`` of the user with ``child_of``).
    """

    _name = "prepaid.site"
    _description = "Site"
    _inherit = ["mail.thread"]
    _parent_store = True
    _order = "complete_name"
    _rec_name = "complete_name"
    _check_company_auto = True

    # === FIELDS === #

    name = fields.Char(required=True, tracking=True)
    complete_name = fields.Char(
        string="Full Name", compute="_compute_complete_name", store=True, recursive=True
    )
    site_type = fields.Selection(
        [("area", "Area"), ("building", "Building"), ("floor", "Floor"), ("room", "Room")],
        string="Type",
        required=True,
        default="room",
        tracking=True,
    )
    parent_id = fields.Many2one(
        "prepaid.site",
        string="Parent Site",
        index=True,
        ondelete="restrict",
        check_company=True,
        tracking=True,
    )
    parent_path = fields.Char(index=True)
    child_ids = fields.One2many("prepaid.site", "parent_id", string="Sub-sites")
    # The nearest area/building/floor at or above the site, stored so that rooms and meters
    # can be grouped (room monitoring kanban) and filtered per building and floor cheaply.
    area_id = fields.Many2one(
        "prepaid.site", compute="_compute_level_ids", store=True, recursive=True, index=True
    )
    building_id = fields.Many2one(
        "prepaid.site", compute="_compute_level_ids", store=True, recursive=True, index=True
    )
    floor_id = fields.Many2one(
        "prepaid.site", compute="_compute_level_ids", store=True, recursive=True, index=True
    )
    floor_area = fields.Float(string="Floor Area (m²)", digits=(12, 2), tracking=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    operator_ids = fields.Many2many(
        "res.users",
        relation="prepaid_site_operator_rel",
        column1="site_id",
        column2="user_id",
        string="Operators",
        domain="[('share', '=', False)]",
        help="Back-office users in charge of this site. They see it and every site below it, "
        "with their meters and accounts.",
    )
    active = fields.Boolean(default=True)
    note = fields.Html()

    meter_ids = fields.One2many("prepaid.meter", "room_id", string="Meters")
    account_ids = fields.One2many("prepaid.account", "room_id", string="Accounts")
    room_count = fields.Integer(compute="_compute_counts")
    meter_count = fields.Integer(compute="_compute_counts")
    account_id = fields.Many2one(
        "prepaid.account",
        string="Current Account",
        compute="_compute_account_id",
        help="The open or suspended account of the room.",
    )
    tenant_id = fields.Many2one(
        "res.partner", string="Tenant", compute="_compute_account_id", search="_search_tenant_id"
    )
    # Stored: the room monitoring kanban groups and colours on it (progress bars need a
    # stored field); it changes only when a meter of the room changes state.
    monitor_state = fields.Selection(
        MONITOR_STATES, compute="_compute_monitor_state", store=True, string="Monitoring"
    )
    offline_meter_count = fields.Integer(compute="_compute_monitor_counts")
    disconnected_meter_count = fields.Integer(compute="_compute_monitor_counts")

    # === CONSTRAINT METHODS === #

    @api.constrains("site_type", "parent_id")
    def _check_hierarchy(self):
        if self._has_cycle():
            raise ValidationError(self.env._("A site cannot be inside itself."))
        type_labels = dict(self._fields["site_type"]._description_selection(self.env))
        # A site and its children: changing a site's type can break the rule for the children.
        for site in self | self.child_ids:
            allowed = PARENT_SITE_TYPES[site.site_type]
            parent_type = site.parent_id.site_type or False
            if parent_type in allowed:
                continue
            allowed_labels = self.env._(" or ").join(type_labels[t] for t in allowed if t)
            if not site.parent_id:
                raise ValidationError(
                    self.env._(
                        "%(site)s (%(type)s) needs a parent site of type %(allowed)s.",
                        site=site.name,
                        type=type_labels[site.site_type],
                        allowed=allowed_labels,
                    )
                )
            raise ValidationError(
                self.env._(
                    "%(site)s (%(type)s) cannot be placed in %(parent)s (%(parent_type)s): "
                    "its parent must be of type %(allowed)s.",
                    site=site.name,
                    type=type_labels[site.site_type],
                    parent=site.parent_id.complete_name,
                    parent_type=type_labels[parent_type],
                    allowed=allowed_labels,
                )
            )

    @api.constrains("floor_area")
    def _check_floor_area(self):
        if any(float_compare(site.floor_area, 0.0, precision_digits=2) < 0 for site in self):
            raise ValidationError(self.env._("The floor area cannot be negative."))

    # === COMPUTE METHODS === #

    @api.depends("name", "parent_id.complete_name")
    def _compute_complete_name(self):
        for site in self:
            if site.parent_id:
                site.complete_name = f"{site.parent_id.complete_name} / {site.name}"
            else:
                site.complete_name = site.name

    @api.depends_context("hierarchical_naming", "prepaid_short_site_names")
    @api.depends("complete_name", "name", "building_id.name")
    def _compute_display_name(self):
        # The search panel shows the tree itself: it asks for the short names. Room
        # monitoring titles its columns "building · floor" so that many fit on a screen.
        hierarchical = self.env.context.get("hierarchical_naming", True)
        short = self.env.context.get("prepaid_short_site_names")
        for site in self:
            if short and site.building_id and site.site_type == "floor":
                site.display_name = f"{site.building_id.name} · {site.name}"
            else:
                site.display_name = site.complete_name if hierarchical else site.name

    @api.depends("site_type", "parent_id.area_id", "parent_id.building_id", "parent_id.floor_id")
    def _compute_level_ids(self):
        for site in self:
            parent = site.parent_id
            site.area_id = site if site.site_type == "area" else parent.area_id
            site.building_id = site if site.site_type == "building" else parent.building_id
            site.floor_id = site if site.site_type == "floor" else parent.floor_id

    def _compute_counts(self):
        """Count the rooms below and the meters in or below each site.

        Two grouped queries for the whole recordset (whatever its size): rooms grouped by
        parent and meters grouped by room; each group is then credited to every ancestor
        found in the group's ``parent_path``.
        """
        sites = self.filtered("id")
        room_counts = defaultdict(int)
        meter_counts = defaultdict(int)
        if sites:
            site_ids = set(sites.ids)
            room_groups = self._read_group(
                [("site_type", "=", "room"), ("id", "child_of", sites.ids)],
                groupby=["parent_id"],
                aggregates=["__count"],
            )
            for parent, count in room_groups:
                for ancestor_id in parent._get_path_ids():
                    if ancestor_id in site_ids:
                        room_counts[ancestor_id] += count
            meter_groups = self.env["prepaid.meter"]._read_group(
                [("room_id", "child_of", sites.ids), ("state", "!=", "removed")],
                groupby=["room_id"],
                aggregates=["__count"],
            )
            for room, count in meter_groups:
                for ancestor_id in room._get_path_ids():
                    if ancestor_id in site_ids:
                        meter_counts[ancestor_id] += count
        for site in self:
            site.room_count = room_counts[site._origin.id]
            site.meter_count = meter_counts[site._origin.id]

    def _compute_account_id(self):
        rooms = self.filtered(lambda s: s.site_type == "room" and s._origin.id)
        account_by_room = {}
        if rooms:
            accounts = self.env["prepaid.account"].search(
                [("room_id", "in", rooms._origin.ids), ("state", "in", ("open", "suspended"))],
                order="date_open desc, id desc",
            )
            for account in accounts:
                account_by_room.setdefault(account.room_id.id, account)
        for site in self:
            account = account_by_room.get(site._origin.id, self.env["prepaid.account"])
            site.account_id = account
            site.tenant_id = account.partner_id

    def _search_tenant_id(self, operator, value):
        return [
            (
                "account_ids",
                "any",
                [("partner_id", operator, value), ("state", "in", ("open", "suspended"))],
            )
        ]

    @api.depends(
        "site_type",
        "meter_ids.state",
        "meter_ids.online_state",
        "meter_ids.supply_state",
        "account_ids.state",
    )
    def _compute_monitor_state(self):
        for site in self:
            if site.site_type != "room":
                site.monitor_state = False
                continue
            meters = site.meter_ids.filtered(lambda m: m.state != "removed")
            if not meters:
                site.monitor_state = "no_meter"
            elif "offline" in meters.mapped("online_state"):
                site.monitor_state = "offline"
            elif not any(a.state in ("open", "suspended") for a in site.account_ids):
                site.monitor_state = "vacant"
            elif "disconnected" in meters.mapped("supply_state"):
                site.monitor_state = "disconnected"
            elif "unknown" in meters.mapped("online_state"):
                site.monitor_state = "unknown"
            else:
                site.monitor_state = "normal"

    @api.depends("meter_ids.state", "meter_ids.online_state", "meter_ids.supply_state")
    def _compute_monitor_counts(self):
        for site in self:
            meters = site.meter_ids.filtered(lambda m: m.state != "removed")
            site.offline_meter_count = len(meters.filtered(lambda m: m.online_state == "offline"))
            site.disconnected_meter_count = len(
                meters.filtered(lambda m: m.supply_state == "disconnected")
            )

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        sites = super().create(vals_list)
        if any(vals.get("operator_ids") for vals in vals_list):
            self._invalidate_operator_rules()
        return sites

    def write(self, vals):
        res = super().write(vals)
        if "operator_ids" in vals or "active" in vals:
            self._invalidate_operator_rules()
        return res

    def unlink(self):
        had_operators = any(self.mapped("operator_ids"))
        res = super().unlink()
        if had_operators:
            self._invalidate_operator_rules()
        return res

    # === ACTION METHODS === #

    def action_view_rooms(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_meter.prepaid_site_action_room_monitoring"
        )
        action["domain"] = [("site_type", "=", "room"), ("id", "child_of", self.ids)]
        action["context"] = {"default_parent_id": self.id if self.site_type != "room" else False}
        return action

    def action_view_meters(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("prepaid_meter.prepaid_meter_action")
        action["domain"] = [("room_id", "child_of", self.ids)]
        action["context"] = {"search_default_in_service": 1}
        if self.site_type == "room":
            action["context"]["default_room_id"] = self.id
        return action

    def action_view_accounts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_meter.prepaid_account_action"
        )
        action["domain"] = [("room_id", "child_of", self.ids)]
        action["context"] = {"default_room_id": self.id} if self.site_type == "room" else {}
        return action

    @api.model
    def _search_panel_sanitized_parent_hierarchy(self, records, parent_name, ids):
        # Operators cannot read the ancestors of the sites they are assigned to; the standard
        # search panel drops every chain with an unreadable ancestor, which would leave them an
        # empty tree. Their tree starts at their sites instead.
        if parent_name == "parent_id":
            readable_ids = {record["id"] for record in records}
            for record in records:
                if record[parent_name] and record[parent_name][0] not in readable_ids:
                    record[parent_name] = False
        return super()._search_panel_sanitized_parent_hierarchy(records, parent_name, ids)

    # === BUSINESS METHODS === #

    def _get_path_ids(self):
        """Return the ids of the site and of its ancestors, read from ``parent_path``."""
        self.ensure_one()
        return [int(site_id) for site_id in (self.parent_path or "").split("/") if site_id]

    @api.model
    def _invalidate_operator_rules(self):
        """Record rules read the sites of the user (``user.prepaid_site_ids``) and are cached
        per user: clear the cache when assignments or the tree change."""
        self.env.registry.clear_cache()

    # === DEMO DATA === #

    @api.model
    def _demo_generate_rooms(self, building_xmlids, floors=4, rooms_per_floor=5):
        """Create the floors and rooms of the demo buildings (called from demo XML).

        Idempotent: floors and rooms get XML ids (``prepaid_site_a_f1_demo``,
        ``prepaid_site_a101_demo``...) and existing ones are kept.
        """
        IrModelData = self.env["ir.model.data"]
        xmlid_data = []
        for building_xmlid in building_xmlids:
            building = self.env.ref(building_xmlid)
            letter = building_xmlid.split("_")[-2]  # prepaid_meter.prepaid_site_building_a_demo
            for floor_number in range(1, floors + 1):
                floor_xmlid = f"prepaid_meter.prepaid_site_{letter}_f{floor_number}_demo"
                floor = self.env.ref(floor_xmlid, raise_if_not_found=False)
                if not floor:
                    floor = self.create(
                        {
                            "name": self.env._("Floor %(floor)s", floor=floor_number),
                            "site_type": "floor",
                            "parent_id": building.id,
                            "company_id": building.company_id.id,
                        }
                    )
                    xmlid_data.append({"xml_id": floor_xmlid, "record": floor, "noupdate": True})
                for room_number in range(1, rooms_per_floor + 1):
                    code = f"{letter.upper()}{floor_number}{room_number:02d}"
                    room_xmlid = f"prepaid_meter.prepaid_site_{code.lower()}_demo"
                    if self.env.ref(room_xmlid, raise_if_not_found=False):
                        continue
                    room = self.create(
                        {
                            "name": code,
                            "site_type": "room",
                            "parent_id": floor.id,
                            "company_id": building.company_id.id,
                            # 25 to 120 m2, the same at every install.
                            "floor_area": 25 + (floor_number * 37 + room_number * 53) % 96,
                        }
                    )
                    xmlid_data.append({"xml_id": room_xmlid, "record": room, "noupdate": True})
                floor.floor_area = sum(floor.child_ids.mapped("floor_area"))
        IrModelData._update_xmlids(xmlid_data)
        return True
