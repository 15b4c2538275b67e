# Only the Odoo models: drivers/ and simulators/ are pure packages that import without Odoo
# (tests/bare_addons.py), and the models import them where needed.
from . import models
