"""Cursor pagination over time-sortable ids, newest first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

T = TypeVar("T")


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(20, ge=1, le=100, description="How many items to return (1-100).")
    cursor: str | None = Field(None, description="The next_cursor of the previous page.")


class ListPage(BaseModel, Generic[T]):
    object: Literal["list"] = "list"
    data: list[T]
    has_more: bool
    next_cursor: str | None = Field(None, description="Pass as cursor to get the next page.")


def paginate(
    session: Session, stmt: Any, id_column: Any, query: PageQuery, to_public: Callable[[Any], T]
) -> ListPage[T]:
    if query.cursor:
        stmt = stmt.where(id_column < query.cursor)
    rows = list(session.exec(stmt.order_by(id_column.desc()).limit(query.limit + 1)))
    has_more = len(rows) > query.limit
    rows = rows[: query.limit]
    return ListPage[T](
        data=[to_public(r) for r in rows],
        has_more=has_more,
        next_cursor=rows[-1].id if has_more else None,
    )
