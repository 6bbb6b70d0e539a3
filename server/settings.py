"""Settings from CREWCALL_* environment variables (and DATABASE_URL), built by the app factory."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CREWCALL_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path(".crewcall")
    database_url: str | None = Field(None, validation_alias=AliasChoices("DATABASE_URL", "CREWCALL_DATABASE_URL"))
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str | None = None  #: public URL for links in e-mails; defaults to http://host:port
    secret_key: str = DEV_SECRET
    log_level: str = "INFO"
    access_log: bool = False

    rate_limit_per_minute: int = 60
    rate_limit_money_per_minute: int = 10
    rate_limit_storage: str = "memory://"
    max_body_bytes: int = 1_000_000
    #: threads running tool calls; by default 1 on SQLite (its one connection) and 4 on PostgreSQL
    #: (enough to overlap round trips; more only contend for the GIL, see BENCHMARKS.md)
    db_threads: int | None = Field(default=None, ge=1, le=64)

    spend_cap: int = 5_000  #: whole currency units an account may hold in escrow at once
    #: the embedded ledger is the only provider so far; Stripe comes behind the same port
    #: (tools.ports.Payments), and until then asking for it refuses to start rather than fake it
    payments: Literal["ledger"] = "ledger"
    mail_outbox: Path | None = None  #: maildir; defaults to data_dir/outbox
    smtp_url: str | None = None
    mail_from: str = "CrewCall <no-reply@crewcall.local>"
    inprocess_worker: bool = True  #: `serve` runs a job worker too; 0 when `crewcall worker`s do it
    worker_concurrency: int = 8  #: jobs one worker runs at once (threads)
    job_poll_seconds: float = 1.0  #: the safety-net poll; wake-ups come after commit / NOTIFY
    job_lease_seconds: float = 60.0  #: a dead worker's jobs are claimed again after this
    scheduler: bool = True  #: workers enqueue the scheduled ticks (expiry, reminders, auto-QA…)
    schedule_scale: float = 1.0  #: multiplies the scheduled jobs' intervals (tests shrink it)
    webhook_retry_scale: float = 1.0  #: multiplies the retry schedule (tests: 0.001)
    webhook_timeout_seconds: float = 10.0
    webhook_disable_after_hours: float = 120.0  #: disable an endpoint failing this long
    allow_private_webhooks: bool = False  #: let webhooks reach loopback/private addresses
    files_dir: Path | None = None
    seed_demo: bool = False
    mcp_allowed_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1:*", "localhost:*", "[::1]:*"])
    #: /mcp requests without Authorization act with this key; only for the MCP conformance run
    #: (its client sends no credentials). Refused in production.
    mcp_anonymous_key: str | None = None

    @model_validator(mode="after")
    def _safe_secret(self) -> Settings:
        if self.env == "production" and (self.secret_key == DEV_SECRET or len(self.secret_key) < 32):
            raise ValueError("CREWCALL_SECRET_KEY must be set to 32+ random characters in production")
        if self.env == "production" and self.mcp_anonymous_key:
            raise ValueError("CREWCALL_MCP_ANONYMOUS_KEY is for conformance runs only; unset it in production")
        return self

    @property
    def db_url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgres://"):
                url = "postgresql://" + url[len("postgres://") :]
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            return url
        return f"sqlite:///{(self.data_dir / 'crewcall.db').resolve()}"

    @property
    def public_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def outbox_dir(self) -> Path:
        return self.mail_outbox or self.data_dir / "outbox"

    @property
    def file_root(self) -> Path:
        return self.files_dir or self.data_dir / "files"
