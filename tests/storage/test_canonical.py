"""Canonical JSON (RFC 8785) and the entry byte format of storage.canonical."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings, strategies as st

from storage.canonical import (
    GENESIS,
    CanonicalError,
    canonical_json,
    entry_bytes,
    entry_hash,
    format_at,
)

KNOWN = json.loads((Path(__file__).parent / "data" / "known_answer.json").read_text("utf-8"))


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_entry_bytes_and_hashes_match_the_known_answers() -> None:
    """The 8-entry fixture's canonical texts and chained hashes are reproduced exactly."""
    prev = GENESIS
    rows = zip(KNOWN["entries"], KNOWN["canonical"], KNOWN["heads"], strict=True)
    for seq, (entry, expected_text, expected_hash) in enumerate(rows, start=1):
        payload = canonical_json(entry["payload"]).decode("utf-8")
        data = entry_bytes(
            seq=seq,
            at=_at(entry["at"]),
            actor=entry["actor"],
            kind=entry["kind"],
            subject=entry["subject"],
            payload_canonical=payload,
            charter_version=entry["charter_version"],
            prev=prev,
        )
        assert data.decode("utf-8") == expected_text
        prev = entry_hash(prev, data)
        assert prev == expected_hash


@pytest.mark.parametrize(
    ("value", "path_and_hint"),
    [
        ({"user_id": 1234567890123456789}, ["payload.user_id", "as strings"]),
        ({"ids": [1, 2**53]}, ["payload.ids[1]", "2^53"]),
        ([{"n": -(2**53)}], ["payload[0].n", "as strings"]),
        ({"x": float("nan")}, ["payload.x", "NaN"]),
        ({"x": float("inf")}, ["payload.x", "infinity"]),
        ({"x": {1: "a"}}, ["payload.x", "not a string"]),
        ({"x": "\ud800"}, ["payload.x", "lone surrogate"]),
        ({"\udc00": 1}, ["payload: object key", "lone surrogate"]),
        ({"a": [{"ok": 1, "\ud800x": 2}]}, ["payload.a[0]: object key", "lone surrogate"]),
        ({"when": datetime(2024, 1, 1, tzinfo=UTC)}, ["payload.when", "not a JSON value"]),
    ],
)
def test_uncanonicalisable_values_are_rejected_with_their_path(
    value: Any, path_and_hint: list[str]
) -> None:
    """Values JSON cannot carry exactly are refused, naming where they are and what to do."""
    with pytest.raises(CanonicalError) as info:
        canonical_json(value, where="payload")
    for fragment in path_and_hint:
        assert fragment in str(info.value)


@pytest.mark.parametrize("number", [2**53 - 1, -(2**53 - 1), 0])
def test_integers_within_the_safe_range_are_accepted(number: int) -> None:
    """The I-JSON range ±(2^53 − 1) is the limit, inclusive."""
    assert canonical_json({"n": number}) == f'{{"n":{number}}}'.encode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"é": "日本 🎉"}, '{"é":"日本 🎉"}'),  # non-ASCII stays UTF-8, never \\u-escaped
        ({"b": 1, "a": 2, "B": 3}, '{"B":3,"a":2,"b":1}'),
        # UTF-16 order: U+1F600 is D83D DE00, which sorts before U+E000 (code point order
        # would put it last).
        ({"\ue000": 1, "😀": 2}, '{"😀":2,"\ue000":1}'),
        ({"s": 'q"\\\n\t\x01'}, '{"s":"q\\"\\\\\\n\\t\\u0001"}'),
        ({"f": 1.0, "g": 1e21, "h": 1e-7, "i": 0.5}, '{"f":1,"g":1e+21,"h":1e-7,"i":0.5}'),
    ],
)
def test_canonical_form_edge_cases(value: Any, expected: str) -> None:
    """RFC 8785: UTF-8 output, keys sorted by UTF-16 code units, minimal escapes, ES numbers."""
    assert canonical_json(value) == expected.encode("utf-8")


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53 - 1), 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
_text = st.text(alphabet=st.characters(blacklist_categories=["Cs"]))


@settings(max_examples=200, deadline=None)
@given(
    payload=_json,
    actor=_text,
    kind=_text,
    subject=_text,
    seq=st.integers(1, 2**53 - 1),
    version=st.none() | st.integers(-(2**31), 2**31),
    at=st.datetimes(timezones=st.just(UTC)),
)
def test_fast_envelope_equals_rfc8785_of_the_whole_entry(
    payload: Any, actor: str, kind: str, subject: str, seq: int, version: int | None, at: datetime
) -> None:
    """entry_bytes (payload canonicalised once, envelope assembled) is byte-equal to RFC 8785."""
    try:
        payload_text = canonical_json(payload).decode("utf-8")
    except CanonicalError:  # lone surrogates inside generated text
        return
    envelope = {
        "seq": seq,
        "at": format_at(at),
        "actor": actor,
        "kind": kind,
        "subject": subject,
        "payload": payload,
        "charter_version": version,
        "prev": GENESIS,
    }
    fast = entry_bytes(
        seq=seq,
        at=at,
        actor=actor,
        kind=kind,
        subject=subject,
        payload_canonical=payload_text,
        charter_version=version,
        prev=GENESIS,
    )
    assert fast == rfc8785.dumps(envelope)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2024, 5, 1, 12, 0, tzinfo=UTC), "2024-05-01T12:00:00.000000Z"),
        (
            datetime(2024, 5, 1, 14, 0, 0, 7, tzinfo=timezone(timedelta(hours=2))),
            "2024-05-01T12:00:00.000007Z",
        ),
        (datetime(2024, 5, 1, 12, 0), "2024-05-01T12:00:00.000000Z"),  # naive = already UTC
        (datetime(999, 1, 2, tzinfo=UTC), "0999-01-02T00:00:00.000000Z"),
    ],
)
def test_times_are_rfc3339_utc_with_microseconds(at: datetime, expected: str) -> None:
    """Times are written in UTC, six fraction digits, a four-digit year and 'Z'."""
    assert format_at(at) == expected


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("seq", 2**53, "seq"),
        ("charter_version", 2**60, "charter_version"),
        ("charter_version", True, "charter_version"),
        ("actor", "\udc00", "not valid Unicode"),
        ("kind", 3, "kind"),
    ],
)
def test_bad_envelope_fields_are_rejected(field: str, value: Any, message: str) -> None:
    """Envelope scalars obey the same domain rules as payloads."""
    fields: dict[str, Any] = {
        "seq": 1,
        "at": datetime(2024, 1, 1, tzinfo=UTC),
        "actor": "a",
        "kind": "k",
        "subject": "s",
        "payload_canonical": "{}",
        "charter_version": None,
        "prev": GENESIS,
    }
    fields[field] = value
    with pytest.raises(CanonicalError, match=message):
        entry_bytes(**fields)


_keys = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=4)
_any_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53 - 1), 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _keys,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=_any_json)
def test_canonical_json_equals_rfc8785(value: Any) -> None:
    """The fast path (C json encoder) never differs from rfc8785, whatever the value."""
    assert canonical_json(value) == rfc8785.dumps(value)


def test_nested_keys_beyond_the_surrogate_range_sort_by_utf16() -> None:
    """Keys with code points ≥ U+D800 (where the two orders differ) sort by UTF-16, nested too."""
    value = {"a": [{"\uffff": None, "𝄞": True}]}
    assert canonical_json(value) == '{"a":[{"𝄞":true,"\uffff":null}]}'.encode()


@pytest.mark.parametrize("make", [list, dict], ids=["lists", "objects"])
def test_nesting_past_the_recursion_limit_is_a_canonical_error(make: type) -> None:
    """Too deep a value is refused with the documented error, not a RecursionError."""
    value: object = "leaf"
    for _ in range(5000):
        value = [value] if make is list else {"k": value}
    with pytest.raises(CanonicalError, match="nested too deeply"):
        canonical_json(value, where="payload")
