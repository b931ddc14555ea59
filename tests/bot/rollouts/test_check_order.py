"""A check run's result is the newest GitHub reports, not the last delivery to arrive.

GitHub does not order deliveries, and a failed one is redelivered (or fetched by the
reconciler) later: the first run's success arriving after its re-run failed must not turn the
``require_checks`` gate green.
"""

from __future__ import annotations

import copy

from tests.bot.rollouts.conftest import CLIENTS, COORDINATOR, MAINTAINER, H, World, form, webhook

SHA = {c: f"{i + 1:x}" * 40 for i, c in enumerate(CLIENTS)}


def run(world: World, client: str, run_id: int, conclusion: str, completed_at: str) -> None:
    payload = copy.deepcopy(webhook("check_run", "completed"))
    payload["repository"]["full_name"] = world.gov.charter.client(client).repository  # type: ignore[union-attr]
    payload["check_run"].update(
        id=run_id,
        head_sha=SHA[client],
        name="interop-matrix",
        conclusion=conclusion,
        status="completed",
        started_at=completed_at,
        completed_at=completed_at,
    )
    world.deliver("check_run", payload)


def test_a_stale_success_does_not_undo_a_newer_failure(world: World) -> None:
    world.accept(1, form())
    for client in CLIENTS:
        world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0 {SHA[client][:10]}")
    world.later(73 * H)
    for client in CLIENTS:
        world.ok(MAINTAINER[client], f"ready 1 {client} canary 1.1.0 {SHA[client][:10]}")
        if client != "aurora":
            run(world, client, 100 + CLIENTS.index(client), "success", "2026-06-12T10:00:00Z")
    run(world, "aurora", 2, "failure", "2026-06-12T12:00:00Z")  # the re-run failed
    failed = "interop-matrix on aurora@"
    assert failed in world.refused(COORDINATOR, "advance 1")
    run(world, "aurora", 1, "success", "2026-06-12T10:00:00Z")  # run 1, delivered late
    assert failed in world.refused(COORDINATOR, "advance 1")
    run(world, "aurora", 3, "success", "2026-06-12T13:00:00Z")  # a newer re-run passed
    assert "advanced to canary" in world.ok(COORDINATOR, "advance 1")
