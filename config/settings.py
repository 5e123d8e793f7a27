"""Typed settings for every process of the service.

All values come from the environment with the prefix ``COORD_`` (for example ``COORD_REDIS_URL``), or from a
``.env`` file in the working directory. Invalid values fail at start-up with one line naming the variable.

Service URLs are secrets (:class:`config.urls.SecretUrl`): ``repr(settings)``, ``str(settings.redis_url)`` and
``settings.model_dump()`` show them with ``***`` for the password; code that connects reads
``settings.redis_url.get_secret_value()``. docs/settings.md lists every variable.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.urls import (
    CELERY_REDIS_SCHEMES,
    STORE_SCHEMES,
    SecretUrl,
    check_database_url,
    check_redis_url,
    is_sentinel,
)

_NAMESPACE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SCHEMA_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_SENTINEL_MASTER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

PositiveInt = Annotated[int, Field(gt=0)]


class SettingsError(RuntimeError):
    """Raised at start-up when the environment holds an invalid setting."""


class Settings(BaseSettings):
    """Settings shared by clients, workers, beat and the CLI."""

    model_config = SettingsConfigDict(
        env_prefix="COORD_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        # A rejected value may be a URL with a password: errors name the variable and the problem, never the value.
        hide_input_in_errors=True,
    )

    broker_url: SecretUrl = Field(
        SecretUrl("redis://127.0.0.1:6379/0"),
        description="Celery broker: redis://, rediss:// or a Sentinel URL (see COORD_REDIS_SENTINEL_MASTER).",
    )
    result_backend_url: SecretUrl = Field(
        SecretUrl("redis://127.0.0.1:6379/1"),
        description="Celery result backend: redis://, rediss:// or a Sentinel URL.",
    )
    redis_url: SecretUrl = Field(
        SecretUrl("redis://127.0.0.1:6379/2"),
        description="Coordination store (state, signals, contexts, dependencies, metrics): redis://, rediss://, "
        "unix:// or a Sentinel URL.",
    )
    redis_sentinel_master: str | None = Field(
        None,
        validate_default=True,
        description="Name of the Sentinel-monitored master; required when any Redis URL is a sentinel:// URL.",
    )
    redis_sentinel_password: SecretStr | None = Field(
        None,
        description="Password of the sentinels themselves (their requirepass); the master's comes from the URL.",
    )
    database_url: SecretUrl = Field(
        SecretUrl("postgresql+psycopg://postgres@127.0.0.1:5432/test"),
        description="PostgreSQL archive (SQLAlchemy URL); sqlite:///file in the embedded demo mode.",
    )
    database_connect_timeout_seconds: PositiveInt = Field(
        5, description="How long opening an archive connection may take before the archive run fails."
    )
    database_statement_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="Longest archive statement, and how long a connection that stopped answering mid-query is "
        "waited for, before the archive run fails (also bounds migrations).",
    )
    database_schema: str = Field(
        "public", description="PostgreSQL schema holding the archive tables (tests use one of their own)."
    )
    namespace: str = Field("coord", description="Prefix of every Redis key this service writes; tests use their own.")

    max_signal_bytes: PositiveInt = Field(64 * 1024, description="Largest accepted signal event data (JSON).")
    max_context_bytes: PositiveInt = Field(256 * 1024, description="Largest accepted agent context (JSON).")
    max_state_value_bytes: PositiveInt = Field(1024 * 1024, description="Largest accepted state value (JSON).")
    signal_history_size: PositiveInt = Field(10_000, description="Default signal stream cap per coordination.")
    state_history_size: PositiveInt = Field(1_000, description="Default change-log cap per state namespace.")
    routing_history_size: PositiveInt = Field(1_000, description="Default in-process routing history.")
    metrics_history_size: PositiveInt = Field(100_000, description="Metrics kept in Redis before archiving.")
    private_state_ttl_seconds: PositiveInt = Field(
        24 * 3600, description="Idle time after which the keys of a private ThreadSafeState() expire."
    )

    task_soft_time_limit: PositiveInt = Field(300, description="Soft time limit of agent tasks (s).")
    task_time_limit: PositiveInt = Field(360, description="Hard time limit of agent tasks (s).")
    max_redeliveries: PositiveInt = Field(
        3, description="Times one attempt may be taken over after its worker was lost (expired leases) before it fails."
    )
    lease_seconds: PositiveInt = Field(
        10,
        description="Lease of a running attempt, renewed by its worker every third of it; a lost worker's attempts "
        "run again elsewhere after at most this long plus one poll.",
    )
    dispatch_grace_seconds: PositiveInt = Field(
        15, description="A queued attempt whose sender died before sending its message is re-sent after this long."
    )

    task_queue: str = Field("coordination", description="Queue agent and event tasks are sent to.")
    periodic_queue: str = Field(
        "",
        description="Queue of beat's periodic tasks (default: <task_queue>.periodic), apart from the agents' queue so "
        "an agent backlog never delays a poll. Workers consume both unless told otherwise (-Q).",
    )
    pipeline_namespace: str = Field(
        "pipeline", description="Component namespace of pipeline coordinations (signals, dependencies, contexts)."
    )
    agent_modules: str = Field(
        "", description="Comma-separated modules defining @agent tasks; workers import them at start."
    )
    retry_backoff_base_seconds: float = Field(1.0, gt=0, description="First retry delay (doubles each retry).")
    retry_backoff_max_seconds: float = Field(30.0, gt=0, description="Longest retry delay (before jitter).")
    poll_interval_seconds: float = Field(1.0, gt=0, description="How often beat polls due dependency checks.")
    archive_interval_seconds: float = Field(10.0, gt=0, description="How often beat archives history.")
    archive_batch_size: PositiveInt = Field(5000, description="Rows per archive batch.")
    retention_seconds: PositiveInt = Field(
        3600, description="How long a finished coordination stays in Redis (after it was archived)."
    )
    requeue_after_seconds: PositiveInt = Field(
        600, description="A queued agent whose message never started is re-sent after this long."
    )

    flower_basic_auth: SecretStr | None = Field(
        None, description="user:password (comma-separated for several) for Flower's basic authentication."
    )
    flower_url: str = Field(
        "http://127.0.0.1:5555",
        description="Flower's address as people reach it; the web view links each agent task to its Flower page.",
    )
    web_host: str = Field("127.0.0.1", description="Address `coord ui` (the web view) binds to.")
    web_port: int = Field(8787, ge=1, le=65535, description="Port `coord ui` (the web view) listens on.")

    @field_validator("broker_url", "result_backend_url")
    @classmethod
    def _celery_redis_url(cls, value: SecretUrl) -> SecretUrl:
        check_redis_url(value.get_secret_value(), CELERY_REDIS_SCHEMES)
        return value

    @field_validator("redis_url")
    @classmethod
    def _store_url(cls, value: SecretUrl) -> SecretUrl:
        check_redis_url(value.get_secret_value(), STORE_SCHEMES)
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretUrl) -> SecretUrl:
        check_database_url(value.get_secret_value())
        return value

    @field_validator("redis_sentinel_master")
    @classmethod
    def _master_named_for_sentinel_urls(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not _SENTINEL_MASTER_PATTERN.match(value):
            raise ValueError("must be the master's name as the sentinels know it (letters, digits, . _ -)")
        urls = [info.data.get(name) for name in ("broker_url", "result_backend_url", "redis_url")]
        if value is None and any(url is not None and is_sentinel(url.get_secret_value()) for url in urls):
            raise ValueError("is required when a Redis URL is a sentinel:// URL (the name of the monitored master)")
        return value

    @field_validator("flower_basic_auth", mode="before")
    @classmethod
    def _flower_unset_when_empty(cls, value: object) -> object:
        # docker/compose.yml passes the variable through as "" when the operator did not set it: Flower is then
        # not configured (its start script refuses to start), which must not stop the workers and beat.
        return None if value == "" else value

    @field_validator("flower_basic_auth")
    @classmethod
    def _flower_credentials_complete(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        # Flower accepts "user:password[,user2:password2]"; an empty user or password would open it to anyone.
        for number, entry in enumerate(value.get_secret_value().split(","), start=1):
            user, colon, password = entry.partition(":")
            if not colon or not user.strip() or not password.strip():
                raise ValueError(
                    f"entry {number} must be user:password with neither part empty (an empty one leaves Flower open)"
                )
        return value

    @field_validator("namespace", "pipeline_namespace", "task_queue", "periodic_queue")
    @classmethod
    def _namespace_is_a_key_segment(cls, value: str, info: ValidationInfo) -> str:
        if info.field_name == "periodic_queue" and value == "":
            return value
        if not _NAMESPACE_PATTERN.match(value):
            raise ValueError("must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ (it starts every Redis key)")
        return value

    @field_validator("database_schema")
    @classmethod
    def _schema_is_an_identifier(cls, value: str) -> str:
        if not _SCHEMA_PATTERN.match(value):
            raise ValueError("must match ^[A-Za-z_][A-Za-z0-9_]{0,62}$ (a plain PostgreSQL identifier)")
        return value

    @field_validator("task_time_limit")
    @classmethod
    def _hard_limit_above_soft(cls, value: int, info: ValidationInfo) -> int:
        soft = info.data.get("task_soft_time_limit")
        if soft is not None and value <= soft:
            raise ValueError(f"must be greater than COORD_TASK_SOFT_TIME_LIMIT ({soft})")
        return value

    @property
    def periodic_queue_name(self) -> str:
        """The queue of beat's periodic tasks."""
        return self.periodic_queue or f"{self.task_queue}.periodic"


def _describe(error: ValidationError) -> str:
    """One line naming each bad variable and its problem; never the value (it may be a URL with a password)."""
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "settings"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"COORD_{field.upper()}: {message}")
    return "invalid settings: " + "; ".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment.

    Raises:
        SettingsError: a variable holds an invalid value; the message names it.
    """
    try:
        return Settings()
    except ValidationError as error:
        # Not chained: the message says everything, and a traceback of the original would only add noise.
        raise SettingsError(_describe(error)) from None


def reload_settings() -> Settings:
    """Forget the cached settings and read the environment again (tests and the CLI use this)."""
    get_settings.cache_clear()
    return get_settings()
