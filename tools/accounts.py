"""Accounts and API keys: sign-up for developers and talent, key listing, rotation, revocation."""

from __future__ import annotations

import hashlib
import secrets
import string
import time
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, select

from tools.errors import AuthScopeDenied, SchemaValidationFailed, schema_error
from tools.ids import new_id
from tools.models import ApiKey, Principal, TalentProfile
from tools.registry import tool
from tools.templates import TaskType

if TYPE_CHECKING:
    from tools.context import Ctx

CUSTOMER_SCOPES = frozenset(
    {
        "tasks:read",
        "tasks:write",
        "quotes:write",
        "bookings:write",
        "billing:write",
        "work_orders:write",
        "webhooks:write",
        "talent:read",
        "files:write",
        "audit:read",
        "keys:write",
    }
)
TALENT_SCOPES = frozenset(
    {
        "tasks:read",
        "talent:read",
        "talent:write",
        "files:write",
        "work_orders:write",
        "audit:read",
        "keys:write",
    }
)
SCOPES_BY_KIND = {"customer": CUSTOMER_SCOPES, "talent": TALENT_SCOPES, "operator": CUSTOMER_SCOPES | TALENT_SCOPES}

_ALPHABET = string.ascii_letters + string.digits
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def hash_key(raw: str) -> str:
    # Keys carry 190 bits of randomness, so a fast hash is safe and keeps auth cheap.
    return hashlib.sha256(raw.encode()).hexdigest()


#: Seconds a valid key is trusted without a database lookup. Revoking or rotating a key forgets it
#: in this process at once (after commit); other worker processes notice within this time.
AUTH_CACHE_SECONDS = 5.0
_AUTH_CACHE_MAX = 10_000
#: key hash → (monotonic expiry, the principal, the key's scopes). The cached principal is a
#: detached copy shared by concurrent calls: read it, never add it to a session (tools that change
#: an account load it with `session.get`).
_auth_cache: dict[str, tuple[float, Principal, frozenset[str]]] = {}
_forgotten = [0]  #: bumped by forget_key: a lookup that raced a revocation is not cached


def authenticate(session: Session, token: str | None, *, now: datetime) -> tuple[Principal, frozenset[str]]:
    if not token:
        raise AuthScopeDenied("This call needs an API key: send Authorization: Bearer cc_…")
    digest = hash_key(token)
    cached = _auth_cache.get(digest)
    if cached is not None and cached[0] > time.monotonic():
        # No query, so the call holds no connection yet (SQLite's one connection stays free).
        return cached[1], cached[2]
    generation = _forgotten[0]
    row = session.exec(select(ApiKey, Principal).join(Principal).where(ApiKey.key_hash == digest)).first()
    if row is None or row[0].revoked_at is not None:
        _auth_cache.pop(digest, None)
        raise AuthScopeDenied("This API key is not valid: it is unknown or was revoked.")
    key, principal = row
    scopes = frozenset(key.scopes)
    if len(_auth_cache) >= _AUTH_CACHE_MAX:
        _auth_cache.clear()
    if generation == _forgotten[0]:
        shared = Principal(**principal.model_dump())
        make_transient_to_detached(shared)
        _auth_cache[digest] = (time.monotonic() + AUTH_CACHE_SECONDS, shared, scopes)
    return principal, scopes


def forget_key(ctx: Ctx, key_hash: str) -> None:
    """Stop trusting a cached key now and again once the transaction that revokes it commits."""

    def forget() -> None:
        _forgotten[0] += 1
        _auth_cache.pop(key_hash, None)

    forget()
    ctx.after_commit.append(forget)


def issue_key(
    ctx: Ctx, principal: Principal, *, scopes: frozenset[str] | None = None, label: str | None = None
) -> tuple[ApiKey, str]:
    """Create a key; the raw secret is returned once and only its hash is stored."""
    mode = ctx.config.key_mode
    raw = f"cc_{mode}_" + "".join(secrets.choice(_ALPHABET) for _ in range(32))
    key = ApiKey(
        id=new_id("key"),
        principal_id=principal.id,
        key_hash=hash_key(raw),
        prefix=raw[:12],
        mode=mode,
        scopes=sorted(scopes if scopes is not None else SCOPES_BY_KIND[principal.kind]),
        label=label,
        created_at=ctx.now(),
    )
    ctx.session.add(key)
    return key, raw


# --- sign-up ---------------------------------------------------------------------------------


class SignupDeveloper(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(pattern=EMAIL_PATTERN, max_length=254, description="Where e-mails about your tasks go.")
    name: str = Field(min_length=1, max_length=200, description="Your name or your company's.")


class SignupResult(BaseModel):
    object: Literal["signup"] = "signup"
    principal_id: str
    api_key: str = Field(description="Shown once: store it now. Send as Authorization: Bearer <api_key>.")
    key_id: str
    mode: str
    scopes: list[str]


@tool(method="POST", path="/v1/developer/signup", scope=None, status=201, title="Sign up a developer")
def signup_developer(ctx: Ctx, cmd: SignupDeveloper) -> SignupResult:
    """Create a customer account and its first API key (shown once).

    Call this first; every other customer call needs the key as `Authorization: Bearer cc_…`.
    """
    principal = Principal(
        id=new_id("acct"), kind="customer", name=cmd.name, email=cmd.email.lower(), created_at=ctx.now()
    )
    ctx.session.add(principal)
    ctx.session.flush()  # keys reference the principal; no relationship orders the inserts for us
    key, raw = issue_key(ctx, principal, label="signup")
    ctx.principal = principal
    ctx.audit(principal, "principal.created", owner_id=principal.id)
    return SignupResult(principal_id=principal.id, api_key=raw, key_id=key.id, mode=key.mode, scopes=key.scopes)


class LatLng(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class SignupTalent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: str = Field(pattern=EMAIL_PATTERN, max_length=254)
    task_types: list[TaskType] = Field(min_length=1, description="The task types you take on.")
    home: LatLng | None = Field(None, description="Where you start from; or give `city` instead.")
    city: str | None = Field(
        None, max_length=200, description="Your city, e.g. 'Hamilton ON', when you give no `home`."
    )
    radius_km: float = Field(25, gt=0, le=500, description="How far you travel for a job, in km.")
    hourly_rate: int = Field(0, ge=0, le=100_000, description="Your usual rate in whole currency units per hour.")
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    bio: str | None = Field(None, max_length=2000)
    skills: list[str] = Field(default_factory=list, max_length=50)

    @staticmethod
    def more_errors(raw: dict[str, object]) -> list[dict[str, str]]:
        return _place_errors(raw.get("home"), raw.get("city"))


def _place_errors(home: object, city: object) -> list[dict[str, str]]:
    if home is None and not city:
        return [schema_error("/home", "give home {lat, lng} or a city")]
    return []


class TalentSignupResult(BaseModel):
    object: Literal["talent_signup"] = "talent_signup"
    talent_id: str
    api_key: str = Field(description="Shown once: store it now.")
    key_id: str
    home: dict[str, object]


@tool(method="POST", path="/v1/talent/signup", scope=None, status=201, title="Sign up as talent")
def signup_talent(ctx: Ctx, cmd: SignupTalent) -> TalentSignupResult:
    """Create a talent profile and its API key (shown once).

    The talent uses the key to quote on tasks, check in and deliver.
    """
    if errors := _place_errors(cmd.home, cmd.city):
        raise SchemaValidationFailed("Talent validation failed", errors=errors)
    if cmd.home is not None:
        lat, lng, city, precision = cmd.home.lat, cmd.home.lng, cmd.city, "exact"
        tz = ctx.services.geocoder.timezone_at(lat, lng)
    else:
        place = ctx.services.geocoder.resolve(cmd.city or "")
        if place is None:
            raise SchemaValidationFailed(
                "Talent validation failed",
                errors=[schema_error("/city", f"cannot find the city {cmd.city!r}; send home {{lat, lng}} instead")],
            )
        lat, lng, city, precision, tz = place.lat, place.lng, place.city, place.precision, place.timezone
    now = ctx.now()
    principal = Principal(id=new_id("tal"), kind="talent", name=cmd.name, email=cmd.email.lower(), created_at=now)
    profile = TalentProfile(
        id=principal.id,
        name=cmd.name,
        email=cmd.email.lower(),
        bio=cmd.bio,
        task_types=list(cmd.task_types),
        skills=cmd.skills,
        home_lat=lat,
        home_lng=lng,
        home_city=city,
        home_precision=precision,
        timezone=tz,
        radius_km=cmd.radius_km,
        hourly_rate_cents=cmd.hourly_rate * 100,
        currency=cmd.currency,
        created_at=now,
    )
    ctx.session.add(principal)
    ctx.session.flush()  # the profile's foreign key needs the principal first on PostgreSQL
    ctx.session.add(profile)
    key, raw = issue_key(ctx, principal, label="signup")
    ctx.principal = principal
    ctx.audit(profile, "talent.created", owner_id=principal.id)
    home = {"lat": lat, "lng": lng, "city": city, "precision": precision, "timezone": tz}
    return TalentSignupResult(talent_id=principal.id, api_key=raw, key_id=key.id, home=home)


# --- keys ------------------------------------------------------------------------------------


class KeyPublic(BaseModel):
    id: str
    object: Literal["api_key"] = "api_key"
    prefix: str
    mode: str
    scopes: list[str]
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


class NewKey(KeyPublic):
    api_key: str = Field(description="Shown once: store it now.")


class KeyList(BaseModel):
    object: Literal["list"] = "list"
    data: list[KeyPublic]
    has_more: bool = False
    next_cursor: str | None = None


class ListKeys(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _public(key: ApiKey) -> KeyPublic:
    return KeyPublic.model_validate(key, from_attributes=True)


@tool(method="GET", path="/v1/keys", scope="keys:write", title="List API keys")
def list_api_keys(ctx: Ctx, query: ListKeys) -> KeyList:
    """List your API keys (prefixes only; secrets are never shown again)."""
    keys = ctx.session.exec(select(ApiKey).where(ApiKey.principal_id == ctx.me.id).order_by(ApiKey.id)).all()
    return KeyList(data=[_public(k) for k in keys])


class CreateKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(None, max_length=100)
    scopes: list[str] | None = Field(None, description="A subset of your scopes; all of them when absent.")


@tool(method="POST", path="/v1/keys", scope="keys:write", status=201, title="Create an API key")
def create_api_key(ctx: Ctx, cmd: CreateKey) -> NewKey:
    """Create another API key, optionally limited to some scopes (its secret is shown once)."""
    allowed = SCOPES_BY_KIND[ctx.me.kind]
    scopes = frozenset(cmd.scopes) if cmd.scopes is not None else allowed
    unknown = sorted(scopes - allowed)
    if unknown:
        raise SchemaValidationFailed(
            "Unknown scopes",
            errors=[schema_error("/scopes", f"not yours to grant: {unknown}; allowed: {sorted(allowed)}")],
        )
    key, raw = issue_key(ctx, ctx.me, scopes=scopes, label=cmd.label)
    ctx.audit(key, "api_key.created", owner_id=ctx.me.id)
    return NewKey(**_public(key).model_dump(), api_key=raw)


class KeyRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_id: str


def _own_key(ctx: Ctx, key_id: str) -> ApiKey:
    return ctx.get_or_404(ApiKey, key_id, visible=lambda k: k.principal_id == ctx.me.id)


@tool(method="POST", path="/v1/keys/{key_id}/rotate", scope="keys:write", status=201, title="Rotate an API key")
def rotate_api_key(ctx: Ctx, cmd: KeyRef) -> NewKey:
    """Replace a key with a new one of the same scopes; the old key stops working at once."""
    old = _own_key(ctx, cmd.key_id)
    if old.revoked_at is not None:
        raise SchemaValidationFailed("That key is revoked", errors=[schema_error("/key_id", "already revoked")])
    old.revoked_at = ctx.now()
    ctx.session.add(old)
    forget_key(ctx, old.key_hash)
    key, raw = issue_key(ctx, ctx.me, scopes=frozenset(old.scopes), label=old.label)
    ctx.audit(old, "api_key.rotated", owner_id=ctx.me.id)
    return NewKey(**_public(key).model_dump(), api_key=raw)


@tool(
    method="DELETE",
    path="/v1/keys/{key_id}",
    scope="keys:write",
    destructive=True,
    idempotent=True,
    title="Revoke an API key",
)
def revoke_api_key(ctx: Ctx, cmd: KeyRef) -> KeyPublic:
    """Revoke a key; calls made with it answer 401 from now on."""
    key = _own_key(ctx, cmd.key_id)
    if key.revoked_at is None:
        before = _public(key).model_dump(mode="json")
        key.revoked_at = ctx.now()
        ctx.session.add(key)
        forget_key(ctx, key.key_hash)
        ctx.audit(key, "api_key.revoked", before=before, owner_id=ctx.me.id)
    return _public(key)
