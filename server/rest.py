"""REST: one route per registry entry. No domain logic lives here."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from starlette._utils import get_route_path
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound, Route
from starlette.types import Receive, Scope, Send

from server.dbthreads import DbThreads
from server.logs import request_id_var
from tools.errors import SchemaValidationFailed, ToolError, schema_error
from tools.registry import ToolSpec
from tools.runner import Call, Result

log = logging.getLogger("crewcall.rest")
T = TypeVar("T")
JSON = "application/json"


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


def error_response(exc: ToolError, request_id: str) -> Response:
    headers = {"X-Request-Id": request_id}
    if exc.http_status == 429 and "retry_after" in exc.details:
        headers["Retry-After"] = str(exc.details["retry_after"])
    body = json.dumps(exc.envelope(request_id), default=str)
    return Response(body, status_code=exc.http_status, media_type=JSON, headers=headers)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def read_json_body(request: Request, *, max_bytes: int) -> dict[str, Any]:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise _body_error(f"The body is larger than {max_bytes} bytes.")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > max_bytes:
            raise _body_error(f"The body is larger than {max_bytes} bytes.")
    if not raw.strip():
        return {}
    ctype = request.headers.get("content-type", "")
    if ctype.split(";")[0].strip().lower() not in (JSON, "application/merge-patch+json", ""):
        raise _body_error(f"Send JSON with Content-Type: application/json (got {ctype!r}).")
    try:
        data = _parse_json(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _body_error(f"The body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise _body_error("The body must be a JSON object.")
    return data


_LONG_NUMBER = re.compile(rb"\d{19}")


def _parse_json(raw: bytes) -> Any:
    """orjson, several times faster; the json module where orjson would differ: integers beyond
    64 bits (orjson reads them as floats), and whatever orjson refuses, so the error names what
    and where, and what json always accepted (NaN, lone surrogate escapes, which the runner then
    refuses with a pointer) still is."""
    if not _LONG_NUMBER.search(raw):
        with contextlib.suppress(orjson.JSONDecodeError):
            return orjson.loads(raw)
    return json.loads(raw)


def _body_error(message: str) -> SchemaValidationFailed:
    return SchemaValidationFailed(message, errors=[schema_error("", message)])


class RestEndpoint:
    """The ASGI endpoint of one tool."""

    def __init__(self, spec: ToolSpec, app_state: Any) -> None:
        self.spec = spec
        self.state = app_state

    async def handle(self, request: Request) -> Response:
        spec, state = self.spec, self.state
        request_id = request_id_var.get()
        token = bearer_token(request)
        client = request.client.host if request.client else "unknown"
        try:
            if spec.method in ("GET", "DELETE"):
                arguments: dict[str, Any] = dict(request.query_params)
            else:
                arguments = await read_json_body(request, max_bytes=state.settings.max_body_bytes)
            arguments.update(request.path_params)
            call = Call(
                tool=spec,
                arguments=arguments,
                token=token,
                request_id=request_id,
                idempotency_key=request.headers.get("idempotency-key"),
                client=client,
            )
            result = await run_call(state, call)
        except ToolError as exc:
            return error_response(exc, request_id)
        except Exception as exc:  # never a trace to the client; the log keeps it
            return await unhandled(request, exc)
        headers = {"X-Request-Id": request_id}
        if result.replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(result.body, status_code=result.status_code, media_type=JSON, headers=headers)


async def run_call(state: Any, call: Call) -> Result:
    """Every transport's way into the runner (REST, MCP, the pages): the caller's rate limit,
    then the tool call in a database thread."""
    await state.rate_limits.check(state.identity_of(call.token, call.client), money=call.tool.money)
    return await in_db_thread(state, state.runner, call)


async def in_db_thread(state: Any, func: Callable[..., T], *args: Any) -> T:
    """Run blocking database work (a tool call, a transaction) off the event loop, in the
    threads every transport shares (REST, MCP, the pages, the file routes)."""
    return await db_threads(state).run(func, *args)


def db_threads(state: Any) -> DbThreads:
    """The threads of tool calls (`CREWCALL_DB_THREADS`, see `default_db_threads`)."""
    threads = state.extras.get("db_threads")
    if threads is None:
        size = state.settings.db_threads or default_db_threads(state.db)
        together = state.db.run_together if state.db.groups_commits else None
        threads = state.extras["db_threads"] = DbThreads(size, together=together)
    return threads


def default_db_threads(db: Any) -> int:
    """SQLite: one, for its one connection (a second thread only waits for it, and every
    hand-over wakes a thread under the GIL). PostgreSQL: four, enough to overlap the round trips
    of one process whose Python runs under one GIL (ten measured 15-20 % slower), and never more
    than half the pool, which the job worker shares."""
    if db.dialect == "sqlite":
        return 1
    return max(1, min(4, db.connections // 2))


def routes(tools: dict[str, ToolSpec], app_state: Any) -> list[BaseRoute]:
    # One route per path, dispatching on the method: a 405 then lists in Allow every method the
    # path supports (RFC 9110), not just those of whichever tool's route matched first.
    by_path: dict[str, dict[str, RestEndpoint]] = {}
    for spec in tools.values():
        by_path.setdefault(spec.path, {})[spec.method] = RestEndpoint(spec, app_state)
    return [
        RouteTable(
            [
                Route(
                    path, _by_method(endpoints), methods=list(endpoints), name=next(iter(endpoints.values())).spec.name
                )
                for path, endpoints in by_path.items()
            ]
        )
    ]


class RouteTable(BaseRoute):
    """Routes grouped by their first two path segments (`/v1/tasks…`), so a request tries the
    few routes of its group rather than every route in turn: Starlette's router matches one
    regular expression after another, which cost 4 % of a create-task with ~40 paths."""

    _MATCHED = "crewcall.route"

    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        self.groups: dict[str, list[Route]] = {}
        for route in routes:
            if "{" in _group(route.path):
                raise ValueError(f"{route.path}: no parameter may come before the third segment")
            self.groups.setdefault(_group(route.path), []).append(route)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        partial: tuple[Match, Scope] | None = None
        for route in self.groups.get(_group(get_route_path(scope)), ()):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return match, {**child_scope, self._MATCHED: route}
            if match is Match.PARTIAL and partial is None:
                partial = match, {**child_scope, self._MATCHED: route}
        return partial or (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope[self._MATCHED].handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)


def _group(path: str) -> str:
    """`/v1/tasks/{task_id}/cancel` → `/v1/tasks`: route paths have no parameter before that."""
    return "/".join(path.split("/", 3)[:3])


def _by_method(endpoints: dict[str, RestEndpoint]) -> Any:
    async def handle(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await endpoints[method].handle(request)

    return handle


async def http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    request_id = request_id_var.get()
    if exc.status_code == 404:
        err: ToolError = _not_found(f"No route {request.method} {request.url.path}. See GET / for the endpoint map.")
    elif exc.status_code == 405:
        err = _policy(f"{request.method} is not allowed on {request.url.path}.")
        err.http_status = 405
    else:
        err = ToolError(str(exc.detail))
        err.http_status = exc.status_code
    response = error_response(err, request_id)
    response.headers.update(exc.headers or {})  # e.g. the Allow header a 405 must carry (RFC 9110)
    return response


async def unhandled(request: Request, exc: Exception) -> Response:
    request_id = request_id_var.get()
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        ToolError(f"Internal error ({type(exc).__name__}); quote request id {request_id}."), request_id
    )


def _not_found(message: str) -> ToolError:
    from tools.errors import NotFound

    return NotFound(message)


def _policy(message: str) -> ToolError:
    from tools.errors import PolicyBlocked

    return PolicyBlocked(message)
