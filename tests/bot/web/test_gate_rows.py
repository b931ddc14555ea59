"""The dashboard names each gate once: its row shows the gate's name, then its reason without
the label some gates begin their reason with ("soak", not "soak: soak: …")."""

from __future__ import annotations

import re

import httpx
import pytest

from bot.web.queries import gate_rows

LABELS = {"soak": "soak:", "go_no_go": "go/no-go:", "risk": "risk:"}


def rows(html: str) -> list[tuple[str, str]]:
    """Each gate row of a page as (gate, reason), tags dropped."""
    found = re.findall(r"<strong>([a-z_]+)</strong>: ([^<]*)</li>", html)
    return [(gate, reason.strip()) for gate, reason in found]


@pytest.mark.parametrize("path", ["/", "/rollouts", "/proposals/1"])
async def test_each_gate_is_named_once(client: httpx.AsyncClient, path: str) -> None:
    shown = rows((await client.get(path)).text)
    gates = {gate for gate, _ in shown}
    assert gates & set(LABELS)  # the demo shows labelled gates here: the check means something
    for gate, reason in shown:
        assert not reason.startswith(LABELS.get(gate, "\0")), (gate, reason)


@pytest.mark.parametrize(
    ("gate", "reason", "row"),
    [
        ("soak", "soak: canary has run 1d of 14d", "canary has run 1d of 14d"),
        ("go_no_go", "go/no-go: no decision recorded", "no decision recorded"),
        ("risk", "risk: 20 is above 15", "20 is above 15"),
        ("require_ready", "aurora has not reported", "aurora has not reported"),
        ("require_checks", "soak: is not a label here", "soak: is not a label here"),
    ],
    ids=["soak", "go-no-go", "risk", "unlabelled", "another-gates-label"],
)
def test_gate_rows_drop_only_the_gates_own_label(gate: str, reason: str, row: str) -> None:
    assert gate_rows([{"gate": gate, "passed": False, "reason": reason}]) == [
        {"gate": gate, "passed": False, "reason": row}
    ]
