"""The public audit export (bot.web.export): anyone downloads the log and the verifier and
checks the chain, without reading what the dashboard withholds.

The scenario is test_confidential_audit's: the demo campaign plus the undisclosed security
patch #9 accepted and rolling out, incidents and private calls about it. Its entries are in the
export as their place and hashes only; after ``disclose 9`` they are there in full.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import httpx
import pytest
from sqlalchemy import Engine, event, select
from starlette.applications import Starlette
from starlette.types import Message

import storage.verify_export as verify_export
from bot.bootstrap import build as build_runtime
from bot.clock import FixedClock
from bot.http import create_app
from bot.runtime import Runtime
from bot.settings import Settings
from bot.web import export as audit_export
from bot.web.queries import withheld
from storage import audit, dashboard_queries
from storage.db import read_scope, session_scope
from storage.models.audit import AuditEntry
from storage.verify_export import ChainError, check_file, parse_head
from tests.bot.web.conftest import NOW
from tests.bot.web.test_confidential_audit import CALL_ID, SECRET_TEXT, run
from tests.storage.audit_fixtures import draft

if TYPE_CHECKING:
    from bot.web.queries import RuntimeLike

EXPORT = "/audit/export.jsonl"
TABLE = AuditEntry.__table__  # type: ignore[attr-defined]
# What the export must not contain while #9 is undisclosed: its title, the logins that acted
# only on it, the kinds only its entries have, the subjects naming it and what names it.
SECRET_WORDS = [
    "Peer-scoring bypass in gossip validation",
    "lena-sec",
    "kofi-sec",
    "mateo-sec",
    "go-no-go-recorded",
    "rollout-paused",
    "rollout-resumed",
    "proposal:9",
    "rollout:9",
    "incident:3",
    f"meeting:{CALL_ID}",
    "meeting:go-no-go-9-production",
    *SECRET_TEXT,
]


def hidden_seqs(rt: Runtime) -> set[int]:
    """The entries the dashboard withholds, by its own predicate on the database."""
    with read_scope(rt.engine) as session:
        secret = dashboard_queries.secrets(session)
        rows = session.execute(select(TABLE)).all()
    return {row.seq for row in rows if withheld(row, secret)}


async def download(client: httpx.AsyncClient, path: Path, query: str = "") -> httpx.Response:
    response = await client.get(EXPORT + query)
    assert response.status_code == 200, response.text
    _save(path, response.content)
    return response


def _save(path: Path, body: bytes) -> None:
    path.write_bytes(body)


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def head_of(rt: Runtime) -> tuple[int, str]:
    with read_scope(rt.engine) as session:
        top = audit.head(session)
    assert top is not None
    return top


# -- what is withheld -----------------------------------------------------------------------------


async def test_a_confidential_proposal_is_withheld_and_the_export_verifies(
    anon: httpx.AsyncClient, secret_rt: Runtime, tmp_path: Path
) -> None:
    """Every entry the dashboard withholds is a withheld line (place and hashes, nothing else),
    none of #9's text is in the bytes, and the file verifies against the head, the withheld
    entries counted."""
    hidden = hidden_seqs(secret_rt)
    assert len(hidden) >= 30
    export = tmp_path / "audit.jsonl"
    response = await download(anon, export)
    body = response.content
    assert [word for word in SECRET_WORDS if word.encode() in body] == []
    lines = rows(export)
    assert {r["seq"] for r in lines if r.get("withheld")} == hidden
    assert {tuple(sorted(r)) for r in lines if r["seq"] in hidden} == {
        ("hash", "prev", "seq", "withheld")
    }
    top = head_of(secret_rt)
    assert response.headers["x-audit-head"] == f"{top[0]}:{top[1]}"
    found = check_file(str(export), parse_head(response.headers["x-audit-head"]))
    assert (found.head, found.entries, found.withheld) == (top, top[0], len(hidden))
    assert found.unverified_before == max(hidden)  # partial: see the verifier's rules


async def test_after_disclosure_the_same_entries_are_full_and_rehashed(
    anon: httpx.AsyncClient, secret_rt: Runtime, tmp_path: Path
) -> None:
    """``disclose 9``: the next export has the withheld entries in full, with the hashes the
    withheld lines had, and every hash is recomputed (none withheld)."""
    before = rows(await _saved(anon, tmp_path / "before.jsonl"))
    run(secret_rt, "kofi-sec", "disclose 9")
    after_path = await _saved(anon, tmp_path / "after.jsonl")
    after = {r["seq"]: r for r in rows(after_path)}
    was_hidden = [r for r in before if r.get("withheld")]
    assert was_hidden
    for line in was_hidden:
        full = after[line["seq"]]
        assert (full["hash"], full["prev"], "withheld" in full) == (
            line["hash"],
            line["prev"],
            False,
        )
        assert json.loads(full["canonical"])["seq"] == line["seq"]
    found = check_file(str(after_path), (len(before), before[-1]["hash"]))
    assert found.withheld == 0 and found.head == head_of(secret_rt) and found.complete
    assert b"Peer-scoring bypass in gossip validation" in after_path.read_bytes()


async def _saved(client: httpx.AsyncClient, path: Path) -> Path:
    await download(client, path)
    return path


def _edit_public_vote(lines: list[dict[str, Any]], hidden: set[int]) -> int:
    """A public vote's choice changed in its canonical text (its hash kept); returns its seq."""
    for row in lines:
        canonical = row.get("canonical", "")
        if '"kind":"vote-cast"' in canonical and '"choice":"approve"' in canonical:
            row["canonical"] = canonical.replace('"choice":"approve"', '"choice":"reject"')
            return int(row["seq"])
    raise AssertionError("no public approve vote")


def _drop_public(lines: list[dict[str, Any]], hidden: set[int]) -> int:
    seq = min(int(r["seq"]) for r in lines if r["seq"] > 10 and r["seq"] not in hidden)
    lines[:] = [r for r in lines if r["seq"] != seq]
    return seq


def _forge_withheld_hash(lines: list[dict[str, Any]], hidden: set[int]) -> int:
    """A withheld line's hash changed (a forged entry would have another hash): the next
    entry was chained to the real one."""
    seq = min(s for s in hidden if s + 1 not in hidden)
    next(r for r in lines if r["seq"] == seq)["hash"] = "ab" * 32
    return seq


def _forge_withheld_prev(lines: list[dict[str, Any]], hidden: set[int]) -> int:
    """A withheld line claiming another predecessor."""
    seq = min(hidden)
    next(r for r in lines if r["seq"] == seq)["prev"] = "cd" * 32
    return seq


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (_edit_public_vote, "stored hash does not match the hash of its contents"),
        (_drop_public, "is missing or out of order"),
        (_forge_withheld_hash, "hash is not the one entry"),
        (_forge_withheld_prev, "prev_hash does not match the hash of entry"),
    ],
)
@pytest.mark.parametrize("workers", [1, 2])
async def test_tampering_with_the_exported_file_is_caught(
    anon: httpx.AsyncClient,
    secret_rt: Runtime,
    tmp_path: Path,
    tamper: Any,
    reason: str,
    workers: int,
) -> None:
    export = tmp_path / "audit.jsonl"
    response = await download(anon, export)
    lines = rows(export)
    seq = tamper(lines, hidden_seqs(secret_rt))
    export.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), "utf-8")
    anchor = parse_head(response.headers["x-audit-head"])
    with pytest.raises(ChainError) as info:
        check_file(str(export), anchor, workers=workers)
    assert (info.value.seq, reason in info.value.reason) == (seq, True), info.value.reason


async def test_the_downloaded_verifier_checks_the_downloaded_export(
    anon: httpx.AsyncClient, secret_rt: Runtime, tmp_path: Path
) -> None:
    """What the /audit page tells the public to do: both files from the dashboard, the
    verifier run isolated (no charterbot, no site-packages) against the head."""
    source = await anon.get("/audit/verify_export.py")
    assert source.status_code == 200
    assert source.content == _verifier_file()
    assert source.headers["content-disposition"] == 'attachment; filename="verify_export.py"'
    (tmp_path / "verify_export.py").write_bytes(source.content)
    response = await download(anon, tmp_path / "audit.jsonl")
    head = response.headers["x-audit-head"]
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-I", "-S", "verify_export.py", "audit.jsonl", "--head", head],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    seq, digest = head.split(":")
    hidden = hidden_seqs(secret_rt)
    assert (done.returncode, done.stderr) == (verify_export.PARTIAL, "")  # not all verified
    assert done.stdout.splitlines() == [
        f"partial: {seq} entries ({len(hidden)} withheld: linked, not rehashed), head {seq} "
        f"{digest}",
        f"not verified: entries 1 to {max(hidden) - 1}, bound to the expected head (entry {seq}) "
        f"only through withheld entry {max(hidden)}, whose hash cannot be recomputed here; an "
        f"export made once it is public checks them",
    ]


def _verifier_file() -> bytes:
    return Path(verify_export.__file__).read_bytes()


async def test_the_audit_page_says_how_to_verify(anon: httpx.AsyncClient) -> None:
    html = (await anon.get("/audit")).text
    assert 'href="/audit/export.jsonl"' in html and 'href="/audit/verify_export.py"' in html
    head = (await anon.head(EXPORT)).headers["x-audit-head"]
    assert f"python3 verify_export.py audit.jsonl --head {head}</code>" in html
    assert "charterbot audit export" not in html


# -- with nothing withheld, the operator's export -------------------------------------------------


async def test_with_nothing_withheld_it_is_the_operators_export(
    anon: httpx.AsyncClient, secret_rt: Runtime, tmp_path: Path
) -> None:
    """Once #9 is disclosed nothing is withheld: byte for byte ``charterbot audit export``."""
    run(secret_rt, "kofi-sec", "disclose 9")
    response = await download(anon, tmp_path / "public.jsonl")
    operator = tmp_path / "operator.jsonl"
    with read_scope(secret_rt.engine) as session, operator.open("w", encoding="utf-8") as out:
        audit.export(session, out)
    assert response.content == operator.read_bytes()


# -- headers, HEAD, ?from= ------------------------------------------------------------------------


async def test_get_and_head_headers(anon: httpx.AsyncClient, secret_rt: Runtime) -> None:
    top = head_of(secret_rt)
    expected = {
        "content-type": "application/jsonl",
        "content-disposition": 'attachment; filename="audit.jsonl"',
        "x-audit-head": f"{top[0]}:{top[1]}",
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
    }
    got = await anon.get(EXPORT)
    assert {k: got.headers.get(k) for k in expected} == expected
    with _page_reads(secret_rt) as reads:
        head = await anon.head(EXPORT)
    assert (head.status_code, head.content, reads) == (200, b"", [])
    assert {k: head.headers.get(k) for k in expected} == expected
    assert "content-length" not in head.headers  # as the GET: streamed, no length known


async def test_an_empty_log_has_no_head_header(sqlite_engine: Engine) -> None:
    """No head to name (a runtime always has one: adopting the charter is entry 1)."""
    rt = cast("RuntimeLike", SimpleNamespace(gov=SimpleNamespace(engine=sqlite_engine)))
    app = Starlette(routes=audit_export.routes(rt))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dash"
    ) as client:
        response = await client.get(EXPORT)
    assert (response.status_code, response.content) == (200, b"")
    assert "x-audit-head" not in response.headers


async def test_from_starts_at_an_entry_and_continues_a_checked_head(
    anon: httpx.AsyncClient, secret_rt: Runtime, tmp_path: Path
) -> None:
    """``?from=N`` is entries N … head; its first prev is entry N-1's hash, so the verifier
    checks it as the continuation of a head checked before (``--after N-1:HEX``)."""
    whole = rows(await _saved(anon, tmp_path / "whole.jsonl"))
    start = 40
    tail = tmp_path / "tail.jsonl"
    response = await download(anon, tail, f"?from={start}")
    assert response.headers["content-disposition"] == (
        f'attachment; filename="audit-from-{start}.jsonl"'
    )
    assert rows(tail) == whole[start - 1 :]
    before = (start - 1, whole[start - 2]["hash"])
    found = check_file(str(tail), parse_head(response.headers["x-audit-head"]), after=before)
    assert (found.entries, found.head) == (len(whole) - start + 1, head_of(secret_rt))
    with pytest.raises(ChainError, match="the log starts at entry 40: entry 1 is missing"):
        check_file(str(tail))  # without --after, a cut file is a cut log


@pytest.mark.parametrize(
    ("query", "status", "first"),
    [
        ("?from=1", 200, 1),
        ("?from=0", 400, None),
        ("?from=-3", 400, None),
        ("?from=x", 400, None),
        ("?from=", 400, None),
        ("?from=%00", 400, None),
        ("?from=99999999999999999999999", 400, None),
        ("?from=1000000", 200, None),  # past the head: nothing new
    ],
)
async def test_from_values(
    anon: httpx.AsyncClient, query: str, status: int, first: int | None
) -> None:
    response = await anon.get(EXPORT + query)
    assert response.status_code == status
    if status == 400:
        assert response.text == "from must be the number of an audit entry: 1, 2, 3, …"
        return
    lines = response.text.splitlines()
    assert (json.loads(lines[0])["seq"] if lines else None) == first
    assert "x-audit-head" in response.headers


# -- a big log streams in pages -------------------------------------------------------------------

BIG = 20_000


class _page_reads:
    """Records, in order, the page reads (``seq BETWEEN``) the export sends to the database."""

    def __init__(self, rt: Runtime) -> None:
        self.engine = rt.engine
        self.reads: list[str] = []

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM audit_entry" in statement and "BETWEEN" in statement:
            self.reads.append(statement)

    def __enter__(self) -> list[str]:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self.reads

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


@pytest.fixture
def big(engine_url: str) -> Iterator[Runtime]:
    """A runtime whose log holds BIG entries: the charter's adoption and plain votes."""
    rt = build_runtime(Settings(database_url=engine_url), clock=FixedClock(NOW))
    with session_scope(rt.engine) as session:
        audit.append_many(session, [draft(i) for i in range(2, BIG + 1)])
    yield rt
    rt.engine.dispose()


async def test_a_big_log_streams_page_by_page_in_bounded_memory(
    big: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the real app, called as a server calls it: each page is read and sent before
    the next is read, no chunk holds more than a page, and the memory allocated at the peak
    is a small part of the file (the whole log never sits in memory: read at once, the peak
    is several times the file). Pages of 200 here, so that a page is a small part of 20,000
    entries; a first request warms the caches (compiled statements) the peak should not count."""
    monkeypatch.setattr(audit_export, "PAGE", 200)
    app = create_app(big, run_background=False)
    sent: list[tuple[int, int, int]] = []  # (lines, bytes, page reads so far) per body chunk
    total = 0

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal total
        if message["type"] == "http.response.body" and message.get("body"):
            chunk = message["body"]
            total += len(chunk)
            sent.append((chunk.count(b"\n"), len(chunk), len(reads)))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": EXPORT,
        "raw_path": EXPORT.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"dash")],
        "client": ("127.0.0.1", 50000),
        "server": ("dash", 80),
    }
    recorder = _page_reads(big)
    reads = recorder.reads  # recorded only inside the with block below
    await app({**scope, "query_string": f"from={BIG}".encode()}, receive, send)
    sent.clear()
    total = 0
    with recorder:
        tracemalloc.start()
        try:
            await app(scope, receive, send)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert head_of(big)[0] == BIG
    pages = BIG // audit_export.PAGE
    assert len(reads) == pages
    assert [n for n, _, _ in sent] == [audit_export.PAGE] * pages
    assert [r for _, _, r in sent] == list(range(1, pages + 1))  # sent before the next read
    assert peak < total / 4, (peak, total)
