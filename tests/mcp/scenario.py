"""One lifecycle, written once, run through REST, MCP over streamable HTTP and MCP over stdio.

A `Caller` runs a tool by name and answers `("ok", body)` or `("error", envelope["error"])`; the
scenario's transcript is normalised (ids numbered by first appearance, times and request ids
blanked) so that runs by different accounts over different transports compare equal.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.factories import HAMILTON, as_key, signup_customer, signup_talent, task_body
from tools.registry import registry

ROOT = Path(__file__).resolve().parents[2]
Outcome = tuple[str, Any]
Caller = Callable[..., Awaitable[Outcome]]
Connect = Callable[[str], contextlib.AbstractAsyncContextManager[Caller]]

_ID = re.compile(r"\b(?:[a-z]+_[0-9a-hjkmnp-tv-z]{26}|req_[0-9a-f]{24}|cc_(?:test|live)_[A-Za-z0-9]{32})\b")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")


def normalise(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: normalise(v, ids) for k, v in value.items() if k != "request_id"}
    if isinstance(value, list):
        return [normalise(v, ids) for v in value]
    if isinstance(value, str):
        value = _ID.sub(lambda m: ids.setdefault(m.group(0), f"<{m.group(0).split('_')[0]}#{len(ids)}>"), value)
        return _TIME.sub("<time>", value)
    return value


# --- callers ---------------------------------------------------------------------------------------


def rest_caller(client: httpx.Client) -> Caller:
    async def call(tool: str, arguments: dict[str, Any], *, idempotency_key: str | None = None) -> Outcome:
        spec = registry()[tool]
        args = dict(arguments)
        path = spec.path.format(**{p: args.pop(p) for p in spec.path_params})
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        if spec.method in ("GET", "DELETE"):
            params = {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in args.items()}
            resp = client.request(spec.method, path, params=params, headers=headers)
        else:
            resp = client.request(spec.method, path, json=args, headers=headers)
        body = resp.json()
        return ("error", body["error"]) if resp.status_code >= 400 else ("ok", body)

    return call


def mcp_caller(client: Client) -> Caller:
    async def call(tool: str, arguments: dict[str, Any], *, idempotency_key: str | None = None) -> Outcome:
        args = dict(arguments)
        if idempotency_key:
            args["idempotency_key"] = idempotency_key
        result = await client.call_tool(tool, args)
        data = result.structured_content
        assert json.loads(result.content[0].text) == data  # the text block carries the same JSON
        return ("error", data["error"]) if result.is_error else ("ok", data)

    return call


def rest_connect(api: httpx.Client) -> Connect:
    @contextlib.asynccontextmanager
    async def connect(key: str) -> AsyncIterator[Caller]:
        with as_key(api, key) as client:
            yield rest_caller(client)

    return connect


def mcp_connect(opener: Callable[[str], contextlib.AbstractAsyncContextManager[Client]]) -> Connect:
    @contextlib.asynccontextmanager
    async def connect(key: str) -> AsyncIterator[Caller]:
        async with opener(key) as client:
            yield mcp_caller(client)

    return connect


@contextlib.asynccontextmanager
async def mcp_http(url: str, key: str, **options: Any) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http), **options) as client,
    ):
        yield client


@contextlib.asynccontextmanager
async def mcp_stdio(database_url: str, key: str, data_dir: Path) -> AsyncIterator[Client]:
    env = {
        **os.environ,
        "CREWCALL_API_KEY": key,
        "DATABASE_URL": database_url,
        "CREWCALL_ENV": "test",
        "CREWCALL_DATA_DIR": str(data_dir),
        "CREWCALL_LOG_LEVEL": "WARNING",
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "server.cli", "mcp"], env=env, cwd=str(ROOT))
    async with Client(params) as client:
        yield client


# --- the scenario ----------------------------------------------------------------------------------


def _ok(outcome: Outcome) -> dict[str, Any]:
    kind, body = outcome
    assert kind == "ok", body
    return body


async def lifecycle(api: httpx.Client, connect: Connect) -> list[Any]:
    """The transcript of one customer's run; sign-ups go through REST (they are REST only)."""
    _, customer = signup_customer(api)
    transcript: list[list[Any]] = []
    async with connect(customer["api_key"]) as call:

        async def step(tool: str, arguments: dict[str, Any], **kw: Any) -> Outcome:
            outcome = await call(tool, arguments, **kw)
            transcript.append([tool, *outcome])
            return outcome

        await step("list_templates", {})
        await step("get_template", {"task_type": "PRODUCT_PHOTO_ECOMM"})
        await step("get_template", {"task_type": "PODCAST"})
        task = _ok(await step("create_task", task_body(), idempotency_key="first-task"))
        replay = _ok(await step("create_task", task_body(), idempotency_key="first-task"))
        assert replay["id"] == task["id"]
        await step("create_task", task_body(title="Another"), idempotency_key="first-task")
        bad = task_body()
        bad["task_spec"] = {"product_count": 0, "background": "purple"}
        await step("create_task", bad)
        await step("get_task", {"task_id": task["id"]})
        await step("get_task", {"task_id": "task_00000000000000000000000000"})
        await step("list_tasks", {"status": "draft"})
        await step("cancel_task", {"task_id": task["id"], "reason": "budget cut"})
        await step("cancel_task", {"task_id": task["id"]})
        await step("list_audit", {"entity_id": task["id"]})
        if {"request_quotes", "submit_quote", "accept_quote", "create_booking"} <= set(registry()):
            await _booking(api, connect, step)
    return transcript


async def _booking(api: httpx.Client, connect: Connect, step: Callable[..., Awaitable[Outcome]]) -> None:
    """Quotes and booking, when those tools exist: the talent quotes over the same transport."""
    _, talent = signup_talent(api, home=HAMILTON)
    task = _ok(await step("create_task", task_body(title="Quoted shoot")))
    await step("request_quotes", {"task_id": task["id"], "talent_ids": [talent["talent_id"]]})
    async with connect(talent["api_key"]) as as_talent:
        args = {"talent_id": talent["talent_id"], "task_id": task["id"], "amount": 250}
        outcome = await as_talent("submit_quote", args)
    quote = _ok(outcome)
    await step("list_quotes", {"task_id": task["id"]})
    await step("accept_quote", {"quote_id": quote["id"]})
    await step("accept_quote", {"quote_id": quote["id"]})
    if "add_payment_method" in registry():
        await step("add_payment_method", {"token": "pm_card_visa"})
    booking = await step("create_booking", {"quote_id": quote["id"]}, idempotency_key="book-it")
    if booking[0] == "ok" and "get_booking" in registry():
        await step("get_booking", {"booking_id": booking[1]["id"]})
    await step("get_task", {"task_id": task["id"]})


def normalised(transcript: list[Any]) -> list[Any]:
    ids: dict[str, str] = {}
    return [normalise(entry, ids) for entry in transcript]
