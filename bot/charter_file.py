"""Reading a charter file from disk: the one place the charter's bytes meet the file system.

Rules: the file is read as bytes and decoded as strict UTF-8 (no newline translation, so the
SHA-256 recorded with each decision is the hash of the file as committed). A missing or
unreadable file raises :class:`CharterUnreadable` with the path and what to do; a file that is
not UTF-8 is a :class:`~charter.load.CharterInvalid` pointing at the first bad byte.
"""

from __future__ import annotations

from pathlib import Path

from charter.load import SYNTAX_PATH, CharterInvalid, LoadedCharter, Problem, load_charter

_EXAMPLE = Path(__file__).resolve().parent / "examples" / "charter.yaml"


class CharterUnreadable(OSError):
    """The charter file could not be read at all (missing, a directory, no permission)."""


def example_charter_path() -> Path:
    """The example charter shipped with the package (a copy of the reference charter)."""
    return _EXAMPLE


def read_charter(path: str | Path) -> LoadedCharter:
    """Read and load the charter at ``path``; problems name the path as given."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise CharterUnreadable(
            f"charter file not found: {source} (pass the path of your charter.yaml, "
            "or set CHARTERBOT_CHARTER)"
        ) from None
    except OSError as exc:
        raise CharterUnreadable(f"cannot read charter file {source}: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        message = f"byte 0x{raw[exc.start]:02x} is not UTF-8; save the file as UTF-8"
        raise CharterInvalid((Problem(source, line, column, SYNTAX_PATH, message),)) from exc
    return load_charter(text, source)
