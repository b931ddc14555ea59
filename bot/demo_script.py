"""The demo campaign's script: ten proposals over thirty days, and the issue bodies they file.

``bot.demo`` plays it (``seed``): every step goes through the bot's real entry points on a clock
that starts thirty days ago. The names, clients and versions are the reference charter's: a
charter without what the script uses (:func:`unfit`) is refused before anything is written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from charter import drills
from charter.model import Charter, format_compound
from storage.db import session_scope
from storage.rollouts import load_rollout

if TYPE_CHECKING:
    from bot.demo import Campaign


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


ALL_CLIENTS = ("aurora", "borealis", "cirrus", "dorado", "eridanus")


def proposal_body(
    *,
    track: str,
    summary: str,
    clients: tuple[str, ...] = ALL_CLIENTS,
    activation: str = "_No response_",
    flag: str = "_No response_",
    rollback: str = "Ship a point release that removes the change; announce it on all channels.",
    tests: str = "Cross-client interop matrix on a devnet for 72 hours under 2x load.",
    likelihood: str = "2",
    impact: str = "3",
) -> str:
    """An issue body as GitHub renders the upgrade-proposal issue form."""
    boxes = "\n".join(f"- [{'X' if c in clients else ' '}] {c}" for c in ALL_CLIENTS)
    sections = (
        ("Track", track),
        ("Summary", summary),
        ("Specification", "https://specs.meridian.example/" + track),
        ("Affected clients", boxes),
        ("Activation target", activation),
        ("Feature flag", flag),
        ("Rollback plan", rollback),
        ("Test plan", tests),
        ("Risk likelihood", likelihood),
        ("Risk impact", impact),
        ("Prerequisites and dependency versions", "_No response_"),
    )
    return "\n\n".join(f"### {name}\n\n{value}" for name, value in sections) + "\n"


SHA = {  # commit SHAs the clients' CI reports checks on
    "aurora": "a1f3c9e2b7d4",
    "borealis": "b20e7716c0aa",
    "cirrus": "c3d41e9f2a55",
    "dorado": "d0ad0c41b9e8",
    "eridanus": "e7a2f0c6d113",
}
VERSION = {
    "aurora": "v4.3.0",
    "borealis": "v1.20.0",
    "cirrus": "v25.2.0",
    "dorado": "v3.1.0",
    "eridanus": "v0.10.0",
}
REPO = {c: f"meridian-net/{c}" for c in ALL_CLIENTS}
# What the script uses of the charter: the logins it acts as (by the client or role they act
# for), the tracks its proposals pick, the stages it rolls out on, the incidents it declares.
MAINTAINERS = {
    "aurora": ("alice-aurora", "bob-aurora"),
    "borealis": ("carmen-borealis", "dmitri-borealis"),
    "cirrus": ("emeka-cirrus",),
    "dorado": ("fatima-dorado", "gustav-dorado"),
    "eridanus": ("hana-eridanus",),
}
ROLES = {
    "coordinators": ("ines-coord", "jonas-coord"),
    "security-council": ("kofi-sec", "lena-sec", "mateo-sec"),
}
TRACKS = ("protocol-change", "feature-flag", "charter-amendment", "security-patch")
STAGES = ("staging", "canary", "production")
SEVERITIES = ("sev2", "sev3")
INCIDENT_ROLES = ("lead",)


def unfit(charter: Charter) -> list[str]:
    """What the script uses that ``charter`` lacks, each as "no …" (empty: the demo fits)."""
    clients = {c.id: c for c in charter.clients}
    lacks: list[str] = []
    for client_id, logins in MAINTAINERS.items():
        client = clients.get(client_id)
        if client is None:
            lacks.append(f"no client {client_id}")
            continue
        if client.repository != REPO[client_id]:
            lacks.append(f"no repository {REPO[client_id]} for client {client_id}")
        lacks += _lacking(logins, client.maintainers, f"{client_id}'s maintainers")
    for role, logins in ROLES.items():
        if role not in charter.roles:
            lacks.append(f"no role {role}")
        else:
            lacks += _lacking(logins, charter.roles[role], f"the {role}")
    lacks += [f"no track {t}" for t in TRACKS if t not in charter.tracks]
    lacks += [f"no stage {s}" for s in STAGES if s not in charter.stage_ids]
    lacks += [
        f"no incident severity {s}" for s in SEVERITIES if s not in charter.incidents.severities
    ]
    lacks += [f"no incident role {r}" for r in INCIDENT_ROLES if r not in charter.incidents.roles]
    return lacks


def _lacking(logins: tuple[str, ...], held: tuple[str, ...], among: str) -> list[str]:
    have = {login.lower() for login in held}
    return [f"no {login} among {among}" for login in logins if login.lower() not in have]


async def play(c: Campaign) -> None:
    """The script: ten proposals over thirty days, every state the dashboard shows.

    Steps are in time order (the clock never goes back).
    """
    # 1 — a protocol change from intake to canary (accepted day 10, rolling out since day 13).
    gas = await c.issue(
        "Raise the block gas target to 36M",
        "alice-aurora",
        track="protocol-change",
        summary="Raise the block gas target from 30M to 36M: blocks carry 20% more transactions.",
        activation=iso(c.start + timedelta(days=60)),
        likelihood="2",
        impact="4",
    )
    # 2 — a feature flag, accepted with one reject; staging readiness stays partial.
    flag = await c.issue(
        "Parallel transaction execution behind --parallel-exec",
        "carmen-borealis",
        track="feature-flag",
        summary="Execute non-conflicting transactions in parallel when the flag is on.",
        flag="parallel-exec",
        clients=("aurora", "borealis", "cirrus", "eridanus"),
    )
    c.day(3)
    for login, vote in (
        ("alice-aurora", "approve"),
        ("carmen-borealis", "approve"),
        ("emeka-cirrus", "approve"),
        ("gustav-dorado", "reject not before our executor rewrite lands"),
        ("hana-eridanus", "abstain"),
    ):
        await c.comment(flag, f"/vote {vote}", login)
    c.day(5)
    # 3 — a protocol change that is rejected.
    epochs = await c.issue(
        "Shorten epochs to 16 slots",
        "emeka-cirrus",
        track="protocol-change",
        summary="Halve the epoch length so finality arrives twice as fast.",
        activation=iso(c.start + timedelta(days=75)),
    )
    c.day(7.2)
    await c.comment(gas, "Ready on our side.\n/vote approve", "alice-aurora")
    c.day(7.5)
    await c.comment(gas, "/vote approve", "carmen-borealis")
    c.day(8)
    await c.comment(gas, "/vote approve", "emeka-cirrus")
    # 4 — a proposal its author withdraws.
    snap = await c.issue(
        "SSZ-encoded state snapshots",
        "hana-eridanus",
        track="feature-flag",
        summary="Serve state snapshots in SSZ instead of RLP.",
        flag="ssz-snapshots",
    )
    c.day(8.3)
    await c.comment(
        gas, "/concern fee-spike: simulate base-fee spikes at the new target first", "fatima-dorado"
    )
    c.day(9)
    await c.comment(gas, "Simulation attached; fine.\n/resolve fee-spike", "fatima-dorado")
    c.console("gustav-dorado", f"vote {gas} approve")
    c.day(9.2)
    await c.comment(gas, "/vote approve LGTM", "hana-eridanus")
    c.day(9.5)
    c.console("hana-eridanus", f"withdraw {snap}")
    await _staging(c, gas, flag)
    c.day(12.3)
    for login, vote in (
        ("alice-aurora", "approve"),
        ("dmitri-borealis", "reject halves the time clients have to import a block"),
        ("emeka-cirrus", "approve"),
        ("fatima-dorado", "reject"),
        ("hana-eridanus", "abstain"),
    ):
        await c.comment(epochs, f"/vote {vote}", login)
    await _canary(c, gas, flag)
    await _later_proposals(c)


async def _staging(c: Campaign, gas: int, flag: int) -> None:
    c.day(11)
    await c.release(REPO["aurora"], "v4.3.0-rc1", f"charterbot: ready {gas} staging", "bob-aurora")
    c.day(11.5)
    for client in ("borealis", "cirrus", "dorado"):
        login = _maintainer(c, client)
        c.console(login, f"ready {gas} {client} staging {VERSION[client]}-rc1 {SHA[client]}0")
    c.day(12.1)
    for client in ("aurora", "borealis"):
        login = _maintainer(c, client)
        c.console(login, f"ready {flag} {client} staging {VERSION[client]}-pe {SHA[client]}1")


async def _canary(c: Campaign, gas: int, flag: int) -> None:
    c.day(13)
    c.console("hana-eridanus", f"ready {gas} eridanus staging v0.10.0-rc1 {SHA['eridanus']}0")
    c.day(14)
    for client in ALL_CLIENTS:
        login = _maintainer(c, client)
        c.console(login, f"ready {gas} {client} canary {VERSION[client]} {SHA[client]}")
        await c.check(REPO[client], "interop-matrix", SHA[client], "success")
    c.day(15)
    await _drills(c, gas)
    c.day(16.2)
    _drill_what_is_required(c, gas)
    c.console("ines-coord", f"advance {gas}")
    c.day(17)
    c.console("emeka-cirrus", f"ready {flag} cirrus staging v25.2.0-pe {SHA['cirrus']}1")


# Rollback drills on canary: each team reverts its release there and times the recovery.
DRILLS = {
    "aurora": "recovered 8m restored from the pre-upgrade snapshot",
    "borealis": "recovered 42m resync from genesis was slower than planned",
    "cirrus": 'failed "the node did not start: its database was already migrated"',
    "dorado": "recovered 15m",
}


async def _drills(c: Campaign, gas: int) -> None:
    """Four clients drill their rollback on canary; eridanus plans its drill."""
    for client, result in DRILLS.items():
        c.console(_maintainer(c, client), f"drill {gas} {client} canary {result}")
    c.console("hana-eridanus", f"drill schedule {gas} eridanus canary in 3 weeks")


def _drill_what_is_required(c: Campaign, n: int) -> None:
    """Before an advance: when the stage it enters requires a rollback drill (its
    ``require_drill``, read from the charter, so any charter that requires one still seeds),
    each client of the rollout without a passing drill that counts on the stage named reports
    one, recovering in half the time allowed."""
    charter = c.gov.charter
    with session_scope(c.rt.engine) as session:
        rollout = load_rollout(session, n, charter)
    assert rollout is not None, f"#{n} has no rollout to advance"
    required = charter.rollout.stages[rollout.stage_index + 1].require_drill
    if required is None:
        return
    took = format_compound(max(required.recover_within // 2, timedelta(seconds=1)))
    for client in rollout.clients:
        found = drills.standing(rollout, charter, client, required.stage)
        if found is None or not found.counts or found.outcome != "pass":
            c.console(
                _maintainer(c, client), f"drill {n} {client} {required.stage} recovered {took}"
            )


async def _production(c: Campaign, gas: int) -> None:
    """Four clients report their production release; dorado's fuzzing fails, eridanus waits."""
    c.day(27.2)
    for client in ("aurora", "borealis", "cirrus", "dorado"):
        login = _maintainer(c, client)
        c.console(login, f"ready {gas} {client} production {VERSION[client]} {SHA[client]}")
        outcome = "failure" if client == "dorado" else "success"
        await c.check(REPO[client], "differential-fuzz", SHA[client], outcome)


async def _later_proposals(c: Campaign) -> None:
    # 5 — a charter amendment in voting, a few seats cast.
    c.day(19)
    amend = await c.issue(
        "Admit Fornax as a sixth client",
        "ines-coord",
        track="charter-amendment",
        summary="Add the Fornax client (Zig) with one seat once it passes the interop matrix.",
    )
    # 6 — a protocol change in voting, closing soon, with an open concern.
    c.day(20)
    blobs = await c.issue(
        "Raise the blob target from 6 to 9 per block",
        "bob-aurora",
        track="protocol-change",
        summary="Raise the per-block blob target and maximum by half.",
        activation=iso(c.start + timedelta(days=70)),
    )
    c.day(23.5)
    c.console(
        "jonas-coord", 'incident declare sev2 "Dorado canary nodes stall at block import" for 1'
    )
    c.day(24)
    c.console("jonas-coord", "incident role lead fatima-dorado")
    c.day(24.5)
    c.console("fatima-dorado", 'incident update "Root cause: a lock held across the import."')
    c.day(25.2)
    c.console("fatima-dorado", 'incident resolve "Fixed in dorado v3.1.1; canary healthy."')
    # 7 — a protocol change in review.
    await c.issue(
        "BLS12-381 precompile",
        "dmitri-borealis",
        track="protocol-change",
        summary="Add precompiles for BLS12-381 pairing and map-to-curve.",
        activation=iso(c.start + timedelta(days=90)),
    )
    c.day(26.5)
    await c.comment(amend, "/vote approve", "jonas-coord")
    await c.comment(amend, "/vote approve welcome aboard", "alice-aurora")
    c.console("emeka-cirrus", f"vote {amend} abstain")
    await _production(c, 1)
    c.day(27.5)
    await c.comment(blobs, "/vote approve", "bob-aurora")
    await c.comment(blobs, "/vote approve", "dmitri-borealis")
    c.day(28)
    await c.comment(
        blobs, "/concern bandwidth: home validators on 25 Mbit/s links fall behind", "gustav-dorado"
    )
    c.console("hana-eridanus", f"vote {blobs} reject bandwidth for home stakers")
    # 8 — a feature flag in review.
    c.day(28.5)
    await c.issue(
        "Deprecate legacy JSON-RPC eth_ endpoints",
        "gustav-dorado",
        track="feature-flag",
        summary="Answer legacy eth_ endpoints with a deprecation error when the flag is on.",
        flag="no-legacy-rpc",
        clients=("dorado", "eridanus"),
    )
    # 9 — a confidential security patch under vote (undisclosed: the public pages hide it).
    c.day(29)
    patch = await c.issue(
        "Peer-scoring bypass in gossip validation",
        "lena-sec",
        track="security-patch",
        summary="A crafted attestation resets a peer's score; fix the scoring path.",
        likelihood="3",
        impact="5",
    )
    c.day(29.1)
    for login in ("kofi-sec", "mateo-sec"):
        c.console(login, f"vote {patch} approve")
    # 10 — a draft whose form is incomplete.
    c.day(29.2)
    await c.issue(
        "Faster sync via state expiry",
        "fatima-dorado",
        track="protocol-change",
        summary="Expire state untouched for a year.",
        rollback="_No response_",
        activation="_No response_",
    )
    c.day(29.5)
    c.console("jonas-coord", 'incident declare sev3 "Eridanus canary RPC latency above SLO" for 1')


def _maintainer(c: Campaign, client: str) -> str:
    found = next(cl for cl in c.rt.loaded.charter.clients if cl.id == client)
    return found.maintainers[0]
