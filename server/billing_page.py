"""The card-setup page of the embedded payments provider: a form, no JavaScript.

GET /v1/billing/setup shows it (seed 002's browser-friendly form); the form posts to
/billing/setup, which hands the card to the `complete_billing_setup` tool (with the link's
session) or to `add_payment_method` (with a pasted API key). No domain logic lives here.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from server.adapters.payments import TEST_CARDS
from server.logs import request_id_var
from server.rest import run_call
from tools.errors import ToolError
from tools.registry import registry
from tools.runner import Call

MAX_FORM_BYTES = 10_000

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>crewcall — add a card</title>
<style>body{{font:16px system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}
label{{display:block;margin:1rem 0 .3rem}}input,select,button{{font:inherit;padding:.4rem;width:100%}}
.error{{color:#a40000}}.ok{{color:#05660d}}</style></head>
<body><h1>Add a card</h1>
{message}
<form method="post" action="/billing/setup">
<input type="hidden" name="session" value="{session}">
{key_field}
<label for="token">Test card</label>
<select id="token" name="token">{options}</select>
<p><small>The embedded provider takes Stripe's test cards; no real money moves.</small></p>
<button type="submit">Add card</button>
</form></body></html>"""

KEY_FIELD = """<label for="api_key">Your API key</label>
<input id="api_key" name="api_key" type="password" autocomplete="off" placeholder="cc_test_…" required>"""


def render(*, session: str, message: str = "", status_code: int = 200) -> HTMLResponse:
    options = "".join(
        f'<option value="{html.escape(token)}">{html.escape(brand)} •••• {last4} ({html.escape(token)})</option>'
        for token, (brand, last4, _) in TEST_CARDS.items()
    )
    body = PAGE.format(
        message=message,
        session=html.escape(session),
        key_field="" if session else KEY_FIELD,
        options=options,
    )
    return HTMLResponse(body, status_code=status_code)


def routes(state: Any) -> list[Route]:
    async def show(request: Request) -> HTMLResponse:
        return render(session=request.query_params.get("session", "")[:500])

    async def submit(request: Request) -> HTMLResponse:
        raw = await request.body()
        form = {k: v[0] for k, v in parse_qs(raw[:MAX_FORM_BYTES].decode("utf-8", "replace")).items()}
        session, card = form.get("session", ""), form.get("token", "")
        client = request.client.host if request.client else "unknown"
        if session:
            call = Call(
                tool=registry()["complete_billing_setup"],
                arguments={"setup_token": session, "token": card},
                request_id=request_id_var.get(),
                client=client,
            )
        else:
            call = Call(
                tool=registry()["add_payment_method"],
                arguments={"token": card},
                token=form.get("api_key", "").strip() or None,
                request_id=request_id_var.get(),
                client=client,
            )
        try:
            result = await run_call(state, call)
        except ToolError as exc:
            note = f'<p class="error">{html.escape(exc.message)}</p>'
            return render(session=session, message=note, status_code=exc.http_status)
        card_info = result.data()
        note = (
            f'<p class="ok">Card {html.escape(str(card_info.get("brand")))} •••• '
            f"{html.escape(str(card_info.get('last4')))} added. You can close this page.</p>"
        )
        return render(session=session, message=note, status_code=201)

    return [
        Route("/v1/billing/setup", show, methods=["GET"], name="billing_setup_page"),
        Route("/billing/setup", submit, methods=["POST"], name="billing_setup_submit"),
    ]
