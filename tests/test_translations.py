"""The Simplified Chinese catalogues of the project addons are complete and safe to load.

For every addon under ``addons/`` that ships ``i18n/zh_CN.po``: no entry is untranslated or
fuzzy, every message of the addon's template (``i18n/<addon>.pot``) is in the catalogue, and
each translation keeps the placeholders of its source text (``%(name)s``, ``%s``, ``%d`` and
``{name}``), so that formatting a translated message never raises nor loses a value.
Refresh the template and the catalogue with ``scripts/i18n.sh <addon>``.
"""

import io
import re
from pathlib import Path

import polib
import pytest
from babel.messages.extract import extract

ADDONS_DIR = Path(__file__).resolve().parent.parent / "addons"
CATALOGUES = sorted(p.parent.parent.name for p in ADDONS_DIR.glob("*/i18n/zh_CN.po"))

# %(name)s (any conversion letter), %s, %d, and {name}; "%%" and "{{" are escapes, not tokens.
NAMED_PERCENT = r"%\([A-Za-z_]\w*\)[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc]"
POSITIONAL_PERCENT = r"%[sd]"
BRACE = r"\{[A-Za-z_]\w*\}"
TOKEN = re.compile(rf"%%|\{{\{{|\}}\}}|({NAMED_PERCENT}|{POSITIONAL_PERCENT}|{BRACE})")


def tokens(text):
    return [m.group(1) for m in TOKEN.finditer(text) if m.group(1)]


def positional(found):
    return [t for t in found if t in ("%s", "%d")]


def catalogue(addon):
    return polib.pofile(str(ADDONS_DIR / addon / "i18n" / "zh_CN.po"))


def key(entry):
    return (entry.msgctxt, entry.msgid, entry.msgid_plural)


def describe(entry):
    return repr(entry.msgid[:80])


def translations(entry):
    if entry.msgid_plural:
        return list(entry.msgstr_plural.values())
    return [entry.msgstr]


def test_tokens_helper():
    assert tokens("%(a)s, %s and %d of {b}") == ["%(a)s", "%s", "%d", "{b}"]
    assert tokens('100%% of {{literal}} and {"json": 1}') == []
    assert tokens("%(count).2f kWh") == ["%(count).2f"]


@pytest.mark.parametrize("addon", CATALOGUES)
def test_header(addon):
    po = catalogue(addon)
    assert po.metadata.get("Language") == "zh_CN"
    assert "charset=UTF-8" in po.metadata.get("Content-Type", "")
    assert po.metadata.get("Plural-Forms", "").replace(" ", "") == "nplurals=1;plural=0;"


@pytest.mark.parametrize("addon", CATALOGUES)
def test_complete(addon):
    po = catalogue(addon)
    assert len(po) > 0
    untranslated = [describe(e) for e in po.untranslated_entries()]
    fuzzy = [describe(e) for e in po.fuzzy_entries()]
    assert not untranslated, f"{len(untranslated)} untranslated: {untranslated[:20]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy: {fuzzy[:20]}"
    assert po.percent_translated() == 100


@pytest.mark.parametrize("addon", CATALOGUES)
def test_covers_template(addon):
    pot_path = ADDONS_DIR / addon / "i18n" / f"{addon}.pot"
    assert pot_path.is_file(), f"{pot_path} is missing: run scripts/i18n.sh {addon}"
    pot = polib.pofile(str(pot_path))
    po_keys = {key(e) for e in catalogue(addon) if not e.obsolete}
    missing = [describe(e) for e in pot if not e.obsolete and key(e) not in po_keys]
    assert not missing, f"{len(missing)} template messages not in zh_CN.po: {missing[:20]}"


@pytest.mark.parametrize("addon", CATALOGUES)
def test_placeholders(addon):
    mismatches = []
    for entry in catalogue(addon):
        if entry.obsolete:
            continue
        source = tokens(entry.msgid)
        for text in translations(entry):
            if not text:
                continue  # reported by test_complete
            found = tokens(text)
            # The same placeholders; positional ones also in the same number and order.
            if set(found) != set(source) or positional(found) != positional(source):
                mismatches.append(f"{describe(entry)}: {source} -> {found}")
    assert not mismatches, "\n".join(mismatches)


PYTHON_FILES = sorted(str(p.relative_to(ADDONS_DIR)) for p in ADDONS_DIR.rglob("*.py"))


@pytest.mark.parametrize("path", PYTHON_FILES)
def test_terms_can_be_extracted(path):
    """Odoo's export reads the messages of ``_()``/``env._()`` with babel, which evaluates the
    string arguments: an f-string argument (``x=f"{y}"``) makes it drop the whole file's
    messages from the template. Format such values before the call."""
    source = (ADDONS_DIR / path).read_bytes()
    list(extract("python", io.BytesIO(source), keywords={"_": None, "_lt": None}))
