from odoo import fields, models


class PrepaidApportionMember(models.Model):
    """A room of a pool: its ratio (by ratio) or the weight of its area (by area)."""

    _name = "prepaid.apportion.member"
    _description = "Common-Area Pool Room"
    _inherit = ["prepaid.access.mixin"]
    _order = "pool_id, room_id"

    pool_id = fields.Many2one(
        "prepaid.apportion.pool", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="pool_id.company_id", store=True)
    room_id = fields.Many2one(
        "prepaid.site", string="Room", required=True, domain="[('site_type', '=', 'room')]"
    )
    floor_area = fields.Float(related="room_id.floor_area")
    ratio = fields.Float(default=1.0, digits=(12, 4), help="By ratio: the room's part.")
    weight = fields.Float(
        default=1.0, digits=(12, 4), help="By area: a factor on the room's area (e.g. 0.5)."
    )

    _sql_constraints = [
        ("pool_room_uniq", "unique(pool_id, room_id)", "The room is already in the pool."),
        (
            "ratio_weight_positive",
            "CHECK(ratio >= 0 AND weight >= 0)",
            "Ratios and weights cannot be negative.",
        ),
    ]
