"""Webhook fan-out, signing and the delivery job.

Every delivery carries two signatures over the exact body bytes:

* Standard Webhooks (https://www.standardwebhooks.com): `webhook-id` (the delivery id `msg_…`,
  the same on every retry and redelivery: dedupe on it), `webhook-timestamp` (Unix seconds of this
  attempt) and `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, where
  key is the base64-decoded part of the secret after `whsec_`. `standardwebhooks.Webhook(secret)
  .verify(body, headers)` checks it.
* CrewCall's own, for seed 002's clients: `X-CrewCall-Timestamp: <ts>` and
  `X-CrewCall-Signature: t=<ts>,v1=<hex HMAC-SHA256(key, "{ts}.{body}")>` with the same key
  (for a secret given without the `whsec_` prefix, the key is that secret's UTF-8 bytes). Reject
  a timestamp more than 5 minutes from your clock (replay protection).

The body is `{"id": "evt_…", "type": "...", "created_at": "...", "data": {...}}`.

Retries follow Svix's schedule (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; ±10 %
jitter; `webhook_retry_scale` in the config compresses it for tests). Only 2xx is success;
`Retry-After` is honoured on 429/502/503/504; 410 Gone disables the endpoint; an endpoint that
keeps failing for `webhook_disable_after_hours` (5 days) is disabled and its owner is told.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam
from sqlmodel import select

from tools import events
from tools.ids import new_id
from tools.jobs import JobRun, Outcome, enqueue, handler, jitter, wake_after_commit
from tools.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    from tools.context import Ctx

SCHEDULE: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
RETRY_AFTER_CODES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER = 24 * 3600.0
ERROR_TEXT_LIMIT = 500


def secret_key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_") :])
    return secret.encode()


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def crewcall_signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret_key(secret), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def signed_headers(secret: str, msg_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "content-type": "application/json",
        "user-agent": "CrewCall-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": standard_signature(secret, msg_id, ts, body),
        "x-crewcall-timestamp": str(ts),
        "x-crewcall-signature": crewcall_signature(secret, ts, body),
    }


def event_body(event: Event) -> bytes:
    created = event.created_at.isoformat().replace("+00:00", "Z")
    payload = {"id": event.id, "type": event.type, "created_at": created, "data": event.data}
    return json.dumps(payload, separators=(",", ":"), default=str).encode()


def subscribed(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return "*" in endpoint.events or event_type in endpoint.events


# --- fan-out (inside the state change's transaction) -----------------------------------------


def enqueue_delivery(
    ctx: Ctx, endpoint: WebhookEndpoint, event: Event, *, delivery: WebhookDelivery | None = None
) -> WebhookDelivery:
    now = ctx.now()
    if delivery is None:
        delivery = WebhookDelivery(
            id=new_id("msg"),
            endpoint_id=endpoint.id,
            owner_id=endpoint.owner_id,
            event_id=event.id,
            event_type=event.type,
            created_at=now,
            updated_at=now,
        )
    job = enqueue(ctx.session, "webhook", {"delivery_id": delivery.id}, now=now, max_attempts=len(SCHEDULE))
    delivery.job_id, delivery.status, delivery.updated_at = job.id, "pending", now
    ctx.session.add(delivery)
    wake_after_commit(ctx)
    return delivery


#: Runs on every state change, so it reads two columns with a cached Core statement and loads an
#: endpoint only when it wants the event (most owners have none).
_ENABLED_ENDPOINTS = select(WebhookEndpoint.id, WebhookEndpoint.events).where(
    WebhookEndpoint.owner_id == bindparam("owner"),
    WebhookEndpoint.status == "enabled",
    WebhookEndpoint.deleted_at.is_(None),  # type: ignore[union-attr]
)


def fan_out(ctx: Ctx, event: Event) -> None:
    """SUBSCRIBER: one delivery job per enabled endpoint of the owner that wants this type."""
    with ctx.session.no_autoflush:
        rows = ctx.session.connection().execute(_ENABLED_ENDPOINTS, {"owner": event.owner_id}).all()
    for endpoint_id, wanted in rows:
        if "*" in wanted or event.type in wanted:
            endpoint = ctx.session.get(WebhookEndpoint, endpoint_id)
            if endpoint is not None:
                enqueue_delivery(ctx, endpoint, event)


if fan_out not in events.SUBSCRIBERS:
    events.SUBSCRIBERS.append(fan_out)


# --- the delivery job ------------------------------------------------------------------------


def _setting(run: JobRun, name: str, default: float) -> float:
    return float(run.services.config.extra.get(name, default))


@handler("webhook")
def deliver(run: JobRun) -> Outcome:
    with run.sessions(write=False) as session:
        delivery = session.get(WebhookDelivery, run.job.payload["delivery_id"])
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id) if delivery else None
        event = session.get(Event, delivery.event_id) if delivery else None
    if delivery is None or endpoint is None or event is None:
        return Outcome(ok=False, cancelled=True, error="the delivery, its endpoint or its event is gone")
    if endpoint.status != "enabled" or endpoint.deleted_at is not None:
        return Outcome(ok=False, cancelled=True, error=f"endpoint {endpoint.id} is {endpoint.status}")
    body = event_body(event)
    client = run.services.extra["http_out"]
    code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    started = time.perf_counter()
    try:
        response = client.post(endpoint.url, content=body, headers=signed_headers(endpoint.secret, delivery.id, body))
        code = response.status_code
        if not 200 <= code < 300:
            error = f"HTTP {code}: {response.text[:200]}"
        if code in RETRY_AFTER_CODES:
            retry_after = _retry_after(response.headers.get("retry-after"))
    except Exception as exc:  # network errors, refused destinations: all are failed attempts
        error = f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_LIMIT]
    latency_ms = int((time.perf_counter() - started) * 1000)
    ok = error is None
    gone = code == 410
    attempts = run.job.attempts
    final = gone or attempts >= len(SCHEDULE)
    retry_in = SCHEDULE[min(attempts, len(SCHEDULE) - 1)] * _setting(run, "webhook_retry_scale", 1.0)
    retry_in = jitter(retry_in)
    if retry_after is not None:
        retry_in = max(retry_in, retry_after)

    def record(ctx: Ctx, held: bool) -> None:
        row = ctx.session.get(WebhookDelivery, delivery.id)
        assert row is not None
        row.attempts += 1
        ctx.session.add(
            WebhookAttempt(
                id=new_id("wha"),
                endpoint_id=endpoint.id,
                delivery_id=delivery.id,
                owner_id=endpoint.owner_id,
                event_id=event.id,
                event_type=event.type,
                attempt=row.attempts,
                status="succeeded" if ok else "failed",
                response_code=code,
                latency_ms=latency_ms,
                error=error,
                at=ctx.now(),
            )
        )
        if held:
            row.status = "succeeded" if ok else ("failed" if final else "pending")
            row.updated_at = ctx.now()
            _track_health(ctx, endpoint.id, ok=ok, gone=gone)
        ctx.session.add(row)

    if ok:
        return Outcome(ok=True, record=record)
    return Outcome(ok=False, error=error, retry_in=retry_in, final=final, record=record)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _track_health(ctx: Ctx, endpoint_id: str, *, ok: bool, gone: bool) -> None:
    """Reset the failure streak on success; disable on 410 or after days of failures."""
    # Locked: concurrent deliveries to one endpoint must not both disable it (and tell twice).
    endpoint = ctx.session.exec(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if endpoint is None or endpoint.status != "enabled":
        return
    now = ctx.now()
    if ok:
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            ctx.session.add(endpoint)
        return
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        ctx.session.add(endpoint)
    hours = float(ctx.config.extra.get("webhook_disable_after_hours", 120))
    if gone:
        disable(ctx, endpoint, "the receiver answered 410 Gone")
    elif now - endpoint.failing_since >= timedelta(hours=hours):
        disable(ctx, endpoint, f"every delivery failed for {hours:g} hours")


def disable(ctx: Ctx, endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.status, endpoint.disabled_reason, endpoint.updated_at = "disabled", reason, ctx.now()
    ctx.session.add(endpoint)
    ctx.emit(
        "webhook_endpoint.disabled", endpoint, {"webhook_endpoint": endpoint_data(endpoint)}, owner_id=endpoint.owner_id
    )


def endpoint_data(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "url": endpoint.url,
        "events": endpoint.events,
        "status": endpoint.status,
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": _iso(endpoint.failing_since),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
