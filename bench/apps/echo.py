"""Reference (a): a bare Starlette endpoint that reads the JSON body and echoes it back.

It is the ceiling of this stack on this machine: HTTP parsing, routing, one body read, one response.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def echo(request: Request) -> Response:
    body = await request.body()
    return Response(body, status_code=201, media_type="application/json")


app = Starlette(routes=[Route("/v1/tasks", echo, methods=["POST"])])
