from odoo import api, fields, models
from odoo.exceptions import ValidationError

DEFAULT_PRESETS = "50,100,200,500"


def parse_presets(text):
    """The preset amounts of the online top-up page, from their text ("50, 100, 200")."""
    amounts = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip()
        if part:
            amounts.append(float(part))
    return sorted(set(amounts))


class ResCompany(models.Model):
    """What a tenant may pay online for their utility accounts (the portal top-up page)."""

    _inherit = "res.company"

    prepaid_portal_topup_min = fields.Monetary(
        string="Online Top-up Minimum",
        currency_field="currency_id",
        default=10.0,
        help="The smallest amount a tenant may pay online for a utility account.",
    )
    prepaid_portal_topup_max = fields.Monetary(
        string="Online Top-up Maximum",
        currency_field="currency_id",
        default=2000.0,
        help="The largest amount a tenant may pay online in one payment.",
    )
    prepaid_portal_topup_presets = fields.Char(
        string="Online Top-up Presets",
        default=DEFAULT_PRESETS,
        help="The amounts offered as buttons on the top-up page, separated by commas.",
    )

    @api.constrains(
        "prepaid_portal_topup_min", "prepaid_portal_topup_max", "prepaid_portal_topup_presets"
    )
    def _check_prepaid_portal_topup_limits(self):
        for company in self:
            currency = company.currency_id
            low, high = company.prepaid_portal_topup_min, company.prepaid_portal_topup_max
            if currency.compare_amounts(low, 0.0) <= 0 or currency.compare_amounts(low, high) > 0:
                raise ValidationError(
                    self.env._(
                        "Online top-ups: the minimum must be positive and at most the maximum."
                    )
                )
            try:
                presets = parse_presets(company.prepaid_portal_topup_presets)
            except ValueError as error:
                raise ValidationError(
                    self.env._(
                        "Online top-up presets: amounts separated by commas, e.g. %(example)s.",
                        example=DEFAULT_PRESETS,
                    )
                ) from error
            outside = [p for p in presets if not company._prepaid_portal_amount_allowed(p)]
            if outside:
                raise ValidationError(
                    self.env._(
                        "Online top-up presets outside the minimum and maximum: %(amounts)s",
                        amounts=", ".join(str(p) for p in outside),
                    )
                )

    def _prepaid_portal_amount_allowed(self, amount):
        """Whether ``amount`` may be paid online (within the minimum and maximum)."""
        self.ensure_one()
        currency = self.currency_id
        return (
            currency.compare_amounts(amount, self.prepaid_portal_topup_min) >= 0
            and currency.compare_amounts(amount, self.prepaid_portal_topup_max) <= 0
        )

    def _prepaid_portal_presets(self):
        self.ensure_one()
        return parse_presets(self.prepaid_portal_topup_presets)


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    prepaid_portal_topup_min = fields.Monetary(
        related="company_id.prepaid_portal_topup_min", readonly=False
    )
    prepaid_portal_topup_max = fields.Monetary(
        related="company_id.prepaid_portal_topup_max", readonly=False
    )
    prepaid_portal_topup_presets = fields.Char(
        related="company_id.prepaid_portal_topup_presets", readonly=False
    )
