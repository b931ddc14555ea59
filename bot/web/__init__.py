"""The web dashboard (a transport): read-only pages over the service's views, live via SSE.

``install(rt)`` adds the routes, the background tasks (audit verification, live-update poll)
and hooks the service's ``on_change`` so open pages refresh when something changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.web.app import Dashboard

if TYPE_CHECKING:
    from bot.web.queries import RuntimeLike as Runtime  # not bot.runtime: transports stay apart

__all__ = ["Dashboard", "install"]


def install(rt: Runtime) -> Dashboard:
    dashboard = Dashboard(rt)
    rt.extras["dashboard"] = dashboard
    previous = rt.gov.on_change

    def on_change() -> None:
        previous()
        dashboard.live.notify()

    rt.gov.on_change = on_change
    routes = rt.extras.setdefault("routes", [])
    routes.extend(dashboard.routes())
    rt.extras.setdefault("startup", []).extend([dashboard.live.run, dashboard.audit.run])

    async def stop() -> None:
        dashboard.live.stopped.set()
        dashboard.audit.stopped.set()

    rt.extras.setdefault("shutdown", []).append(stop)
    return dashboard
