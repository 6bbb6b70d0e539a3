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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests import media
from tests.factories import HAMILTON, as_key, signup_customer, signup_talent, task_body
from tools.registry import registry

ROOT = Path(__file__).resolve().parents[2]
Outcome = tuple[str, Any]
Caller = Callable[..., Awaitable[Outcome]]
Connect = Callable[[str], contextlib.AbstractAsyncContextManager[Caller]]

_ID = re.compile(r"\b(?:[a-z]+_[0-9a-hjkmnp-tv-z]{26}|req_[0-9a-f]{24}|cc_(?:test|live)_[A-Za-z0-9]{32})\b")
_SHA256 = re.compile(r"\b[0-9a-f]{64}\b")  # of photos whose EXIF holds the time of the run
_SIGNED = re.compile(r"expires=\d+&signature=[0-9a-f]+")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")


def normalise(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: normalise(v, ids) for k, v in value.items() if k != "request_id"}
    if isinstance(value, list):
        return [normalise(v, ids) for v in value]
    if isinstance(value, str):
        value = _ID.sub(lambda m: ids.setdefault(m.group(0), f"<{m.group(0).split('_')[0]}#{len(ids)}>"), value)
        return _TIME.sub("<time>", _SHA256.sub("<sha256>", _SIGNED.sub("<signed>", value)))
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
async def mcp_stdio(database_url: str, key: str, data_dir: Path, base_url: str) -> AsyncIterator[Client]:
    """`crewcall mcp` beside the HTTP server: the same database, file store and public URL (the
    upload links it hands out point at the HTTP server)."""
    env = {
        **os.environ,
        "CREWCALL_API_KEY": key,
        "DATABASE_URL": database_url,
        "CREWCALL_ENV": "test",
        "CREWCALL_DATA_DIR": str(data_dir),
        "CREWCALL_BASE_URL": base_url,
        "CREWCALL_INPROCESS_WORKER": "0",
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

        async def step(tool: str, arguments: dict[str, Any], *, caller: Caller | None = None, **kw: Any) -> Outcome:
            outcome = await (caller or call)(tool, arguments, **kw)
            transcript.append([tool, *outcome])
            return outcome

        await step("list_templates", {})
        await step("get_template", {"task_type": "PRODUCT_PHOTO_ECOMM"})
        await step("get_template", {"task_type": "PODCAST"})
        body = task_body()  # built once: start_at moves with the clock, and a replay must be identical
        task = _ok(await step("create_task", body, idempotency_key="first-task"))
        replay = _ok(await step("create_task", body, idempotency_key="first-task"))
        assert replay["id"] == task["id"]
        await step("create_task", {**body, "title": "Another"}, idempotency_key="first-task")
        bad = task_body()
        bad["task_spec"] = {"product_count": 0, "background": "purple"}
        await step("create_task", bad)
        await step("get_task", {"task_id": task["id"]})
        await step("get_task", {"task_id": "task_00000000000000000000000000"})
        await step("list_tasks", {"status": "draft"})
        await step("cancel_task", {"task_id": task["id"], "reason": "budget cut"})
        await step("cancel_task", {"task_id": task["id"]})
        await step("list_audit", {"entity_id": task["id"]})
        await _booking(api, connect, step)
    return transcript


async def _booking(api: httpx.Client, connect: Connect, step: Callable[..., Awaitable[Outcome]]) -> None:
    """Quote, book, check in, deliver real photos, QA, accept and pay: the talent acts over the
    same transport. Only the upload's bytes go to the signed URL over plain HTTP, as for any client."""
    _, talent = signup_talent(api, home=HAMILTON)
    order = {
        "title": "Quoted shoot",
        "starts_in": timedelta(minutes=20),  # the check-in window is open at once
        "deliverables": [{"kind": "photo", "count": 3, "format": "jpeg"}],
        "task_spec": {"product_count": 1, "background": "white", "min_resolution_px": 1000},
    }
    task = _ok(await step("create_task", task_body(**order)))
    await step("request_quotes", {"task_id": task["id"], "talent_ids": [talent["talent_id"]]})
    async with connect(talent["api_key"]) as as_talent:
        args = {"talent_id": talent["talent_id"], "task_id": task["id"], "amount": 250}
        quote = _ok(await step("submit_quote", args, caller=as_talent))
        await step("list_quotes", {"task_id": task["id"]})
        await step("accept_quote", {"quote_id": quote["id"]})
        await step("accept_quote", {"quote_id": quote["id"]})
        await step("create_booking", {"quote_id": quote["id"]})  # no card yet: 402
        await step("add_payment_method", {"token": "pm_card_visa"})
        booking = _ok(await step("create_booking", {"quote_id": quote["id"]}, idempotency_key="book-it"))
        await step("get_booking", {"booking_id": booking["id"]})
        lat, lng = task["location"]["lat"], task["location"]["lng"]
        far = {"booking_id": booking["id"], "lat": lat + 0.05, "lng": lng}
        await step("checkin_booking", far, caller=as_talent)  # 5.6 km away: refused
        await step("checkin_booking", {"booking_id": booking["id"], "lat": lat, "lng": lng}, caller=as_talent)
        files = []
        for seed in (1, 2, 3):
            data = media.jpeg(seed, width=1200, height=1000, taken_at=datetime.now(UTC), gps=(lat, lng))
            body = {"filename": f"shot_{seed}.jpg", "content_type": "image/jpeg", "size": len(data)}
            ticket = _ok(await step("presign_upload", body, caller=as_talent))
            put = httpx.put(ticket["upload_url"], content=data, headers=ticket["headers"], timeout=30)
            assert put.status_code == 200, put.text
            files.append({"file_id": ticket["file_id"], "kind": "photo"})
        work_order_id = booking["work_order_id"]
        await step("register_deliverables", {"work_order_id": work_order_id, "files": files}, caller=as_talent)
    await step("run_qa", {"work_order_id": work_order_id})
    await step("accept_work_order", {"work_order_id": work_order_id})
    await step("get_task", {"task_id": task["id"]})
    await step("list_ledger", {})


def normalised(transcript: list[Any]) -> list[Any]:
    ids: dict[str, str] = {}
    return [normalise(entry, ids) for entry in transcript]
