"""Whether a start may adopt its charter, or must follow the one the database already follows.

Rules:
- ``charterbot serve`` adopts the charter it is given: that is how an amendment takes effect
  (:func:`bot.bootstrap.adopt_charter`).
- The console only follows. It adopts its charter into a database that never adopted one (a
  fresh database, as ``console --demo`` creates), or when asked to (``console --adopt``). A
  database whose charter adopted last has other content (another sha256) is refused with
  :class:`CharterNotAdopted`, naming both charters and how to go on: a console that adopted
  silently changed the rules the server's votes are decided by, and counted votes the
  server's charter forbids.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlmodel import Session

from bot.charter_file import example_charter_path
from charter.load import LoadedCharter
from storage import audit, charters


class CharterNotAdopted(Exception):
    """The database follows another charter than the one given, and this start may not adopt
    it (the console without ``--adopt``)."""


def refuse_other_charter(session: Session, loaded: LoadedCharter) -> None:
    """Raise :class:`CharterNotAdopted` when the database adopted a charter whose content is
    not ``loaded``'s; nothing when it adopted none or this very one."""
    last = audit.last_of_kind(session, charters.KIND)
    if last is None:
        return
    adopted: dict[str, Any] = json.loads(last.payload)
    if adopted.get("sha256") == loaded.sha256:
        return
    raise CharterNotAdopted(other_charter(adopted, loaded))


def other_charter(adopted: dict[str, Any], loaded: LoadedCharter) -> str:
    """The refusal: what the database follows (its ``charter-adopted`` payload), what the
    console was given, and the two ways on."""
    sha = str(adopted.get("sha256") or "?")[:12]
    follows = f"charter v{adopted.get('version', '?')} (sha256 {sha}…, adopted from"
    follows += f" {adopted.get('source') or 'an unknown file'})"
    source = loaded.source
    if Path(source) == example_charter_path():
        source += ", the bundled example, used when CHARTERBOT_CHARTER is not set"
    given = f"charter v{loaded.charter.version} (sha256 {loaded.sha256[:12]}…, {source})"
    return (
        f"the database follows {follows}, but the console was given {given}: the console does"
        " not change the rules a database follows. Set CHARTERBOT_CHARTER (or --charter) to"
        " the charter the database follows; or, to adopt this charter on purpose (its"
        " proposals are then decided by it), start `charterbot serve` with it or run"
        " `charterbot console --adopt`"
    )
