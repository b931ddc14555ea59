"""Webhook signatures: GitHub's official vector, its mutations, and no `==` on signatures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.github.signature import expected_signature, verify_signature

SECRET = b"It's a Secret to Everybody"
BODY = b"Hello, World!"
OFFICIAL = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
BOT = Path(__file__).resolve().parents[3] / "bot"


def _flip_hex_digit(header: str) -> str:
    last = header[-1]
    return header[:-1] + ("0" if last != "0" else "1")


def test_official_vector_verifies() -> None:
    """GitHub's documented test vector verifies, and we compute exactly that header."""
    assert expected_signature(SECRET, BODY) == OFFICIAL
    assert verify_signature(SECRET, BODY, OFFICIAL)


JSON_BODY = b'{"action":"opened","issue":{"number":1}}'
JSON_SIG = expected_signature(SECRET, JSON_BODY)


@pytest.mark.parametrize(
    ("body", "header"),
    [
        pytest.param(b"Hello, World?", OFFICIAL, id="body-byte-flipped"),
        pytest.param(BODY, _flip_hex_digit(OFFICIAL), id="hex-digit-flipped"),
        pytest.param(BODY, "sha1=" + OFFICIAL.removeprefix("sha256="), id="sha1-prefix"),
        pytest.param(BODY, OFFICIAL.removeprefix("sha256="), id="no-prefix"),
        pytest.param(BODY, None, id="missing"),
        pytest.param(BODY, "", id="empty"),
        pytest.param(BODY, "sha256=", id="prefix-only"),
        pytest.param(BODY, "sha256=" + OFFICIAL[7:].upper(), id="uppercase-hex"),
        pytest.param(BODY, "SHA256=" + OFFICIAL[7:], id="uppercase-prefix"),
        pytest.param(BODY, OFFICIAL + " ", id="trailing-space-in-header"),
        pytest.param(BODY + b"\n", OFFICIAL, id="trailing-newline-in-body"),
        pytest.param(
            json.dumps(json.loads(JSON_BODY), indent=2).encode(), JSON_SIG, id="re-serialised-json"
        ),
        pytest.param(BODY, "sha256=ü" + OFFICIAL[8:], id="non-ascii-header"),
    ],
)
def test_mutations_are_rejected(body: bytes, header: str | None) -> None:
    """Any change to body or header — or a missing one — fails verification."""
    assert not verify_signature(SECRET, body, header)


def test_wrong_secret_is_rejected() -> None:
    """A delivery signed with another secret is rejected."""
    assert not verify_signature(b"another secret", BODY, OFFICIAL)


def test_empty_secret_is_a_configuration_error() -> None:
    """An empty secret would make every signature forgeable: refuse to verify at all."""
    with pytest.raises(ValueError, match="CHARTERBOT_GITHUB_WEBHOOK_SECRET"):
        verify_signature(b"", BODY, OFFICIAL)


# Any `==` / `!=` with an operand that is a signature, an HMAC or a digest() result.
SIG_OPERAND = (
    r"(?:[\w.]*(?:signature|hmac)[\w.]*(?:\([^)]*\))?"
    r"|\b(?:sig|\w+_sig|sig_\w+)\b"
    r"|[\w.]*\.(?:hex)?digest\(\))"
)
EQ_ON_SIGNATURE = re.compile(rf"{SIG_OPERAND}\s*[!=]=|[!=]=\s*{SIG_OPERAND}", re.IGNORECASE)


@pytest.mark.parametrize(
    ("line", "flagged"),
    [
        ("if signature == expected:", True),
        ("return expected != header_sig", True),
        ("ok = hmac.new(k, b, sha256).hexdigest() == received", True),
        ("if x_hub_signature_256 == computed:", True),
        ("return hmac.compare_digest(expected, received)", False),
        ("if request_sig != computed:", True),
        ("if status == 403:", False),
        ("if assigned == owner:", False),
        ("if digest_mode == 'weekly':", False),
    ],
)
def test_equality_detector_detects(line: str, flagged: bool) -> None:
    """The source check below would catch a plain comparison of signatures."""
    assert bool(EQ_ON_SIGNATURE.search(line)) is flagged


def test_no_plain_equality_on_signatures_in_bot() -> None:
    """Rule: signatures are compared only with hmac.compare_digest, never `==` / `!=`."""
    offenders = [
        f"{path.relative_to(BOT.parent)}:{number}: {line.strip()}"
        for path in sorted(BOT.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if not line.lstrip().startswith("#") and EQ_ON_SIGNATURE.search(line)
    ]
    assert offenders == []
