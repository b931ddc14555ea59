"""A charter amendment that changes the rollout stages, with a rollout under way (the bot
restarted on the new file, the same database and clock).

Rollouts are kept by stage id: a stage inserted before canary leaves #1 on canary. A new stage
list that drops a stage a rollout under way is on, or moves a stage across one, is refused at
start, naming the rollout, the stage and what to do; nothing of it is adopted. Rows stored with
stage indexes by an earlier charterbot are read by the charter they were saved under."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from bot import rollouts
from bot.charter_adoption import CharterMovesRollouts, adopt_charter
from bot.cli import app
from bot.service import Governance
from bot.web import fast_views
from charter.load import load_charter
from storage import charters
from storage.db import read_scope, session_scope
from storage.models.rollouts import RolloutRow
from tests.bot.rollouts.conftest import COORDINATOR, MAINTAINER, H, World, form
from tests.paths import mutate

PAIR = ("aurora", "borealis")
SHA = {"aurora": "a" * 40, "borealis": "b" * 40}
V4 = ("  version: 3 ", "  version: 4 ")
SHADOW = "    - id: shadow\n      description: Shadow fork.\n      require_ready: all-clients\n"
INSERTED = mutate(V4, ("    - id: canary\n", SHADOW + "    - id: canary\n"))
APPENDED = mutate(
    V4, ("  pause_on_incident:", SHADOW.replace("shadow", "final") + "  pause_on_incident:")
)


def cut(text: str, first: str, upto: str) -> tuple[str, str]:
    """``text`` without the stage entry from ``first`` up to ``upto``, and that entry."""
    start, end = text.index(f"    - id: {first}\n"), text.index(upto)
    return text[:start] + text[end:], text[start:end]


def dropped(stage: str, upto: str) -> str:
    return cut(mutate(V4), stage, upto)[0]


def moved(stage: str, upto: str, before: str) -> str:
    """The v4 text with the ``stage`` entry moved to just before ``before``."""
    text, entry = cut(mutate(V4), stage, upto)
    return text.replace(before, entry + before, 1)


def restart(world: World, text: str) -> World:
    """The same database and clock, the bot started on ``text`` (adopted as bootstrap does)."""
    new = World.__new__(World)
    new.engine, new.clock = world.engine, world.clock
    loaded = adopt_charter(world.engine, load_charter(text, "v4.yaml"), world.clock.now())
    new.gov = Governance(world.engine, loaded, new.clock)
    rollouts.install_on(new.gov)
    return new


def on_canary(world: World) -> None:
    """#1 of aurora and borealis entered canary under v3 (adopted as at start)."""
    adopt_charter(world.engine, world.gov.loaded, world.clock.now())
    world.accept(1, form(clients=PAIR, likelihood=1, impact=1))
    for c in PAIR:
        world.ok(MAINTAINER[c], f"ready 1 {c} staging 1.0.0 {SHA[c]}")
    world.later(73 * H)
    for c in PAIR:
        world.ok(MAINTAINER[c], f"ready 1 {c} canary 1.0.0 {SHA[c]}")
        world.check(c, SHA[c], "interop-matrix")
    assert "#1 advanced to canary" in world.ok(COORDINATOR, "advance 1")


ON_CANARY = "#1 rollout — stage: canary"


@pytest.mark.parametrize("text", [INSERTED, APPENDED], ids=["before-canary", "after-production"])
def test_a_new_stage_leaves_the_rollout_on_its_stage(
    sqlite_engine: Engine, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Stored as indexes, #1 (canary, index 1) read as on shadow after shadow was inserted
    before canary, its clients' canary releases as rolled back."""
    world = World(sqlite_engine)
    on_canary(world)
    with caplog.at_level(logging.WARNING, logger="charterbot"):
        world = restart(world, text)
    shown = world.ok(None, "rollout 1")
    assert shown.splitlines()[0] == ON_CANARY
    assert "(rolled back)" not in shown
    said = [r.getMessage() for r in caplog.records if "(new in this charter)" in r.getMessage()]
    past = "#1 is already past shadow (new in this charter): it does not run there"
    assert said == ([past] if text == INSERTED else [])
    world.ok(MAINTAINER["aurora"], f"ready 1 aurora canary 1.0.1 {SHA['aurora']}")
    assert world.ok(None, "rollout 1").splitlines()[0] == ON_CANARY


AFTER = "An amendment may add stages anywhere"


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (
            dropped("canary", "    - id: production"),
            [
                "- #1 is on canary (aurora, borealis), which the new charter drops: keep canary,"
                " or first finish #1's rollout or roll its clients back off canary"
            ],
        ),
        (
            moved("production", "  pause_on_incident:", "    - id: canary\n"),
            [
                "- #1 is on canary (aurora, borealis); the new charter moves production from"
                " after canary to before it: keep production after canary, or first finish #1's"
                " rollout"
            ],
        ),
        (
            moved("canary", "    - id: production", "    - id: staging\n"),
            [
                "- #1 is on canary (aurora, borealis); the new charter moves staging from before"
                " canary to after it: keep staging before canary, or first finish #1's rollout"
            ],
        ),
    ],
    ids=["canary-dropped", "production-before-canary", "staging-after-canary"],
)
def test_stages_that_would_move_a_rollout_under_way_are_refused_at_start(
    sqlite_engine: Engine, text: str, problems: list[str]
) -> None:
    """Without the refusal: canary dropped, #1 read as on production with every client on it
    and completed at the next report; production before canary, #1 completes on canary."""
    world = World(sqlite_engine)
    on_canary(world)
    with pytest.raises(CharterMovesRollouts) as refused:
        restart(world, text)
    lines = str(refused.value).splitlines()
    assert lines[0] == "the charter v4.yaml (version 4) would move rollouts under way:"
    assert lines[1:-1] == problems
    assert lines[-1].startswith(AFTER) and lines[-1].endswith("start with the v3 charter")
    with read_scope(sqlite_engine) as session:
        assert charters.adopted_version(session) == 3  # nothing of v4 was recorded
    assert world.ok(None, "rollout 1").splitlines()[0] == ON_CANARY  # v3 runs on


def test_a_finished_rollout_does_not_hold_an_amendment_back(sqlite_engine: Engine) -> None:
    """#1 completed on production; v4 drops canary: started, #1 still completed there."""
    world = World(sqlite_engine)
    adopt_charter(world.engine, world.gov.loaded, world.clock.now())
    world.accept(1, form(clients=("aurora",), likelihood=1, impact=1))
    a = MAINTAINER["aurora"]
    world.ok(a, f"ready 1 aurora staging 1.0 {SHA['aurora']}")
    for stage in ("canary", "production"):
        world.ok(a, f"ready 1 aurora {stage} 1.0 {SHA['aurora']}")
        world.ok(COORDINATOR, f'advance 1 to {stage} --override "single-client drill"')
    world = restart(world, dropped("canary", "    - id: production"))
    shown = world.ok(None, "rollout 1")
    assert "stage: production" in shown.splitlines()[0] and "Completed" in shown


def as_indexes(engine: Engine) -> None:
    """Store #1 as an earlier charterbot did: stage indexes, no stage list."""
    stages = ["staging", "canary", "production"]
    with session_scope(engine) as session:
        row = session.get(RolloutRow, 1)
        assert row is not None
        data = json.loads(row.data)
        data["stage_index"] = stages.index(data.pop("stage"))
        data["positions"] = {c: stages.index(s) for c, s in data["positions"].items()}
        del data["stages"]
        row.data = json.dumps(data, sort_keys=True, separators=(",", ":"))
        session.add(row)


def test_a_rollout_stored_with_indexes_is_read_by_the_charter_it_was_saved_under(
    sqlite_engine: Engine,
) -> None:
    """Saved under v3 with indexes, started on v4 (shadow before canary): rewritten by v3's
    stages, on canary still, and refused like any other when v4 drops canary."""
    world = World(sqlite_engine)
    on_canary(world)
    as_indexes(sqlite_engine)
    with pytest.raises(CharterMovesRollouts, match="#1 is on canary"):
        restart(world, dropped("canary", "    - id: production"))
    world = restart(world, INSERTED)
    assert world.ok(None, "rollout 1").splitlines()[0] == ON_CANARY
    with read_scope(sqlite_engine) as session:
        row = session.get(RolloutRow, 1)
        assert row is not None and json.loads(row.data)["stage"] == "canary"


@pytest.fixture
def root_logging() -> Iterator[None]:
    """The CLI points the root logger at the stream CliRunner captured: put it back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("root_logging")
def test_the_start_refusal_is_a_sentence_and_exit_2(
    sqlite_engine: Engine, sqlite_url: str, tmp_path: Path
) -> None:
    world = World(sqlite_engine)
    on_canary(world)
    sqlite_engine.dispose()
    path = tmp_path / "v4.yaml"
    path.write_text(dropped("canary", "    - id: production"), encoding="utf-8")
    env = {"CHARTERBOT_DATABASE_URL": sqlite_url}
    # --adopt: the console adopts another charter only when told to, and then refuses one that
    # would move rollouts under way just as serve does.
    args = ["console", "--adopt", "--charter", str(path)]
    result = CliRunner().invoke(app, args, env=env, input="")
    assert result.exit_code == 2
    assert "Traceback" not in result.output + result.stderr
    assert f"error: the charter {path} (version 4) would move rollouts under way:" in result.stderr
    assert "- #1 is on canary (aurora, borealis), which the new charter drops" in result.stderr


NO_OVERRIDES = mutate(V4, ("  override_roles: [coordinators]", "  override_roles: []"))


def test_a_hand_hold_from_an_earlier_charter_can_still_be_lifted(sqlite_engine: Engine) -> None:
    """Paused by hand under v3; v4 names no override role. Coordinators and the council may
    then resume it (a maintainer still may not), and what waited happens."""
    world = World(sqlite_engine)
    adopt_charter(world.engine, world.gov.loaded, world.clock.now())
    world.accept(1, form(clients=PAIR))
    world.ok(MAINTAINER["aurora"], 'rollout pause 1 "devnet fork"')
    world = restart(world, NO_OVERRIDES)
    for client in PAIR:
        world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0")
    refused = world.refused(MAINTAINER["aurora"], "rollout resume 1")
    assert "coordinators and the security council resume a rollout paused by hand" in refused
    assert world.ok(COORDINATOR, 'rollout resume 1 "fork explained"') == (
        "#1 resumed; it entered staging"
    )


RENAMED = mutate(V4, ("    - id: production\n", "    - id: mainnet\n"))


def test_a_completed_rollout_stays_completed_on_a_renamed_last_stage(
    sqlite_engine: Engine,
) -> None:
    """#1 completed on production; v4 renames it mainnet. Chat and the dashboard show #1 on
    mainnet, completed, with no stage to advance to (not on canary with production missing)."""
    world = World(sqlite_engine)
    adopt_charter(world.engine, world.gov.loaded, world.clock.now())
    world.accept(1, form(clients=("aurora",), likelihood=1, impact=1))
    aurora = MAINTAINER["aurora"]
    world.ok(aurora, f"ready 1 aurora staging 1.0 {SHA['aurora']}")
    for stage in ("canary", "production"):
        world.ok(aurora, f"ready 1 aurora {stage} 1.0 {SHA['aurora']}")
        world.ok(COORDINATOR, f'advance 1 to {stage} --override "single-client drill"')
    world = restart(world, RENAMED)
    shown = world.ok(None, "rollout 1").splitlines()
    assert shown[0] == "#1 rollout — stage: mainnet" and "Completed" in "\n".join(shown)
    assert not any(line.startswith("Gates for") for line in shown)
    views, _, _ = fast_views.rollouts_page(world.gov, world.clock.now(), 1)
    [view] = [v for v in views if v["proposal"] == 1]
    assert (view["stage"], view["next_stage"]) == ("mainnet", None)
