"""What an MCP client sees at /mcp: tools from the registry, auth, resources, prompts, completion."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from server.mcp import mcp_tools
from tests.conftest import LiveServer
from tests.factories import create_task, signup_customer
from tests.mcp.scenario import mcp_http
from tools.registry import registry


def with_mcp(server: LiveServer, key: str, body: Callable[[Client], Awaitable[Any]], **kw: Any) -> Any:
    async def main() -> Any:
        async with mcp_http(server.url, key, **kw) as client:
            return await body(client)

    return anyio.run(main)


@pytest.fixture
def customer(api: httpx.Client) -> tuple[httpx.Client, str]:
    client, body = signup_customer(api)
    return client, body["api_key"]


def test_every_tool_but_the_signups_is_listed_with_its_schemas_and_hints(server: LiveServer, customer: Any) -> None:
    tools = with_mcp(server, customer[1], lambda c: c.list_tools())
    listed = {t.name: t for t in tools.tools}
    assert (
        set(listed)
        == set(mcp_tools())
        == set(registry()) - {name for name, spec in registry().items() if spec.scope is None and spec.mutating}
    )
    assert "signup_developer" not in listed
    for name, tool in listed.items():
        spec = registry()[name]
        assert tool.title == spec.title and tool.description == spec.description
        assert tool.annotations.read_only_hint == spec.read_only
        assert tool.annotations.destructive_hint == spec.destructive
        assert tool.annotations.idempotent_hint == spec.idempotent
        assert tool.output_schema == spec.output_model.model_json_schema(mode="serialization")
        assert ("idempotency_key" in tool.input_schema["properties"]) == spec.mutating


def test_mcp_without_a_key_is_401_pointing_at_the_resource_metadata(server: LiveServer) -> None:
    resp = httpx.post(f"{server.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert resp.status_code == 401
    assert "/.well-known/oauth-protected-resource/mcp" in resp.headers["www-authenticate"]
    meta = httpx.get(f"{server.url}/.well-known/oauth-protected-resource/mcp").json()
    assert meta["resource"] == f"{server.settings.public_url}/mcp"
    bad = httpx.post(f"{server.url}/mcp", json={}, headers={"Authorization": "Bearer cc_test_nope"})
    assert bad.status_code == 401


def test_a_tool_error_carries_the_rest_envelope(server: LiveServer, customer: Any) -> None:
    result = with_mcp(server, customer[1], lambda c: c.call_tool("get_task", {"task_id": "task_missing"}))
    assert result.is_error
    error = result.structured_content["error"]
    assert (error["http_status"], error["code"]) == (404, "NOT_FOUND")
    assert error["request_id"].startswith("req_")
    assert json.loads(result.content[0].text) == result.structured_content


async def raised(call: Awaitable[Any]) -> MCPError | None:
    try:
        await call
    except MCPError as exc:
        return exc
    return None


def test_an_unknown_tool_is_a_protocol_error(server: LiveServer, customer: Any) -> None:
    error = with_mcp(server, customer[1], lambda c: raised(c.call_tool("launch_rocket", {})))
    assert error is not None and "Unknown tool 'launch_rocket'" in str(error)


def test_templates_tasks_and_llms_txt_are_resources(server: LiveServer, customer: Any) -> None:
    client, key = customer
    task = create_task(client)

    async def read(c: Client) -> tuple[Any, ...]:
        listed = await c.list_resources()
        templates = await c.list_resource_templates()
        template = await c.read_resource("crewcall://templates/PRODUCT_PHOTO_ECOMM")
        live = await c.read_resource(f"crewcall://tasks/{task['id']}")
        llms = await c.read_resource("crewcall://llms.txt")
        return listed, templates, template, live, llms

    listed, templates, template, live, llms = with_mcp(server, key, read)
    uris = {r.uri for r in listed.resources}
    assert "crewcall://llms.txt" in uris and "crewcall://templates/UGC_VERTICAL_BATCH" in uris
    assert {t.uri_template for t in templates.resource_templates} == {
        "crewcall://templates/{task_type}",
        "crewcall://tasks/{task_id}",
    }
    assert json.loads(template.contents[0].text) == client.get("/v1/templates/PRODUCT_PHOTO_ECOMM").json()
    assert json.loads(live.contents[0].text) == client.get(f"/v1/tasks/{task['id']}").json()
    assert llms.contents[0].text == httpx.get(f"{server.url}/llms.txt").text


def test_another_accounts_task_is_not_a_resource_for_me(api: httpx.Client, server: LiveServer, customer: Any) -> None:
    other, _ = signup_customer(api)
    task = create_task(other)
    error = with_mcp(server, customer[1], lambda c: raised(c.read_resource(f"crewcall://tasks/{task['id']}")))
    assert error is not None and error.code == -32002 and "No task" in str(error)


def test_task_types_and_my_task_ids_complete(server: LiveServer, customer: Any) -> None:
    from mcp.types import PromptReference, ResourceTemplateReference

    client, key = customer
    task = create_task(client)

    async def complete(c: Client) -> tuple[Any, Any]:
        types = await c.complete(
            ResourceTemplateReference(uri="crewcall://templates/{task_type}"), {"name": "task_type", "value": "EVENT"}
        )
        ids = await c.complete(PromptReference(name="review_deliverables"), {"name": "task_id", "value": "task_"})
        return types, ids

    types, ids = with_mcp(server, key, complete)
    assert types.completion.values == ["EVENT_PHOTO_COVERAGE", "EVENT_HIGHLIGHT_VIDEO"]
    assert ids.completion.values == [task["id"]]


def test_prompts_guide_hiring_and_review(server: LiveServer, customer: Any) -> None:
    async def prompts(c: Client) -> tuple[Any, Any]:
        listed = await c.list_prompts()
        hire = await c.get_prompt("hire_for_brief", {"brief": "10 product photos in Hamilton next Friday"})
        return listed, hire

    listed, hire = with_mcp(server, customer[1], prompts)
    assert {p.name for p in listed.prompts} == {"hire_for_brief", "review_deliverables"}
    text = hire.messages[0].content.text
    assert "10 product photos in Hamilton" in text and "create_task" in text


@pytest.mark.filterwarnings("ignore:The logging capability is deprecated")
def test_logging_set_level_is_accepted(server: LiveServer, customer: Any) -> None:
    result = with_mcp(server, customer[1], lambda c: c.set_logging_level("warning"), mode="legacy")
    assert result is not None


def test_mcp_calls_share_the_rest_rate_limit(server: LiveServer, customer: Any) -> None:
    limits = server.state.rate_limits
    general, limits.general = limits.general, type(limits.general)(2)
    try:

        async def burst(c: Client) -> list[Any]:
            return [await c.call_tool("list_tasks", {}) for _ in range(3)]

        results = with_mcp(server, customer[1], burst)
    finally:
        limits.general = general
    assert [r.is_error for r in results] == [False, False, True]
    error = results[-1].structured_content["error"]
    assert error["code"] == "RATE_LIMITED" and error["details"]["retry_after"] >= 1
