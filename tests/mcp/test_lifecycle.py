"""The same lifecycle through REST and through MCP (streamable HTTP and stdio) gives the same results."""

from __future__ import annotations

import functools

import anyio
import httpx

from tests.conftest import LiveServer
from tests.mcp.scenario import lifecycle, mcp_connect, mcp_http, mcp_stdio, normalised, rest_connect


def test_mcp_over_streamable_http_gives_the_same_results_as_rest(api: httpx.Client, server: LiveServer) -> None:
    over_rest = anyio.run(lifecycle, api, rest_connect(api))
    over_mcp = anyio.run(lifecycle, api, mcp_connect(functools.partial(mcp_http, server.url)))
    assert normalised(over_mcp) == normalised(over_rest)


def test_mcp_over_stdio_gives_the_same_results_as_rest(api: httpx.Client, server: LiveServer) -> None:
    stdio = functools.partial(
        mcp_stdio, server.settings.database_url, data_dir=server.settings.data_dir, base_url=server.url
    )
    over_rest = anyio.run(lifecycle, api, rest_connect(api))
    over_mcp = anyio.run(lifecycle, api, mcp_connect(lambda key: stdio(key)))
    assert normalised(over_mcp) == normalised(over_rest)
