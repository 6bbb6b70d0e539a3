"""The app factory: settings → storage → services → runner → transports."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from server import billing_page, discovery, mcp, rest, uploads
from server.db import Database
from server.logs import request_id_var
from server.ratelimit import RateLimits, identity_of
from server.settings import Settings
from tools.ports import Config, Services, SystemClock
from tools.registry import registry
from tools.runner import Runner

log = logging.getLogger("crewcall.app")


@dataclass
class AppState:
    settings: Settings
    db: Database
    services: Services
    runner: Runner
    rate_limits: RateLimits
    identity_of: Any = identity_of
    extras: dict[str, Any] = field(default_factory=dict)


def build_services(settings: Settings) -> Services:
    from server.adapters.files import LocalFileStore
    from server.adapters.geocoder import Gazetteer

    config = Config(
        base_url=settings.public_url,
        secret_key=settings.secret_key,
        key_mode="live" if settings.env == "production" else "test",
        spend_cap_cents=settings.spend_cap * 100,
    )
    from server.adapters.payments import LedgerPayments

    return Services(
        clock=SystemClock(),
        geocoder=Gazetteer(),
        config=config,
        payments=LedgerPayments(),
        files=LocalFileStore(settings.file_root),
    )


def build_state(settings: Settings, *, services: Services | None = None) -> AppState:
    db = Database(settings.db_url)
    services = services or build_services(settings)
    state = AppState(
        settings=settings,
        db=db,
        services=services,
        runner=Runner(db, services),
        rate_limits=RateLimits(
            per_minute=settings.rate_limit_per_minute,
            money_per_minute=settings.rate_limit_money_per_minute,
            storage=settings.rate_limit_storage,
        ),
    )
    from server.worker import install  # mailer, outbound HTTP, the in-process job worker

    install(state)
    return state


def freeze_startup_objects() -> None:
    """Move what start-up loaded (the gazetteer's 34 000 cities, templates, the registry, the
    libraries) out of the garbage collector's sight: it lives as long as the process, and a full
    collection that walks it stops every request for ~0.4 s, which was the p99 of the
    create-task benchmark (BENCHMARKS.md). Objects made later are collected as usual."""
    gc.collect()
    gc.freeze()


class RequestIdMiddleware:
    """Gives every request an id (or keeps the caller's X-Request-Id) for logs and envelopes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given if given and len(given) <= 100 and given.isprintable() else rest.new_request_id()
        token = request_id_var.set(rid)
        try:
            await self.app(scope, receive, send)
        finally:
            request_id_var.reset(token)


def create_app(
    settings: Settings | None = None, *, state: AppState | None = None, migrate: bool | None = None
) -> Starlette:
    settings = settings or (state.settings if state else Settings())
    state = state or build_state(settings)
    tools = registry()
    if migrate is None:
        migrate = state.db.dialect == "sqlite"

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if migrate:
            state.db.migrate()
        elif state.db.pending_migrations():
            # Refuse to serve a schema the code does not match; replicas never migrate on their own.
            raise RuntimeError("the database is not migrated to the current schema: run `crewcall migrate` first")
        state.services.geocoder.warm()  # type: ignore[attr-defined]
        if settings.seed_demo:
            from server.demo_seed import seed_demo_talent

            seed_demo_talent(state)
        freeze_startup_objects()
        async with contextlib.AsyncExitStack() as stack:
            for starter in state.extras.get("lifespan", []):
                await stack.enter_async_context(starter(state))
            yield
        if (threads := state.extras.pop("db_threads", None)) is not None:
            threads.shutdown()
        state.db.dispose()

    app = Starlette(
        # MCP last: its routes are the SDK's app; discovery answers GET / and the generated files.
        routes=rest.routes(tools, state)
        + billing_page.routes(state)
        + uploads.routes(state)
        + discovery.routes(state)
        + mcp.routes(state),
        lifespan=lifespan,
        exception_handlers={HTTPException: rest.http_exception, Exception: rest.unhandled},
    )
    app.state.crewcall = state
    app.add_middleware(RequestIdMiddleware)
    return app
