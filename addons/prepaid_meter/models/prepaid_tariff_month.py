from babel.dates import get_month_names

from odoo import api, fields, models
from odoo.tools.misc import babel_locale_parse, get_lang


class PrepaidTariffMonth(models.Model):
    """A month of the year (1-12), for seasons made of months (the 12 records are data).

    Its name is the month's name in the user's language (babel), never a fixed English text.
    """

    _name = "prepaid.tariff.month"
    _inherit = ["prepaid.access.mixin"]
    _description = "Month"
    _order = "number"
    _prepaid_immutable = True

    number = fields.Integer(required=True, readonly=True)

    _sql_constraints = [
        ("number_unique", "unique(number)", "Each month exists once."),
        ("number_range", "CHECK(number BETWEEN 1 AND 12)", "A month is numbered 1 to 12."),
    ]

    @api.depends("number")
    @api.depends_context("lang")
    def _compute_display_name(self):
        names = self._month_names("wide")
        for month in self:
            month.display_name = names.get(month.number, str(month.number or ""))

    @api.model
    def _name_search(self, name, domain=None, operator="ilike", limit=None, order=None):
        """Search by the month's name in the user's language or by its number."""
        if not name or operator not in ("ilike", "=", "=ilike"):
            return super()._name_search(name, domain, operator, limit, order)
        needle = name.lower()
        numbers = [
            number
            for number in range(1, 13)
            if needle == str(number)
            or any(
                needle in label.lower()
                for label in (self._month_names("wide")[number], self._month_names()[number])
            )
        ]
        return self._search(
            [("number", "in", numbers), *(domain or [])], limit=limit, order=order or self._order
        )

    @api.model
    def _month_names(self, width="abbreviated"):
        """``{1: "Jan", ...}`` in the user's language (``{1: "1月", ...}`` in zh_CN)."""
        return dict(get_month_names(width, locale=babel_locale_parse(get_lang(self.env).code)))
