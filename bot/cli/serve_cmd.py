"""``charterbot serve``: load the charter, migrate, serve HTTP and run the transports."""

from __future__ import annotations

import logging
import sys
from typing import Any

import typer

from bot.logs import configure_logging


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option(None, help="Bind address (default CHARTERBOT_HTTP_HOST)."),
        port: int = typer.Option(None, help="Port (default CHARTERBOT_HTTP_PORT)."),
        demo: bool = typer.Option(
            False, "--demo", help="Seed a demo campaign on an empty database."
        ),
    ) -> None:
        """Serve the bot: HTTP (webhooks, API, dashboard) plus Discord/Slack when configured."""
        import uvicorn

        from bot.cli.startup import load_settings, start
        from bot.http import create_app

        settings = load_settings()
        configure_logging(settings.log_format, settings.log_level)
        log = logging.getLogger("charterbot")
        rt = start(settings)
        rt.demo = demo
        if demo:
            from bot.demo import seed_if_empty

            seeded = seed_if_empty(rt)
            log.info("demo data %s", "seeded" if seeded else "already present (not reseeded)")
        bind_host = host or settings.http_host
        bind_port = port or settings.http_port
        log.info(
            "charterbot serving %s on http://%s:%s (database %s)",
            rt.loaded.charter.charter.name,
            bind_host,
            bind_port,
            rt.engine.url.render_as_string(hide_password=True),
        )
        config = uvicorn.Config(
            create_app(rt),
            host=bind_host,
            port=bind_port,
            log_config=None,
            lifespan="on",
            # Open dashboards hold live-update streams; don't let them delay a stop for long.
            timeout_graceful_shutdown=5,
        )
        server = _Server(config)
        server.run()  # on SIGTERM/SIGINT: stop accepting, finish requests, run the lifespan exit
        rt.engine.dispose()
        log.info("charterbot stopped")
        sys.exit(0)


class _GracefulExit:
    """SIGTERM and SIGINT ask the server to stop; the process then exits 0 (a clean stop)."""

    def __init__(self, server: object) -> None:
        self._server = server

    def __enter__(self) -> None:
        import signal

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        self._server.should_exit = True  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        return None


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        def capture_signals(self) -> _GracefulExit:  # type: ignore[override]
            # uvicorn re-raises the signal after shutting down (exit status -15); a service
            # manager should see a clean stop instead.
            return _GracefulExit(self)

    return Server


def _Server(config: Any) -> Any:
    return _server_class()(config)
