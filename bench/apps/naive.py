"""Reference (b): the naive app that inserts one SQLModel row per request and commits.

No auth, no validation, no audit, no events: what "a web app that writes a row" costs here. It
uses the engine crewcall uses (`server.db.Database`: SQLite WAL with one pooled connection and
BEGIN IMMEDIATE, or the same PostgreSQL pool) and the same sync session in Starlette's threadpool.
Database URL from BENCH_DATABASE_URL; run with `uvicorn bench.apps.naive:create_app --factory`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.db import Database


class BenchRow(SQLModel, table=True):
    __tablename__ = "bench_rows"

    id: str = Field(primary_key=True)
    title: str
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime


def create_app() -> Starlette:
    db = Database(os.environ["BENCH_DATABASE_URL"])
    SQLModel.metadata.create_all(db.engine, tables=[BenchRow.__table__])  # type: ignore[attr-defined]

    def insert(data: dict[str, Any]) -> str:
        with db(write=True) as session:
            row = BenchRow(
                id="row_" + secrets.token_hex(8),
                title=str(data.get("title", "")),
                body=data,
                created_at=datetime.now(UTC),
            )
            session.add(row)
            session.commit()
            return row.model_dump_json()

    async def create(request: Request) -> Response:
        data = json.loads(await request.body())
        body = await anyio.to_thread.run_sync(insert, data)
        return Response(body, status_code=201, media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        db.dispose()

    return Starlette(routes=[Route("/v1/tasks", create, methods=["POST"])], lifespan=lifespan)
