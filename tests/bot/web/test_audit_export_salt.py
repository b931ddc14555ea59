"""The salt in every audit payload (storage.audit) against the public export and the pages.

The export publishes a withheld entry's hash and prev. Its text has little entropy (who, what,
which proposal), so without a salt an observer recovers it by hashing candidates: the true text
as the attacker would write it (everything but the salt) must not give the published hash. The
pages show payloads without the salt, which is noise to a reader; the export keeps it.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from markupsafe import escape
from sqlalchemy import select

from bot.runtime import Runtime
from bot.web.queries import withheld
from storage import audit, dashboard_queries
from storage.canonical import SALT_KEY, canonical_json, entry_hash
from storage.db import read_scope
from storage.models.audit import AuditEntry
from storage.verify_export import check_file
from tests.bot.web.test_audit_export import download, hidden_seqs, rows

TABLE = AuditEntry.__table__  # type: ignore[attr-defined]


def _guess(envelope: dict[str, object]) -> bytes:
    """The attacker's candidate: the entry's true envelope and payload, minus the salt they
    cannot know, written canonically (storage.canonical)."""
    payload = dict(envelope["payload"])  # type: ignore[call-overload]
    payload.pop(SALT_KEY, None)
    return canonical_json({**envelope, "payload": payload})


async def test_a_withheld_entry_is_not_recovered_by_hashing_its_true_text(
    anon: httpx.AsyncClient, secret_rt: Runtime, tmp_path: Path
) -> None:
    """For every entry the export withholds (#9's votes, rollout, incident and calls), hashing
    the exactly right guess of its text against the published prev misses the published hash;
    the real, salted text hits it, so the miss is the salt's doing."""
    export = tmp_path / "audit.jsonl"
    await download(anon, export)
    published = {r["seq"]: r for r in rows(export) if r.get("withheld")}
    assert set(published) == hidden_seqs(secret_rt)
    with read_scope(secret_rt.engine) as session:
        stored = {r.seq: r for r in session.execute(select(TABLE)).all() if r.seq in published}
    assert any(r.subject == "proposal:9" for r in stored.values())
    for seq, line in published.items():
        truth = stored[seq].canonical
        assert entry_hash(line["prev"], truth.encode()) == line["hash"]
        guess = _guess(json.loads(truth))
        assert entry_hash(line["prev"], guess) != line["hash"], f"entry {seq} recovered"
    assert check_file(str(export)).withheld == len(published)


async def test_the_audit_page_shows_payloads_without_their_salt(
    client: httpx.AsyncClient, seeded: Runtime, tmp_path: Path
) -> None:
    """The newest page of /audit shows each public payload as recorded, without the salt (no
    entry's salt is on the page); the export of the same entries keeps it in their hashed
    text."""
    response = await client.get("/audit")
    assert response.status_code == 200
    html = response.text
    with read_scope(seeded.engine) as session:
        newest = session.execute(select(TABLE).order_by(TABLE.c.seq.desc()).limit(20)).all()
        secret = dashboard_queries.secrets(session)
    salts = {r.seq: json.loads(r.payload)[SALT_KEY] for r in newest}
    assert [seq for seq, salt in salts.items() if salt in html] == []
    assert "salt" not in html
    public = [r for r in newest if not withheld(r, secret)]
    assert len(public) >= 5
    shown = [str(escape(audit.shown_payload(r.payload))) for r in public]
    assert [text for text in shown if text not in html] == []  # the rest of each is shown
    export = tmp_path / "audit.jsonl"
    await download(client, export)
    full = {r["seq"]: r["canonical"] for r in rows(export) if "canonical" in r}
    assert all(salts[r.seq] in full[r.seq] for r in public)
