"""Where a published head (given as a hash only) falls in a confirmed block of hashes
(storage.audit_blocks.anchor): only a whole stored hash counts, one starting on a 64-character
boundary; text spanning two hashes that happens to equal it is no entry."""

from __future__ import annotations

import pytest

from storage.audit_blocks import anchor

A, B, C = "a" * 64, "b" * 64, "c" * 64
HASHES = A + B + C  # entries 11, 12, 13 (the block after entry 10)
RUN = "0" * 32 + "e" * 32 + "e" * 32 + "f" * 32 + "e" * 64  # "e" * 64 at 32, then at 128


@pytest.mark.parametrize(
    ("hashes", "want", "found"),
    [
        pytest.param(HASHES, A, (11, A), id="first"),
        pytest.param(HASHES, B, (12, B), id="on-a-boundary"),
        pytest.param(HASHES, C, (13, C), id="last"),
        pytest.param(HASHES, HASHES[63:127], None, id="spanning-at-63"),
        pytest.param(HASHES, HASHES[32:96], None, id="spanning-at-32"),
        pytest.param(HASHES, HASHES[65:129], None, id="spanning-at-65"),
        pytest.param(HASHES, "d" * 64, None, id="absent"),
        pytest.param(RUN, "e" * 64, (13, "e" * 64), id="spanning-first-then-whole"),
    ],
)
def test_a_head_given_by_hash_is_found_only_as_a_whole_hash(
    hashes: str, want: str, found: tuple[int, str] | None
) -> None:
    assert anchor((None, want), 10, 13, hashes) == found


@pytest.mark.parametrize(("seq", "found"), [(10, None), (11, (11, A)), (13, (13, C)), (14, None)])
def test_a_head_given_by_seq_is_read_at_its_place(seq: int, found: tuple[int, str] | None) -> None:
    assert anchor((seq, "9" * 64), 10, 13, HASHES) == found
