"""MCP: every registry tool over streamable HTTP (`/mcp`) and stdio (`crewcall mcp`).

Calls go through the same `Runner` as REST, so results, errors, idempotency and audit rows are
identical whichever transport an agent uses. Nothing here knows about any particular tool.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
from mcp import types
from mcp.server import Server
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.context import ServerRequestContext
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from server.logs import request_id_var
from server.rest import new_request_id, run_call
from tools import accounts
from tools.errors import ToolError
from tools.registry import ToolSpec, registry
from tools.runner import Call, Result

log = logging.getLogger("crewcall.mcp")

SERVER_NAME = "crewcall"
MCP_PATH = "/mcp"
IDEMPOTENCY_ARGUMENT = "idempotency_key"
INSTRUCTIONS = (
    "crewcall hires people for real-world work (photo shoots, UGC video, retail audits, event "
    "staffing, flyers, podcast capture). Read the template (get_template or the resource "
    "crewcall://templates/{task_type}), create_task, then follow the lifecycle in crewcall://llms.txt. "
    "Errors come back as isError results with the REST error envelope: read code, message and details. "
    "Pass idempotency_key on writes you may retry."
)


def mcp_tools(tools: dict[str, ToolSpec] | None = None) -> dict[str, ToolSpec]:
    """The tools offered over MCP: all but public writes (the sign-ups).

    /mcp needs an API key, so a caller already has an account; sign-up stays on REST, which
    llms.txt says.
    """
    tools = registry() if tools is None else tools
    return {name: spec for name, spec in tools.items() if spec.scope is not None or spec.read_only}


def input_schema(spec: ToolSpec) -> dict[str, Any]:
    schema = spec.input_model.model_json_schema()
    if spec.mutating:
        schema.setdefault("properties", {})[IDEMPOTENCY_ARGUMENT] = {
            "type": "string",
            "minLength": 1,
            "maxLength": 255,
            "description": "Optional. Retrying with the same key and arguments replays the first result "
            "instead of acting twice (the REST Idempotency-Key header).",
        }
    return schema


def tool_definition(spec: ToolSpec) -> types.Tool:
    return types.Tool(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        input_schema=input_schema(spec),
        output_schema=spec.output_model.model_json_schema(mode="serialization"),
        annotations=types.ToolAnnotations(
            title=spec.title,
            read_only_hint=spec.read_only,
            destructive_hint=spec.destructive,
            idempotent_hint=spec.idempotent,
            open_world_hint=spec.open_world,
        ),
    )


def error_result(exc: ToolError, request_id: str) -> types.CallToolResult:
    envelope = exc.envelope(request_id)
    text = json.dumps(envelope, default=str)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=json.loads(text),
        is_error=True,
    )


class Bridge:
    """Turns MCP requests into runner calls, with the caller's key and the REST rate limits."""

    def __init__(self, state: Any, *, default_token: str | None = None) -> None:
        self.state = state
        self.default_token = default_token  #: stdio: CREWCALL_API_KEY
        self.tools = mcp_tools()
        self.definitions = [tool_definition(spec) for spec in self.tools.values()]

    def token(self, ctx: ServerRequestContext[Any, Any]) -> str | None:
        request = ctx.request
        if request is not None:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        return self.default_token

    def client(self, ctx: ServerRequestContext[Any, Any]) -> str:
        request = ctx.request
        if request is not None and request.client:
            return request.client.host
        return "stdio"

    async def run(
        self,
        ctx: ServerRequestContext[Any, Any],
        spec: ToolSpec,
        arguments: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        request_id: str | None = None,
    ) -> Result:
        """Run one tool as the caller; raises ToolError like the runner."""
        token, client = self.token(ctx), self.client(ctx)
        request_id = request_id or new_request_id()
        request_id_var.set(request_id)
        call = Call(
            tool=spec,
            arguments=arguments,
            token=token,
            request_id=request_id,
            idempotency_key=idempotency_key,
            client=client,
        )
        return await run_call(self.state, call)

    async def list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self.definitions)

    async def call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        spec = self.tools.get(params.name)
        if spec is None:
            raise MCPError(types.INVALID_PARAMS, f"Unknown tool {params.name!r}; call tools/list for the tools.")
        arguments = dict(params.arguments or {})
        key = arguments.pop(IDEMPOTENCY_ARGUMENT, None) if spec.mutating else None
        request_id = new_request_id()
        try:
            if key is not None and not isinstance(key, str):
                key = str(key)
            result = await self.run(ctx, spec, arguments, idempotency_key=key, request_id=request_id)
        except ToolError as exc:
            return error_result(exc, request_id)
        except Exception:  # never a trace to the client; the log keeps it
            log.exception("unhandled error in MCP tool %s", spec.name)
            return error_result(ToolError(f"Internal error; quote request id {request_id}."), request_id)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=result.body)],
            structured_content=result.data(),
        )


async def _set_logging_level(
    ctx: ServerRequestContext[Any, Any], params: types.SetLevelRequestParams
) -> types.EmptyResult:
    # The server sends no log notifications of its own yet; the level is accepted and logged so
    # clients that set it (as the spec allows) get a success rather than "method not found".
    log.debug("MCP client asked for log level %s", params.level)
    return types.EmptyResult()


def build_server(state: Any, *, default_token: str | None = None) -> Server[Any]:
    from server import mcp_content

    bridge = Bridge(state, default_token=default_token)
    content = mcp_content.Content(bridge)
    schemas = {d.name: d.input_schema for d in bridge.definitions}
    server: Server[Any] = Server(
        SERVER_NAME,
        version=_version(),
        title="crewcall",
        instructions=INSTRUCTIONS,
        get_tool_input_schema=schemas.get,
        on_list_tools=bridge.list_tools,
        on_call_tool=bridge.call_tool,
        on_list_resources=content.list_resources,
        on_list_resource_templates=content.list_resource_templates,
        on_read_resource=content.read_resource,
        on_list_prompts=content.list_prompts,
        on_get_prompt=content.get_prompt,
        on_completion=content.complete,
    )
    # Registered directly: the constructor argument warns that logging is deprecated in 2026-07-28,
    # but clients on 2025-11-25 still send it.
    server.add_request_handler("logging/setLevel", types.SetLevelRequestParams, _set_logging_level)
    return server


def _version() -> str:
    from server.discovery import service_version

    return service_version()


# --- streamable HTTP ---------------------------------------------------------------------------


class ApiKeyVerifier(TokenVerifier):
    """Accepts crewcall API keys as bearer tokens; the runner checks scopes per tool."""

    def __init__(self, state: Any) -> None:
        self.state = state

    async def verify_token(self, token: str) -> AccessToken | None:
        return await anyio.to_thread.run_sync(self._verify, token)

    def _verify(self, token: str) -> AccessToken | None:
        with self.state.db(write=False) as session:
            try:
                principal, scopes = accounts.authenticate(session, token, now=self.state.services.clock.now())
            except ToolError:
                return None
        return AccessToken(token=token, client_id=principal.id, subject=principal.id, scopes=sorted(scopes))


class AnonymousKey:
    """Lets /mcp requests without Authorization act with one configured key (conformance runs).

    Only when `mcp_anonymous_key` is set, which settings refuse in production.
    """

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app = app
        self.header = (b"authorization", f"Bearer {key}".encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not any(k == b"authorization" for k, _ in scope["headers"]):
            scope = {**scope, "headers": [*scope["headers"], self.header]}
        await self.app(scope, receive, send)


def transport_security(settings: Any) -> TransportSecuritySettings:
    """DNS-rebinding protection: the configured hosts plus the host of the public URL."""
    hosts = list(dict.fromkeys([*settings.mcp_allowed_hosts, urlsplit(settings.public_url).netloc]))
    origins = [f"{scheme}://{host}" for host in hosts for scheme in ("http", "https")]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def routes(state: Any) -> list[Route]:
    """`/mcp` and its OAuth protected-resource metadata, as plain routes of the host app.

    Plain routes rather than `Mount("/")` so unknown paths keep the JSON 404 of the REST API.
    The session manager runs in the host app's lifespan (a mounted app's lifespan never runs).
    """
    settings = state.settings
    server = build_server(state)
    resource_url = settings.public_url + MCP_PATH
    app: ASGIApp = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        transport_security=transport_security(settings),
        auth=AuthSettings(
            issuer_url=settings.public_url,
            resource_server_url=resource_url,
            required_scopes=[],
            validate_token_resource=False,
        ),
        token_verifier=ApiKeyVerifier(state),
    )
    if settings.mcp_anonymous_key:
        log.warning("MCP accepts requests without a key as the configured anonymous key (conformance mode)")
        app = AnonymousKey(app, settings.mcp_anonymous_key)
    manager = server.session_manager
    state.extras.setdefault("lifespan", []).append(lambda _state: manager.run())
    return [Route(MCP_PATH, app), Route("/.well-known/oauth-protected-resource" + MCP_PATH, app)]


# --- stdio ---------------------------------------------------------------------------------------


def run_stdio(args: argparse.Namespace) -> None:
    from mcp.server.stdio import stdio_server

    from server.app import build_state
    from server.logs import configure
    from server.settings import Settings

    settings = Settings()
    configure(settings.log_level)  # logs go to stderr; stdout carries the protocol
    state = build_state(settings)
    if state.db.dialect == "sqlite":
        state.db.migrate()
    state.services.geocoder.warm()
    server = build_server(state, default_token=os.environ.get("CREWCALL_API_KEY") or None)

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    try:
        anyio.run(main)
    finally:
        state.db.dispose()


def register_cli(subparsers: Any) -> None:
    parser = subparsers.add_parser("mcp", help="serve MCP over stdio (the key comes from CREWCALL_API_KEY)")
    parser.set_defaults(func=run_stdio)
