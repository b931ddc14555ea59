"""The cross-check of a stage's ``require_drill``: the drill runs on an earlier stage.

A stage's rollback drill (:mod:`charter.drills`) rehearses reverting the release on a stage the
rollout has already entered, so ``require_drill.stage`` must name a stage listed before the
one that requires it: not an unknown stage, not the stage itself and not a later one (which
would gate entering a stage on a drill where the release cannot run yet). Its
``recover_within`` is at most the longest recovery a drill can report
(:data:`charter.grammar_drills.MAX_RECOVERY`, 7d): a longer one could never score other than
a pass. Like the other checks
of :mod:`charter.validate`, it reads the raw data and skips what is malformed (the shape check
reports that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from charter.grammar_drills import MAX_RECOVERY
from charter.model import duration_seconds, format_compound

Loc = tuple[str | int, ...]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _map(value: Any) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


def drill_stage_problems(
    data: Mapping[str, Any], suggest: Callable[[str, Sequence[str]], str]
) -> Iterator[tuple[Loc, str]]:
    """Each ``require_drill.stage`` that is not a stage listed before its own and each
    ``recover_within`` longer than a drill can report, with where it is; ``suggest`` words a
    "did you mean" for a misspelt id."""
    stages = _list(_map(data.get("rollout")).get("stages"))
    ids = [str(_map(stage).get("id")) for stage in stages]
    for index, stage in enumerate(stages):
        required = _map(_map(stage).get("require_drill"))
        at: Loc = ("rollout", "stages", index, "require_drill")
        named = required.get("stage")
        if isinstance(named, str):
            problem = drill_stage_problem(named, ids[index], ids[:index], ids, suggest)
            if problem is not None:
                yield (*at, "stage"), problem
        too_long = recover_within_problem(required.get("recover_within"))
        if too_long is not None:
            yield (*at, "recover_within"), too_long


def recover_within_problem(value: Any) -> str | None:
    """Why ``value`` cannot be a ``recover_within``: longer than the longest recovery a drill
    can report (``drill … recovered``); None when it can, or when it is no duration at all
    (the shape check reports that)."""
    seconds = duration_seconds(value) if isinstance(value, str) else None
    if seconds is None or seconds <= MAX_RECOVERY.total_seconds():
        return None
    cap = format_compound(MAX_RECOVERY)
    return (
        f"recover_within is {value}, but a drill reports a recovery of at most {cap} (a longer"
        f" one failed), so no drill could be slow; write {cap} or less, e.g. 30m"
    )


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
