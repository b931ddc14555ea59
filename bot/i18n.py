"""Languages: gettext catalogs (Babel) and locale-aware dates.

Rules:
- Every sentence people read in announcements, e-mails and subscription replies is a msgid in
  ``bot/locale/messages.pot``; English and Spanish are complete (a test checks every msgid is
  translated in both and that the compiled ``.mo`` files match the ``.po`` files).
- A language code is matched loosely (``es-MX`` → ``es``); unknown languages fall back to
  English, never to an error, so a subscription in a language we lack still gets its messages.
- Times are shown in the reader's zone and locale (``format_when``); an unknown zone falls back
  to UTC.
- Rebuild after editing texts: ``python -m bot.i18n extract`` (rewrites the .pot from the
  sources), edit the .po files, then ``python -m bot.i18n compile`` (writes the .mo files).
"""

from __future__ import annotations

import gettext
import sys
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
LANGUAGES = ("en", "es")
DEFAULT = "en"
# Modules whose _("…") calls are the catalog (extraction reads exactly these).
SOURCES = (
    "bot/render",
    "bot/subscribe.py",
    "bot/subscribe_checks.py",
    "bot/subscribe_routes.py",
    "bot/relay_fanout.py",
)

Translate = Callable[[str], str]


def language(code: str | None) -> str:
    """The supported language closest to ``code`` (``es-MX`` → ``es``), else English."""
    base = (code or DEFAULT).replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT


@cache
def _catalog(lang: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


def translator(code: str | None) -> Translate:
    """``_`` for one reader: ``_("Decision")`` in their language."""
    return _catalog(language(code)).gettext


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def format_when(at: datetime, code: str | None, zone_name: str | None) -> str:
    """``at`` in the reader's zone and locale, with the zone named (``27 nov 2026, 17:00 (…)``)."""
    tz = zone(zone_name)
    try:
        loc = Locale.parse((code or DEFAULT).replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        loc = Locale.parse(DEFAULT)
    return f"{format_datetime(at, 'medium', tzinfo=tz, locale=loc)} ({tz.key})"


# -- build steps ----------------------------------------------------------------------------


def extract(root: Path) -> None:
    """Rewrite messages.pot from the ``_("…")`` calls in :data:`SOURCES`."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_file
    from babel.messages.pofile import write_po

    catalog = Catalog(project="charterbot", domain=DOMAIN)
    for source in SOURCES:
        path = root / source
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            for lineno, message, _comments, _ctx in extract_from_file(
                "python", str(file), keywords={"_": None}
            ):
                catalog.add(message, locations=[(str(file.relative_to(root)), lineno)])
    with open(LOCALE_DIR / f"{DOMAIN}.pot", "wb") as out:
        write_po(out, catalog, omit_header=False, width=100)


def compile_all() -> None:
    """Compile every ``<lang>/LC_MESSAGES/messages.po`` into its ``.mo``."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for lang in LANGUAGES:
        folder = LOCALE_DIR / lang / "LC_MESSAGES"
        with open(folder / f"{DOMAIN}.po", "rb") as src:
            catalog = read_po(src, locale=lang)
        with open(folder / f"{DOMAIN}.mo", "wb") as out:
            write_mo(out, catalog)


if __name__ == "__main__":
    action = sys.argv[1] if len(sys.argv) > 1 else ""
    if action == "extract":
        extract(Path(__file__).resolve().parents[1])
    elif action == "compile":
        compile_all()
    else:
        sys.exit("usage: python -m bot.i18n extract|compile")
