"""The `crewcall` command."""

from __future__ import annotations

import argparse
import os
import sys


def _settings():  # type: ignore[no-untyped-def]
    from server.settings import Settings

    return Settings()


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from server.app import create_app
    from server.logs import configure

    if args.demo:
        os.environ["CREWCALL_SEED_DEMO"] = "1"
    settings = _settings()
    configure(settings.log_level)
    host, port = args.host or settings.host, args.port or settings.port
    if args.host or args.port:
        settings = settings.model_copy(update={"host": host, "port": port})
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=settings.access_log,
        log_config=None,
        server_header=False,
    )


def migrate(args: argparse.Namespace) -> None:
    from server.db import Database

    settings = _settings()
    db = Database(settings.db_url)
    db.migrate()
    print(f"migrated {settings.db_url.split('@')[-1]}")


def seed_demo(args: argparse.Namespace) -> None:
    from server.app import build_state

    state = build_state(_settings())
    state.db.migrate()
    print(f"seeded {__import__('server.demo_seed', fromlist=['x']).seed_demo_talent(state)} demo talent")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="crewcall", description="Hire people for real-world work, from an AI agent.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run the HTTP server (REST, MCP, discovery, pages)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--demo", action="store_true", help="seed demo talent on start")
    p.set_defaults(func=serve)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=migrate)
    sub.add_parser("seed-demo", help="create the demo talent").set_defaults(func=seed_demo)
    for extra in _extra_commands():
        extra(sub)
    args = parser.parse_args(argv)
    args.func(args)


def _extra_commands():  # type: ignore[no-untyped-def]
    """Sub-commands contributed by other modules (mcp, worker, demo, mail), when present."""
    import importlib

    for name in ("server.mcp", "server.discovery", "server.worker", "server.demo", "server.mail"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        register = getattr(module, "register_cli", None)
        if register:
            yield register


if __name__ == "__main__":
    sys.exit(main())
