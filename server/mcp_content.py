"""MCP resources, prompts and argument completion, read through the same runner as the tools."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from mcp import types
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError

from tools.errors import NotFound, ToolError
from tools.registry import registry
from tools.templates import TaskType

if TYPE_CHECKING:
    from server.mcp import Bridge

Ctx = ServerRequestContext[Any, Any]
RESOURCE_NOT_FOUND = -32002  #: the MCP spec's code for resources/read of an unknown URI
TEMPLATE_URI = "crewcall://templates/{task_type}"
TASK_URI = "crewcall://tasks/{task_id}"
LLMS_URI = "crewcall://llms.txt"
JSON = "application/json"


@cache
def _llms_txt(base_url: str) -> str:
    from server.discovery import build_llms_txt

    return build_llms_txt(base_url)


HIRE_STEPS = """You are hiring a person through crewcall for this brief:

{brief}

Work through it with the crewcall tools:
1. Pick the task type{type_hint}: call list_templates, then get_template for the one that fits.
   Read its spec_schema, validation_rules and acceptance_tests.
2. Call create_task with task_type, title, location (address or lat/lng), schedule (start_at at
   least 15 minutes ahead, duration_hours), budget (currency, max_total in whole units),
   deliverables and a task_spec that satisfies spec_schema. If the result is an error with code
   SCHEMA_VALIDATION_FAILED, fix every entry of details.errors (each has a JSON pointer) and retry
   with the same idempotency_key.
3. Follow the lifecycle in crewcall://llms.txt: request quotes, compare them, accept one, book it
   (escrow), wait for delivery and QA, then accept the work.
Ask the user before any step that spends money. Tools available now: {tools}."""

REVIEW_STEPS = """Review the deliverables of crewcall task {task_id}.

1. Read the task (get_task or the resource crewcall://tasks/{task_id}) and its template's
   acceptance_tests (get_template).
2. Find the booking and its work order, list the deliverables and run QA on the work order.
3. If QA passed and the files match the brief, accept the work (this pays the talent).
   If not, request changes saying exactly what is missing, or open a dispute if the work is unusable.
Quote the QA checks (name, measured, expected) in your summary. Tools available now: {tools}."""


class Content:
    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge

    def _tool_names(self) -> str:
        return ", ".join(self.bridge.tools)

    async def _run(self, ctx: Ctx, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return (await self.bridge.run(ctx, registry()[tool], arguments)).data()

    # --- resources -----------------------------------------------------------------------------

    async def list_resources(self, ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListResourcesResult:
        resources = [
            types.Resource(
                uri=LLMS_URI,
                name="llms.txt",
                title="crewcall reference for models",
                description="The whole API: lifecycle, every tool with its arguments and errors, patterns.",
                mime_type="text/markdown",
            )
        ]
        resources += [
            types.Resource(
                uri=TEMPLATE_URI.format(task_type=t.value),
                name=t.value,
                title=f"Template {t.value}",
                description="Task template: spec_schema, validation rules, acceptance tests, price guidance.",
                mime_type=JSON,
            )
            for t in TaskType
        ]
        return types.ListResourcesResult(resources=resources)

    async def list_resource_templates(
        self, ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    uri_template=TEMPLATE_URI,
                    name="template",
                    title="Task template",
                    mime_type=JSON,
                    description="A task template by task type.",
                ),
                types.ResourceTemplate(
                    uri_template=TASK_URI,
                    name="task",
                    title="Task (live state)",
                    mime_type=JSON,
                    description="One of your tasks as get_task returns it, read when you ask.",
                ),
            ]
        )

    async def read_resource(self, ctx: Ctx, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        uri = str(params.uri)
        if uri == LLMS_URI:
            text, mime = _llms_txt(self.bridge.state.settings.public_url), "text/markdown"
        else:
            text, mime = await self._read_json(ctx, uri), JSON
        return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, mime_type=mime, text=text)])

    async def _read_json(self, ctx: Ctx, uri: str) -> str:
        prefix, _, ident = uri.rpartition("/")
        tool, argument = {
            "crewcall://templates": ("get_template", "task_type"),
            "crewcall://tasks": ("get_task", "task_id"),
        }.get(prefix, (None, None))
        if tool is None or not ident:
            raise MCPError(RESOURCE_NOT_FOUND, f"Unknown resource {uri!r}; see resources/list and templates/list.")
        try:
            result = await self.bridge.run(ctx, registry()[tool], {argument: ident})
        except ToolError as exc:
            code = RESOURCE_NOT_FOUND if isinstance(exc, NotFound) else types.INVALID_PARAMS
            raise MCPError(code, exc.message, data=exc.envelope("-")["error"]) from None
        return result.body

    # --- prompts -------------------------------------------------------------------------------

    async def list_prompts(self, ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListPromptsResult:
        return types.ListPromptsResult(
            prompts=[
                types.Prompt(
                    name="hire_for_brief",
                    title="Hire for a brief",
                    description="Turn a plain-English brief into a task and see it through to accepted work.",
                    arguments=[
                        types.PromptArgument(name="brief", description="What, where and when.", required=True),
                        types.PromptArgument(name="task_type", description="A task type, if known.", required=False),
                    ],
                ),
                types.Prompt(
                    name="review_deliverables",
                    title="Review deliverables",
                    description="Check a task's deliverables against its QA and accept, ask for changes or dispute.",
                    arguments=[types.PromptArgument(name="task_id", description="The task to review.", required=True)],
                ),
            ]
        )

    async def get_prompt(self, ctx: Ctx, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        args = params.arguments or {}
        if params.name == "hire_for_brief":
            if not args.get("brief"):
                raise MCPError(types.INVALID_PARAMS, "hire_for_brief needs the argument `brief`.")
            hint = f" (the user suggests {args['task_type']})" if args.get("task_type") else ""
            text = HIRE_STEPS.format(brief=args["brief"], type_hint=hint, tools=self._tool_names())
        elif params.name == "review_deliverables":
            if not args.get("task_id"):
                raise MCPError(types.INVALID_PARAMS, "review_deliverables needs the argument `task_id`.")
            text = REVIEW_STEPS.format(task_id=args["task_id"], tools=self._tool_names())
        else:
            raise MCPError(types.INVALID_PARAMS, f"Unknown prompt {params.name!r}; see prompts/list.")
        message = types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))
        return types.GetPromptResult(description=f"crewcall: {params.name}", messages=[message])

    # --- completion ----------------------------------------------------------------------------

    async def complete(self, ctx: Ctx, params: types.CompleteRequestParams) -> types.CompleteResult:
        name, prefix = params.argument.name, params.argument.value
        if name == "task_type":
            values = [t.value for t in TaskType]
        elif name == "task_id":
            values = await self._task_ids(ctx)
        else:
            values = []
        matches = [v for v in values if v.lower().startswith(prefix.lower())]
        return types.CompleteResult(
            completion=types.Completion(values=matches[:100], total=len(matches), has_more=len(matches) > 100)
        )

    async def _task_ids(self, ctx: Ctx) -> list[str]:
        try:
            page = await self._run(ctx, "list_tasks", {"limit": 100})
        except ToolError:
            return []  # no key, or a key without tasks:read: nothing to suggest
        return [task["id"] for task in page["data"]]
