from odoo import api, fields, models
from odoo.exceptions import UserError

from ..models.prepaid_sts_token import TOKEN_TYPES, TYPE_CODES


class PrepaidStsTokenDecode(models.TransientModel):
    """Support tool: what do these 20 digits say, and would the meter take them?

    The result is computed as the fields change (no button): class and type, TID and its date,
    the amount, and whether the meter would accept the token, judged with the meter's key and
    the TIDs of the token log as the meter's memory (see ``prepaid.sts.vending._decode``).
    """

    _name = "prepaid.sts.token.decode"
    _description = "Decode STS Token"

    # === FIELDS === #

    meter_id = fields.Many2one(
        "prepaid.meter",
        required=True,
        domain="[('has_sts_keypad', '=', True)]",
    )
    token_input = fields.Char(string="Token", help="The 20 digits, spaces allowed.")
    decoded = fields.Boolean(compute="_compute_result")
    token_class = fields.Selection(
        [("0", "Credit"), ("1", "Test"), ("2", "Management")], compute="_compute_result"
    )
    subclass = fields.Integer(compute="_compute_result")
    token_type = fields.Selection(TOKEN_TYPES, compute="_compute_result")
    tid = fields.Integer(string="TID", compute="_compute_result")
    tid_datetime = fields.Datetime(string="TID Date", compute="_compute_result")
    amount = fields.Float(string="Quantity", digits=(16, 1), compute="_compute_result")
    unit = fields.Char(compute="_compute_result")
    accepted = fields.Boolean(string="Meter Would Accept", compute="_compute_result")
    reject_reason = fields.Selection(
        [
            ("format", "Not a Token"),
            ("crc", "Wrong Key or CRC"),
            ("used", "TID Already Used"),
            ("old", "Too Old"),
            ("key_expired", "Key Expired"),
        ],
        compute="_compute_result",
    )
    message = fields.Text(compute="_compute_result")
    matching_token_id = fields.Many2one(
        "prepaid.sts.token", string="Issued Token", compute="_compute_result"
    )

    # === COMPUTE METHODS === #

    @api.depends("meter_id", "token_input")
    def _compute_result(self):
        codes = {code: name for name, code in TYPE_CODES.items()}
        for wizard in self:
            values = dict.fromkeys(
                ("decoded", "token_class", "token_type", "tid_datetime", "unit", "reject_reason"),
                False,
            )
            values.update(
                subclass=0,
                tid=0,
                amount=0.0,
                accepted=False,
                message=False,
                matching_token_id=False,
            )
            if wizard.meter_id and wizard.token_input:
                try:
                    result = wizard.meter_id._sts_decode(wizard.token_input)
                except UserError as error:
                    values["message"] = error.args[0]
                else:
                    token = result["token"]
                    if token is not None:
                        key = (int(token.token_class), int(token.subclass))
                        values.update(
                            decoded=True,
                            token_class=str(key[0]),
                            subclass=key[1],
                            token_type=codes.get(key, "test" if key[0] == 1 else False),
                        )
                    values.update(
                        tid=result["tid"] or 0,
                        tid_datetime=result["tid_datetime"],
                        amount=result["amount"],
                        unit=result["unit"],
                        accepted=result["accepted"],
                        reject_reason=result["reason"],
                        message=result["message"],
                        matching_token_id=result["matching_token"].id,
                    )
            wizard.update(values)
