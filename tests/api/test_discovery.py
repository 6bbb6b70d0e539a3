"""Discovery over HTTP: the served documents use the server's public URL."""

from __future__ import annotations

import httpx

from server.discovery import PLACEHOLDER_URL, generated_files
from tests.conftest import LiveServer
from tools.registry import registry


def test_root_is_a_json_map_of_the_service(api: httpx.Client, server: LiveServer) -> None:
    root = api.get("/").json()
    assert root["name"] == "crewcall" and root["version"]
    assert root["endpoints"]["mcp"] == f"{server.settings.public_url}/mcp"
    assert [t["name"] for t in root["tools"]] == list(registry())


def test_served_files_are_the_checked_in_ones_with_the_public_url(api: httpx.Client, server: LiveServer) -> None:
    served = {
        "llms.txt": api.get("/llms.txt").text,
        "openapi.json": api.get("/openapi.json").text,
        "ai-plugin.json": api.get("/.well-known/ai-plugin.json").text,
    }
    for path, text in generated_files(server.settings.public_url).items():
        if path.name == "llms.txt":
            assert served["llms.txt"] == text
        else:
            assert httpx.Response(200, text=served[path.name]).json() == httpx.Response(200, text=text).json()
    assert PLACEHOLDER_URL not in served["openapi.json"]
    assert api.get("/.well-known/ai-plugin.json").json()["api"]["url"] == f"{server.settings.public_url}/openapi.json"


def test_an_unknown_path_is_still_a_json_404(api: httpx.Client) -> None:
    resp = api.get("/no/such/thing")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "NOT_FOUND"
