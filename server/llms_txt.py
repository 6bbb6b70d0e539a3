"""llms.txt: the whole API as one Markdown page written for a model, built from the registry."""

from __future__ import annotations

import json
from typing import Any

from tools.registry import ToolSpec

INTRO = """# crewcall

> crewcall is an open-source server through which AI agents hire people for real-world work:
> product photo shoots, UGC video, event photo and video, story packs, retail audits, billboard
> checks, flyer distribution, pop-up staffing and podcast capture. You post a task built from a
> template, matching talent quote on it, you accept a quote and book it (money is held in
> escrow), the talent checks in on site and uploads deliverables, automated QA checks them, and
> accepting the work pays the talent (85 %; the platform keeps 15 %).

Base URL: {base}
REST: {base}/v1/… (JSON) · MCP: {base}/mcp (streamable HTTP) or `crewcall mcp` (stdio)
OpenAPI 3.1: {base}/openapi.json · Plugin manifest: {base}/.well-known/ai-plugin.json · Endpoint map: {base}/

## Getting a key

1. `POST {base}/v1/developer/signup` with `{{"email": "…", "name": "…"}}` answers 201 with
   `api_key` (shown once: store it). Talent sign up with `POST /v1/talent/signup`.
2. Send the key on every other call: `Authorization: Bearer cc_test_…` (or `cc_live_…`).

Sign-up is REST only: the MCP endpoint needs a key already, so the sign-up tools are not listed
over MCP. Everything else is the same tool over REST and MCP, with the same names, arguments,
results and errors.

## Conventions

- Money is whole currency units at the API (`max_total`, `amount`); cents are internal.
- Times are ISO 8601. A time with an offset or `Z` is absolute; one without is local to the
  task's time zone. A task may start 15 minutes from now at the earliest.
- Ids carry their type: `task_…`, `quo_…`, `bkg_…`, `wo_…`, `tal_…`, `whk_…`, `evt_…`.
- Lists answer `{{"object": "list", "data": […], "has_more": bool, "next_cursor": …}}`; pass
  `cursor=<next_cursor>` for the next page.
- Writes are idempotent with a key: send `Idempotency-Key: <your key>` (REST) or the argument
  `idempotency_key` (MCP). The same key with the same body replays the first response; with
  another body it is 409 CONFLICT_IDEMPOTENCY. Retry a timed-out write with the same key.
- A resource of another account answers 404 NOT_FOUND, never 403.
- Rate limits: 60 requests per minute per key, 10 per minute on calls that move money.

## Errors

Every error has one envelope (REST body; MCP `isError` result with the same JSON as text and as
structured content):

```json
{{"error": {{"http_status": 400, "code": "SCHEMA_VALIDATION_FAILED", "message": "Task validation failed",
  "details": {{"errors": [{{"pointer": "/task_spec/product_count", "message": "0 is less than the minimum of 1"}}]}},
  "request_id": "req_…"}}}}
```

| status | code | what to do |
| --- | --- | --- |
| 400 | SCHEMA_VALIDATION_FAILED | fix every entry of details.errors (JSON pointer + message), then retry |
| 401 | AUTH_SCOPE_DENIED | send a valid key; details.required_scope names a missing scope |
| 402 | ESCROW_REQUIRED | add a payment method (billing setup), then retry |
| 403 | POLICY_BLOCKED | not allowed in this state; details.current_status says where things are |
| 404 | NOT_FOUND | check the id; it may belong to another account |
| 409 | CONFLICT_IDEMPOTENCY | use a new Idempotency-Key for a different request |
| 429 | RATE_LIMITED | wait Retry-After seconds (details.retry_after) |
| 500 | INTERNAL | retry later with the same Idempotency-Key; quote request_id if it persists |

## Lifecycle

```
create_task                         → task.created            (task: draft)
request quotes (POST /v1/tasks/{{id}}/quote_requests)  → talent invited by e-mail (open_for_quotes)
talent submits a quote              → quote.received          (quoted)
accept the quote (POST /v1/quotes/{{id}}/accept)       → quote accepted (first caller wins)
create a booking (POST /v1/bookings {{quote_id}})       → booking.confirmed, escrow held (booked)
talent checks in on site (GPS)      → booking.checkin_recorded (in_progress)
talent uploads deliverables         → deliverable.registered  (delivered)
run QA (GET /v1/work_orders/{{id}}/qa)                  → qa.completed passed | failed
accept the work (POST /v1/work_orders/{{id}}/accept)    → work_order.accepted + payout.initiated
```

Statuses — task: draft, open_for_quotes, quoted, booked, in_progress, delivered, accepted,
disputed, cancelled. Quote: pending, accepted, rejected, expired. Booking: pending_escrow,
confirmed, in_progress, completed, cancelled. Work order: awaiting_delivery, delivered,
qa_passed, qa_failed, changes_requested, accepted, disputed.

## Following progress

Pick the pattern that fits your runtime:

1. **Webhooks** (always-on agents): register `POST /v1/webhooks` `{{"url": "https://…",
   "events": ["quote.received", "deliverable.registered", "qa.completed"]}}`. Events are signed
   (Standard Webhooks `webhook-signature`, and `X-CrewCall-Signature` / `X-CrewCall-Timestamp`,
   HMAC-SHA256 over the timestamp and body); reject stale timestamps; deliveries retry with
   backoff, so deduplicate on the event id.
2. **E-mail** (chat-based agents): every customer e-mail has a clear subject (`New quote: [name] —
   $[amount]`, `📦 Deliverables ready: [task]`, `🔒 Booking confirmed`) and a parseable detail table.
3. **Polling** (cron agents): every few minutes `GET /v1/tasks?status=open_for_quotes`, then
   `GET /v1/tasks/{{id}}/quotes`, `GET /v1/work_orders/{{id}}`, and `GET /v1/work_orders/{{id}}/qa` once
   the work order is `delivered` (QA is idempotent: safe to call repeatedly). Over MCP, read the
   resource `crewcall://tasks/{{task_id}}` for a task's live state.
4. **Human in the loop**: forward the e-mails to a person or an assistant.

Webhook events: {events}.

## MCP

Connect to `{base}/mcp` with `Authorization: Bearer <api_key>` (streamable HTTP), or run
`CREWCALL_API_KEY=<api_key> crewcall mcp` (stdio). Without a key `/mcp` answers 401 with
`WWW-Authenticate` pointing at `/.well-known/oauth-protected-resource/mcp`; crewcall has no OAuth
server: use an API key. Tools carry readOnlyHint, destructiveHint, idempotentHint and
openWorldHint, an input schema and an output schema (results are structured content). Mutating
tools accept an extra `idempotency_key` argument. Resources: `crewcall://llms.txt` (this page),
`crewcall://templates/{{task_type}}`, `crewcall://tasks/{{task_id}}`; argument completion for task
types and your task ids. Prompts: `hire_for_brief`, `review_deliverables`.

## Worked examples

Create a task (seed example; start_at must be in the future):

```sh
curl -X POST {base}/v1/tasks -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \\
  -H "Idempotency-Key: shoot-2030-04-25" -d '{example}'
```

→ 201 `{{"id": "task_…", "object": "task", "status": "draft", …}}`. The same call over MCP is
`tools/call` with name `create_task`, the same JSON as `arguments`, plus
`"idempotency_key": "shoot-2030-04-25"`.

A bad body answers every problem at once:

```json
{{"error": {{"http_status": 400, "code": "SCHEMA_VALIDATION_FAILED", "details": {{"errors": [
  {{"pointer": "/task_spec/background", "message": "'purple' is not one of ['white', 'lifestyle', 'colored']"}},
  {{"pointer": "/schedule/start_at", "message": "… is too soon: …"}}]}}, …}}}}
```
"""


def _type(schema: dict[str, Any]) -> str:
    """A short human type for a JSON Schema: `string`, `integer ≥ 1`, `TaskType`, `list of Deliverable`."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "const" in schema:
        return f"`{schema['const']}`"
    if "enum" in schema:
        return " | ".join(f"`{v}`" for v in schema["enum"])
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema:
        return "object"
    bounds = [
        f"{sym} {schema[key]}"
        for key, sym in (
            ("minimum", "≥"),
            ("exclusiveMinimum", ">"),
            ("maximum", "≤"),
            ("minLength", "length ≥"),
            ("maxLength", "length ≤"),
        )
        if key in schema
    ]
    if "pattern" in schema:
        bounds.append(f"pattern `{schema['pattern']}`")
    if "format" in schema:
        bounds.append(schema["format"])
    return kind + (f" ({', '.join(bounds)})" if bounds else "")


def _fields(schema: dict[str, Any], *, required_only: bool = False) -> list[str]:
    required = set(schema.get("required", []))
    lines = []
    for name, prop in schema.get("properties", {}).items():
        need = "required" if name in required else "optional"
        shown = "default" in prop and prop["default"] not in (None, [], {})
        default = f", default `{prop['default']}`" if shown else ""
        note = f" — {prop['description']}" if prop.get("description") else ""
        lines.append(f"- `{name}` ({_type(prop)}, {need}{default}){note}")
    return lines


def _defs(tools: dict[str, ToolSpec]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for spec in tools.values():
        for schema in (spec.input_model.model_json_schema(), spec.output_model.model_json_schema(mode="serialization")):
            for name, sub in schema.get("$defs", {}).items():
                found.setdefault(name, sub)
    return dict(sorted(found.items()))


def _tool_section(spec: ToolSpec) -> list[str]:
    inp = spec.input_model.model_json_schema()
    out = spec.output_model.model_json_schema(mode="serialization")
    flags = [
        a
        for a, on in (
            ("read-only", spec.read_only),
            ("destructive", spec.destructive),
            ("idempotent", spec.idempotent),
            ("moves money", spec.money),
        )
        if on
    ]
    head = [
        f"`{spec.method} {spec.path}` → {spec.status_code}",
        f"scope `{spec.scope}`" if spec.scope else "public, no key",
        *flags,
    ]
    if not (spec.scope or spec.read_only):
        head.append("REST only")
    lines = [f"### {spec.name}", "", " · ".join(head), "", spec.description, ""]
    args = _fields(inp)
    carrier = "query string" if spec.method in ("GET", "DELETE") else "JSON body"
    if spec.path_params:
        carrier = f"path: {', '.join(spec.path_params)}; the rest in the {carrier}"
    lines += [f"Arguments ({carrier}):", ""]
    lines += args or ["- none"]
    if spec.mutating and (spec.scope or spec.read_only):
        lines.append("- `idempotency_key` (MCP only; REST uses the Idempotency-Key header)")
    lines += ["", f"Returns `{out.get('title', spec.output_model.__name__)}`:", ""]
    lines += _fields(out)
    codes = ["400 SCHEMA_VALIDATION_FAILED"]
    if spec.scope or spec.optional_auth:
        codes.append("401 AUTH_SCOPE_DENIED")
    if spec.path_params or spec.scope:
        codes.append("404 NOT_FOUND")
    if spec.mutating:
        codes += ["403 POLICY_BLOCKED", "409 CONFLICT_IDEMPOTENCY"]
    if spec.money:
        codes.append("402 ESCROW_REQUIRED")
    codes.append("429 RATE_LIMITED")
    lines += ["", "Errors: " + ", ".join(codes) + ".", ""]
    return lines


def build_llms_txt(tools: dict[str, ToolSpec], *, base_url: str) -> str:
    from server.openapi import EXAMPLES
    from tools.events import EVENT_TYPES

    example = json.dumps(EXAMPLES["create_task"], ensure_ascii=False)
    events = ", ".join(f"`{e}`" for e in sorted(EVENT_TYPES))
    parts = [INTRO.format(base=base_url, example=example, events=events), "## Tools", ""]
    for area in dict.fromkeys(spec.area for spec in tools.values()):
        parts += [f"- {area}: " + ", ".join(f"`{s.name}`" for s in tools.values() if s.area == area)]
    parts.append("")
    for spec in tools.values():
        parts += _tool_section(spec)
    parts += ["## Types", "", "Shapes named in the arguments and results above.", ""]
    for name, schema in _defs(tools).items():
        parts += [f"### {name}", ""]
        if schema.get("description"):
            parts += [schema["description"].strip(), ""]
        parts += (_fields(schema) or [f"- {_type(schema)}"]) + [""]
    return "\n".join(parts).rstrip() + "\n"
