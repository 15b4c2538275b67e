import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.prepaid_meter.tools.related_counts import set_related_counts

from .. import sts

_logger = logging.getLogger(__name__)


class PrepaidStsProvider(models.Model):
    """Who turns a vending request into 20 digits: the software key store of this addon, or
    (through plug-in modules) a hardware security module or an external vending service.

    The ``code`` selection is the extension point, as for ``payment.provider``: a plug-in adds
    its code with ``selection_add``, its settings as fields (secrets with
    ``groups='base.group_system'``) and overrides :meth:`_get_token_provider` to return its own
    :class:`~odoo.addons.prepaid_billing.sts.TokenProvider`. Everything else (TIDs, token log,
    receipts, access rights) stays in this addon. See readme/CONFIGURE.md.
    """

    _name = "prepaid.sts.provider"
    _description = "STS Token Provider"
    _order = "sequence, id"

    # === FIELDS === #

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    code = fields.Selection(
        [("software", "Software Key Store")],
        required=True,
        default="software",
        help="How tokens are made. Software Key Store: in Odoo, with the vending keys stored "
        "encrypted in the database (tests, demos and sites running their own, non-certified "
        "keys). Plug-in modules add hardware security modules and vending services.",
    )
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", index=True, help="Leave empty to share the provider between companies."
    )
    vending_key_ids = fields.One2many(
        "prepaid.sts.vending.key", "provider_id", string="Vending Keys"
    )
    vending_key_count = fields.Integer(compute="_compute_vending_key_count")
    note = fields.Html()

    # === COMPUTE METHODS === #

    def _compute_vending_key_count(self):
        set_related_counts(self, "vending_key_count", "prepaid.sts.vending.key", "provider_id")

    # === CRUD METHODS === #

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        if (
            self.env["prepaid.sts.vending.key"]
            .with_context(active_test=False)
            .search_count([("provider_id", "in", self.ids)], limit=1)
        ):
            raise UserError(
                self.env._(
                    "A token provider with vending keys cannot be deleted; archive it instead."
                )
            )

    # === BUSINESS METHODS: EXTENSION POINT === #

    def _get_token_provider(self, vending_keys):
        """Return the token provider that issues tokens with ``vending_keys``.

        Extension point: plug-ins override this method, return their own
        :class:`~odoo.addons.prepaid_billing.sts.TokenProvider` for their ``code`` and call
        ``super()`` for the other codes. The caller computes the TID (unique per meter, with the
        meter's TID allocation locked) and passes it to the ``issue_*`` methods;
        implementations must honour it.

        :param vending_keys: ``prepaid.sts.vending.key`` records of this provider that the
            request needs: the meter's current key, and the new key of a key change
        :return: an ``sts.TokenProvider`` instance, used for this request only
        :raise UserError: when the provider cannot serve the request
        """
        self.ensure_one()
        if self.code == "software":
            return self._software_get_token_provider(vending_keys)
        raise UserError(
            self.env._(
                "The token provider %(provider)s (%(code)s) has no implementation: is its "
                "module installed?",
                provider=self.display_name,
                code=self.code,
            )
        )

    def _get_decoder_key(self, vending_keys, key_params):
        """Return the decoder key (bytes) of a meter, to decode tokens for support.

        Providers whose keys never leave a security module cannot do this; they raise a
        UserError (the default when the token provider has no ``decoder_key`` method).

        :param vending_keys: the ``prepaid.sts.vending.key`` record of the meter
        :param key_params: the meter's ``sts.KeyParams``
        """
        self.ensure_one()
        provider = self._get_token_provider(vending_keys)
        if not hasattr(provider, "decoder_key"):
            raise UserError(
                self.env._(
                    "The token provider %(provider)s cannot decode tokens: it does not give out "
                    "decoder keys.",
                    provider=self.display_name,
                )
            )
        return provider.decoder_key(key_params)

    # === BUSINESS METHODS: SOFTWARE PROVIDER === #

    def _software_get_token_provider(self, vending_keys):
        """The in-process provider, with the decrypted vending keys of ``vending_keys``.

        The keys are decrypted for this request only and live in the provider's closure; the
        provider instance is not cached so that no key outlives the request.
        """
        material = {}
        for key in vending_keys.sudo():
            material[key._get_key_slot()] = key._get_vending_key()

        def key_for(params):
            try:
                return material[(params.sgc, params.krn, params.dkga)]
            except KeyError:
                raise sts.ProviderError(
                    f"no vending key for SGC {params.sgc:06d} KRN {params.krn} "
                    f"DKGA{params.dkga:02d}"
                ) from None

        return sts.SoftwareTokenProvider(key_for, cache_size=0)
