"""GitHub REST JSON → snapshots (the same shapes webhooks embed).

Rules: ids become strings, times tz-aware UTC, a null body the empty string; an issue JSON that
carries a `pull_request` key is a pull request.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.ports import (
    CheckSnapshot,
    CommentSnapshot,
    HookDelivery,
    HookDeliverySummary,
    IssueSnapshot,
    ReleaseSnapshot,
)


class WireFormatError(ValueError):
    """GitHub (or a stand-in) sent JSON without a field we need."""


def parse_time(value: Any) -> datetime:
    """GitHub's ISO 8601 timestamps (`2019-05-15T15:20:18Z`) as tz-aware UTC."""
    if not isinstance(value, str):
        raise WireFormatError(f"expected an ISO 8601 timestamp, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise WireFormatError(f"expected an ISO 8601 timestamp, got {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def same_login(a: str, b: str) -> bool:
    """Whether two logins name one account: GitHub logins are unique without regard to case."""
    return a.casefold() == b.casefold()


def format_time(value: datetime) -> str:
    """The `since` parameter format GitHub expects (UTC, seconds, `Z`)."""
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware (UTC)")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def issue_snapshot(data: Mapping[str, Any]) -> IssueSnapshot:
    return IssueSnapshot(
        number=int(_need(data, "number", "issue")),
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        author=_login(data.get("user")),
        labels=tuple(str(lb["name"]) for lb in data.get("labels") or () if "name" in lb),
        state=str(data.get("state") or "open"),
        created_at=parse_time(_need(data, "created_at", "issue")),
        updated_at=parse_time(_need(data, "updated_at", "issue")),
        html_url=str(data.get("html_url") or ""),
        is_pull_request=bool(data.get("pull_request")),
    )


def comment_snapshot(data: Mapping[str, Any], issue_number: int) -> CommentSnapshot:
    return CommentSnapshot(
        comment_id=str(_need(data, "id", "comment")),
        issue_number=issue_number,
        author=_login(data.get("user")),
        body=str(data.get("body") or ""),
        created_at=parse_time(_need(data, "created_at", "comment")),
        updated_at=parse_time(_need(data, "updated_at", "comment")),
        html_url=str(data.get("html_url") or ""),
    )


def check_snapshot(data: Mapping[str, Any]) -> CheckSnapshot:
    conclusion = data.get("conclusion")
    suite = data.get("check_suite")
    branch = data.get("head_branch") or (
        suite.get("head_branch") if isinstance(suite, Mapping) else None
    )
    return CheckSnapshot(
        name=str(_need(data, "name", "check run")),
        head_sha=str(_need(data, "head_sha", "check run")),
        status=str(data.get("status") or ""),
        conclusion=None if conclusion is None else str(conclusion),
        html_url=str(data.get("html_url") or ""),
        run_id=str(data.get("id") or ""),
        head_branch=str(branch) if branch else None,
        started_at=time_or_none(data.get("started_at")),
        completed_at=time_or_none(data.get("completed_at")),
    )


def release_snapshot(data: Mapping[str, Any]) -> ReleaseSnapshot:
    """One item of GET /repos/{repo}/releases (the ``release`` object a webhook carries)."""
    published = data.get("published_at")
    return ReleaseSnapshot(
        release_id=str(_need(data, "id", "release")),
        tag=str(_need(data, "tag_name", "release")),
        body=str(data.get("body") or ""),
        author=_login(data.get("author")),
        draft=bool(data.get("draft")),
        prerelease=bool(data.get("prerelease")),
        published_at=None if published is None else parse_time(published),
        name=str(data.get("name") or ""),
        html_url=str(data.get("html_url") or ""),
        created_at=time_or_none(data.get("created_at")),
    )


def time_or_none(value: Any) -> datetime | None:
    """An optional time; an odd one is dropped (it orders deliveries, it is not the event)."""
    try:
        return None if value is None else parse_time(value)
    except WireFormatError:
        return None


def issue_number_of(issue_url: str) -> int:
    """`…/repos/o/r/issues/7` → 7 (comments carry their issue only as a URL)."""
    tail = issue_url.rstrip("/").rsplit("/", 1)[-1]
    if not tail.isdigit():
        raise WireFormatError(f"not an issue URL: {issue_url!r}")
    return int(tail)


def _need(data: Mapping[str, Any], key: str, what: str) -> Any:
    value = data.get(key)
    if value is None:
        raise WireFormatError(f"{what} JSON is missing {key!r}")
    return value


def _login(user: Any) -> str:
    if isinstance(user, Mapping) and user.get("login"):
        return str(user["login"])
    # Deleted accounts come back as null users; GitHub shows them as "ghost".
    return "ghost"


def hook_delivery_summary(data: Mapping[str, Any]) -> HookDeliverySummary:
    """One item of GET /repos/{repo}/hooks/{hook_id}/deliveries."""
    try:
        return HookDeliverySummary(
            id=int(data["id"]),
            guid=str(data["guid"]),
            event=str(data["event"]),
            status_code=int(data.get("status_code") or 0),
            delivered_at=parse_time(data["delivered_at"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WireFormatError(f"a hook delivery without {exc}: {dict(data)!r:.200}") from exc


def hook_delivery(data: Mapping[str, Any]) -> HookDelivery:
    """GET /repos/{repo}/hooks/{hook_id}/deliveries/{id}: the event and what GitHub sent."""
    request = data.get("request")
    payload = request.get("payload") if isinstance(request, Mapping) else None
    if not isinstance(payload, Mapping) or not isinstance(data.get("guid"), str):
        raise WireFormatError(f"a hook delivery without its request payload: {dict(data)!r:.200}")
    return HookDelivery(guid=data["guid"], event=str(data.get("event", "")), payload=dict(payload))
