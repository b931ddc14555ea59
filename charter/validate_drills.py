"""The cross-check of a stage's ``require_drill``: the drill runs on an earlier stage.

A stage's rollback drill (:mod:`charter.drills`) rehearses reverting the release on a stage the
rollout has already entered, so ``require_drill.stage`` must name a stage listed before the
one that requires it: not an unknown stage, not the stage itself and not a later one (which
would gate entering a stage on a drill where the release cannot run yet). Like the other checks
of :mod:`charter.validate`, it reads the raw data and skips what is malformed (the shape check
reports that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

Loc = tuple[str | int, ...]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _map(value: Any) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


def drill_stage_problems(
    data: Mapping[str, Any], suggest: Callable[[str, Sequence[str]], str]
) -> Iterator[tuple[Loc, str]]:
    """Each ``require_drill.stage`` that is not a stage listed before its own, with where it
    is; ``suggest`` words a "did you mean" for a misspelt id."""
    stages = _list(_map(data.get("rollout")).get("stages"))
    ids = [str(_map(stage).get("id")) for stage in stages]
    for index, stage in enumerate(stages):
        named = _map(_map(stage).get("require_drill")).get("stage")
        if not isinstance(named, str):
            continue
        problem = drill_stage_problem(named, ids[index], ids[:index], ids, suggest)
        if problem is not None:
            yield ("rollout", "stages", index, "require_drill", "stage"), problem


def drill_stage_problem(
    named: str,
    own: str,
    earlier: Sequence[str],
    every: Sequence[str],
    suggest: Callable[[str, Sequence[str]], str],
) -> str | None:
    """Why ``named`` cannot be the drill stage of stage ``own`` (None when it can), given the
    stages listed before ``own`` and every stage id."""
    if named in earlier:
        return None
    if not earlier:
        return (
            f"{own} is the first stage: no stage comes before it to run a rollback drill on;"
            " require the drill on a later stage"
        )
    choices = ", ".join(earlier)
    if named == own:
        return f"a stage cannot require a rollback drill on itself; name an earlier one: {choices}"
    if named in every:
        return f"{named} comes after {own}: a rollback drill runs on an earlier stage: {choices}"
    return f"unknown stage {named!r}{suggest(named, earlier)}; the stages before {own}: {choices}"
