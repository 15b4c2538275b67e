import base64
import hashlib
import hmac
import logging

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, config
from odoo.tools.sql import column_exists, create_column
from odoo.tools.translate import LazyTranslate

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import ADMIN, PROCESS, requires_group
from odoo.addons.prepaid_meter.tools.related_counts import set_related_counts

try:  # cryptography >= 43 moved single/triple DES to the "decrepit" namespace
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover - depends on the installed version
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

SECRET_OPTION = "prepaid_sts_key_secret"
"""Server configuration option (odoo.conf, [options]) holding the key store secret."""
SECRET_MIN_LENGTH = 32
# The ciphertext column is deliberately not an ORM field: read(), search_read(), export_data(),
# onchange(), mail tracking and the web client cannot return what the ORM does not know. It is
# created by init() and only ever touched by the two SQL statements of this file.
CIPHERTEXT_COLUMN = "key_ciphertext"
HKDF_SALT = b"prepaid_billing/prepaid.sts.vending.key"
KEY_BYTES = {"02": 8, "04": 20}
"""Length of a vending key by decoder key generation algorithm: 64 bits (DES), 160 bits."""
DEMO_KEY_XMLID = "prepaid_billing.prepaid_sts_vending_key_demo"
# The public DKGA02 vending key of the STS 531-1-0 conformance vectors. Its supply group is not
# theirs (123456): the test classes create that key slot themselves, on a database with demo.
DEMO_KEY_VALUES = {"sgc": "999999", "krn": 1, "dkga": "02", "vending_key": "abababababababab"}


class PrepaidStsVendingKey(models.Model):
    """A vending key: the utility's secret from which each meter's decoder key is derived.

    A key belongs to a supply group (SGC) and a key revision (KRN) and works with one decoder
    key generation algorithm (DKGA02: 64-bit DES key, DKGA04: 160-bit HMAC key). For the
    software provider the key material is kept here, encrypted (Fernet, key derived with
    HKDF-SHA-256 from the server option ``prepaid_sts_key_secret`` and the record id); for
    security modules and vending services the record only names the key and holds no material.

    The key material is write-only: ``vending_key`` accepts a value and always reads empty;
    only ``_get_vending_key()`` decrypts it, for a token provider, in the server, and checks
    itself who asks. Only prepaid administrators can access these records at all (access rights
    and rules); the state of the key material is written by :meth:`_set_vending_key` alone.
    """

    _name = "prepaid.sts.vending.key"
    _description = "STS Vending Key"
    _inherit = ["mail.thread", "prepaid.access.mixin"]
    _order = "sgc, krn desc, id"
    _check_company_auto = True

    # === FIELDS === #

    name = fields.Char(required=True, tracking=True)
    provider_id = fields.Many2one(
        "prepaid.sts.provider",
        string="Token Provider",
        required=True,
        ondelete="restrict",
        default=lambda self: self.env.ref(
            "prepaid_billing.prepaid_sts_provider_software", raise_if_not_found=False
        ),
        check_company=True,
        tracking=True,
    )
    provider_code = fields.Selection(related="provider_id.code")
    company_id = fields.Many2one(
        "res.company",
        index=True,
        default=lambda self: self.env.company,
        help="Leave empty to share the key between companies.",
    )
    active = fields.Boolean(default=True)
    sgc = fields.Char(
        string="Supply Group Code",
        size=6,
        required=True,
        tracking=True,
        help="The 6-digit supply group code (SGC) the key belongs to.",
    )
    krn = fields.Integer(
        string="Key Revision",
        default=1,
        required=True,
        tracking=True,
        help="Key revision number (KRN, 1..15) of the key in its supply group.",
    )
    dkga = fields.Selection(
        [("02", "DKGA02 (64-bit DES key)"), ("04", "DKGA04 (160-bit HMAC-SHA-256 key)")],
        string="Key Generation Algorithm",
        default="02",
        required=True,
        tracking=True,
        help="Decoder key generation algorithm: DKGA02 derives 64-bit decoder keys (STA "
        "meters only), DKGA04 derives 64-bit (STA) or 128-bit (MISTY1) decoder keys.",
    )
    # Write-only, like res.users.password: the compute always gives an empty value, the inverse
    # encrypts into the undeclared ciphertext column and drops the plain value from the cache.
    vending_key = fields.Char(
        string="Key Material",
        compute="_compute_vending_key",
        inverse="_inverse_vending_key",
        copy=False,
        exportable=False,
        groups=ADMIN,
        help="Hexadecimal: 16 digits for DKGA02, 40 for DKGA04. Write-only: it is stored "
        "encrypted and never shown again; compare the check value instead.",
    )
    has_key_material = fields.Boolean(
        readonly=True,
        copy=False,
        help="The key material is stored (software key store).",
    )
    key_check_value = fields.Char(
        readonly=True,
        copy=False,
        tracking=True,
        help="Key check value: the first 6 hex digits of DES(key, 0) for a DKGA02 key (the usual "
        "KCV of key transfer sheets) and of HMAC-SHA-256(key, 8 zero bytes) for a DKGA04 key. "
        "It identifies the key without revealing it.",
    )
    meter_ids = fields.One2many("prepaid.meter", "sts_vending_key_id", string="Meters")
    meter_count = fields.Integer(compute="_compute_meter_count")
    note = fields.Text()

    _sql_constraints = [
        (
            "slot_uniq",
            "unique(provider_id, sgc, krn, dkga)",
            "A vending key with this supply group, key revision and algorithm already exists for "
            "this provider.",
        ),
    ]

    def init(self):
        if not column_exists(self.env.cr, self._table, CIPHERTEXT_COLUMN):
            create_column(
                self.env.cr,
                self._table,
                CIPHERTEXT_COLUMN,
                "text",
                comment="Fernet token of the vending key (not an ORM field)",
            )

    # === CONSTRAINT METHODS === #

    @api.constrains("sgc", "krn")
    def _check_slot(self):
        for key in self:
            if not (key.sgc and len(key.sgc) == 6 and key.sgc.isdigit() and key.sgc.isascii()):
                raise ValidationError(
                    self.env._(
                        "The supply group code of vending key %(key)s must be 6 digits.",
                        key=key.display_name,
                    )
                )
            if not 0 <= key.krn <= 15:
                raise ValidationError(
                    self.env._(
                        "The key revision number of vending key %(key)s must be between 0 and 15.",
                        key=key.display_name,
                    )
                )

    # === COMPUTE METHODS === #

    def _compute_vending_key(self):
        for key in self:
            key.vending_key = False

    def _inverse_vending_key(self):
        for key in self:
            value = key.vending_key
            if value:
                key._set_vending_key(value)
        # Never keep the plain value in the cache: a read() later in the same request (the web
        # client reads the record back after saving) must recompute the empty value.
        self.invalidate_recordset(["vending_key"])

    def _compute_meter_count(self):
        set_related_counts(self, "meter_count", "prepaid.meter", "sts_vending_key_id")

    @api.depends("name", "sgc", "krn")
    def _compute_display_name(self):
        for key in self:
            key.display_name = f"{key.name} (SGC {key.sgc or '?'} / KRN {key.krn})"

    # === POLICY === #

    def _get_write_groups(self):
        # The model is for administrators (access rights); what says whether there is key
        # material, and which, follows the material and is written only when it is set.
        return {
            **super()._get_write_groups(),
            "vending_key": ADMIN,
            **dict.fromkeys(("has_key_material", "key_check_value"), PROCESS),
        }

    # === CRUD METHODS === #

    def write(self, vals):
        changing = {"sgc", "krn", "dkga", "provider_id"} & set(vals)
        if changing:
            used = self.filtered(
                lambda k: (
                    k.meter_count
                    and any(
                        (k[name].id if name == "provider_id" else k[name]) != vals[name]
                        for name in changing
                    )
                )
            )
            if used:
                raise UserError(
                    self.env._(
                        "The supply group, key revision, algorithm and provider of a vending key "
                        "in use by meters cannot change (it would silently change their decoder "
                        "keys): %(keys)s. Create a new key and issue key changes instead.",
                        keys=", ".join(used.mapped("display_name")),
                    )
                )
            if "dkga" in vals:
                stale = self.filtered(lambda k: k.has_key_material and k.dkga != vals["dkga"])
                if stale and "vending_key" not in vals:
                    raise UserError(
                        self.env._(
                            "Enter the key material again when changing the algorithm of "
                            "%(keys)s: the key length differs.",
                            keys=", ".join(stale.mapped("display_name")),
                        )
                    )
        return super().write(vals)

    def copy_data(self, default=None):
        # A copy is the next revision of the key (the SQL constraint forbids an exact copy); its
        # material is never copied.
        default = dict(default or {})
        vals_list = super().copy_data(default=default)
        for key, vals in zip(self, vals_list, strict=True):
            if "name" not in default:
                vals["name"] = self.env._("%(name)s (copy)", name=key.name)
            if "krn" not in default:
                vals["krn"] = min(key.krn + 1, 15)
        return vals_list

    # === BUSINESS METHODS: KEY MATERIAL === #

    def _get_key_slot(self):
        """The (SGC, KRN, DKGA) triple of the key as integers, as in ``sts.KeyParams``."""
        self.ensure_one()
        return int(self.sgc), self.krn, int(self.dkga)

    @requires_group(ADMIN, _lt("set the material of STS vending keys"))
    def _set_vending_key(self, value):
        """Encrypt and store the key material given as hexadecimal text.

        Error messages never repeat the value: it would end up in logs and screenshots.
        """
        self.ensure_one()
        if self.provider_id.code != "software":
            raise UserError(
                self.env._(
                    "Vending key %(key)s belongs to %(provider)s, which keeps its keys itself: "
                    "no key material is stored in Odoo.",
                    key=self.display_name,
                    provider=self.provider_id.display_name,
                )
            )
        text = "".join(str(value).split())
        expected = KEY_BYTES[self.dkga]
        try:
            material = bytes.fromhex(text)
        except ValueError:
            raise ValidationError(
                self.env._(
                    "The key material of %(key)s must be hexadecimal (0-9, a-f).",
                    key=self.display_name,
                )
            ) from None
        if len(material) != expected:
            raise ValidationError(
                self.env._(
                    "A DKGA%(dkga)s vending key is %(digits)s hexadecimal digits; %(given)s were "
                    "given for %(key)s.",
                    dkga=self.dkga,
                    digits=expected * 2,
                    given=len(text),
                    key=self.display_name,
                )
            )
        ciphertext = self._fernet().encrypt(material).decode("ascii")
        self.env.cr.execute(
            SQL(
                "UPDATE %s SET %s = %s WHERE id = %s",
                SQL.identifier(self._table),
                SQL.identifier(CIPHERTEXT_COLUMN),
                ciphertext,
                self.id,
            )
        )
        check_value = self._compute_check_value(material)
        self.sudo().write({"has_key_material": True, "key_check_value": check_value})
        # Audit trail without the key: who set it, and its check value.
        self.message_post(
            body=self.env._("Key material set (check value %(kcv)s).", kcv=check_value)
        )
        _logger.info(
            "STS vending key %s (id %s) material set by user %s",
            self.name,
            self.id,
            self.env.uid,
        )

    @requires_group(ADMIN, _lt("use the material of STS vending keys"))
    def _get_vending_key(self):
        """Return the decrypted key material (bytes), for a token provider in the server.

        Never return it to a client, never log it. Only for prepaid administrators and for the
        superuser environment: the vending service calls it in sudo after checking the rights of
        the user it issues for. Raises a UserError when the key has no material or the server
        secret cannot decrypt it.
        """
        self.ensure_one()
        self.check_access("read")
        self.env.cr.execute(
            SQL(
                "SELECT %s FROM %s WHERE id = %s",
                SQL.identifier(CIPHERTEXT_COLUMN),
                SQL.identifier(self._table),
                self.id,
            )
        )
        row = self.env.cr.fetchone()
        if not row or not row[0]:
            raise UserError(
                self.env._(
                    "Vending key %(key)s has no key material: an administrator must enter it "
                    "before tokens can be issued with it.",
                    key=self.sudo().display_name,
                )
            )
        try:
            material = self._fernet().decrypt(row[0].encode("ascii"))
        except InvalidToken:
            raise UserError(
                self.env._(
                    "Vending key %(key)s cannot be decrypted: the server option %(option)s is not "
                    "the secret it was stored with. Restore that secret, or enter the key again.",
                    key=self.sudo().display_name,
                    option=SECRET_OPTION,
                )
            ) from None
        if len(material) != KEY_BYTES[self.dkga]:
            raise UserError(
                self.env._(
                    "The stored material of vending key %(key)s does not fit its algorithm "
                    "DKGA%(dkga)s: enter the key again.",
                    key=self.sudo().display_name,
                    dkga=self.dkga,
                )
            )
        return material

    @api.model
    @requires_group(ADMIN, _lt("re-encrypt the STS key store"))
    def _reencrypt_key_store(self, old_secret):
        """Re-encrypt every stored key after the server secret changed (odoo shell).

        Start the server with the new secret in ``prepaid_sts_key_secret``, then run
        ``env['prepaid.sts.vending.key']._reencrypt_key_store('<old secret>')`` and commit.

        :return: the number of keys re-encrypted
        """
        self.env.cr.execute(
            SQL(
                "SELECT id, %s FROM %s WHERE %s IS NOT NULL ORDER BY id FOR UPDATE",
                SQL.identifier(CIPHERTEXT_COLUMN),
                SQL.identifier(self._table),
                SQL.identifier(CIPHERTEXT_COLUMN),
            )
        )
        rows = self.env.cr.fetchall()
        for key_id, ciphertext in rows:
            key = self.browse(key_id)
            try:
                material = key._fernet(old_secret).decrypt(ciphertext.encode("ascii"))
            except InvalidToken:
                raise UserError(
                    self.env._(
                        "Vending key %(key)s cannot be decrypted with the old secret given.",
                        key=key.sudo().display_name,
                    )
                ) from None
            self.env.cr.execute(
                SQL(
                    "UPDATE %s SET %s = %s WHERE id = %s",
                    SQL.identifier(self._table),
                    SQL.identifier(CIPHERTEXT_COLUMN),
                    key._fernet().encrypt(material).decode("ascii"),
                    key_id,
                )
            )
        _logger.info("STS key store: %s vending keys re-encrypted", len(rows))
        return len(rows)

    def _fernet(self, secret=None):
        """The Fernet cipher of this record: its key is derived from the server secret with
        HKDF-SHA-256, bound to the record id so that a ciphertext copied onto another key record
        does not decrypt there."""
        self.ensure_one()
        secret = secret or self._get_key_store_secret()
        derived = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=HKDF_SALT,
            info=b"vending-key:%d" % self.id,
        ).derive(secret.encode("utf-8"))
        return Fernet(base64.urlsafe_b64encode(derived))

    @api.model
    def _get_key_store_secret(self):
        """The key store secret of the server configuration, or a clear UserError."""
        secret = config.get(SECRET_OPTION)
        if not secret:
            raise UserError(
                self.env._(
                    "The STS key store is not configured: set the option %(option)s in the "
                    "[options] section of the Odoo server configuration file (a random secret of "
                    "at least %(length)s characters) and restart the server. Vending keys cannot "
                    "be stored or used without it.",
                    option=SECRET_OPTION,
                    length=SECRET_MIN_LENGTH,
                )
            )
        if len(secret) < SECRET_MIN_LENGTH:
            raise UserError(
                self.env._(
                    "The server option %(option)s is too short: use a random secret of at least "
                    "%(length)s characters.",
                    option=SECRET_OPTION,
                    length=SECRET_MIN_LENGTH,
                )
            )
        return secret

    @api.model
    def _compute_check_value(self, material):
        """Key check value (6 hex digits) of ``material``: see the field's help."""
        if len(material) == KEY_BYTES["02"]:
            encryptor = Cipher(TripleDES(material * 3), modes.ECB()).encryptor()
            digest = encryptor.update(bytes(8)) + encryptor.finalize()
        else:
            digest = hmac.new(material, bytes(8), hashlib.sha256).digest()
        return digest[:3].hex().upper()

    # === DEMO DATA === #

    @api.model
    def _demo_create_vending_key(self):
        """Create the demo vending key ``prepaid_sts_vending_key_demo`` (called from demo XML;
        idempotent): the DKGA02 key of the STS conformance vectors, SGC 999999, KRN 1.

        Its material is stored encrypted with the key store secret: without the server option
        ``prepaid_sts_key_secret`` (or with one too short) log a warning and create nothing;
        the demo meters then get no vending key and no tokens.
        """
        if self.env.ref(DEMO_KEY_XMLID, raise_if_not_found=False):
            return True
        try:
            self._get_key_store_secret()
        except UserError:
            _logger.warning(
                "Demo data: no STS demo vending key, so no keyed STS meters nor tokens: the "
                "server option %s is missing or shorter than %s characters "
                "(see prepaid_billing/readme/CONFIGURE.md).",
                SECRET_OPTION,
                SECRET_MIN_LENGTH,
            )
            return True
        provider = self.env.ref("prepaid_billing.prepaid_sts_provider_software")
        slot = [(name, "=", DEMO_KEY_VALUES[name]) for name in ("sgc", "krn", "dkga")]
        if self.with_context(active_test=False).search_count(
            [("provider_id", "=", provider.id), *slot], limit=1
        ):
            _logger.warning(
                "Demo data: no STS demo vending key: a key of SGC %s KRN %s exists already.",
                DEMO_KEY_VALUES["sgc"],
                DEMO_KEY_VALUES["krn"],
            )
            return True
        key = self.create(
            {
                "name": "Demo key (STS test vectors) - not for production",
                "provider_id": provider.id,
                "note": "The public vending key of the STS conformance test vectors: anyone "
                "can make tokens for the meters that use it. For trying the suite only.",
                **DEMO_KEY_VALUES,
            }
        )
        self.env["ir.model.data"]._update_xmlids(
            [{"xml_id": DEMO_KEY_XMLID, "record": key, "noupdate": True}]
        )
        return True
