"""Typed settings: one class, read from ``OUTREACH_*`` variables and an optional ``.env``."""

from __future__ import annotations

import socket
from typing import Literal

from croniter import croniter
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ACTIONS_POLL_SECONDS = 0.1


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OUTREACH_", env_file=".env", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        default="sqlite:///outreach.db",
        description="SQLite (WAL) by default; postgresql+psycopg://… in production.",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description=(
            "A bootstrap key: a bearer token for /api with an admin's rights, to create the "
            "first users and keys from a script. Unset: only users' own keys open the API."
        ),
    )
    allowed_hosts: list[str] = Field(
        default=["127.0.0.1", "localhost"],
        description=(
            "Host names the server answers to (the Host header), against DNS rebinding; "
            "'*' allows any. Add your domain when you serve it beyond this machine."
        ),
    )
    session_idle_hours: float = Field(
        default=12, gt=0, description="A dashboard session unused this long ends."
    )
    session_max_days: float = Field(
        default=7, gt=0, description="A dashboard session ends this long after its login."
    )
    max_body_bytes: int = Field(
        default=1_000_000, ge=1024, description="The largest request body, but for imports."
    )
    max_import_bytes: int = Field(
        default=50_000_000, ge=1024, description="The largest prospect import (a CSV or JSON)."
    )
    time_scale: float = Field(default=1.0, gt=0, description="Simulated seconds per real second.")
    time_skip: bool = Field(
        default=False,
        description=(
            "Under a compressed clock, jump to the next work due when nothing is due before "
            "it (Temporal's time-skipping); the clock never runs ahead of due work either way."
        ),
    )
    clock_hold_limit_seconds: float = Field(
        default=20.0,
        gt=0,
        description=(
            "Under a compressed clock, real seconds one piece of due work may hold the clock "
            "before time goes on without it (a stuck stage; the sweep's doctor repairs it)."
        ),
    )
    sweep_cron: str = Field(default="0 */2 * * *", description="When the sweep runs (wall clock).")
    linkedin_provider: Literal["sandbox", "unipile"] = "sandbox"
    executor_id: str = Field(
        default_factory=lambda: f"outreach-{socket.gethostname()}",
        description="Stable, distinct id per worker process; DBOS recovers its own pending work.",
    )
    app_version: str = Field(
        default="outreach-1",
        description="Pinned DBOS application version: delayed work survives deploys.",
    )
    sandbox_seed: int = 7
    sandbox_accept_rate: float = Field(default=0.6, ge=0, le=1)
    sandbox_reply_rate: float = Field(default=0.25, ge=0, le=1)
    sandbox_error_rate: float = Field(default=0.02, ge=0, le=1)
    sandbox_accept_delay_hours: tuple[float, float] = (2.0, 40.0)
    sandbox_reply_delay_hours: tuple[float, float] = (1.0, 30.0)
    sandbox_latency_seconds: float = Field(
        default=0.0, ge=0, description="Real seconds the simulator takes to answer a send."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    log_json: bool | None = Field(
        default=None, description="JSON log lines; unset: JSON unless standard error is a terminal."
    )
    late_after_minutes: float = Field(
        default=15,
        gt=0,
        description="Due this many simulated minutes ago and not started: late (/metrics).",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    worker_concurrency: int = Field(
        default=8, ge=1, le=256, description="Stage workflows one process runs at once."
    )
    queue_poll_seconds: float | None = Field(
        default=None, description="Queue polling interval; derived from the time scale when unset."
    )
    heartbeat_seconds: float = Field(
        default=5.0, gt=0, description="How often a worker says it is alive (wall clock)."
    )
    takeover_after_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A worker silent this long is taken over: another resumes its unfinished "
        "workflows. At least twice heartbeat_seconds.",
    )
    webhook_secret: SecretStr | None = None
    # The reply agent.
    draft_timeout_hours: float = Field(
        default=72.0,
        gt=0,
        description="A draft no one decided on within this many wall-clock hours expires.",
    )
    draft_only: bool = Field(
        default=False,
        description="Send no answer through the provider: a person copies the approved text "
        "into LinkedIn and marks it sent.",
    )
    notify_webhook_url: SecretStr | None = Field(
        default=None,
        description="Where a new draft is announced (a POST), if anywhere; kept secret, as "
        "a Slack webhook's address is its key.",
    )
    notify_format: Literal["json", "slack"] = Field(
        default="json", description="The announcement's body: generic JSON, or Slack's."
    )
    # A language model for the reply agent (unset: the built-in classifier and templates).
    llm_provider: Literal["openai", "anthropic"] | None = Field(
        default=None,
        description="Draft answers with a language model: openai (or any OpenAI-compatible "
        "server, with OUTREACH_LLM_BASE_URL) or anthropic; unset: the built-in drafter.",
    )
    llm_model: str | None = Field(default=None, description="The model's name at the provider.")
    llm_api_key: SecretStr | None = Field(
        default=None, description="The provider's API key (a local server may need none)."
    )
    llm_base_url: str | None = Field(
        default=None, description="The provider's address, for OpenAI-compatible servers."
    )
    llm_timeout_seconds: float = Field(
        default=30.0, gt=0, description="How long one model call may take."
    )
    llm_retries: int = Field(
        default=2, ge=0, le=10, description="Retries of a failed or timed-out model call."
    )
    llm_daily_budget_usd: float = Field(
        default=2.0,
        ge=0,
        description="Model spend per UTC day; once spent, drafts come from the built-in "
        "drafter until the next day.",
    )
    llm_usd_per_million_input: float = Field(
        default=3.0, ge=0, description="The model's price per million input tokens."
    )
    llm_usd_per_million_output: float = Field(
        default=15.0, ge=0, description="The model's price per million output tokens."
    )
    public_url: str | None = Field(
        default=None,
        description="The dashboard's address as people reach it, for links in announcements.",
    )
    unipile_dsn: str | None = Field(
        default=None, validation_alias=AliasChoices("UNIPILE_DSN", "OUTREACH_UNIPILE_DSN")
    )
    unipile_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("UNIPILE_API_KEY", "OUTREACH_UNIPILE_API_KEY")
    )

    @field_validator("api_key")
    @classmethod
    def _not_empty(cls, value: SecretStr | None) -> SecretStr | None:
        # An empty key (an unset compose variable) must not quietly mean "no key at all".
        if value is not None and not value.get_secret_value().strip():
            raise ValueError(
                "OUTREACH_API_KEY is set but empty: unset it to run without a bootstrap key, "
                "or set one of at least 20 characters"
            )
        if value is not None and len(value.get_secret_value()) < 20:
            raise ValueError("OUTREACH_API_KEY is too short: use at least 20 characters")
        return value

    @field_validator("notify_webhook_url")
    @classmethod
    def _http_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("OUTREACH_NOTIFY_WEBHOOK_URL must be an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _model_named(self) -> Settings:
        if self.llm_provider is not None and not (self.llm_model or "").strip():
            raise ValueError("OUTREACH_LLM_MODEL is required with OUTREACH_LLM_PROVIDER")
        if self.llm_base_url is not None and not self.llm_base_url.startswith(
            ("http://", "https://")
        ):
            raise ValueError("OUTREACH_LLM_BASE_URL must be an http:// or https:// URL")
        if self.takeover_after_seconds < 2 * self.heartbeat_seconds:
            raise ValueError(
                "OUTREACH_TAKEOVER_AFTER_SECONDS must be at least twice "
                "OUTREACH_HEARTBEAT_SECONDS, or a live worker is taken over"
            )
        return self

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: object) -> object:
        # OUTREACH_ALLOWED_HOSTS=a.example,b.example as well as a JSON list.
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [h.strip() for h in value.split(",") if h.strip()]
        return value

    @field_validator("sweep_cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(f"not a valid cron expression: {value!r}")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def pool_size(self) -> int:
        """Connections our engine keeps per process: one per running stage, and a few for
        the web server and the background loops. As many more may open under a burst (a
        PostgreSQL send holds one while the sandbox answers on another); DBOS's own pool
        is as large. So a process opens at most about ``3 * worker_concurrency + 6``."""
        return self.worker_concurrency + 2

    @property
    def poll_seconds(self) -> float:
        """How often queues are polled: about ten simulated minutes, between 20 ms and 1 s
        (10 ms when time skips: then how fast the work due is done is all that counts)."""
        if self.queue_poll_seconds is not None:
            return self.queue_poll_seconds
        if self.time_skip and self.time_scale > 1:
            return 0.01
        return min(1.0, max(0.02, 600.0 / self.time_scale))

    @property
    def actions_poll_seconds(self) -> float:
        """How often the actions queue is polled: at most every 0.1 s. A poll starts at
        most ``worker_concurrency`` stages, so this interval bounds a worker's rate (8 a
        second at 1 s) and how late a stage the governor started begins."""
        if self.queue_poll_seconds is not None:
            return self.queue_poll_seconds
        return min(ACTIONS_POLL_SECONDS, self.poll_seconds)
