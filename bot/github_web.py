"""Where GitHub's web pages are: the one source of every link to an issue, a release or a
search that charterbot writes (e-mails, announcements, feeds, the dashboard, replies).

Rules:
- The web host follows ``CHARTERBOT_GITHUB_API_URL``: github.com's API (api.github.com) is
  served for https://github.com; a GitHub Enterprise Server's API lives under ``/api/v3`` of its
  web host (https://ghe.example.com/api/v3 -> https://ghe.example.com); GitHub Enterprise Cloud
  with data residency serves its API on the ``api.`` host of its ``<subdomain>.ghe.com``
  (https://api.acme.ghe.com -> https://acme.ghe.com).
- Kept outside ``bot.github`` so that every transport (the dashboard included) may use it.
"""

from __future__ import annotations

import re

GITHUB_WEB = "https://github.com"
GITHUB_API = "https://api.github.com"


# GitHub Enterprise Cloud with data residency: https://api.<subdomain>.ghe.com
_GHE_COM_API = re.compile(r"^(https://)api\.([a-z0-9-]+\.ghe\.com)$", re.IGNORECASE)


def default_web_url(api_url: str) -> str:
    """github.com's API lives on api.github.com, GHE.com's on api.<subdomain>.ghe.com, GHES's
    under /api/v3 of the web host."""
    api = api_url.rstrip("/")
    if api == GITHUB_API:
        return GITHUB_WEB
    if match := _GHE_COM_API.match(api):
        return match.group(1) + match.group(2)
    return re.sub(r"/api/v3$", "", api)


def repo_page(web: str, repo: str, path: str = "") -> str:
    """A page of ``repo`` (``owner/name``) on the GitHub at ``web``: ``/issues/7``, …"""
    return f"{web.rstrip('/')}/{repo}{path}"
