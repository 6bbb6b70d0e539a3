"""OpenAPI 3.1 from the registry: one operation per tool, operationId = tool name."""

from __future__ import annotations

import copy
from typing import Any

from pydantic.json_schema import models_json_schema

from tools.errors import ERROR_CLASSES
from tools.registry import ToolSpec

REF = "#/components/schemas/{model}"
ERROR_STATUSES = {
    "400": "Invalid request: details.errors lists every problem with a JSON pointer.",
    "401": "Missing or invalid API key, or the key lacks the scope this call needs.",
    "402": "No payment method on file.",
    "403": "Not allowed now (state, policy, spend cap); details.current_status where relevant.",
    "404": "No such resource for this account.",
    "409": "Idempotency-Key reused with a different request.",
    "429": "Rate limited: retry after the Retry-After header's seconds.",
    "500": "Internal error; quote the request_id.",
}

#: Request bodies shown as examples (seed 002's example where it gives one).
EXAMPLES: dict[str, dict[str, Any]] = {
    "signup_developer": {"email": "dev@example.com", "name": "Acme Agents"},
    "signup_talent": {
        "name": "Tess Talent",
        "email": "tess@example.com",
        "task_types": ["PRODUCT_PHOTO_ECOMM"],
        "city": "Hamilton ON",
        "radius_km": 25,
        "hourly_rate": 60,
    },
    "create_task": {
        "task_type": "PRODUCT_PHOTO_ECOMM",
        "title": "DEKE Spring SKU shoot — 10 products",
        "location": {"mode": "onsite", "address": "12 Hess St N, Hamilton ON"},
        "schedule": {"start_at": "2030-04-25T16:00:00Z", "duration_hours": 3},
        "budget": {"currency": "CAD", "pricing_model": "fixed", "max_total": 300},
        "deliverables": [{"kind": "photo", "count": 30, "format": "jpeg"}],
        "task_spec": {"product_count": 10, "background": "white", "angles": ["front", "back", "detail"]},
    },
}


def error_envelope_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "title": "ErrorEnvelope",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["http_status", "code", "message", "details", "request_id"],
                "properties": {
                    "http_status": {"type": "integer"},
                    "code": {"type": "string", "enum": sorted({cls.code for cls in ERROR_CLASSES})},
                    "message": {"type": "string", "description": "Names the bad value and the next step."},
                    "details": {"type": "object", "description": "errors: [{pointer, message}] for 400; more by code."},
                    "request_id": {"type": "string"},
                },
            }
        },
        "example": {
            "error": {
                "http_status": 400,
                "code": "SCHEMA_VALIDATION_FAILED",
                "message": "Task validation failed",
                "details": {
                    "errors": [{"pointer": "/task_spec/product_count", "message": "0 is less than the minimum of 1"}]
                },
                "request_id": "req_0123456789abcdef01234567",
            }
        },
    }


def _model_schemas(tools: dict[str, ToolSpec]) -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
    pairs = []
    for spec in tools.values():
        pairs += [(spec.input_model, "validation"), (spec.output_model, "serialization")]
    keys, top = models_json_schema(list(dict.fromkeys(pairs)), ref_template=REF)
    return keys, top.get("$defs", {})


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional query parameter is simply left out, so `anyOf [X, null]` becomes X."""
    options = schema.get("anyOf")
    if options and any(o.get("type") == "null" for o in options):
        rest = [o for o in options if o.get("type") != "null"]
        out = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        out.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
        return out
    return schema


def _parameters(spec: ToolSpec, model_schema: dict[str, Any]) -> list[dict[str, Any]]:
    props, required = model_schema.get("properties", {}), set(model_schema.get("required", []))
    params = []
    for name in spec.path_params:
        params.append({"name": name, "in": "path", "required": True, "schema": _without_null(props[name])})
    if spec.method in ("GET", "DELETE"):
        for name, schema in props.items():
            if name in spec.path_params:
                continue
            param = {"name": name, "in": "query", "required": name in required, "schema": _without_null(schema)}
            if "description" in schema:
                param["description"] = schema["description"]
            params.append(param)
    if spec.method == "POST":
        params.append({"$ref": "#/components/parameters/IdempotencyKey"})
    return params


def _request_body(spec: ToolSpec, model_schema: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    if spec.path_params:
        # Path parameters travel in the URL; the body schema is the model without them.
        body = copy.deepcopy(model_schema)
        for name in spec.path_params:
            body.get("properties", {}).pop(name, None)
        body["required"] = [r for r in body.get("required", []) if r not in spec.path_params]
        if not body["required"]:
            del body["required"]
        body.pop("title", None)
        schema = body
    else:
        schema = ref
    content: dict[str, Any] = {"schema": schema}
    if spec.name in EXAMPLES:
        content["example"] = EXAMPLES[spec.name]
    required = any(name not in spec.path_params for name in model_schema.get("required", []))
    return {"required": required, "content": {"application/json": content}}


def _operation(spec: ToolSpec, keys: dict[Any, dict[str, Any]], defs: dict[str, Any]) -> dict[str, Any]:
    in_ref = keys[(spec.input_model, "validation")]
    model_schema = defs[in_ref["$ref"].rsplit("/", 1)[-1]]
    description = spec.description
    if spec.scope:
        description += f"\n\nNeeds an API key with the scope `{spec.scope}`."
    op: dict[str, Any] = {
        "operationId": spec.name,
        "summary": spec.summary,
        "description": description,
        "tags": [spec.area],
        "parameters": _parameters(spec, model_schema),
        "responses": {
            str(spec.status_code): {
                "description": spec.title,
                "content": {"application/json": {"schema": keys[(spec.output_model, "serialization")]}},
            },
            **{status: {"$ref": f"#/components/responses/Error{status}"} for status in ERROR_STATUSES},
        },
        "security": [{"bearerAuth": []}] if spec.scope else ([{}, {"bearerAuth": []}] if spec.optional_auth else []),
        "x-mcp-annotations": {
            "readOnlyHint": spec.read_only,
            "destructiveHint": spec.destructive,
            "idempotentHint": spec.idempotent,
            "openWorldHint": spec.open_world,
        },
    }
    if spec.scope:
        op["x-scope"] = spec.scope
    if spec.money:
        op["x-moves-money"] = True
    if not op["parameters"]:
        del op["parameters"]
    if spec.method not in ("GET", "DELETE"):
        op["requestBody"] = _request_body(spec, model_schema, in_ref)
    return op


def build_openapi(tools: dict[str, ToolSpec], *, base_url: str, version: str, description: str) -> dict[str, Any]:
    keys, defs = _model_schemas(tools)
    paths: dict[str, dict[str, Any]] = {}
    for spec in tools.values():
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, keys, defs)
    schemas = {name: defs[name] for name in sorted(defs)}
    schemas["ErrorEnvelope"] = error_envelope_schema()
    responses = {
        f"Error{status}": {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
        }
        for status, text in ERROR_STATUSES.items()
    }
    responses["Error429"]["headers"] = {
        "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "crewcall",
            "version": version,
            "description": description,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": base_url}],
        "tags": [{"name": area} for area in dict.fromkeys(spec.area for spec in tools.values())],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": responses,
            "parameters": {
                "IdempotencyKey": {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "Same key + same body replays the stored response; same key + another body is 409.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                }
            },
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API key: cc_live_… or cc_test_…"}
            },
        },
    }
