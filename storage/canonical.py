"""Canonical bytes and hashes of audit entries — the format the standalone verifier relies on.

Canonical JSON is RFC 8785 (JSON Canonicalization Scheme), produced by the ``rfc8785`` package:
UTF-8, no insignificant whitespace, object keys sorted by their UTF-16 code units, strings
escaping only ``"``, ``\\`` and control characters (``\\b \\f \\n \\r \\t``, others as
``\\u00xx``), numbers in ECMAScript form. Rejected, with an error naming the offending path:

- integers outside ±(2^53 − 1) (I-JSON): store platform ids (Discord snowflakes…) as strings;
- NaN and ±infinity; non-string object keys; strings and object keys that are not valid
  Unicode (lone surrogates); any value that is not null, bool, int, float, str, list/tuple or dict.

Entry ``n`` (1-based ``seq``) is hashed as follows::

    canonical = RFC8785({
        "seq": n,                     # integer, 1, 2, 3, … with no gaps
        "at": "2024-05-01T12:00:00.000000Z",  # RFC 3339, UTC, always 6 fraction digits, "Z"
        "actor": "<string>",
        "kind": "<string>",           # e.g. "charter-adopted"
        "subject": "<string>",        # e.g. "proposal#12", may be ""
        "payload": <any JSON value>,
        "charter_version": <integer or null>,
        "prev": "<64 lowercase hex>", # hash of entry n-1; 64 zeros for entry 1 (genesis)
    })                                # the key order above is irrelevant: RFC 8785 sorts keys
    hash = sha256(bytes.fromhex(prev) + canonical).hexdigest()   # 64 lowercase hex

Salt. The payload of every entry storage.audit appends is a JSON object holding, besides what
the caller recorded, ``"salt": "<32 lowercase hex>"`` — 128 random bits
(``secrets.token_hex(16)``) that the appender adds and a caller may not set (``SALT_KEY`` is
reserved). Why: the public export withholds the text of an entry about an undisclosed
confidential proposal but publishes its hash, and the rest of the envelope has little entropy
(a known actor, kind and subject, a time within a window); without the salt, hashing guessed
texts recovers it. The salt is an ordinary payload key, so the envelope, its key order and every
check of these bytes are the same for salted entries and for older ones without a salt; a
verifier needs to know nothing about it. What *shows* a payload to a person leaves the salt out
(``storage.audit.shown_payload``); the stored ``canonical`` text and the export keep it.

The exact ``canonical`` text is stored next to the hash, so verification hashes stored bytes and
never has to reproduce them. Because every envelope key is ASCII, the sorted order is fixed:
actor, at, charter_version, kind, payload, prev, seq, subject. :func:`entry_bytes` relies on that
to build the envelope around the payload's canonical form without serialising the payload twice;
a property test keeps it byte-equal to ``rfc8785.dumps`` of the whole envelope.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from typing import Any

import rfc8785

GENESIS = "0" * 64
SALT_KEY = "salt"  # the payload key the appender reserves for each entry's salt (module doc)
MAX_SAFE_INT = 2**53 - 1

# str and int serialise identically under RFC 8785 and json.dumps(ensure_ascii=False):
# same escape set, lowercase \u00xx, decimal integers. Used only for the envelope's scalars.
json_string = json.JSONEncoder(ensure_ascii=False).encode
_plain_dumps = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode


class CanonicalError(ValueError):
    """A value cannot be written to the audit log as canonical JSON."""


def format_at(at: datetime) -> str:
    """RFC 3339 UTC with microseconds and 'Z'; a naive datetime is taken to be UTC already."""
    if at.tzinfo is None:
        return at.isoformat(timespec="microseconds") + "Z"
    if at.utcoffset():
        at = at.astimezone(UTC)
    return at.isoformat(timespec="microseconds")[:26] + "Z"  # drop "+00:00"


def canonical_json(value: Any, *, where: str = "value") -> bytes:
    """RFC 8785 bytes of ``value``; :class:`CanonicalError` names the path of the first problem.

    Values made only of dicts, lists, strings, bools, None and safe integers, whose keys have
    no code point at or above U+D800, serialise identically with the C ``json`` encoder (same
    escapes; code point order equals UTF-16 order there), which is several times faster than
    the pure-Python ``rfc8785``. Anything else (floats, such keys) goes through ``rfc8785``.
    """
    try:
        if _plain(value):
            return _plain_dumps(value).encode("utf-8")
    except UnicodeEncodeError:
        pass  # a lone surrogate: let rfc8785 report it
    except RecursionError:  # _plain and the encoder recurse: say so as the documented error
        raise CanonicalError(f"{where}: nested too deeply to canonicalise") from None
    try:
        return rfc8785.dumps(value)
    # UnicodeEncodeError: rfc8785 sorts keys by their UTF-16 form, which a lone surrogate in a
    # key has none of; it escapes as a bare codec error, so it is explained like the others.
    except (rfc8785.CanonicalizationError, RecursionError, UnicodeEncodeError) as exc:
        # Only on failure: walk the value to say *where* the problem is.
        raise CanonicalError(_explain(value, where) or f"{where}: {exc}") from exc


def entry_bytes(
    *,
    seq: int,
    at: datetime,
    actor: str,
    kind: str,
    subject: str,
    payload_canonical: str,
    charter_version: int | None,
    prev: str,
) -> bytes:
    """The canonical bytes of one entry, given its payload's canonical text (see module doc)."""
    for name, text in (("actor", actor), ("kind", kind), ("subject", subject)):
        if not isinstance(text, str):
            raise CanonicalError(f"{name}: expected a string, got {type(text).__name__}")
    if isinstance(charter_version, bool) or not isinstance(charter_version, int | None):
        raise CanonicalError("charter_version: expected an integer or None")
    for name, number in (("seq", seq), ("charter_version", charter_version or 0)):
        if abs(number) > MAX_SAFE_INT:
            raise CanonicalError(f"{name}: {number} is outside ±(2^53 − 1)")
    version = "null" if charter_version is None else str(charter_version)
    text = (
        f'{{"actor":{json_string(actor)},"at":"{format_at(at)}","charter_version":{version},'
        f'"kind":{json_string(kind)},"payload":{payload_canonical},"prev":"{prev}",'
        f'"seq":{seq},"subject":{json_string(subject)}}}'
    )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalError("actor, kind or subject is not valid Unicode text") from exc


def entry_hash(prev: str, canonical: bytes) -> str:
    """sha256(bytes.fromhex(prev) + canonical) as 64 lowercase hex digits."""
    return hashlib.sha256(bytes.fromhex(prev) + canonical).hexdigest()


def _plain(value: Any) -> bool:
    """True when the C json encoder's output is already RFC 8785 for ``value``."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-MAX_SAFE_INT <= value <= MAX_SAFE_INT)
    if kind is dict:
        return all(
            type(key) is str and (key.isascii() or max(key) < "\ud800") and _plain(item)
            for key, item in value.items()
        )
    if kind is list or kind is tuple:
        return all(_plain(item) for item in value)
    return False


def _explain(value: Any, path: str) -> str | None:
    """The first reason ``value`` is not canonicalisable, prefixed by its path, or None."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        problem = _scalar_problem(item)
        if problem is not None:
            return f"{where}: {problem}"
        if isinstance(item, dict):
            for key in item:
                if not isinstance(key, str):
                    return f"{where}: object key {key!r} is not a string"
                if _scalar_problem(key) is not None:
                    return f"{where}: object key {key!r} is not valid Unicode (lone surrogate)"
            stack.extend((v, f"{where}.{k}") for k, v in reversed(list(item.items())))
        elif isinstance(item, list | tuple):
            stack.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(item))))
    return None


def _scalar_problem(item: Any) -> str | None:
    if isinstance(item, bool) or item is None:
        return None
    if isinstance(item, int) and abs(item) > MAX_SAFE_INT:
        return (
            f"integer {item} is outside ±(2^53 − 1), which JSON cannot carry exactly; "
            "store platform ids and other large numbers as strings"
        )
    if isinstance(item, float) and not math.isfinite(item):
        return f"{item} is not allowed in canonical JSON (no NaN or infinity)"
    if isinstance(item, str):
        try:
            item.encode("utf-8")
        except UnicodeEncodeError:
            return "string is not valid Unicode (lone surrogate)"
        return None
    if isinstance(item, int | float | dict | list | tuple):
        return None
    return (
        f"{type(item).__name__} is not a JSON value (use str, int, float, bool, None, list, dict)"
    )
