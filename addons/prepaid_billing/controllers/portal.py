"""The tenant portal: ``/my/utilities`` (accounts, consumption, ledger, receipts, tokens) and
the online top-up through Odoo's payment form.

Every route that takes an account id checks it with ``_document_check_access`` first (the
portal user's record rules, or the account's access token for the QR label link); only then
is the account read in sudo, and every other record reached from it is checked to belong to
it. An id that fails the check answers 404, a bad token 403: nothing about the account leaks.
"""

from werkzeug.exceptions import Forbidden, NotFound

from odoo import http
from odoo.exceptions import AccessError, MissingError, ValidationError
from odoo.http import request
from odoo.osv import expression
from odoo.tools import float_round

from odoo.addons.payment.controllers import portal as payment_portal
from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

from .portal_chart import stacked_bar_chart

LEDGER_PAGE_SIZE = 20
UTILITY_UNITS = {"electricity": "kWh", "water": "m³"}
DAYS_IN_CHART = 30
MONTHS_IN_CHART = 12


class PrepaidPortal(CustomerPortal):
    # === HOME === #

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "utility_count" in counters:
            Account = request.env["prepaid.account"]
            values["utility_count"] = (
                Account.search_count(self._get_utility_accounts_domain())
                if Account.has_access("read")
                else 0
            )
        return values

    def _get_utility_accounts_domain(self):
        """The user's own accounts (as the record rules of portal users say, so that staff
        see their own accounts here too, not those they manage); drafts are not shown yet."""
        partner = request.env.user.partner_id
        return [
            ("state", "!=", "draft"),
            "|",
            ("partner_id", "child_of", partner.commercial_partner_id.id),
            ("portal_partner_ids", "in", partner.id),
        ]

    # === ACCOUNTS === #

    @http.route(
        ["/my/utilities", "/my/utilities/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
    )
    def portal_my_utilities(self, page=1, search=None, **kw):
        Account = request.env["prepaid.account"]
        values = self._prepare_portal_layout_values()
        if not Account.has_access("read"):
            return request.redirect("/my")
        domain = self._get_utility_accounts_domain()
        if search:
            domain = expression.AND(
                [
                    domain,
                    [
                        "|",
                        "|",
                        ("name", "ilike", search),
                        # Sites are not the tenant's to read; the rules on accounts still apply.
                        (
                            "room_id",
                            "in",
                            request.env["prepaid.site"].sudo()._search([("name", "ilike", search)]),
                        ),
                        ("meter_ids.serial_number", "ilike", search),
                    ],
                ]
            )
        count = Account.search_count(domain)
        pager = portal_pager(
            url="/my/utilities",
            url_args={"search": search} if search else {},
            total=count,
            page=page,
            step=self._items_per_page,
        )
        accounts = Account.search(
            domain, order="name", limit=self._items_per_page, offset=pager["offset"]
        )
        values.update(
            {
                # Found through the user's record rules: their rooms are read in sudo.
                "accounts": accounts.sudo(),
                "page_name": "utility_accounts",
                "pager": pager,
                "search": search,
                "default_url": "/my/utilities",
            }
        )
        return request.render("prepaid_billing.portal_my_utilities", values)

    def _get_utility_account(self, account_id, access_token=None):
        """The account, in sudo, once the user may read it (record rules) or the token
        matches; else 404 (unknown or not theirs, without a token) or 403 (wrong token)."""
        try:
            return self._document_check_access("prepaid.account", account_id, access_token)
        except MissingError as error:
            raise NotFound() from error
        except AccessError as error:
            if access_token:
                raise Forbidden() from error
            raise NotFound() from error

    @http.route(
        [
            "/my/utilities/<int:account_id>",
            "/my/utilities/<int:account_id>/page/<int:ledger_page>",
        ],
        type="http",
        auth="public",
        website=True,
        sitemap=False,
    )
    def portal_my_utility(self, account_id, access_token=None, ledger_page=1, **kw):
        account = self._get_utility_account(account_id, access_token)
        values = self._prepare_portal_layout_values()
        values.update(self._utility_page_values(account, access_token, ledger_page))
        return request.render("prepaid_billing.portal_my_utility", values)

    def _utility_page_values(self, account, access_token, ledger_page):
        """Everything the account page shows; ``account`` is sudo, checked by the caller."""
        Line = request.env["prepaid.ledger.line"].sudo()
        ledger_domain = [("account_id", "=", account.id)]
        ledger_count = Line.search_count(ledger_domain)
        url_args = {"access_token": access_token} if access_token else {}
        pager = portal_pager(
            url=f"/my/utilities/{account.id}",
            url_args=url_args,
            total=ledger_count,
            page=ledger_page,
            step=LEDGER_PAGE_SIZE,
        )
        lines = Line.search(
            ledger_domain, order="id desc", limit=LEDGER_PAGE_SIZE, offset=pager["offset"]
        )
        daily = account._get_portal_usage("day", DAYS_IN_CHART)
        monthly = account._get_portal_usage("month", MONTHS_IN_CHART)
        topups = account.topup_ids.filtered(lambda t: t.state not in ("draft", "cancelled"))
        tokens = topups.sts_token_ids.filtered(
            lambda t: t.token_type.startswith("credit_") and t.state == "issued"
        )
        user = request.env.user
        return {
            "account": account,
            "page_name": "utility_account",
            "access_token": access_token,
            "token_query": f"?access_token={access_token}" if access_token else "",
            "meters": account.meter_ids.filtered(lambda m: m.state in ("active", "suspended")),
            "notices": account._get_portal_notices(),
            "usage": {
                utility: {
                    "today": days[-1],
                    "month": monthly[utility][-1],
                    "daily_chart": stacked_bar_chart(days, label_format="%d"),
                    "monthly_chart": stacked_bar_chart(monthly[utility], label_format="%m"),
                }
                for utility, days in daily.items()
            },
            "utility_labels": dict(
                account.meter_ids._fields["utility"]._description_selection(request.env)
            ),
            "utility_units": UTILITY_UNITS,
            "ledger_lines": lines,
            "ledger_pager": pager,
            "topups": topups[:10],
            "tokens": tokens[:10],
            "show_invoices": not user._is_public()
            and request.env["account.move"].has_access("read"),
        }

    @http.route(
        "/my/utilities/<int:account_id>/receipt/<int:topup_id>",
        type="http",
        auth="public",
        website=True,
        sitemap=False,
    )
    def portal_utility_receipt(self, account_id, topup_id, access_token=None, **kw):
        account = self._get_utility_account(account_id, access_token)
        topup = request.env["prepaid.topup"].sudo().browse(topup_id).exists()
        if not topup or topup.account_id != account or topup.state in ("draft", "cancelled"):
            raise NotFound()
        return self._show_report(
            model=topup,
            report_type="pdf",
            report_ref="prepaid_billing.prepaid_topup_report",
            download=kw.get("download") == "true",
        )

    # === ONLINE TOP-UP === #

    @http.route(
        "/my/utilities/<int:account_id>/topup",
        type="http",
        auth="public",
        website=True,
        sitemap=False,
    )
    def portal_utility_topup(self, account_id, access_token=None, amount=None, **kw):
        """Choose an amount (presets or free), then pay it with Odoo's payment form."""
        account = self._get_utility_account(account_id, access_token)
        company = account.company_id
        values = self._prepare_portal_layout_values()
        amount = payment_portal.PaymentPortal._cast_as_float(amount)
        error = None
        if amount is not None:
            amount = float_round(amount, precision_rounding=account.currency_id.rounding)
            if not company._prepaid_portal_amount_allowed(amount):
                error = request.env._(
                    "Choose an amount between %(min)s and %(max)s.",
                    min=account.currency_id.format(company.prepaid_portal_topup_min),
                    max=account.currency_id.format(company.prepaid_portal_topup_max),
                )
                amount = None
        values.update(
            {
                "account": account,
                "page_name": "utility_topup",
                "access_token": access_token,
                "token_query": f"?access_token={access_token}" if access_token else "",
                "presets": company._prepaid_portal_presets(),
                "min_amount": company.prepaid_portal_topup_min,
                "max_amount": company.prepaid_portal_topup_max,
                "amount": amount,
                "error": error,
                "account_open": account.state == "open",
            }
        )
        if amount and account.state == "open":
            values.update(self._topup_payment_form_values(account, amount, access_token))
        return request.render("prepaid_billing.portal_utility_topup", values)

    def _topup_payment_form_values(self, account, amount, access_token):
        """The context of ``payment.form`` for paying ``amount`` on ``account`` (sudo)."""
        user = request.env.user
        partner_sudo = account.partner_id if user._is_public() else user.partner_id
        company = account.company_id
        currency = account.currency_id
        report = {}
        providers_sudo = (
            request.env["payment.provider"]
            .sudo()
            ._get_compatible_providers(
                company.id, partner_sudo.id, amount, currency_id=currency.id, report=report
            )
        )
        methods_sudo = (
            request.env["payment.method"]
            .sudo()
            ._get_compatible_payment_methods(
                providers_sudo.ids, partner_sudo.id, currency_id=currency.id, report=report
            )
        )
        tokens_sudo = (
            request.env["payment.token"]
            .sudo()
            ._get_available_tokens(providers_sudo.ids, partner_sudo.id)
            if not user._is_public()
            else request.env["payment.token"].sudo()
        )
        return {
            "currency": currency,
            "partner_id": partner_sudo.id,
            "providers_sudo": providers_sudo,
            "payment_methods_sudo": methods_sudo,
            "tokens_sudo": tokens_sudo,
            "availability_report": report,
            "show_tokenize_input_mapping": payment_portal.PaymentPortal._compute_show_tokenize_input_mapping(  # noqa: E501
                providers_sudo
            ),
            "transaction_route": f"/my/utilities/{account.id}/transaction",
            "landing_route": f"/my/utilities/{account.id}/topup/status",
            "access_token": access_token,
        }

    @http.route(
        "/my/utilities/<int:account_id>/topup/status",
        type="http",
        auth="public",
        website=True,
        sitemap=False,
    )
    def portal_utility_topup_status(self, account_id, tx_id=None, access_token=None, **kw):
        """Where the payment lands: the payment's state and, once credited, the top-up with
        its new balance and tokens."""
        account = self._get_utility_account(account_id, access_token)
        tx_id = payment_portal.PaymentPortal._cast_as_int(tx_id)
        tx = request.env["payment.transaction"].sudo().browse(tx_id).exists() if tx_id else None
        if not tx or tx.prepaid_account_id != account:
            raise NotFound()
        if tx.state == "done" and not tx.is_post_processed:
            tx._post_process()  # the status poller may not have run (closed tab, no JS)
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "account": account,
                "page_name": "utility_topup",
                "tx": tx,
                "topup": tx.prepaid_topup_id,
                "access_token": access_token,
                "token_query": f"?access_token={access_token}" if access_token else "",
            }
        )
        return request.render("prepaid_billing.portal_utility_topup_status", values)


class PrepaidPaymentPortal(payment_portal.PaymentPortal):
    @http.route("/my/utilities/<int:account_id>/transaction", type="json", auth="public")
    def portal_utility_transaction(self, account_id, access_token=None, **kwargs):
        """Create the draft transaction of an online top-up and return its processing values.
        The amount is checked against the company's online limits by the transaction's
        constraint; the account's access is checked here."""
        try:
            account = self._document_check_access("prepaid.account", account_id, access_token)
        except (AccessError, MissingError) as error:
            raise ValidationError(request.env._("The access token is invalid.")) from error
        if account.state != "open":
            raise ValidationError(request.env._("This account cannot be topped up."))
        user = request.env.user
        partner_sudo = account.partner_id if user._is_public() else user.partner_id
        self._validate_transaction_kwargs(kwargs)
        if user._is_public():
            # Whoever holds the label's link pays for the tenant, but neither with the
            # tenant's saved payment methods nor by saving one for them.
            if kwargs.get("flow") == "token":
                raise ValidationError(request.env._("Log in to pay with a saved payment method."))
            kwargs["tokenization_requested"] = False
        for name in ("token_id", "payment_method_id", "landing_route"):
            kwargs.setdefault(name, None)
        kwargs.setdefault("tokenization_requested", False)
        if kwargs.get("is_validation"):
            raise ValidationError(request.env._("A top-up is a payment, not a validation."))
        kwargs.update(
            {
                "currency_id": account.currency_id.id,
                "partner_id": partner_sudo.id,
                "reference_prefix": None,
            }
        )
        tx_sudo = self._create_transaction(
            custom_create_values={"prepaid_account_id": account.id},
            **kwargs,
        )
        query = {"tx_id": tx_sudo.id}
        if access_token:
            query["access_token"] = access_token
        tx_sudo.landing_route = f"/my/utilities/{account.id}/topup/status?" + "&".join(
            f"{key}={value}" for key, value in query.items()
        )
        return tx_sudo._get_processing_values()
