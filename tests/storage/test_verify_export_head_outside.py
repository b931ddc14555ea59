"""An expected head (``--head SEQ:HEX``) the file cannot show is named for what it is: an entry
before the file's first one (check it against an export that holds it), not a log that was
truncated or rewritten. That includes the entry an empty file continues (``--after SEQ``
without a hash: nothing in the file says its hash). A head the file could hold and does not,
or entry 0 (there is none), is not in the log."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.verify_export import ChainError, check_file
from tests.storage.audit_fixtures import KNOWN_ANSWER
from tests.storage.test_verify_export import _write_known

HEADS = KNOWN_ANSWER["heads"]
BEFORE = "the expected head is entry {}, before this file's first entry ({})"
NOT_IN = "the expected head {} is not in the log (truncated or rewritten); the log ends at entry {}"


@pytest.mark.parametrize(
    ("count", "after", "head", "reason"),
    [
        pytest.param(0, (8, None), (8, HEADS[7]), BEFORE.format(8, 9), id="the-entry-continued"),
        pytest.param(0, (8, None), (7, HEADS[6]), BEFORE.format(7, 9), id="earlier"),
        pytest.param(0, (8, None), (None, HEADS[7]), NOT_IN.format(HEADS[7], 8), id="hash-only"),
        pytest.param(3, None, (0, HEADS[0]), NOT_IN.format(HEADS[0], 3), id="entry-0"),
        pytest.param(3, (0, None), (0, HEADS[0]), NOT_IN.format(HEADS[0], 3), id="entry-0-after"),
    ],
)
def test_an_expected_head_outside_the_file_is_named(
    tmp_path: Path,
    count: int,
    after: tuple[int, str | None] | None,
    head: tuple[int | None, str],
    reason: str,
) -> None:
    export = tmp_path / "audit.jsonl"
    if count:
        _write_known(export, count)
    else:  # what ``?from=`` past the head serves
        export.write_bytes(b"")
    with pytest.raises(ChainError) as info:
        check_file(str(export), head, workers=1, after=after)
    assert info.value.seq is None
    assert info.value.reason.startswith(reason), info.value.reason
