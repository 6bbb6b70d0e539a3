"""Webhook endpoints: register, list, delete, read delivery logs, send a test, redeliver.

Signatures, payloads and the retry schedule are described in tools/webhook_delivery.py.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select

from tools import notifications  # noqa: F401  (registers the e-mail subscriber)
from tools.errors import NotFound, PolicyBlocked, SchemaValidationFailed, schema_error
from tools.events import EVENT_TYPES
from tools.ids import new_id
from tools.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tools.pagination import ListPage, PageQuery, paginate
from tools.registry import tool
from tools.webhook_delivery import endpoint_data, enqueue_delivery

if TYPE_CHECKING:
    from tools.context import Ctx


class CreateWebhook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, description="Where to POST events: an http(s) URL reachable from the internet.")
    events: list[str] = Field(
        min_length=1, max_length=100, description='Event types to receive (see GET /llms.txt), or ["*"] for all.'
    )
    secret: str | None = Field(
        None,
        min_length=16,
        max_length=200,
        description="Signing secret; `whsec_<base64>` for Standard Webhooks. Generated (shown once) when absent.",
    )


class WebhookPublic(BaseModel):
    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    url: str
    events: list[str]
    status: str
    disabled_reason: str | None = None
    created_at: datetime


class WebhookCreated(WebhookPublic):
    secret: str = Field(
        description="Shown once: verify signatures with it (Standard Webhooks or X-CrewCall-Signature)."
    )


class WebhookRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_id: str = Field(description="The endpoint id, whk_….")


class WebhookDeleted(BaseModel):
    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    deleted: bool = True


class ListWebhooks(PageQuery):
    pass


class ListLogs(PageQuery):
    webhook_id: str = Field(description="The endpoint id, whk_….")


class AttemptPublic(BaseModel):
    id: str
    object: Literal["webhook_attempt"] = "webhook_attempt"
    delivery_id: str = Field(description="The webhook-id header of the delivery; the same on every retry.")
    event_id: str
    event_type: str
    attempt: int
    status: str = Field(description="succeeded or failed")
    response_code: int | None
    latency_ms: int
    error: str | None
    at: datetime


class DeliveryPublic(BaseModel):
    id: str
    object: Literal["webhook_delivery"] = "webhook_delivery"
    endpoint_id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    created_at: datetime


class Redeliver(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_id: str = Field(description="The endpoint id, whk_….")
    delivery_id: str = Field(description="The delivery to send again (msg_…, from the logs).")


class _Audited:
    """What the audit log keeps of an endpoint: never its secret."""

    __tablename__ = "webhook_endpoints"

    def __init__(self, endpoint: WebhookEndpoint) -> None:
        self.id, self.owner_id, self._data = endpoint.id, endpoint.owner_id, endpoint_data(endpoint)

    def model_dump(self, mode: str = "json") -> dict:
        return dict(self._data)


def _public(endpoint: WebhookEndpoint) -> WebhookPublic:
    return WebhookPublic.model_validate(endpoint, from_attributes=True)


def _delivery_public(delivery: WebhookDelivery) -> DeliveryPublic:
    return DeliveryPublic.model_validate(delivery, from_attributes=True)


def _check(ctx: Ctx, cmd: CreateWebhook) -> list[dict[str, str]]:
    errors = []
    parts = urlsplit(cmd.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        errors.append(schema_error("/url", f"{cmd.url!r} is not an http(s) URL with a host"))
    elif not ctx.config.extra.get("allow_private_webhooks") and _private_host(parts.hostname):
        errors.append(schema_error("/url", f"{parts.hostname!r} is a private or loopback address; use a public URL"))
    for i, name in enumerate(cmd.events):
        if name != "*" and name not in EVENT_TYPES:
            errors.append(schema_error(f"/events/{i}", f"unknown event {name!r}; one of {', '.join(EVENT_TYPES)} or *"))
    if cmd.secret and cmd.secret.startswith("whsec_"):
        try:
            if len(base64.b64decode(cmd.secret[6:], validate=True)) < 16:
                raise ValueError
        except ValueError:
            errors.append(schema_error("/secret", "a whsec_ secret is base64 of 16+ random bytes after the prefix"))
    return errors


def _private_host(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_global
    except ValueError:
        return False  # a name: checked again, resolved, at every delivery


@tool(method="POST", path="/v1/webhooks", scope="webhooks:write", status=201, title="Register a webhook endpoint")
def create_webhook(ctx: Ctx, cmd: CreateWebhook) -> WebhookCreated:
    """Register a URL that receives signed events as they happen; the secret is shown once.

    Every delivery is signed twice (Standard Webhooks `webhook-signature`, and
    `X-CrewCall-Signature: t=<ts>,v1=<hex HMAC-SHA256 of "ts.body">`); `webhook-id` stays the
    same across retries, so dedupe on it. Failed deliveries retry for about a day.
    """
    errors = _check(ctx, cmd)
    if errors:
        raise SchemaValidationFailed("Webhook validation failed", errors=errors)
    now = ctx.now()
    endpoint = WebhookEndpoint(
        id=new_id("whk"),
        owner_id=ctx.me.id,
        url=cmd.url,
        events=sorted(set(cmd.events)),
        secret=cmd.secret or "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(endpoint)
    ctx.audit(_Audited(endpoint), "webhook_endpoint.created")
    return WebhookCreated(**_public(endpoint).model_dump(), secret=endpoint.secret)


def _endpoints(ctx: Ctx):  # type: ignore[no-untyped-def]
    return select(WebhookEndpoint).where(WebhookEndpoint.owner_id == ctx.me.id, WebhookEndpoint.deleted_at.is_(None))  # type: ignore[union-attr]


@tool(method="GET", path="/v1/webhooks", scope="webhooks:write", title="List webhook endpoints")
def list_webhooks(ctx: Ctx, query: ListWebhooks) -> ListPage[WebhookPublic]:
    """List your webhook endpoints, newest first (secrets are never shown again)."""
    return paginate(ctx.session, _endpoints(ctx), WebhookEndpoint.id, query, _public)


def _owned(ctx: Ctx, webhook_id: str) -> WebhookEndpoint:
    endpoint = ctx.get_owned(WebhookEndpoint, webhook_id)
    if endpoint.deleted_at is not None:
        raise NotFound(f"No webhook endpoint {webhook_id!r} for this account.", id=webhook_id)
    return endpoint


@tool(
    method="DELETE",
    path="/v1/webhooks/{webhook_id}",
    scope="webhooks:write",
    destructive=True,
    idempotent=True,
    title="Remove a webhook endpoint",
)
def delete_webhook(ctx: Ctx, cmd: WebhookRef) -> WebhookDeleted:
    """Remove a webhook endpoint: it receives nothing more, and pending retries are dropped."""
    endpoint = _owned(ctx, cmd.webhook_id)
    before = endpoint_data(endpoint)
    endpoint.deleted_at = endpoint.updated_at = ctx.now()
    endpoint.status = "disabled"
    endpoint.disabled_reason = "deleted"
    ctx.session.add(endpoint)
    ctx.audit(_Audited(endpoint), "webhook_endpoint.deleted", before=before)
    return WebhookDeleted(id=endpoint.id)


@tool(method="GET", path="/v1/webhooks/{webhook_id}/logs", scope="webhooks:write", title="Read webhook delivery logs")
def list_webhook_logs(ctx: Ctx, query: ListLogs) -> ListPage[AttemptPublic]:
    """List every delivery attempt to an endpoint, newest first: event, attempt number, status,
    response code, latency and error. Use it to debug your receiver; redeliver from here."""
    endpoint = _owned(ctx, query.webhook_id)
    stmt = select(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint.id)
    return paginate(
        ctx.session, stmt, WebhookAttempt.id, query, lambda a: AttemptPublic.model_validate(a, from_attributes=True)
    )


def _refuse_disabled(endpoint: WebhookEndpoint) -> None:
    if endpoint.status != "enabled":
        raise PolicyBlocked(
            f"Webhook endpoint {endpoint.id} is disabled ({endpoint.disabled_reason}); register the URL again.",
            current_status=endpoint.status,
            id=endpoint.id,
        )


@tool(
    method="POST", path="/v1/webhooks/{webhook_id}/test", scope="webhooks:write", status=202, title="Send a test event"
)
def test_webhook(ctx: Ctx, cmd: WebhookRef) -> DeliveryPublic:
    """Send a `webhook.test` event to this endpoint now, to check your receiver and signature code.

    Then read GET /v1/webhooks/{webhook_id}/logs for the outcome.
    """
    endpoint = _owned(ctx, cmd.webhook_id)
    _refuse_disabled(endpoint)
    data = {"webhook_endpoint": endpoint_data(endpoint), "message": "A test event from CrewCall."}
    event = Event(
        id=new_id("evt"),
        owner_id=endpoint.owner_id,
        type="webhook.test",
        entity_type="webhook_endpoints",
        entity_id=endpoint.id,
        data=data,
        request_id=ctx.request_id,
        created_at=ctx.now(),
    )
    ctx.session.add(event)  # not through emit: only this endpoint hears it, and no e-mail goes out
    return _delivery_public(enqueue_delivery(ctx, endpoint, event))


@tool(
    method="POST",
    path="/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    scope="webhooks:write",
    status=202,
    title="Redeliver an event",
)
def redeliver_webhook(ctx: Ctx, cmd: Redeliver) -> DeliveryPublic:
    """Send a past delivery again (same webhook-id and body, new timestamp and signature).

    Use it after fixing your receiver; find delivery ids in GET /v1/webhooks/{webhook_id}/logs.
    """
    endpoint = _owned(ctx, cmd.webhook_id)
    delivery = ctx.session.get(WebhookDelivery, cmd.delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFound(f"No delivery {cmd.delivery_id!r} for webhook {endpoint.id}.", id=cmd.delivery_id)
    _refuse_disabled(endpoint)
    event = ctx.session.get(Event, delivery.event_id)
    assert event is not None
    ctx.audit(_Audited(endpoint), "webhook_delivery.redelivered")
    return _delivery_public(enqueue_delivery(ctx, endpoint, event, delivery=delivery))
