"""Regenerate known_answer.json — deliberately independent of storage.canonical and rfc8785.

For these inputs (ASCII keys, finite short floats, small ints) RFC 8785 output equals
``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, so the expected
hashes below come from the standard library alone, following the format in storage/canonical.py.
"entries"/"heads"/"canonical" are entries as older logs hold them (no salt); "appended" are the
same entries as storage.audit writes them today, with fixed salts (see SALTS).
Run: python tests/storage/data/make_known_answer.py
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

ENTRIES: list[dict[str, Any]] = [
    {
        "at": "2024-05-01T09:00:00.000000Z",
        "actor": "system",
        "kind": "charter-adopted",
        "subject": "charter",
        "charter_version": 1,
        "payload": {"version": 1, "sha256": "ab" * 32, "source": "charter.yaml"},
    },
    {
        "at": "2024-05-01T09:15:30.250000Z",
        "actor": "alice",
        "kind": "proposal-opened",
        "subject": "proposal#12",
        "charter_version": 1,
        "payload": {"title": "Upgrade to v2.3", "track": "minor", "labels": ["upgrade", "minor"]},
    },
    {
        "at": "2024-05-02T10:00:00.000001Z",
        "actor": "bob",
        "kind": "vote",
        "subject": "proposal#12",
        "charter_version": 1,
        "payload": {"choice": "approve", "reason": "Looks good — ship it ✓", "via": "slack"},
    },
    {
        "at": "2024-05-02T11:30:00.000000Z",
        "actor": "slack:U024BE7LH",
        "kind": "vote",
        "subject": "proposal#12",
        "charter_version": 1,
        "payload": {
            "choice": "reject",
            "reason": 'needs "more" tests\nand\ta backslash \\',
            "discord_id": "1234567890123456789",
        },
    },
    {
        "at": "2024-05-03T00:00:00.000000Z",
        "actor": "system",
        "kind": "tally",
        "subject": "proposal#12",
        "charter_version": 1,
        "payload": {
            "approve": 3,
            "reject": -1,
            "quorum": 0.5,
            "weight": 1.25,
            "met": True,
            "none": None,
            "nested": {"z": [], "a": {}},
        },
    },
    {
        "at": "2024-05-03T00:00:01.999999Z",
        "actor": "system",
        "kind": "state-changed",
        "subject": "proposal#12",
        "charter_version": None,
        "payload": {"from": "voting", "to": "accepted"},
    },
    {
        "at": "2024-06-30T23:59:59.000000Z",
        "actor": "émilie",
        "kind": "note",
        "subject": "",
        "charter_version": 2,
        "payload": ["a list payload", 9007199254740991, -9007199254740991, "日本語 🎉"],
    },
    {
        "at": "2025-01-01T00:00:00.000000Z",
        "actor": "system",
        "kind": "empty",
        "subject": "proposal#13",
        "charter_version": 2,
        "payload": {},
    },
]


# The appender (storage.audit) takes only object payloads and adds each a "salt": the same
# entries as it writes them, with these fixed salts standing in for random ones. ENTRIES
# themselves (no salt, a list payload) stay as the log's older entries look.
SALTS = [f"{seq:02d}" * 16 for seq in range(1, len(ENTRIES) + 1)]


def appended(entry: dict[str, Any]) -> dict[str, Any]:
    """``entry`` as a caller hands it to the appender: its payload an object."""
    payload = entry["payload"]
    return {**entry, "payload": payload if isinstance(payload, dict) else {"items": payload}}


def chain(entries: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(heads, canonical texts) of ``entries`` appended in order to an empty log."""
    prev, heads, canonicals = "0" * 64, [], []
    for seq, entry in enumerate(entries, start=1):
        envelope = {**entry, "seq": seq, "prev": prev}
        text = json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        prev = hashlib.sha256(bytes.fromhex(prev) + text.encode("utf-8")).hexdigest()
        heads.append(prev)
        canonicals.append(text)
    return heads, canonicals


def main() -> None:
    heads, canonicals = chain(ENTRIES)
    drafts = [appended(entry) for entry in ENTRIES]
    salted = [
        {**d, "payload": {**d["payload"], "salt": salt}}
        for d, salt in zip(drafts, SALTS, strict=True)
    ]
    salted_heads, salted_canonicals = chain(salted)
    out = {
        "entries": ENTRIES,
        "heads": heads,
        "canonical": canonicals,
        "appended": {
            "entries": drafts,
            "salts": SALTS,
            "heads": salted_heads,
            "canonical": salted_canonicals,
        },
    }
    path = Path(__file__).with_name("known_answer.json")
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
