"""Runs one tool call: authenticate, validate, idempotency, one transaction, serialise."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from tools import accounts
from tools.context import Ctx
from tools.errors import (
    AuthScopeDenied,
    ConflictIdempotency,
    PolicyBlocked,
    SchemaValidationFailed,
    ToolError,
    schema_error,
)
from tools.models import IdempotencyRecord, Principal
from tools.ports import Services
from tools.registry import ToolSpec

log = logging.getLogger("crewcall.runner")

MAX_IDEMPOTENCY_KEY = 255


class Sessions(Protocol):
    def __call__(self, *, write: bool) -> AbstractContextManager[Session]:
        """A new session; `write` asks for a write transaction from the start (SQLite IMMEDIATE)."""
        ...

    def after_commit(self, hooks: list[Callable[[], None]]) -> None:
        """Run `hooks` once what the sessions just committed is durable: at once, or when the
        session was part of a larger transaction (server/db.py's group commit), after that."""
        ...


@dataclass(frozen=True)
class Call:
    """One invocation of a tool, as a transport hands it over."""

    tool: ToolSpec
    arguments: dict[str, Any]
    token: str | None = None
    request_id: str = "req_local"
    idempotency_key: str | None = None
    client: str = "local"  #: who calls, for the idempotency scope of unauthenticated calls


@dataclass(frozen=True)
class Result:
    status_code: int
    body: str  #: the output model as JSON
    replayed: bool = False

    def data(self) -> dict[str, Any]:
        return json.loads(self.body)


T = TypeVar("T")


def in_transaction(
    sessions: Sessions,
    services: Services,
    func: Callable[[Ctx], T],
    *,
    name: str,
    write: bool = True,
    principal: Principal | None = None,
    request_id: str = "req_local",
) -> T:
    """Run `func(ctx)` in one transaction, as a tool call runs: commit, or roll back on any
    exception; then the after-commit hooks. For work that is not a registry tool (the file
    routes' bytes, scheduled ticks)."""
    after_commit: list[Callable[[], None]] = []
    with sessions(write=write) as session:
        ctx = Ctx(session, services, principal, request_id, name, after_commit)
        try:
            result = func(ctx)
            session.commit()
        except BaseException:
            session.rollback()
            raise
    sessions.after_commit(after_commit)
    return result


def run_hooks(hooks: list[Callable[[], None]]) -> None:
    for hook in hooks:
        try:
            hook()
        except Exception:  # a wake-up that fails must not fail a committed call
            log.exception("after-commit hook failed")


def pydantic_errors(exc: ValidationError) -> SchemaValidationFailed:
    errors = []
    for err in exc.errors(include_url=False):
        pointer = "/" + "/".join(str(part) for part in err["loc"]) if err["loc"] else ""
        errors.append(schema_error(pointer, err["msg"]))
    return SchemaValidationFailed("Request validation failed", errors=errors)


class Runner:
    def __init__(self, sessions: Sessions, services: Services) -> None:
        self.sessions = sessions
        self.services = services

    def __call__(self, call: Call) -> Result:
        key = call.idempotency_key if call.tool.mutating else None
        if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
            raise SchemaValidationFailed(
                "Idempotency-Key must be 1 to 255 characters",
                errors=[schema_error("/headers/Idempotency-Key", "1 to 255 characters")],
            )
        for attempt in range(3):
            try:
                return self._run_once(call, key)
            except PolicyBlocked as exc:
                # The refusal rolled back; its event goes out in a transaction of its own.
                from tools.refusals import record_policy_block

                record_policy_block(self.sessions, self.services, call, exc)
                raise
            except OperationalError as exc:
                # SQLite "database is locked" or a PostgreSQL serialization failure: try again.
                if attempt == 2 or not _retryable(exc):
                    raise
                log.warning("retrying %s after %s", call.tool.name, exc.orig)
        raise AssertionError("unreachable")

    @staticmethod
    def _validate(call: Call) -> BaseModel:
        spec = call.tool
        if not _storable(call.arguments) and (bad := list(_unstorable_strings(call.arguments, ""))):
            # Neither database stores NUL, nor can text with lone surrogates be encoded as UTF-8.
            raise SchemaValidationFailed(
                "Request validation failed",
                errors=[schema_error(pointer, "text contains a NUL character or invalid Unicode") for pointer in bad],
            )
        try:
            return spec.input_model.model_validate(call.arguments)
        except ValidationError as exc:
            error = pydantic_errors(exc)
            # Report every problem at once: the model may know more checks on the raw input.
            more = getattr(spec.input_model, "more_errors", None)
            if more is not None:
                error.details["errors"] += more(call.arguments)
            raise error from None

    def _run_once(self, call: Call, key: str | None) -> Result:
        spec = call.tool
        after_commit: list[Callable[[], None]] = []
        with self.sessions(write=spec.mutating) as session:
            # Authentication comes first: an unknown caller learns nothing about the schema.
            principal = self._authenticate(session, call)
            command = self._validate(call)
            if key is not None:
                scope = principal.id if principal else f"anon:{call.client}"
                request_hash = _hash(spec.name, call.arguments)
                replay = self._claim(session, scope, key, spec.name, request_hash)
                if replay is not None:
                    return replay
            ctx = Ctx(session, self.services, principal, call.request_id, spec.name, after_commit)
            try:
                output = spec.func(ctx, command)
                body = output.model_dump_json(by_alias=True)
                if key is not None:
                    _store(session, scope, key, spec.status_code, body)
                session.commit()
            except BaseException:
                session.rollback()
                raise
        self.sessions.after_commit(after_commit)
        return Result(spec.status_code, body)

    def _authenticate(self, session: Session, call: Call) -> Principal | None:
        spec = call.tool
        if spec.scope is None and not (spec.optional_auth and call.token):
            return None
        principal, scopes = accounts.authenticate(session, call.token, now=self.services.clock.now())
        if spec.scope and spec.scope not in scopes:
            raise AuthScopeDenied(
                f"This key lacks the scope {spec.scope!r} that {spec.name} needs.",
                required_scope=spec.scope,
                key_scopes=sorted(scopes),
            )
        return principal

    def _claim(self, session: Session, scope: str, key: str, tool: str, request_hash: str) -> Result | None:
        """Reserve the key inside this transaction, or answer from the request that holds it."""
        record = IdempotencyRecord(
            scope=scope, key=key, tool=tool, request_hash=request_hash, created_at=self.services.clock.now()
        )
        session.add(record)
        try:
            # On PostgreSQL a concurrent holder makes this wait until it commits or rolls back.
            session.flush()
            return None
        except IntegrityError:
            session.rollback()
        stored = session.exec(
            select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
        ).one()
        if stored.request_hash != request_hash:
            raise ConflictIdempotency(
                "This Idempotency-Key was already used with a different request; use a new key.",
                idempotency_key=key,
                original_tool=stored.tool,
            )
        return Result(stored.status_code, stored.response or "{}", replayed=True)


def _store(session: Session, scope: str, key: str, status_code: int, body: str) -> None:
    record = session.exec(
        select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
    ).one()
    record.status_code = status_code
    record.response = body
    session.add(record)


def _storable(arguments: dict[str, Any]) -> bool:
    """The fast answer for almost every call: orjson refuses lone surrogates and writes NUL as
    the escape \\u0000, so text it encodes without that escape is fine (`_unstorable_strings`
    then names the culprits)."""
    try:
        encoded = orjson.dumps(arguments, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # invalid Unicode, or a value that is not JSON (not from a transport)
        return False
    return b"\\u0000" not in encoded


def _unstorable_strings(value: Any, pointer: str) -> Iterator[str]:
    """JSON pointers of the strings (keys included) that no database can store as text."""
    if isinstance(value, str):
        if "\x00" in value or not _encodable(value):
            yield pointer
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and ("\x00" in key or not _encodable(key)):
                yield pointer or "/"
            yield from _unstorable_strings(item, f"{pointer}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable_strings(item, f"{pointer}/{index}")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _hash(tool: str, arguments: dict[str, Any]) -> str:
    canonical = json.dumps([tool, arguments], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _retryable(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "could not serialize" in text or "deadlock" in text


__all__ = ["Call", "Result", "Runner", "Sessions", "ToolError"]
