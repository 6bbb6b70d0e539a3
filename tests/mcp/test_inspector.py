"""The MCP Inspector's strict CLI lists our tools without schema complaints."""

from __future__ import annotations

import json
import subprocess

import httpx

from tests.conftest import LiveServer
from tests.factories import signup_customer
from tests.mcp.node import INSPECTOR, NODE, require_node_tools


def inspector(*args: str) -> subprocess.CompletedProcess[str]:
    entry = json.loads((INSPECTOR / "package.json").read_text())["bin"]["mcp-inspector"]
    command = [str(NODE), str(INSPECTOR / entry), "--cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_inspector_strict_tools_list_exits_zero(api: httpx.Client, server: LiveServer) -> None:
    require_node_tools()
    _, customer = signup_customer(api)
    done = inspector(
        f"{server.url}/mcp",
        "--header",
        f"Authorization: Bearer {customer['api_key']}",
        "--method",
        "tools/list",
        "--strict",
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "create_task" in done.stdout
