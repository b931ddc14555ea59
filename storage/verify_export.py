"""Standalone verifier for an exported audit log — standard library only.

Usage::

    python -m storage.verify_export audit.jsonl [--head HEX | --head SEQ:HEX]
    python verify_export.py audit.jsonl            # a copy of this single file works too
    python verify_export.py tail.jsonl --after SEQ[:HEX] [--head SEQ:HEX]

The export (``charterbot audit export``, or the dashboard's ``GET /audit/export.jsonl``) is JSON
Lines, one entry per line, in seq order::

    {"seq": 1, "hash": "<64 hex>", "prev": "<64 hex>", "canonical": "<canonical JSON text>"}
    {"seq": 2, "hash": "<64 hex>", "prev": "<64 hex>", "withheld": true}

The second form is a *withheld* entry: the dashboard's public export leaves out the text of an
entry the public may not read yet (about a confidential proposal not yet disclosed) and keeps
its place and hashes.

Rules checked, in order, for entry n (the format is documented in storage/canonical.py):

1. seq is contiguous from 1 (from SEQ+1 with ``--after SEQ``; a gap names the entry missing
   there, or out of order);
2. the canonical text is a JSON object holding exactly the envelope fields, and its "seq" and
   "prev" agree with the line's;
3. prev equals the previous entry's hash (64 zeros for entry 1; HEX for entry SEQ+1 with
   ``--after SEQ:HEX``);
4. hash == sha256(bytes.fromhex(prev) + canonical.encode("utf-8")).hexdigest().

A withheld entry is checked by rules 1 and 3 only: without its text its hash cannot be
recomputed, so it is checked by its links — its prev is the previous entry's hash, and the next
entry's prev (hashed into that entry, when it is not withheld too) is its hash. What the
withheld entry was itself chained to is therefore not bound by anything here: whoever serves
the file may have rewritten every entry before it. So the entries before the last withheld
entry at or before the head checked against (the ``--head`` entry; without ``--head``, the
file's last entry) are *not verified*: the check is partial, and says so (below); an export
made once that entry is public checks them in full. A withheld entry 1 (or the file's first
entry, after ``--after``) leaves nothing in the file unverified: its prev is checked against
the genesis value (the given HEX; with ``--after SEQ`` it is unchecked, as said). A withheld
line has ``"withheld": true``, no ``canonical``, an integer seq, and a hash and prev of 64
lowercase hex digits; anything else is not an export line.

When entry n+1 is internally consistent but was chained to a different hash than entry n now
has, entry n is named: it was rewritten (with a recomputed hash) after n+1 was written.
``--head`` anchors the log to a published head: the log must contain that hash (at that seq,
if given), so truncation or rewriting of the whole tail is caught. The log may have grown since.

``--after SEQ:HEX`` checks a file that continues a log already checked up to entry SEQ, whose
hash was HEX (an export from entry SEQ+1: ``GET /audit/export.jsonl?from=SEQ+1``): the file
must start at entry SEQ+1 chained to HEX. ``--after SEQ`` takes that hash from the file's first
line, unchecked, and says so: nothing before entry SEQ+1 is vouched for then. ``--after 0``
is the whole log: the hash before entry 1 is the genesis value, so ``--after 0:HEX`` with any
other HEX is refused (a usage error), as it would let entry 1 skip rule 3.

Prints ``ok: N entries, head <seq> <hex>`` and exits 0 when every entry is verified; names the
first bad entry and why and exits 1; exits 2 on a usage error or a file it cannot read. With
withheld entries the line says how many (``ok: N entries (K withheld: linked, not rehashed),
head …``). When withheld entry W leaves entries unverified (see above) the check is partial:
the line says ``partial:`` instead of ``ok:``, a ``not verified:`` line names the entries
before W, and the exit status is 3 — a script that needs the whole log verified checks for 0.
With ``--after`` the line says where the file starts and whether the hash before it was
checked (an empty file: ``ok: 0 entries (the file is empty), head SEQ HEX``). This module
must import nothing but the standard library (a test enforces it), so it also runs from a copy
on a machine without charterbot.

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
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
PARTIAL = 3  # the exit status of a partial check: entries bound only through a withheld one
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


def is_hash(value: object) -> bool:
    """Whether ``value`` is written as a hash is: 64 lowercase hex digits."""
    return isinstance(value, str) and len(value) == 64 and _HEX.issuperset(value)


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


def parse_after(text: str) -> tuple[int, str | None]:
    """``SEQ``, ``SEQ:HEX`` or ``SEQ HEX`` (the entry a file continues, and its hash when
    known) → (seq, hex or None); ValueError when malformed. An empty value is refused, as for
    ``--head``."""
    seq_text, colon, hex_text = text.strip().replace(" ", ":").partition(":")
    hex_text = hex_text.lower()
    if not seq_text.isdigit() or (colon and not is_hash(hex_text)):
        raise ValueError(
            f"--after takes SEQ or SEQ:HEX (an entry's seq, and its hash as 64 hex digits): "
            f"got {text!r}"
        )
    if int(seq_text) == 0 and colon and hex_text != GENESIS:
        raise ValueError(
            "--after 0 is the whole log: the hash before entry 1 is the genesis value (64 "
            f"zeros), not {hex_text}; give --after 0, or leave --after out"
        )
    return int(seq_text), hex_text or None


class ChainWalker:
    """Feeds entries in order and raises :class:`ChainError` at the first one that is bad.

    ``after`` = (seq, hash or None): the entries fed continue a log at entry seq + 1 (hash None:
    the first entry's prev is taken as that entry's hash, unchecked); before entry 1 there is
    only the genesis value (ValueError for another hash)."""

    def __init__(
        self,
        expected_head: tuple[int | None, str] | None = None,
        after: tuple[int, str | None] | None = None,
    ) -> None:
        start, start_hash = after if after is not None else (0, GENESIS)
        if not start:  # before entry 1 there is only the genesis value
            if start_hash not in (None, GENESIS):
                raise ValueError("the hash before entry 1 is the genesis value (64 zeros)")
            start_hash = GENESIS
        self.start = start  # entries up to this one are not in the file
        self.count = start  # the last entry taken (its seq)
        self.head_hash = self.start_hash = start_hash or ""  # "": not known yet
        self.start_checked = start_hash is not None  # False: taken from the file, unchecked
        self.withheld = 0  # entries checked by their links only
        self.last_withheld: int | None = None
        # Where the expected head was found, and the last withheld entry at or before it.
        self.anchor: tuple[int, int | None] | None = None
        self._expected = expected_head
        self._expected_seen = False
        if start_hash is not None and start:
            self.check_expected(start, start_hash)

    def feed(self, seq: int, prev: str, hash_hex: str, canonical: bytes) -> dict[str, object]:
        """Check entry ``seq``; return its parsed canonical object for further checks."""
        n = self.count + 1
        if seq != n:  # the checks in line here and below: a million entries pass through
            self._place(seq)
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
            self._link(n, prev, self_consistent)
        if not self_consistent:
            raise ChainError(n, f"entry {n}: stored hash does not match the hash of its contents")
        self.count = n
        self.head_hash = hash_hex
        self.check_expected(n, hash_hex)
        return obj

    def feed_withheld(self, seq: int, prev: str, hash_hex: str) -> None:
        """Check withheld entry ``seq`` by its place and its link to the entry before; its own
        hash is checked when the next entry is fed (that entry's prev must equal it)."""
        n = self._place(seq)
        self._link(n, prev, None)
        self.withheld += 1
        self.last_withheld = n  # before _take: the expected head may be this entry
        self._take(n, hash_hex)

    def _place(self, seq: int) -> int:
        """The position of entry ``seq``, the next one; ChainError when it is not that."""
        n = self.count + 1
        if seq < 1:
            raise ChainError(seq, f"seq {seq} is not a position in the log (it counts from 1)")
        if seq == n:
            return n
        if self.start and self.count == self.start:  # the file's first line, after --after
            raise ChainError(
                n, f"the file starts at entry {seq}, not at entry {n} (it continues entry {n - 1})"
            )
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

    def _link(self, n: int, prev: str, intact: bool | None) -> None:
        """Check that entry ``n`` is chained to the entry before; ``intact``: whether n's own
        hash is right (None: unknown, a withheld entry), which says which of the two changed."""
        if not self.head_hash:  # --after SEQ without a hash: the file says it, unchecked
            self._open(prev)
        if prev == self.head_hash:
            return
        if n == 1:
            raise ChainError(1, "entry 1: prev_hash is not the genesis value (64 zeros)")
        if n == self.start + 1:
            raise ChainError(
                n,
                f"entry {n}: prev_hash is not the hash given for entry {n - 1} (--after); "
                f"this file does not continue that log",
            )
        if intact:  # n is intact, so n-1 changed after n was chained to it
            raise ChainError(
                n - 1,
                f"entry {n - 1}: its hash is not the one entry {n} was chained to; "
                f"entry {n - 1} was rewritten after entry {n} was written",
            )
        raise ChainError(n, f"entry {n}: prev_hash does not match the hash of entry {n - 1}")

    def _open(self, prev: str) -> None:
        self.head_hash = self.start_hash = prev
        self.check_expected(self.start, prev)

    def _take(self, n: int, hash_hex: str) -> None:
        self.count = n
        self.head_hash = hash_hex
        self.check_expected(n, hash_hex)

    @property
    def expected(self) -> tuple[int | None, str] | None:
        """The published head being checked against, if any."""
        return self._expected

    @property
    def anchored(self) -> bool:
        """True when checking against an expected (published) head."""
        return self._expected is not None

    def extend(
        self,
        lo: int,
        prev: str,
        hi: int,
        last: str,
        anchor: tuple[int, str] | None,
        *,
        withheld: int = 0,
        last_withheld: int | None = None,
        anchor_withheld: int | None = None,
    ) -> bool:
        """Take entries lo+1 … hi, already checked as one run whose first prev_hash is ``prev``
        and last hash ``last``, if they continue the chain so far; False (and nothing taken)
        if they do not. ``anchor`` is (seq, hash) where the expected head sits in the run, if
        it does: held to the expected head like any fed entry (raises if it contradicts it).
        ``withheld``: how many of them are withheld, the last being ``last_withheld``, the last
        at or before ``anchor`` ``anchor_withheld``."""
        if lo == self.count and not self.head_hash:
            self._open(prev)
        if (lo, prev) != (self.count, self.head_hash):
            return False
        earlier = self.last_withheld
        self.count, self.head_hash = hi, last
        self.withheld += withheld
        if anchor is not None:  # as a walk would see it: the withheld entries up to the anchor
            self.last_withheld = anchor_withheld or earlier
            self.check_expected(*anchor)
        self.last_withheld = last_withheld or earlier
        return True

    def check_expected(self, n: int, hash_hex: str) -> None:
        """Note entry ``n``'s hash against the expected head (raises if it contradicts it)."""
        if self._expected is None:
            return
        want_seq, want_hash = self._expected
        if want_seq is None:
            found = hash_hex == want_hash
        elif want_seq == n:
            if hash_hex != want_hash:
                raise ChainError(
                    n, f"entry {n}: hash differs from the expected head; history was rewritten"
                )
            found = True
        else:
            found = False
        if found and not self._expected_seen:
            self._expected_seen = True
            self.anchor = (n, self.last_withheld)

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
            # == start: an empty file after --after SEQ (no hash) cannot show entry SEQ's hash
            if want_seq is not None and (want_seq < self.start or 0 < want_seq == self.start):
                raise ChainError(
                    None,
                    f"the expected head is entry {want_seq}, before this file's first entry "
                    f"({self.start + 1}): check it against an export that holds it",
                )
            raise ChainError(
                None,
                f"the expected head {want_hash} is not in the log (truncated or rewritten); "
                f"the log ends at entry {self.count}",
            )
        return self.count, self.head_hash


@dataclass(frozen=True)
class Verified:
    """What a check found: the head, and what the ``ok`` (or ``partial``) line says."""

    head: tuple[int, str]
    entries: int  # lines checked (entries start+1 … head)
    start: int  # the entry the file continues (0: it starts at entry 1)
    start_hash: str  # that entry's hash
    start_checked: bool  # False: taken from the file (--after SEQ), not given
    withheld: int
    last_withheld: int | None
    bound_to: int | None = None  # the entry the expected head was found at (None: none given)
    # Withheld entry W when the entries of the file before it are bound to the head (the
    # expected one, else the file's last) only through W: not verified. None: all verified.
    unverified_before: int | None = None

    @classmethod
    def of(cls, walker: ChainWalker) -> Verified:
        head = walker.finish()
        bound_to, through = walker.anchor or (None, walker.last_withheld)
        if through is not None and through <= walker.start + 1:  # nothing in the file before it
            through = None
        return cls(
            head,
            head[0] - walker.start,
            walker.start,
            walker.start_hash,
            walker.start_checked,
            walker.withheld,
            walker.last_withheld,
            bound_to,
            through,
        )

    @property
    def complete(self) -> bool:
        """Whether every entry is verified (exit status 0; else PARTIAL)."""
        return self.unverified_before is None

    def lines(self) -> list[str]:
        """The ``ok`` line; ``partial`` and a ``not verified:`` line when withheld entries
        leave some unverified."""
        said = []
        seq, digest = self.head
        if self.start and not self.entries:  # nothing after --after SEQ[:HEX]
            return [f"ok: 0 entries (the file is empty), head {seq} {digest or '(not given)'}"]
        if self.start:
            how = "" if self.start_checked else ", taken from this file (not checked)"
            said.append(
                f"{self.start + 1} to {seq}, after entry {self.start} {self.start_hash}{how}"
            )
        if self.withheld:
            said.append(f"{self.withheld} withheld: linked, not rehashed")
        detail = f" ({'; '.join(said)})" if said else ""
        w = self.unverified_before
        verdict = "ok" if w is None else "partial"
        out = [f"{verdict}: {self.entries} entries{detail}, head {seq} {digest}"]
        if w is not None:
            first = self.start + 1
            which = f"entry {first}" if first == w - 1 else f"entries {first} to {w - 1}"
            to = (
                "the head"
                if self.bound_to is None
                else f"the expected head (entry {self.bound_to})"
            )
            out.append(
                f"not verified: {which}, bound to {to} only through withheld entry {w}, whose "
                f"hash cannot be recomputed here; an export made once it is public checks them"
            )
        return out


def not_json(constant: str) -> Any:
    """For json.loads(parse_constant=…): NaN and ±Infinity are not JSON."""
    raise ValueError(f"{constant} is not JSON")


# One decoder, made once: json.loads with any option builds a new decoder on every call, which
# cost the export verifier a third of its speed.
strict_json = json.JSONDecoder(parse_constant=not_json).decode

# A line's entry is (seq, prev, hash, the hashed bytes or None for a withheld entry). Written
# out in each annotation, not as an alias: an alias is evaluated, and `bytes | None` would stop
# this file from running on a Python older than 3.10.


def _lines(path: str) -> Iterable[tuple[int, str, str, bytes | None]]:
    # Bytes, decoded line by line: a line that is not UTF-8 is named like any other bad line.
    with open(path, "rb") as handle:
        for line_no, line in enumerate(handle, 1):
            if line.strip():
                yield _entry(line, line_no)


def _entry(line: str | bytes, line_no: int | None) -> tuple[int, str, str, bytes | None]:
    where = f"line {line_no}" if line_no is not None else "a line"
    try:
        row = json.loads(line)
        seq = int(row["seq"])
        if "withheld" in row:
            return (seq, *_withheld(row, where))
        return seq, row["prev"], row["hash"], row["canonical"].encode("utf-8")
    except OverflowError:  # 1e400 parses as float infinity, which has no integer value
        raise ChainError(
            None, f"{where}: not an audit export line (seq {row['seq']!r} is no integer)"
        ) from None
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise ChainError(None, f"{where}: not an audit export line") from None


def _withheld(row: dict[str, Any], where: str) -> tuple[str, str, None]:
    """A withheld line's prev and hash, or ChainError saying what is wrong with it."""
    why = None
    if row["withheld"] is not True:
        why = '"withheld" can only be true'
    elif type(row["seq"]) is not int:
        why = "a withheld entry's seq must be an integer"
    elif "canonical" in row:
        why = "a withheld entry carries no canonical text"
    else:
        why = next(
            (
                f"a withheld entry's {name} must be 64 lowercase hex digits"
                for name in ("hash", "prev")
                if not is_hash(row.get(name))
            ),
            None,
        )
    if why is not None:
        raise ChainError(None, f"{where}: not an audit export line ({why})")
    return row["prev"], row["hash"], None


def _feed(walker: ChainWalker, entry: tuple[int, str, str, bytes | None]) -> None:
    seq, prev, hash_hex, canonical = entry
    if canonical is None:
        walker.feed_withheld(seq, prev, hash_hex)
    else:
        walker.feed(seq, prev, hash_hex, canonical)


def verify_file(
    path: str,
    expected_head: tuple[int | None, str] | None = None,
    workers: int | None = None,
    after: tuple[int, str | None] | None = None,
) -> tuple[int, str]:
    """Verify an export; (head seq, head hash) or :class:`ChainError` (see :func:`check_file`)."""
    return check_file(path, expected_head, workers, after).head


def check_file(
    path: str,
    expected_head: tuple[int | None, str] | None = None,
    workers: int | None = None,
    after: tuple[int, str | None] | None = None,
) -> Verified:
    """Verify an export; what was found, or :class:`ChainError`. ``workers``: processes for
    the parallel check (default: one per core, up to two, for a file of PARALLEL_FROM bytes
    or more); 1 walks the file here only. ``after``: see :class:`ChainWalker`."""
    jobs = min(2, os.cpu_count() or 1) if workers is None else workers
    if jobs > 1 and (workers is not None or os.path.getsize(path) >= PARALLEL_FROM):
        confirmed = _confirm_in_parallel(path, expected_head, jobs, after)
        if confirmed is not None:
            return confirmed
    walker = ChainWalker(expected_head, after)
    for entry in _lines(path):
        _feed(walker, entry)
    return Verified.of(walker)


def _confirm_in_parallel(
    path: str,
    expected_head: tuple[int | None, str] | None,
    jobs: int,
    after: tuple[int, str | None] | None,
) -> Verified | None:
    """What was found when every part checks out and they join up; None otherwise."""
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
    try:
        walker = ChainWalker(expected_head, after)
        for part in parts:
            if not part["ok"]:
                return None
            if part["count"]:  # an empty part (no line starts in it) has nothing to join
                (first, prev), (last, digest) = part["first"], part["last"]
                counted = {
                    "withheld": part["withheld"],
                    "last_withheld": part["last_withheld"],
                    "anchor_withheld": part["anchor_withheld"],
                }
                if not walker.extend(first - 1, prev, last, digest, part["anchor"], **counted):
                    return None
        return Verified.of(walker)
    except ChainError:
        return None


def check_part(
    path: str, start: int, end: int, expected_head: tuple[int | None, str] | None
) -> dict[str, Any]:
    """Check the lines that start at a byte offset in [start, end), chained from the first
    one's own seq and prev: what the parent needs to join the parts up, and where the
    expected head would sit among them (``anchor``: [seq, the hash there]), for the parent to
    hold the log to it; ``withheld``: how many of them are, the last one ``last_withheld``,
    the last one at or before the anchor ``anchor_withheld``."""
    walker = ChainWalker()
    want_seq, want_hash = expected_head or (None, None)
    first: list[Any] | None = None
    anchor: list[Any] | None = None
    anchor_withheld: int | None = None
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
                entry = _entry(line, None)
                seq, prev, hash_hex, _ = entry
                if first is None:
                    first = [seq, prev]
                    walker.count, walker.head_hash = seq - 1, prev
                _feed(walker, entry)
                if seq == want_seq or (
                    anchor is None and want_seq is None and hash_hex == want_hash
                ):
                    anchor, anchor_withheld = [seq, hash_hex], walker.last_withheld
    except (ChainError, OSError):
        return {"ok": False}
    count = 0 if first is None else walker.count - first[0] + 1
    last = [walker.count, walker.head_hash]
    return {
        "ok": True,
        "count": count,
        "first": first,
        "last": last,
        "anchor": anchor,
        "withheld": walker.withheld,
        "last_withheld": walker.last_withheld,
        "anchor_withheld": anchor_withheld,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="verify_export", description="Verify an exported charterbot audit log (JSONL)."
    )
    parser.add_argument(
        "file", help="the export (`charterbot audit export`, or the dashboard's export.jsonl)"
    )
    parser.add_argument("--head", help="published head: HEX or SEQ:HEX (empty is an error)")
    parser.add_argument(
        "--after",
        help="the file continues a log checked up to entry SEQ (an export ?from=SEQ+1): SEQ:HEX "
        "with that entry's hash as the earlier check printed it, or SEQ to take it unchecked",
    )
    parser.add_argument("--part", help=argparse.SUPPRESS)  # START:END, as a worker process
    args = parser.parse_args(argv)
    try:
        expected = parse_head(args.head) if args.head is not None else None
        after = parse_after(args.after) if args.after is not None else None
    except ValueError as exc:
        parser.error(str(exc))
    if args.part:
        start, end = (int(n) for n in args.part.split(":"))
        print(json.dumps(check_part(args.file, start, end, expected)))
        return 0
    try:
        found = check_file(args.file, expected, after=after)
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except ChainError as exc:
        where = f"first bad entry: {exc.seq}" if exc.seq is not None else "no single bad entry"
        print(f"FAILED ({where}): {exc.reason}")
        return 1
    print("\n".join(found.lines()))
    return 0 if found.complete else PARTIAL


if __name__ == "__main__":
    sys.exit(main())
