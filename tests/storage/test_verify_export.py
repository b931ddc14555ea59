"""The standalone verifier: standard library only, runs from a bare copy, clear verdicts."""

from __future__ import annotations

import ast
import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import storage.verify_export as verify_export
from storage.canonical import GENESIS
from storage.verify_export import ChainError, parse_head, verify_file
from tests.storage.audit_fixtures import KNOWN_ANSWER

REPO = Path(__file__).resolve().parents[2]
HEADS = KNOWN_ANSWER["heads"]


def _write_known(path: Path, count: int = 8) -> Path:
    """The known-answer log as an export file (built from the fixture, not by the exporter)."""
    prev = GENESIS
    lines = []
    for seq, (canonical, digest) in enumerate(
        zip(KNOWN_ANSWER["canonical"][:count], HEADS[:count], strict=True), start=1
    ):
        line = {"seq": seq, "hash": digest, "prev": prev, "canonical": canonical}
        lines.append(json.dumps(line, ensure_ascii=False))
        prev = digest
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_module_imports_only_the_standard_library() -> None:
    """Every import in verify_export (anywhere in the file) is a standard-library module."""
    tree = ast.parse(Path(verify_export.__file__).read_text("utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative imports would tie it to the package"
            names.add((node.module or "").split(".")[0])
    assert names <= set(sys.stdlib_module_names) | {"__future__"}, names


def test_bare_copy_runs_isolated_without_site_packages(tmp_path: Path) -> None:
    """A copy of the single file runs with -I -S (no site-packages, no project on the path)."""
    copy = shutil.copy(verify_export.__file__, tmp_path / "verify_export.py")
    export = _write_known(tmp_path / "audit.jsonl")
    ok = subprocess.run(
        [sys.executable, "-I", "-S", str(copy), str(export), "--head", f"8:{HEADS[7]}"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, f"ok: 8 entries, head 8 {HEADS[7]}\n", "")

    lines = export.read_text("utf-8").splitlines()
    del lines[2]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-I", "-S", str(copy), str(export)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert bad.returncode == 1
    assert bad.stdout == (
        "FAILED (first bad entry: 3): sequence jumps from 2 to 4: entry 3 is missing or out of"
        " order\n"
    )


def test_module_entry_point_runs_isolated(tmp_path: Path) -> None:
    """`python -I -m storage.verify_export FILE` works as documented."""
    export = _write_known(tmp_path / "audit.jsonl", count=3)
    run = subprocess.run(
        [sys.executable, "-I", "-m", "storage.verify_export", str(export)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert (run.returncode, run.stdout) == (0, f"ok: 3 entries, head 3 {HEADS[2]}\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AB" * 32, (None, "ab" * 32)),
        (f"12:{'ab' * 32}", (12, "ab" * 32)),
        (f"12 {'ab' * 32}", (12, "ab" * 32)),
    ],
)
def test_published_head_forms(text: str, expected: tuple[int | None, str]) -> None:
    """A head is HEX, SEQ:HEX or 'SEQ HEX' (what `charterbot audit head` prints)."""
    assert parse_head(text) == expected


@pytest.mark.parametrize("text", ["abc", "x:" + "ab" * 32, "zz" * 32, "-1:" + "ab" * 32, "", " "])
def test_malformed_heads_are_refused(text: str) -> None:
    """A malformed head is a usage error, not a verdict on the log."""
    with pytest.raises(ValueError, match="expected head"):
        parse_head(text)


@pytest.mark.parametrize(
    ("mutate", "seq", "reason"),
    [
        (lambda lines: ["not json", *lines[1:]], None, "line 1: not an audit export line"),
        (lambda lines: lines[1:], 1, "the log starts at entry 2: entry 1 is missing or out"),
        (
            lambda lines: [lines[1], lines[0], *lines[2:]],
            1,
            "the log starts at entry 2: entry 1 is missing or out of order",
        ),
        (
            lambda lines: [lines[0], lines[2], lines[1], *lines[3:]],
            2,
            "sequence jumps from 1 to 3: entry 2 is missing or out of order",
        ),
        (lambda lines: [lines[0], lines[0], *lines[1:]], 1, "entry 1 appears again"),
        (
            lambda lines: [lines[0].replace('"seq": 1', '"seq": 1, "x": 0'), *lines[1:]],
            None,
            None,
        ),
    ],
)
def test_malformed_exports(
    tmp_path: Path,
    mutate: Callable[[list[str]], list[str]],
    seq: int | None,
    reason: str | None,
) -> None:
    """Broken files are reported at the first line or entry that is wrong."""
    path = _write_known(tmp_path / "audit.jsonl", count=3)
    lines = path.read_text("utf-8").splitlines()
    path.write_text("\n".join(mutate(lines)) + "\n", encoding="utf-8")
    if reason is None:  # extra keys on the line are ignored: only the hashed bytes count
        assert verify_file(str(path)) == (3, HEADS[2])
        return
    with pytest.raises(ChainError) as info:
        verify_file(str(path))
    assert (info.value.seq, reason in info.value.reason) == (seq, True), info.value.reason


def test_canonical_that_is_not_an_envelope(tmp_path: Path) -> None:
    """Hashed bytes that are valid JSON but not an entry envelope are named as such."""
    canonical = '{"seq":1}'
    digest = hashlib.sha256(bytes.fromhex(GENESIS) + canonical.encode()).hexdigest()
    line = {"seq": 1, "hash": digest, "prev": GENESIS, "canonical": canonical}
    path = tmp_path / "audit.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    with pytest.raises(ChainError, match="not an audit entry envelope"):
        verify_file(str(path))


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file or a malformed --head exits 2 with the reason on stderr."""
    assert verify_export.main([str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        verify_export.main([str(tmp_path / "x"), "--head", "nope"])
    assert info.value.code == 2
    assert "64 hex digits" in capsys.readouterr().err


@pytest.mark.parametrize("workers", [2, 3, 12])
@pytest.mark.parametrize("anchor", [None, (5, HEADS[4]), (None, HEADS[4])])
def test_parts_checked_in_parallel_join_up(
    tmp_path: Path, workers: int, anchor: tuple[int | None, str] | None
) -> None:
    """Worker processes confirm the same head as the walk (12 parts: some of them empty)."""
    export = _write_known(tmp_path / "audit.jsonl")
    text = export.read_text("utf-8").replace("\n", "\n\n", 3)  # blank lines too
    export.write_text(text, encoding="utf-8")
    assert verify_file(str(export), anchor, workers=workers) == (8, HEADS[7])


@pytest.mark.parametrize("anchor", [(5, HEADS[5]), (None, "ab" * 32), (9, HEADS[7])])
def test_parts_hold_the_log_to_the_expected_head(
    tmp_path: Path, anchor: tuple[int | None, str]
) -> None:
    """A head the parts contradict, or do not contain, fails exactly as the walk fails."""
    export = _write_known(tmp_path / "audit.jsonl")
    with pytest.raises(ChainError) as walked:
        verify_file(str(export), anchor, workers=1)
    with pytest.raises(ChainError) as parts:
        verify_file(str(export), anchor, workers=3)
    assert (parts.value.seq, parts.value.reason) == (walked.value.seq, walked.value.reason)


def test_parts_cover_every_line_once_wherever_they_are_cut(tmp_path: Path) -> None:
    export = _write_known(tmp_path / "audit.jsonl", count=4)
    size = export.stat().st_size
    for cut in range(size + 1):
        parts = [
            verify_export.check_part(str(export), 0, cut, None),
            verify_export.check_part(str(export), cut, size, None),
        ]
        assert sum(part["count"] for part in parts) == 4, cut
        counted = [part for part in parts if part["count"]]
        assert counted[0]["first"] == [1, GENESIS]
        assert counted[-1]["last"] == [4, HEADS[3]]
        if len(counted) == 2:
            assert counted[1]["first"] == [counted[0]["last"][0] + 1, counted[0]["last"][1]]


def _popen_counting(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    started: list[list[str]] = []
    popen = subprocess.Popen

    def counting(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        started.append(args)
        return popen(args, **kwargs)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr(verify_export.subprocess, "Popen", counting)
    return started


def test_a_large_file_is_checked_in_parallel_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = _write_known(tmp_path / "audit.jsonl")
    started = _popen_counting(monkeypatch)
    monkeypatch.setattr(verify_export.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(verify_export, "PARALLEL_FROM", export.stat().st_size)
    assert verify_file(str(export)) == (8, HEADS[7])
    assert len(started) == 2
    monkeypatch.setattr(verify_export, "PARALLEL_FROM", export.stat().st_size + 1)
    assert verify_file(str(export)) == (8, HEADS[7])
    assert len(started) == 2


def test_when_the_parts_do_not_confirm_the_file_is_walked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers that fail, or a part with a bad entry, only cost time: the walk decides."""
    export = _write_known(tmp_path / "audit.jsonl")
    monkeypatch.setattr(verify_export.sys, "executable", "/bin/false")
    assert verify_file(str(export), workers=2) == (8, HEADS[7])
    monkeypatch.setattr(verify_export.sys, "executable", str(tmp_path / "no-such-python"))
    assert verify_file(str(export), workers=2) == (8, HEADS[7])
    monkeypatch.undo()
    lines = export.read_text("utf-8").splitlines()
    del lines[6]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ChainError, match="sequence jumps from 6 to 8: entry 7 is missing or"):
        verify_file(str(export), workers=2)


def test_an_empty_head_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--head "$(curl …)"` after a failed fetch passes "": exit 2 saying so, never a check
    without the anchor (which would pass a truncated log)."""
    export = _write_known(tmp_path / "audit.jsonl", count=3)
    with pytest.raises(SystemExit) as info:
        verify_export.main([str(export), "--head", ""])
    assert info.value.code == 2
    assert "the expected head given is empty" in capsys.readouterr().err


def _crafted(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """The known log with its third line changed by ``change`` (the line's fields, and the
    hashed canonical text as ``line["canonical_obj"]``); ``"@raw:TOKEN@"`` is written TOKEN."""
    path = _write_known(tmp_path / "audit.jsonl", count=4)
    lines = path.read_text("utf-8").splitlines()
    line = json.loads(lines[2])
    line["canonical_obj"] = json.loads(line["canonical"])
    change(line)
    line["canonical"] = json.dumps(line.pop("canonical_obj"), separators=(",", ":"))
    lines[2] = re.sub(r'"@raw:(.*?)@"', r"\1", json.dumps(line))  # tokens that are no JSON
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _seq_as(text: str) -> Callable[[dict[str, Any]], None]:
    def change(line: dict[str, Any]) -> None:
        line["seq"] = f"@raw:{text}@"

    return change


def _prev_as_number(line: dict[str, Any]) -> None:
    line["prev"] = line["canonical_obj"]["prev"] = 5


@pytest.mark.parametrize(
    ("change", "seq", "reason"),
    [
        (_seq_as("1e400"), None, "line 3: not an audit export line (seq inf is no integer)"),
        (_seq_as("Infinity"), None, "line 3: not an audit export line (seq inf is no integer)"),
        (_seq_as("-Infinity"), None, "line 3: not an audit export line (seq -inf is no integer)"),
        (_seq_as("NaN"), None, "line 3: not an audit export line"),
        (_prev_as_number, 3, "entry 3: prev_hash is not hex"),
    ],
)
@pytest.mark.parametrize("isolated", [False, True], ids=["in-process", "python-I"])
def test_crafted_lines_are_named_not_tracebacks(
    tmp_path: Path,
    change: Callable[[dict[str, Any]], None],
    seq: int | None,
    reason: str,
    isolated: bool,
) -> None:
    """A seq JSON parses to a float infinity, or a prev that is a number (in the line and in
    the hashed bytes alike), is a bad line or entry, named, exit 1, never a traceback."""
    path = _crafted(tmp_path, change)
    if isolated:  # the way it is meant to be run: a copy, outside the repository
        copy = shutil.copy(verify_export.__file__, tmp_path / "verify_export.py")
        run = subprocess.run(
            [sys.executable, "-I", str(copy), str(path), "--head", HEADS[3]],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
        )
        where = f"first bad entry: {seq}" if seq is not None else "no single bad entry"
        assert (run.returncode, run.stdout, run.stderr) == (1, f"FAILED ({where}): {reason}\n", "")
        return
    with pytest.raises(ChainError) as info:
        verify_file(str(path), workers=1)
    assert (info.value.seq, info.value.reason) == (seq, reason)


# -- withheld entries (the dashboard's public export) -----------------------------------------


def _withhold(path: Path, *seqs: int) -> Path:
    """The export at ``path`` with entries ``seqs`` written as withheld lines."""
    lines = []
    for text in path.read_text("utf-8").splitlines():
        row = json.loads(text)
        if row["seq"] in seqs:
            row = {"seq": row["seq"], "hash": row["hash"], "prev": row["prev"], "withheld": True}
        lines.append(json.dumps(row, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


WITHHELD_SETS = [(1,), (3,), (3, 4), (2, 5, 8), (8,), (1, 2, 3, 4, 5, 6, 7, 8)]


@pytest.mark.parametrize("withheld", WITHHELD_SETS)
@pytest.mark.parametrize("workers", [1, 3])
def test_withheld_entries_are_checked_by_their_links(
    tmp_path: Path, withheld: tuple[int, ...], workers: int
) -> None:
    """A withheld line keeps the chain checkable: the walk and the parts find the same head
    and count the withheld entries, the last one named."""
    export = _withhold(_write_known(tmp_path / "audit.jsonl"), *withheld)
    found = verify_export.check_file(str(export), (8, HEADS[7]), workers=workers)
    assert (found.head, found.entries) == ((8, HEADS[7]), 8)
    assert (found.withheld, found.last_withheld) == (len(withheld), max(withheld))


def test_the_parts_confirm_withheld_lines_themselves(tmp_path: Path) -> None:
    """The parallel check does not just fall back to the walk: the parts count what they
    withhold and join up across a withheld line."""
    export = _withhold(_write_known(tmp_path / "audit.jsonl"), 2, 4, 5, 7)
    found = verify_export._confirm_in_parallel(str(export), (None, HEADS[4]), 3, None)
    assert found is not None
    assert (found.head, found.withheld, found.last_withheld) == ((8, HEADS[7]), 4, 7)


def _unverified(which: str, to: str, w: int) -> str:
    return (
        f"not verified: {which}, bound to {to} only through withheld entry {w}, whose hash "
        f"cannot be recomputed here; an export made once it is public checks them"
    )


OK8 = f"ok: 8 entries, head 8 {HEADS[7]}"


def _said(verdict: str, withheld: int) -> str:
    return f"{verdict}: 8 entries ({withheld} withheld: linked, not rehashed), head 8 {HEADS[7]}"


VERDICTS = [
    # (entries withheld, --head, exit status, what is printed)
    ((), f"8:{HEADS[7]}", 0, [OK8]),
    ((1,), f"8:{HEADS[7]}", 0, [_said("ok", 1)]),  # entry 1's prev is the genesis value
    (
        (3, 5),
        f"8:{HEADS[7]}",
        3,
        [_said("partial", 2), _unverified("entries 1 to 4", "the expected head (entry 8)", 5)],
    ),
    (
        (2,),
        HEADS[7],
        3,
        [_said("partial", 1), _unverified("entry 1", "the expected head (entry 8)", 2)],
    ),
    # the published head withheld: what it was chained to is nobody's word but the server's
    (
        (8,),
        f"8:{HEADS[7]}",
        3,
        [_said("partial", 1), _unverified("entries 1 to 7", "the expected head (entry 8)", 8)],
    ),
    # withheld after the published head: everything up to it is bound to it in full
    ((6, 8), f"5:{HEADS[4]}", 0, [_said("ok", 2)]),
    (
        (3, 6),
        HEADS[4],
        3,
        [_said("partial", 2), _unverified("entries 1 to 2", "the expected head (entry 5)", 3)],
    ),
    # without --head, the file's own last entry is the head
    ((4,), None, 3, [_said("partial", 1), _unverified("entries 1 to 3", "the head", 4)]),
]


@pytest.mark.parametrize(("withheld", "head", "status", "said"), VERDICTS)
@pytest.mark.parametrize("workers", [1, 3])
def test_entries_bound_only_through_a_withheld_one_are_not_called_verified(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    withheld: tuple[int, ...],
    head: str | None,
    status: int,
    said: list[str],
    workers: int,
) -> None:
    """The entries before the last withheld entry at or before the head checked against are
    bound to it only through that line, which whoever serves the file writes: ``partial``,
    exit status 3 (0 only when every entry is verified), walked or checked in parts alike."""
    export = _withhold(_write_known(tmp_path / "audit.jsonl"), *withheld)
    if workers > 1:
        monkeypatch.setattr(verify_export, "PARALLEL_FROM", 0)
    assert verify_export.main([str(export), *(["--head", head] if head else [])]) == status
    assert capsys.readouterr().out.splitlines() == said


def _chain(canonicals: list[str], prev: str = GENESIS) -> list[dict[str, object]]:
    """Export lines of ``canonicals`` (envelopes), renumbered from 1 and chained from prev."""
    rows = []
    for seq, text in enumerate(canonicals, start=1):
        obj = {**json.loads(text), "seq": seq, "prev": prev}
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(bytes.fromhex(prev) + text.encode()).hexdigest()
        rows.append({"seq": seq, "hash": digest, "prev": prev, "canonical": text})
        prev = digest
    return rows


def _write_rows(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


@pytest.mark.parametrize("workers", [1, 3])
def test_a_history_rewritten_behind_a_withheld_head_is_not_passed(
    tmp_path: Path,
    workers: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Whoever serves the export decides what is withheld: entries 1-7 rewritten (entry 1's
    actor changed, the chain recomputed) and the witnessed head 8 served as a withheld line
    with its real hash. The witness comment's own command does not say ok or exit 0."""
    forged = [json.loads(t) for t in KNOWN_ANSWER["canonical"][:7]]
    forged[0]["actor"] = "mallory"
    rows = _chain([json.dumps(o) for o in forged])
    rows.append({"seq": 8, "hash": HEADS[7], "prev": rows[-1]["hash"], "withheld": True})
    export = _write_rows(tmp_path / "audit.jsonl", rows)
    if workers > 1:
        monkeypatch.setattr(verify_export, "PARALLEL_FROM", 0)
    assert verify_export.main([str(export), "--head", f"8:{HEADS[7]}"]) == verify_export.PARTIAL
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("partial: 8 entries") and out[1].startswith(
        "not verified: entries 1 to 7, bound to the expected head (entry 8) only through"
    )


ANCHORS = [None, (8, HEADS[7]), (None, HEADS[7]), (5, HEADS[4]), (None, HEADS[2]), (2, HEADS[1])]


@pytest.mark.parametrize("withheld", [(), *WITHHELD_SETS, (3, 6), (5,)])
@pytest.mark.parametrize("anchor", ANCHORS)
def test_the_parts_find_what_the_walk_finds(
    tmp_path: Path, withheld: tuple[int, ...], anchor: tuple[int | None, str] | None
) -> None:
    """Checked in parts (each of 1 to 8 lines), the verdict is the walk's, field for field:
    which entries are verified, the expected head's place, the withheld ones."""
    export = _withhold(_write_known(tmp_path / "audit.jsonl"), *withheld)
    walked = verify_export.check_file(str(export), anchor, workers=1)
    for jobs in (2, 3, 8):
        assert verify_export._confirm_in_parallel(str(export), anchor, jobs, None) == walked


def _forge(field: str, value: object) -> Callable[[dict[str, Any]], None]:
    def change(row: dict[str, Any]) -> None:
        row[field] = value

    return change


FORGED = [
    # (entries withheld, the one changed, how, first bad entry, reason)
    ((3,), 3, _forge("hash", "ab" * 32), 3, "entry 3: its hash is not the one entry 4 was chained"),
    (
        (3,),
        3,
        _forge("prev", "ab" * 32),
        3,
        "entry 3: prev_hash does not match the hash of entry 2",
    ),
    ((1,), 1, _forge("prev", "ab" * 32), 1, "entry 1: prev_hash is not the genesis value"),
    (
        (3, 4),
        3,
        _forge("hash", "ab" * 32),
        4,
        "entry 4: prev_hash does not match the hash of entry 3",
    ),
    ((3,), 4, _forge("prev", "ab" * 32), 4, "entry 4: prev_hash does not match the hashed bytes"),
    ((3,), 3, _forge("seq", 4), 3, "sequence jumps from 2 to 4: entry 3 is missing"),
]


@pytest.mark.parametrize(("withheld", "line", "change", "seq", "reason"), FORGED)
@pytest.mark.parametrize("workers", [1, 3])
def test_a_forged_withheld_line_is_caught_by_its_links(
    tmp_path: Path,
    withheld: tuple[int, ...],
    line: int,
    change: Callable[[dict[str, Any]], None],
    seq: int,
    reason: str,
    workers: int,
) -> None:
    export = _withhold(_write_known(tmp_path / "audit.jsonl"), *withheld)
    lines = export.read_text("utf-8").splitlines()
    row = json.loads(lines[line - 1])
    change(row)
    lines[line - 1] = json.dumps(row)
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ChainError) as info:
        verify_file(str(export), workers=workers)
    assert (info.value.seq, reason in info.value.reason) == (seq, True), info.value.reason


def test_a_forged_withheld_head_is_caught_only_against_a_published_head(tmp_path: Path) -> None:
    """Nothing after the last entry hashes its hash: only --head binds it (as it binds any
    tail), which the verifier's rules say."""
    export = _withhold(_write_known(tmp_path / "audit.jsonl"), 8)
    text = export.read_text("utf-8").replace(HEADS[7], "ab" * 32)
    export.write_text(text, encoding="utf-8")
    assert verify_file(str(export)) == (8, "ab" * 32)
    with pytest.raises(ChainError, match="entry 8: hash differs from the expected head"):
        verify_file(str(export), (8, HEADS[7]))


BAD_WITHHELD = [
    # (the withheld line's fields, why it is no export line)
    ({"withheld": False}, '"withheld" can only be true'),
    ({"withheld": 1}, '"withheld" can only be true'),
    ({"canonical": "{}"}, "a withheld entry carries no canonical text"),
    ({"hash": None}, "a withheld entry's hash must be 64 lowercase hex digits"),
    ({"hash": HEADS[2].upper()}, "a withheld entry's hash must be 64 lowercase hex digits"),
    ({"hash": HEADS[2][:63]}, "a withheld entry's hash must be 64 lowercase hex digits"),
    ({"prev": 5}, "a withheld entry's prev must be 64 lowercase hex digits"),
    ({"seq": "3"}, "a withheld entry's seq must be an integer"),
    ({"seq": 3.0}, "a withheld entry's seq must be an integer"),
]


@pytest.mark.parametrize(("fields", "why"), BAD_WITHHELD)
@pytest.mark.parametrize("workers", [1, 3])
def test_a_malformed_withheld_line_is_named(
    tmp_path: Path, fields: dict[str, Any], why: str, workers: int
) -> None:
    export = _withhold(_write_known(tmp_path / "audit.jsonl", count=4), 3)
    lines = export.read_text("utf-8").splitlines()
    row = {**json.loads(lines[2]), **fields}
    lines[2] = json.dumps({k: v for k, v in row.items() if v is not None})
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ChainError) as info:
        verify_file(str(export), workers=workers)
    assert (info.value.seq, info.value.reason) == (
        None,
        f"line 3: not an audit export line ({why})",
    )


# -- --after: a file that continues a checked log (an export ?from=) -----------------------------


def _tail(tmp_path: Path, first: int, *withheld: int) -> Path:
    export = _withhold(_write_known(tmp_path / "audit.jsonl"), *withheld)
    lines = export.read_text("utf-8").splitlines()[first - 1 :]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return export


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize(
    ("after", "head", "said"),
    [
        (
            f"5:{HEADS[4]}",
            f"8:{HEADS[7]}",
            f"ok: 3 entries (6 to 8, after entry 5 {HEADS[4]}), head 8 {HEADS[7]}",
        ),
        (
            "5",
            f"8:{HEADS[7]}",
            f"ok: 3 entries (6 to 8, after entry 5 {HEADS[4]}, taken from this file (not "
            f"checked)), head 8 {HEADS[7]}",
        ),
        (
            f"5 {HEADS[4].upper()}",
            f"5:{HEADS[4]}",
            f"ok: 3 entries (6 to 8, after entry 5 {HEADS[4]}), head 8 {HEADS[7]}",
        ),
    ],
)
def test_a_file_continuing_a_checked_head(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    after: str,
    head: str,
    said: str,
    workers: int,
) -> None:
    """--after SEQ:HEX: entries SEQ+1 … are checked and chained to HEX; --after SEQ says the
    hash it continues was taken from the file. The published head may be the --after one."""
    export = _tail(tmp_path, 6)
    if workers > 1:
        monkeypatch.setattr(verify_export, "PARALLEL_FROM", 0)
    assert verify_export.main([str(export), "--after", after, "--head", head]) == 0
    assert capsys.readouterr().out.splitlines() == [said]


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize(
    ("first", "after", "head", "seq", "reason"),
    [
        (6, (5, HEADS[3]), None, 6, "entry 6: prev_hash is not the hash given for entry 5"),
        (6, (4, HEADS[3]), None, 5, "the file starts at entry 6, not at entry 5"),
        (6, (6, HEADS[5]), None, 7, "the file starts at entry 6, not at entry 7"),
        (6, (5, None), (3, HEADS[2]), None, "the expected head is entry 3, before this file's"),
        (6, (5, None), (5, HEADS[3]), 5, "entry 5: hash differs from the expected head"),
        (6, (5, HEADS[4]), (5, HEADS[3]), 5, "entry 5: hash differs from the expected head"),
        (1, (0, None), (8, HEADS[7]), 1, "entry 1: prev_hash is not the genesis value"),
    ],
)
def test_a_file_that_does_not_continue_the_head_given(
    tmp_path: Path,
    first: int,
    after: tuple[int, str | None],
    head: tuple[int, str] | None,
    seq: int | None,
    reason: str,
    workers: int,
) -> None:
    export = _tail(tmp_path, first)
    if first == 1:  # --after 0: entry 1's prev must still be the genesis value
        text = export.read_text("utf-8").replace(GENESIS, "ab" * 32, 2)
        export.write_text(text, encoding="utf-8")
    with pytest.raises(ChainError) as info:
        verify_export.check_file(str(export), head, workers=workers, after=after)
    assert (info.value.seq, reason in info.value.reason) == (seq, True), info.value.reason


AFTER_WITHHELD = [
    # (entries withheld, --head, exit status, what is printed after the first line's verdict)
    ((4, 6), None, 3, [_unverified("entries 4 to 5", "the head", 6)]),
    ((4, 6), f"7:{HEADS[6]}", 3, [_unverified("entries 4 to 5", "the expected head (entry 7)", 6)]),
    ((4,), f"8:{HEADS[7]}", 0, []),  # the first entry after --after 3:HEX: chained to HEX
    ((6,), f"5:{HEADS[4]}", 0, []),
    ((6,), f"3:{HEADS[2]}", 0, []),  # the expected head is the one the file continues
]


@pytest.mark.parametrize(("withheld", "head", "status", "notes"), AFTER_WITHHELD)
@pytest.mark.parametrize("workers", [1, 3])
def test_after_and_withheld_together(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    withheld: tuple[int, ...],
    head: str | None,
    status: int,
    notes: list[str],
    workers: int,
) -> None:
    export = _tail(tmp_path, 4, *withheld)
    if workers > 1:
        monkeypatch.setattr(verify_export, "PARALLEL_FROM", 0)
    args = ["--after", f"3:{HEADS[2]}", *(["--head", head] if head else [])]
    assert verify_export.main([str(export), *args]) == status
    verdict = "ok" if status == 0 else "partial"
    assert capsys.readouterr().out.splitlines() == [
        f"{verdict}: 5 entries (4 to 8, after entry 3 {HEADS[2]}; {len(withheld)} withheld: "
        f"linked, not rehashed), head 8 {HEADS[7]}",
        *notes,
    ]


@pytest.mark.parametrize("text", [f"0:{'ab' * 32}", f"0 {HEADS[0]}"])
def test_after_zero_takes_no_hash_but_the_genesis_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    """Before entry 1 there is only the genesis value: ``--after 0:HEX`` with another HEX
    would let entry 1 be chained to it (a usage error, the file not read)."""
    export = _write_rows(tmp_path / "audit.jsonl", _chain(KNOWN_ANSWER["canonical"][:3], "ab" * 32))
    with pytest.raises(SystemExit) as info:
        verify_export.main([str(export), "--after", text])
    assert info.value.code == 2
    assert "the hash before entry 1 is the genesis value" in capsys.readouterr().err
    with pytest.raises(ValueError, match="genesis value"):
        verify_export.check_file(str(export), after=(0, "ab" * 32))


@pytest.mark.parametrize("text", ["0", f"0:{GENESIS}"])
def test_after_zero_is_the_whole_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    export = _write_known(tmp_path / "audit.jsonl", count=3)
    assert verify_export.main([str(export), "--after", text]) == 0
    assert capsys.readouterr().out.splitlines() == [f"ok: 3 entries, head 3 {HEADS[2]}"]


@pytest.mark.parametrize(
    ("after", "said"),
    [
        (f"8:{HEADS[7]}", f"ok: 0 entries (the file is empty), head 8 {HEADS[7]}"),
        ("8", "ok: 0 entries (the file is empty), head 8 (not given)"),
    ],
)
def test_an_empty_file_after_a_head_has_nothing_new(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], after: str, said: str
) -> None:
    """What ``?from=`` past the head answers: nothing since, and the head stays."""
    export = tmp_path / "new.jsonl"
    export.write_bytes(b"")
    assert verify_export.main([str(export), "--after", after]) == 0
    assert capsys.readouterr().out.splitlines() == [said]


@pytest.mark.parametrize("text", ["", "x", "-1", f"x:{HEADS[0]}", "5:abc", HEADS[0], "5:"])
def test_a_malformed_after_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    export = _write_known(tmp_path / "audit.jsonl", count=3)
    with pytest.raises(SystemExit) as info:
        verify_export.main([str(export), "--after", text])
    assert info.value.code == 2
    assert "--after takes SEQ or SEQ:HEX" in capsys.readouterr().err
