"""REST handlers of the GitHub stand-in: issues, comments, labels, check runs, releases, webhook
deliveries.

Each handler takes (store, base_url, path params, query, JSON body, caller login) and returns a
`Reply`. Shapes, status codes and error bodies follow GitHub's REST reference.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from tests.standins.github_store import CheckRunRec, Store, user_json

NOT_FOUND = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}


@dataclass
class Reply:
    status: int
    data: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Store, str, dict[str, str], dict[str, str], Any, str], Reply]


def page(
    base: str, path: str, query: dict[str, str], items: list[Any]
) -> tuple[list[Any], dict[str, str]]:
    """GitHub pagination: `per_page` (default 30, max 100), `page`, and a `Link` header."""
    per_page = min(int(query.get("per_page", 30)), 100)
    number = max(int(query.get("page", 1)), 1)
    chunk = items[(number - 1) * per_page : number * per_page]
    last = max((len(items) + per_page - 1) // per_page, 1)
    links = []
    rels = (("prev", number - 1), ("next", number + 1), ("first", 1), ("last", last))
    for rel, target in rels:
        if (rel in ("prev", "first") and number > 1) or (rel in ("next", "last") and number < last):
            qs = urlencode({**query, "page": target})
            links.append(f'<{base}{path}?{qs}>; rel="{rel}"')
    return chunk, ({"link": ", ".join(links)} if links else {})


def _since(query: dict[str, str]) -> datetime | None:
    value = query.get("since")
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _invalid(resource: str, code: str, field_name: str) -> Reply:
    errors = [{"resource": resource, "code": code, "field": field_name}]
    return Reply(422, {"message": "Validation Failed", "errors": errors})


# -- issues ---------------------------------------------------------------------------------


def list_issues(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    state = q.get("state", "open")
    since = _since(q)
    items = [
        i
        for i in store.issues.values()
        if (state == "all" or i.state == state) and (since is None or i.updated_at >= since)
    ]
    by = "updated_at" if q.get("sort") == "updated" else "created_at"
    items.sort(
        key=lambda i: (getattr(i, by), i.number), reverse=q.get("direction", "desc") == "desc"
    )
    chunk, headers = page(base, f"/repos/{store.repo}/issues", q, items)
    return Reply(200, [store.issue_json(base, i) for i in chunk], headers)


def get_issue(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    rec = store.issues.get(int(p["number"]))
    return Reply(200, store.issue_json(base, rec)) if rec else Reply(404, NOT_FOUND)


def create_issue(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    if not isinstance(body, dict) or not body.get("title"):
        return _invalid("Issue", "missing_field", "title")
    rec = store.add_issue(body["title"], body.get("body"), login, tuple(body.get("labels") or ()))
    return Reply(201, store.issue_json(base, rec))


def edit_issue(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    number = int(p["number"])
    if number not in store.issues:
        return Reply(404, NOT_FOUND)
    rec = store.edit_issue(number, **(body if isinstance(body, dict) else {}))
    return Reply(200, store.issue_json(base, rec))


# -- comments -------------------------------------------------------------------------------


def list_comments(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    number = int(p["number"])
    if number not in store.issues:
        return Reply(404, NOT_FOUND)
    since = _since(q)
    items = sorted(
        (
            c
            for c in store.comments.values()
            if c.issue_number == number and (since is None or c.updated_at >= since)
        ),
        key=lambda c: c.id,
    )
    chunk, headers = page(base, f"/repos/{store.repo}/issues/{number}/comments", q, items)
    return Reply(200, [store.comment_json(base, c) for c in chunk], headers)


def create_comment(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    number = int(p["number"])
    if number not in store.issues:
        return Reply(404, NOT_FOUND)
    if not isinstance(body, dict) or not body.get("body"):
        return _invalid("IssueComment", "missing_field", "body")
    return Reply(201, store.comment_json(base, store.add_comment(number, body["body"], login)))


def get_comment(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    rec = store.comments.get(int(p["id"]))
    return Reply(200, store.comment_json(base, rec)) if rec else Reply(404, NOT_FOUND)


def edit_comment(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    comment_id = int(p["id"])
    if comment_id not in store.comments:
        return Reply(404, NOT_FOUND)
    if not isinstance(body, dict) or not body.get("body"):
        return _invalid("IssueComment", "missing_field", "body")
    return Reply(200, store.comment_json(base, store.edit_comment(comment_id, body["body"])))


def delete_comment(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    return Reply(204) if store.comments.pop(int(p["id"]), None) else Reply(404, NOT_FOUND)


# -- labels ---------------------------------------------------------------------------------


def list_labels(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    items = sorted(store.labels.values(), key=lambda lb: lb.name.lower())
    chunk, headers = page(base, f"/repos/{store.repo}/labels", q, items)
    return Reply(200, [store.label_json(base, lb) for lb in chunk], headers)


def create_label(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    if not isinstance(body, dict) or not body.get("name"):
        return _invalid("Label", "missing_field", "name")
    if not re.fullmatch(r"[0-9a-fA-F]{6}", str(body.get("color", "ededed"))):
        return _invalid("Label", "invalid", "color")
    if body["name"].lower() in store.labels:
        return _invalid("Label", "already_exists", "name")
    rec = store.ensure_label(body["name"])
    rec.color = str(body.get("color", "ededed"))
    rec.description = body.get("description")
    return Reply(201, store.label_json(base, rec))


def get_label(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    rec = store.labels.get(p["name"].lower())
    return Reply(200, store.label_json(base, rec)) if rec else Reply(404, NOT_FOUND)


def _label_names(body: Any) -> list[str]:
    names = body.get("labels") if isinstance(body, dict) else body
    return [str(n) for n in names or ()]


def add_issue_labels(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    rec = store.issues.get(int(p["number"]))
    if rec is None:
        return Reply(404, NOT_FOUND)
    for name in _label_names(body):
        label = store.ensure_label(name)  # GitHub creates unknown labels here too
        if label.name.lower() not in (n.lower() for n in rec.labels):
            rec.labels.append(label.name)
    rec.updated_at = store.now
    return Reply(200, [store.label_json(base, store.ensure_label(n)) for n in rec.labels])


def set_issue_labels(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    number = int(p["number"])
    if number not in store.issues:
        return Reply(404, NOT_FOUND)
    rec = store.edit_issue(number, labels=_label_names(body))
    return Reply(200, [store.label_json(base, store.ensure_label(n)) for n in rec.labels])


def remove_issue_label(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    rec = store.issues.get(int(p["number"]))
    if rec is None:
        return Reply(404, NOT_FOUND)
    kept = [n for n in rec.labels if n.lower() != p["name"].lower()]
    if len(kept) == len(rec.labels):
        return Reply(404, {"message": "Label does not exist"})
    rec.labels = kept
    rec.updated_at = store.now
    return Reply(200, [store.label_json(base, store.ensure_label(n)) for n in rec.labels])


# -- checks and repos -----------------------------------------------------------------------


def list_check_runs(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    """GET /repos/{o}/{r}/commits/{ref}/check-runs. ``ref``: a sha (7+ hex digits abbreviate
    it), a tag (``v1`` or ``tags/v1``) or a branch (``heads/main``: its runs, by head_branch).
    ``filter=latest`` (GitHub's default) keeps the latest run of each name; ``all`` every one."""
    repo, ref = p["owner_repo"], p["ref"]
    sha = store.commit_of(repo, ref).lower()
    branch = ref.removeprefix("heads/") if ref.startswith("heads/") else None

    def on_ref(run: CheckRunRec) -> bool:
        if branch is not None:
            return run.head_branch == branch
        return run.head_sha == sha or (len(sha) >= 7 and run.head_sha.startswith(sha))

    items = [r for r in store.check_runs if r.repo == repo and on_ref(r)]
    if q.get("filter", "latest") == "latest":
        latest = {r.name: r for r in sorted(items, key=lambda r: r.id)}
        items = sorted(latest.values(), key=lambda r: r.id)
    chunk, headers = page(base, f"/repos/{repo}/commits/{ref}/check-runs", q, items)
    data = {"total_count": len(items), "check_runs": [store.check_run_json(base, r) for r in chunk]}
    return Reply(200, data, headers)


def list_releases(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    """GET /repos/{o}/{r}/releases (any repository, a client's): newest first, drafts too
    (the token may push)."""
    repo = p["owner_repo"]
    items = sorted((r for r in store.releases if r.repo == repo), key=lambda r: -r.id)
    chunk, headers = page(base, f"/repos/{repo}/releases", q, items)
    return Reply(200, [store.release_json(base, r) for r in chunk], headers)


def get_repo(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    return Reply(200, store.repo_json(base, store.repo))


def get_user(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    return Reply(200, user_json(base, login))


def rate_limit(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    return Reply(200, {"resources": {}, "rate": {}})


# -- webhook deliveries ----------------------------------------------------------------------


def list_deliveries(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    """Newest first; ``cursor`` pagination (the next page starts below the cursor's id)."""
    if int(p["hook"]) != store.hook_id:
        return Reply(404, NOT_FOUND)
    per_page = min(int(q.get("per_page", 30)), 100)
    below = int(q["cursor"]) if "cursor" in q else None
    items = sorted(store.deliveries, key=lambda d: d.id, reverse=True)
    items = [d for d in items if below is None or d.id < below]
    chunk, rest = items[:per_page], items[per_page:]
    headers = {}
    if rest:
        qs = urlencode({**q, "cursor": chunk[-1].id, "per_page": per_page})
        headers["link"] = (
            f'<{base}/repos/{store.repo}/hooks/{p["hook"]}/deliveries?{qs}>; rel="next"'
        )
    return Reply(200, [store.delivery_json(d) for d in chunk], headers)


def get_delivery(
    store: Store, base: str, p: dict[str, str], q: dict[str, str], body: Any, login: str
) -> Reply:
    found = [d for d in store.deliveries if d.id == int(p["id"])]
    if int(p["hook"]) != store.hook_id or not found:
        return Reply(404, NOT_FOUND)
    return Reply(200, store.delivery_json(found[0], detail=True))


REPO = r"/repos/(?P<repo>[^/]+/[^/]+)"
_TABLE: list[tuple[str, str, Handler]] = [
    ("GET", REPO, get_repo),
    ("GET", REPO + r"/issues", list_issues),
    ("POST", REPO + r"/issues", create_issue),
    ("GET", REPO + r"/issues/(?P<number>\d+)", get_issue),
    ("PATCH", REPO + r"/issues/(?P<number>\d+)", edit_issue),
    ("GET", REPO + r"/issues/(?P<number>\d+)/comments", list_comments),
    ("POST", REPO + r"/issues/(?P<number>\d+)/comments", create_comment),
    ("GET", REPO + r"/issues/comments/(?P<id>\d+)", get_comment),
    ("PATCH", REPO + r"/issues/comments/(?P<id>\d+)", edit_comment),
    ("DELETE", REPO + r"/issues/comments/(?P<id>\d+)", delete_comment),
    ("GET", REPO + r"/labels", list_labels),
    ("POST", REPO + r"/labels", create_label),
    ("GET", REPO + r"/labels/(?P<name>.+)", get_label),
    ("POST", REPO + r"/issues/(?P<number>\d+)/labels", add_issue_labels),
    ("PUT", REPO + r"/issues/(?P<number>\d+)/labels", set_issue_labels),
    ("DELETE", REPO + r"/issues/(?P<number>\d+)/labels/(?P<name>.+)", remove_issue_label),
    (
        "GET",
        r"/repos/(?P<owner_repo>[^/]+/[^/]+)/commits/(?P<ref>.+?)/check-runs",
        list_check_runs,
    ),
    ("GET", r"/repos/(?P<owner_repo>[^/]+/[^/]+)/releases", list_releases),
    ("GET", REPO + r"/hooks/(?P<hook>\d+)/deliveries", list_deliveries),
    ("GET", REPO + r"/hooks/(?P<hook>\d+)/deliveries/(?P<id>\d+)", get_delivery),
    ("GET", r"/user", get_user),
    ("GET", r"/rate_limit", rate_limit),
]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (verb, re.compile(pattern), handler) for verb, pattern, handler in _TABLE
]
