"""Plugs the web dashboard into the runtime (called by ``bot.bootstrap._wire_areas``).

It lives outside ``bot.web`` so the composition root names an application module, not a
transport; the dashboard's own ``install`` does the work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.runtime import Runtime


def install(rt: Runtime) -> None:
    from bot import web

    web.install(rt)
