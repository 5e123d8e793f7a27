"""Typed settings for every process of the service.

All values come from the environment with the prefix ``COORD_`` (for example ``COORD_REDIS_URL``), or from a
``.env`` file in the working directory. Invalid values fail at start-up with a message naming the variable.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated

from pydantic import Field, RedisDsn, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_NAMESPACE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SCHEMA_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

PositiveInt = Annotated[int, Field(gt=0)]


class SettingsError(RuntimeError):
    """Raised at start-up when the environment holds an invalid setting."""


class Settings(BaseSettings):
    """Settings shared by clients, workers, beat and the CLI."""

    model_config = SettingsConfigDict(
        env_prefix="COORD_", env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    broker_url: RedisDsn = Field(RedisDsn("redis://127.0.0.1:6379/0"), description="Celery broker (Redis).")
    result_backend_url: RedisDsn = Field(
        RedisDsn("redis://127.0.0.1:6379/1"), description="Celery result backend (Redis)."
    )
    redis_url: RedisDsn = Field(
        RedisDsn("redis://127.0.0.1:6379/2"),
        description="Coordination store: state, signals, contexts, dependencies, metrics.",
    )
    database_url: str = Field(
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        description="PostgreSQL archive (SQLAlchemy URL).",
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

    flower_basic_auth: SecretStr | None = Field(None, description="user:password for Flower's basic authentication.")
    flower_url: str = Field(
        "http://127.0.0.1:5555",
        description="Flower's address as people reach it; the web view links each agent task to its Flower page.",
    )
    web_host: str = Field("127.0.0.1", description="Address `coord ui` (the web view) binds to.")
    web_port: int = Field(8787, ge=1, le=65535, description="Port `coord ui` (the web view) listens on.")

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
    def _hard_limit_above_soft(cls, value: int, info: object) -> int:
        data = getattr(info, "data", {})
        soft = data.get("task_soft_time_limit")
        if soft is not None and value <= soft:
            raise ValueError(f"must be greater than COORD_TASK_SOFT_TIME_LIMIT ({soft})")
        return value

    @property
    def periodic_queue_name(self) -> str:
        """The queue of beat's periodic tasks."""
        return self.periodic_queue or f"{self.task_queue}.periodic"


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "settings"
        lines.append(f"COORD_{field.upper()}: {item['msg']}")
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
        raise SettingsError(_describe(error)) from error


def reload_settings() -> Settings:
    """Forget the cached settings and read the environment again (tests and the CLI use this)."""
    get_settings.cache_clear()
    return get_settings()
