"""Discovery: `/llms.txt`, `/openapi.json`, `/.well-known/ai-plugin.json` and the JSON root.

All four are built from the registry. The checked-in copies (llms.txt, openapi/openapi.json,
openapi/ai-plugin.json) use a placeholder base URL and are written by `crewcall generate`
(or `python -m server.discovery`); a test fails when they differ from a fresh build.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from server.llms_txt import build_llms_txt as _llms_txt
from server.openapi import build_openapi
from tools.registry import registry

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_URL = "http://127.0.0.1:8000"
DESCRIPTION = (
    "Hire people for real-world work from an AI agent: post a task from a template, collect quotes, "
    "book with escrow, receive deliverables checked by automated QA, accept to pay the talent."
)
FOR_MODEL = (
    "crewcall lets you hire a person for on-site work (photo and video shoots, retail audits, billboard "
    "checks, flyer distribution, event staffing, podcast capture). Read llms.txt first. Flow: get_template, "
    "create_task, request quotes, accept a quote, create a booking (escrow), wait for deliverables, run QA, "
    "accept the work. Money is whole currency units. Send Idempotency-Key on writes you may retry. Errors "
    "carry code, message and details with the next step."
)


@cache
def service_version() -> str:
    pyproject = ROOT / "pyproject.toml"
    if pyproject.exists():
        return str(tomllib.loads(pyproject.read_text())["project"]["version"])
    return metadata.version("crewcall")


def build_llms_txt(base_url: str) -> str:
    return _llms_txt(registry(), base_url=base_url)


def openapi_document(base_url: str) -> dict[str, Any]:
    return build_openapi(registry(), base_url=base_url, version=service_version(), description=DESCRIPTION)


def ai_plugin(base_url: str) -> dict[str, Any]:
    return {
        "schema_version": "v1",
        "name_for_human": "crewcall",
        "name_for_model": "crewcall",
        "description_for_human": DESCRIPTION,
        "description_for_model": FOR_MODEL,
        "auth": {"type": "user_http", "authorization_type": "bearer"},
        "api": {"type": "openapi", "url": f"{base_url}/openapi.json"},
        "mcp": {"url": f"{base_url}/mcp", "transport": "streamable-http"},
        "llms_txt": f"{base_url}/llms.txt",
        "legal_info_url": "https://www.apache.org/licenses/LICENSE-2.0",
    }


def root_document(base_url: str) -> dict[str, Any]:
    tools = registry()
    return {
        "object": "service",
        "name": "crewcall",
        "version": service_version(),
        "description": DESCRIPTION,
        "endpoints": {
            "rest": f"{base_url}/v1",
            "mcp": f"{base_url}/mcp",
            "llms_txt": f"{base_url}/llms.txt",
            "openapi": f"{base_url}/openapi.json",
            "ai_plugin": f"{base_url}/.well-known/ai-plugin.json",
        },
        "auth": "Authorization: Bearer <api_key>; get a key with POST /v1/developer/signup",
        "tools": [
            {"name": s.name, "method": s.method, "path": s.path, "summary": s.summary, "scope": s.scope}
            for s in tools.values()
        ],
    }


def generated_files(base_url: str = PLACEHOLDER_URL) -> dict[Path, str]:
    """Every checked-in generated file and its exact content."""
    return {
        ROOT / "llms.txt": build_llms_txt(base_url),
        ROOT / "openapi" / "openapi.json": _json(openapi_document(base_url)),
        ROOT / "openapi" / "ai-plugin.json": _json(ai_plugin(base_url)),
    }


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_generated() -> list[Path]:
    changed = []
    for path, text in generated_files().items():
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(path)
    return changed


# --- HTTP ----------------------------------------------------------------------------------------


def routes(state: Any) -> list[Route]:
    base = state.settings.public_url
    # Built once per app: the registry does not change while the process runs.
    llms = build_llms_txt(base)
    spec = openapi_document(base)
    plugin = ai_plugin(base)
    root = root_document(base)

    async def llms_txt(request: Request) -> Response:
        return PlainTextResponse(llms, media_type="text/markdown; charset=utf-8")

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(spec)

    async def ai_plugin_json(request: Request) -> Response:
        return JSONResponse(plugin)

    async def index(request: Request) -> Response:
        return JSONResponse(root)

    return [
        Route("/", index, methods=["GET"], name="discovery_root"),
        Route("/llms.txt", llms_txt, methods=["GET"], name="llms_txt"),
        Route("/openapi.json", openapi_json, methods=["GET"], name="openapi_json"),
        Route("/.well-known/ai-plugin.json", ai_plugin_json, methods=["GET"], name="ai_plugin"),
    ]


# --- command line --------------------------------------------------------------------------------


def generate(args: argparse.Namespace | None = None) -> None:
    changed = write_generated()
    for path in changed:
        print(f"wrote {path.relative_to(ROOT)}")
    if not changed:
        print("generated files are up to date")


def register_cli(subparsers: Any) -> None:
    parser = subparsers.add_parser("generate", help="write llms.txt and openapi/*.json from the tool registry")
    parser.set_defaults(func=generate)


if __name__ == "__main__":
    sys.exit(generate())
