"""Standalone verifier for an exported audit log — standard library only.

Usage::

    python -m storage.verify_export audit.jsonl [--head HEX | --head SEQ:HEX]
    python verify_export.py audit.jsonl            # a copy of this single file works too

The export (``charterbot audit export``) is JSON Lines, one entry per line, in seq order::

    {"seq": 1, "hash": "<64 hex>", "prev": "<64 hex>", "canonical": "<canonical JSON text>"}

Rules checked, in order, for entry n (the format is documented in storage/canonical.py):

1. seq is contiguous from 1 (a gap names the entry missing there, or out of order);
2. the canonical text is a JSON object holding exactly the envelope fields, and its "seq" and
   "prev" agree with the line's;
3. prev equals the previous entry's hash (64 zeros for entry 1);
4. hash == sha256(bytes.fromhex(prev) + canonical.encode("utf-8")).hexdigest().

When entry n+1 is internally consistent but was chained to a different hash than entry n now
has, entry n is named: it was rewritten (with a recomputed hash) after n+1 was written.
``--head`` anchors the log to a published head: the log must contain that hash (at that seq,
if given), so truncation or rewriting of the whole tail is caught. The log may have grown since.

Prints ``ok: N entries, head <seq> <hex>`` and exits 0, or names the first bad entry and why and
exits 1. This module must import nothing but the standard library (a test enforces it), so it
also runs from a copy on a machine without charterbot.

A large file (from ``PARALLEL_FROM`` bytes) is first checked in parallel: one worker process per
core (this same file, run with ``--part``) checks a contiguous part of the lines, starting from
its first line's seq and prev, and the parts are stitched together here. That can only confirm
the log; on anything else the file is walked again, line by line, in this process, which names
the first bad entry exactly as a walk from the start always does.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from typing import Any

GENESIS = "0" * 64
ENVELOPE = frozenset(
    ("seq", "at", "actor", "kind", "subject", "payload", "charter_version", "prev")
)
_HEX = frozenset("0123456789abcdef")
# Files from this size on are checked in parallel first (about 25,000 entries; below it, starting
# the workers costs more than they save).
PARALLEL_FROM = 8 << 20


class ChainError(Exception):
    """The chain is broken at entry ``seq`` (None when no single entry can be named)."""

    def __init__(self, seq: int | None, reason: str) -> None:
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


def parse_head(text: str) -> tuple[int | None, str]:
    """``HEX``, ``SEQ:HEX`` or ``SEQ HEX`` → (seq or None, hex); ValueError when malformed.
    An empty head is refused too: it is what ``--head "$(curl …)"`` passes when the fetch of
    the published head failed, and checking without the anchor would pass a truncated log."""
    if not text.strip():
        raise ValueError(
            "the expected head given is empty (did fetching the published head fail?); "
            "give HEX or SEQ:HEX, or leave the option out to check without a published head"
        )
    seq_text, _, hex_text = text.strip().replace(" ", ":").rpartition(":")
    hex_text = hex_text.lower()
    if len(hex_text) != 64 or not _HEX.issuperset(hex_text):
        raise ValueError(f"expected head must be 64 hex digits, optionally SEQ:HEX (got {text!r})")
    if not seq_text:
        return None, hex_text
    if not seq_text.isdigit():
        raise ValueError(f"expected head's seq must be a positive integer (got {seq_text!r})")
    return int(seq_text), hex_text


class ChainWalker:
    """Feeds entries in order and raises :class:`ChainError` at the first one that is bad."""

    def __init__(self, expected_head: tuple[int | None, str] | None = None) -> None:
        self.count = 0
        self.head_hash = GENESIS
        self._expected = expected_head
        self._expected_seen = False

    def feed(self, seq: int, prev: str, hash_hex: str, canonical: bytes) -> dict[str, object]:
        """Check entry ``seq``; return its parsed canonical object for further checks."""
        n = self.count + 1
        if seq < 1:
            raise ChainError(seq, f"seq {seq} is not a position in the log (it counts from 1)")
        if seq != n:
            if seq < n:
                raise ChainError(seq, f"entry {seq} appears again after entry {n - 1}")
            # Read in order, a gap cannot tell a deleted entry from one moved further on.
            if n == 1:
                raise ChainError(
                    1, f"the log starts at entry {seq}: entry 1 is missing or out of order"
                )
            raise ChainError(
                n, f"sequence jumps from {n - 1} to {seq}: entry {n} is missing or out of order"
            )
        try:  # NaN and ±Infinity are not JSON, though Python's parser takes them by default
            obj = strict_json(canonical.decode("utf-8"))
        except (ValueError, RecursionError):
            raise ChainError(n, f"entry {n}: the hashed bytes are not valid JSON") from None
        if not isinstance(obj, dict) or obj.keys() != ENVELOPE:
            raise ChainError(n, f"entry {n}: the hashed bytes are not an audit entry envelope")
        if obj["seq"] != seq or isinstance(obj["seq"], bool):
            raise ChainError(n, f"entry {n}: seq does not match the hashed bytes")
        if obj["prev"] != prev:
            raise ChainError(n, f"entry {n}: prev_hash does not match the hashed bytes")
        try:  # TypeError: a prev that is no string (a number, in the line and the hashed bytes)
            prev_bytes = bytes.fromhex(prev)
        except (ValueError, TypeError):
            raise ChainError(n, f"entry {n}: prev_hash is not hex") from None
        self_consistent = hashlib.sha256(prev_bytes + canonical).hexdigest() == hash_hex
        if prev != self.head_hash:
            if n == 1:
                raise ChainError(1, "entry 1: prev_hash is not the genesis value (64 zeros)")
            if self_consistent:  # n is intact, so n-1 changed after n was chained to it
                raise ChainError(
                    n - 1,
                    f"entry {n - 1}: its hash is not the one entry {n} was chained to; "
                    f"entry {n - 1} was rewritten after entry {n} was written",
                )
            raise ChainError(n, f"entry {n}: prev_hash does not match the hash of entry {n - 1}")
        if not self_consistent:
            raise ChainError(n, f"entry {n}: stored hash does not match the hash of its contents")
        self.count = n
        self.head_hash = hash_hex
        self.check_expected(n, hash_hex)
        return obj

    @property
    def expected(self) -> tuple[int | None, str] | None:
        """The published head being checked against, if any."""
        return self._expected

    @property
    def anchored(self) -> bool:
        """True when checking against an expected (published) head."""
        return self._expected is not None

    def extend(
        self, lo: int, prev: str, hi: int, last: str, anchor: tuple[int, str] | None
    ) -> bool:
        """Take entries lo+1 … hi, already checked as one run whose first prev_hash is ``prev``
        and last hash ``last``, if they continue the chain so far; False (and nothing taken)
        if they do not. ``anchor`` is (seq, hash) where the expected head sits in the run, if
        it does: held to the expected head like any fed entry (raises if it contradicts it)."""
        if (lo, prev) != (self.count, self.head_hash):
            return False
        self.count, self.head_hash = hi, last
        if anchor is not None:
            self.check_expected(*anchor)
        return True

    def check_expected(self, n: int, hash_hex: str) -> None:
        """Note entry ``n``'s hash against the expected head (raises if it contradicts it)."""
        if self._expected is None:
            return
        want_seq, want_hash = self._expected
        if want_seq is None:
            self._expected_seen = self._expected_seen or hash_hex == want_hash
        elif want_seq == n:
            if hash_hex != want_hash:
                raise ChainError(
                    n, f"entry {n}: hash differs from the expected head; history was rewritten"
                )
            self._expected_seen = True

    def finish(self) -> tuple[int, str]:
        """(head seq, head hash) once all entries are fed; checks the expected head."""
        if self._expected is not None and not self._expected_seen:
            want_seq, want_hash = self._expected
            if want_seq is not None and want_seq > self.count:
                raise ChainError(
                    self.count + 1,
                    f"entry {self.count + 1} missing: the log ends at entry {self.count} but the "
                    f"expected head is entry {want_seq} (the log was truncated)",
                )
            raise ChainError(
                None,
                f"the expected head {want_hash} is not in the log (truncated or rewritten); "
                f"the log ends at entry {self.count}",
            )
        return self.count, self.head_hash


def not_json(constant: str) -> Any:
    """For json.loads(parse_constant=…): NaN and ±Infinity are not JSON."""
    raise ValueError(f"{constant} is not JSON")


# One decoder, made once: json.loads with any option builds a new decoder on every call, which
# cost the export verifier a third of its speed.
strict_json = json.JSONDecoder(parse_constant=not_json).decode


def _lines(path: str) -> Iterable[tuple[int, str, str, bytes]]:
    # Bytes, decoded line by line: a line that is not UTF-8 is named like any other bad line.
    with open(path, "rb") as handle:
        for line_no, line in enumerate(handle, 1):
            if line.strip():
                yield _entry(line, line_no)


def _entry(line: str | bytes, line_no: int | None) -> tuple[int, str, str, bytes]:
    where = f"line {line_no}" if line_no is not None else "a line"
    try:
        row = json.loads(line)
        seq = int(row["seq"])
        return seq, row["prev"], row["hash"], row["canonical"].encode("utf-8")
    except OverflowError:  # 1e400 parses as float infinity, which has no integer value
        raise ChainError(
            None, f"{where}: not an audit export line (seq {row['seq']!r} is no integer)"
        ) from None
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise ChainError(None, f"{where}: not an audit export line") from None


def verify_file(
    path: str, expected_head: tuple[int | None, str] | None = None, workers: int | None = None
) -> tuple[int, str]:
    """Verify an export; (head seq, head hash) or :class:`ChainError`. ``workers``: processes
    for the parallel check (default: one per core, up to two, for a file of PARALLEL_FROM bytes
    or more); 1 walks the file here only."""
    jobs = min(2, os.cpu_count() or 1) if workers is None else workers
    if jobs > 1 and (workers is not None or os.path.getsize(path) >= PARALLEL_FROM):
        confirmed = _confirm_in_parallel(path, expected_head, jobs)
        if confirmed is not None:
            return confirmed
    walker = ChainWalker(expected_head)
    for seq, prev, hash_hex, canonical in _lines(path):
        walker.feed(seq, prev, hash_hex, canonical)
    return walker.finish()


def _confirm_in_parallel(
    path: str, expected_head: tuple[int | None, str] | None, jobs: int
) -> tuple[int, str] | None:
    """(head seq, head hash) when every part checks out and they join up; None otherwise."""
    size = os.path.getsize(path)
    head = (
        [] if expected_head is None else ["--head", f"{expected_head[0] or ''}:{expected_head[1]}"]
    )
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for k in range(jobs):
            span = f"{size * k // jobs}:{size * (k + 1) // jobs}"
            workers.append(
                subprocess.Popen(
                    # -I: nothing but the standard library, not even this file's directory
                    [sys.executable, "-I", os.path.abspath(__file__), path, "--part", span, *head],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
            )
    except OSError:  # no interpreter to start: the walk will do
        for worker in workers:
            worker.kill()
            worker.communicate()
        return None
    parts: list[dict[str, Any]] = []
    for worker in workers:
        out, _ = worker.communicate()
        try:
            parts.append(dict(json.loads(out)))
        except (ValueError, TypeError):
            parts.append({"ok": False})
    walker = ChainWalker(expected_head)
    try:
        for part in parts:
            if not part["ok"]:
                return None
            if part["count"]:  # an empty part (no line starts in it) has nothing to join
                (first, prev), (last, digest) = part["first"], part["last"]
                if not walker.extend(first - 1, prev, last, digest, part["anchor"]):
                    return None
        return walker.finish()
    except ChainError:
        return None


def check_part(
    path: str, start: int, end: int, expected_head: tuple[int | None, str] | None
) -> dict[str, Any]:
    """Check the lines that start at a byte offset in [start, end), chained from the first
    one's own seq and prev: what the parent needs to join the parts up, and where the
    expected head would sit among them (``anchor``: [seq, the hash there]), for the parent to
    hold the log to it."""
    walker = ChainWalker()
    want_seq, want_hash = expected_head or (None, None)
    first: list[Any] | None = None
    anchor: list[Any] | None = None
    try:
        with open(path, "rb") as handle:
            handle.seek(max(start - 1, 0))
            offset = start
            if start > 0:  # resume after the line that straddles start (or ends just before)
                offset = start - 1 + len(handle.readline())
            for line in handle:
                if offset >= end:
                    break
                offset += len(line)
                if not line.strip():
                    continue
                seq, prev, hash_hex, canonical = _entry(line, None)
                if first is None:
                    first = [seq, prev]
                    walker.count, walker.head_hash = seq - 1, prev
                walker.feed(seq, prev, hash_hex, canonical)
                if seq == want_seq or (
                    anchor is None and want_seq is None and hash_hex == want_hash
                ):
                    anchor = [seq, hash_hex]
    except (ChainError, OSError):
        return {"ok": False}
    count = 0 if first is None else walker.count - first[0] + 1
    last = [walker.count, walker.head_hash]
    return {"ok": True, "count": count, "first": first, "last": last, "anchor": anchor}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="verify_export", description="Verify an exported charterbot audit log (JSONL)."
    )
    parser.add_argument("file", help="the export written by `charterbot audit export`")
    parser.add_argument("--head", help="published head: HEX or SEQ:HEX (empty is an error)")
    parser.add_argument("--part", help=argparse.SUPPRESS)  # START:END, as a worker process
    args = parser.parse_args(argv)
    try:
        expected = parse_head(args.head) if args.head is not None else None
    except ValueError as exc:
        parser.error(str(exc))
    if args.part:
        start, end = (int(n) for n in args.part.split(":"))
        print(json.dumps(check_part(args.file, start, end, expected)))
        return 0
    try:
        seq, head = verify_file(args.file, expected)
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except ChainError as exc:
        where = f"first bad entry: {exc.seq}" if exc.seq is not None else "no single bad entry"
        print(f"FAILED ({where}): {exc.reason}")
        return 1
    print(f"ok: {seq} entries, head {seq} {head}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
