"""Where the shared fixtures live: ``<root>/shared`` beside the repository ``<root>/main``.

``CHARTERBOT_SHARED_DIR`` overrides it (CI may lay shared/ elsewhere). Tests read fixtures
only through these names, so a missing shared/ fails (or skips) in one obvious place.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(
    os.environ.get("CHARTERBOT_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared"
)
FIXTURES = SHARED / "fixtures"
REFERENCE_CHARTER = SHARED / "charter" / "reference-charter.yaml"


def shared_path(*parts: str) -> Path:
    """A file under shared/, e.g. ``shared_path("github", "upgrade-proposal.yml")``."""
    return SHARED.joinpath(*parts)


def reference_charter_text() -> str:
    """The reference charter exactly as written (strict UTF-8, newlines untouched)."""
    return REFERENCE_CHARTER.read_bytes().decode("utf-8")


def mutate(*pairs: tuple[str, str]) -> str:
    """The reference text with each ``old`` (which must occur exactly once) replaced."""
    text = reference_charter_text()
    for old, new in pairs:
        assert text.count(old) == 1, f"{old!r} must occur once in the reference charter"
        text = text.replace(old, new)
    return text
