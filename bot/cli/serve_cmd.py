"""``charterbot serve``: load the charter, migrate, serve HTTP and run the transports.

The address is ``--host``/``--port``, else ``CHARTERBOT_HTTP_HOST``/``CHARTERBOT_HTTP_PORT``; a
port outside 1..65535, or one another process listens on, stops the command before the server
and its loops start (``error: …``, exit 2), naming the option and the setting that choose
another.
"""

from __future__ import annotations

import errno
import logging
import socket
import sys
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.db_cmd import DatabaseUrl
from bot.cli.startup import DATABASE_SETTING, CharterFile
from bot.logs import configure_logging

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from bot.settings import Settings


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option(None, help="Bind address (default CHARTERBOT_HTTP_HOST)."),
        port: int = typer.Option(
            None, help="Port, 1 to 65535 (default CHARTERBOT_HTTP_PORT).", show_default=False
        ),
        demo: bool = typer.Option(
            False, "--demo", help="Seed a demo campaign on an empty database."
        ),
        charter: CharterFile = None,
        database_url: DatabaseUrl = None,
    ) -> None:
        """Serve the bot: HTTP (webhooks, API, dashboard) plus Discord/Slack when configured."""
        from bot.bootstrap import unsigned_webhooks
        from bot.cli.startup import refuse_unfit_demo, start

        settings = _settings(host, port, charter, database_url)
        if demo:
            refuse_unfit_demo(settings)
        configure_logging(settings.log_format, settings.log_level)
        log = logging.getLogger("charterbot")
        rt = start(settings, database_from="--database-url" if database_url else DATABASE_SETTING)
        busy = listen_problem(settings.http_host, settings.http_port)
        if busy:  # before the demo is seeded and the loops start
            rt.engine.dispose()
            typer.echo(f"error: {busy}", err=True)
            raise typer.Exit(2)
        unsigned = unsigned_webhooks(settings)
        if unsigned:
            log.warning(unsigned)
        rt.demo = demo
        if demo:
            _seed_demo(rt, log)
        log.info(
            "charterbot serving %s on http://%s:%s (database %s)",
            rt.loaded.charter.charter.name,
            settings.http_host,
            settings.http_port,
            rt.engine.url.render_as_string(hide_password=True),
        )
        _run_server(rt, settings)
        log.info("charterbot stopped")
        sys.exit(0)


def _settings(
    host: str | None, port: int | None, charter: CharterFile, database_url: DatabaseUrl
) -> Settings:
    """The settings with the command's options applied; exit 2 on a port out of range."""
    from bot.cli.startup import load_settings, with_options
    from bot.setting_checks import port_problem

    settings = with_options(load_settings(), charter=charter, database_url=database_url)
    if port is not None and (problem := port_problem(port)):
        typer.echo(f"error: --port: {problem} (got {port})", err=True)
        raise typer.Exit(2)
    return settings.listening_on(
        host or settings.http_host, settings.http_port if port is None else port
    )


def _seed_demo(rt: Runtime, log: logging.Logger) -> None:
    """Seed the demo campaign on an empty database; exit 2 when seeding fails half-way."""
    from bot.demo import DemoFailed, seed_if_empty

    try:
        seeded = seed_if_empty(rt)
    except DemoFailed as error:  # half-seeded: say so and what to do, not a traceback
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    log.info("demo data %s", "seeded" if seeded else "already present (not reseeded)")


def _run_server(rt: Runtime, settings: Settings) -> None:
    """Serve HTTP until SIGTERM/SIGINT, then let the database connections go."""
    import uvicorn

    from bot.http import create_app

    config = uvicorn.Config(
        create_app(rt),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        lifespan="on",
        # Open dashboards hold live-update streams; don't let them delay a stop for long.
        timeout_graceful_shutdown=5,
    )
    server = _Server(config)
    server.run()  # on SIGTERM/SIGINT: stop accepting, finish requests, run the lifespan exit
    rt.engine.dispose()


def listen_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on ``host:port`` now (None when it could): each address
    the host resolves to is bound once, as the server will bind it, and let go. Checked before
    the server starts, so a port already taken is one line naming what chooses another, not a
    server that starts its loops and then fails."""
    where = f"{host}:{port}"
    try:
        addresses = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        return f"cannot listen on {where}: {exc.strerror}; set --host or CHARTERBOT_HTTP_HOST"
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
            try:
                probe.bind(address)
            except OSError as exc:
                return _bind_refusal(where, exc)
    return None


def _bind_refusal(where: str, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {where}: another process is listening there; choose another"
            " port with --port or CHARTERBOT_HTTP_PORT"
        )
    return (
        f"cannot listen on {where}: {exc.strerror or exc}; choose another port with --port or"
        " CHARTERBOT_HTTP_PORT, or another address with --host or CHARTERBOT_HTTP_HOST"
    )


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
