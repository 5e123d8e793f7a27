"""Where flushed metrics go: a Redis stream (the real writer), and the seed's Kafka/PostgreSQL writer names.

Stream layout (one stream per root prefix, shared by every process; key from
:func:`coordination.store.keys.metrics_stream`)::

    XADD R:metrics MAXLEN ~ settings.metrics_history_size * name <metric_name> metric <Metric JSON>

``metric`` is ``Metric.model_dump_json()`` (mode="json": ISO-8601 UTC timestamp, enum values as strings);
``name`` is repeated outside the JSON so that readers can filter by name without decoding every entry. The
beat archive task copies the stream to PostgreSQL; nothing here writes to PostgreSQL.
"""

from __future__ import annotations

import logging
from typing import ClassVar, cast

import redis
from pydantic import ValidationError
from redis.typing import EncodableT, FieldT

from config.settings import get_settings
from coordination.metrics.models import Metric
from coordination.store.connection import sync_client
from coordination.store.keys import metrics_stream

logger = logging.getLogger(__name__)

NAME_FIELD = "name"
METRIC_FIELD = "metric"
_PAGE = 1000

_KAFKA_MISSING = (
    "Kafka support needs a Kafka client library (for example aiokafka) that is not installed and not a "
    "dependency of this project; metrics are written to the Redis stream {stream!r} and archived to "
    "PostgreSQL by the beat archive task instead"
)


def kafka_unavailable_message() -> str:
    """Explain why Kafka publishing is unavailable and where metrics go instead."""
    return _KAFKA_MISSING.format(stream=metrics_stream(get_settings().namespace))


class RedisMetricsWriter:
    """Writes metric batches to the shared Redis stream and reads them back.

    Args:
        stream: the stream key; default: ``metrics_stream(settings.namespace)``, resolved at each call.
        max_len: approximate stream cap (``MAXLEN ~``); default: ``settings.metrics_history_size``.
        client: a blocking client (``decode_responses=True``); default: this process's store client.
    """

    def __init__(
        self, stream: str | None = None, max_len: int | None = None, client: redis.Redis | None = None
    ) -> None:
        self._stream = stream
        self._max_len = max_len
        self._client = client

    @property
    def stream(self) -> str:
        """The stream key written to."""
        return self._stream or metrics_stream(get_settings().namespace)

    def _redis(self) -> redis.Redis:
        return self._client if self._client is not None else sync_client()

    def write_batch(self, metrics: list[Metric]) -> int:
        """Append ``metrics`` to the stream in one pipeline round trip; return how many were written.

        Raises:
            StoreUnavailableError: Redis could not be reached; nothing of the batch may be assumed written.
        """
        if not metrics:
            return 0
        stream = self.stream
        max_len = self._max_len or get_settings().metrics_history_size
        pipe = self._redis().pipeline(transaction=False)
        for metric in metrics:
            fields: dict[FieldT, EncodableT] = {
                NAME_FIELD: metric.metric_name,
                METRIC_FIELD: metric.model_dump_json(),
            }
            pipe.xadd(stream, fields, maxlen=max_len, approximate=True)
        pipe.execute()
        return len(metrics)

    def read_recent(self, metric_name: str | None = None, limit: int = 1000) -> list[Metric]:
        """Return up to ``limit`` metrics from the stream, newest entry first, optionally of one name.

        With a name filter the stream is paged backwards until ``limit`` matches are found or it is
        exhausted (it is capped at ``settings.metrics_history_size`` entries).

        Raises:
            StoreUnavailableError: Redis could not be reached.
        """
        stream = self.stream
        found: list[Metric] = []
        upper = "+"
        client = self._redis()
        while len(found) < limit:
            page_size = _PAGE if metric_name is not None else min(_PAGE, limit - len(found))
            # The store client decodes responses (decode_responses=True): ids and fields are str.
            entries = cast(
                list[tuple[str, dict[str, str]]],
                client.xrevrange(stream, max=upper, min="-", count=page_size) or [],
            )
            if not entries:
                break
            for entry_id, fields in entries:
                if metric_name is not None and fields.get(NAME_FIELD) != metric_name:
                    continue
                metric = _decode(entry_id, fields)
                if metric is not None:
                    found.append(metric)
                    if len(found) >= limit:
                        break
            if len(entries) < page_size:
                break
            upper = f"({entries[-1][0]}"
        return found


def _decode(entry_id: str, fields: dict[str, str]) -> Metric | None:
    text = fields.get(METRIC_FIELD)
    if text is None:
        logger.debug("metrics stream entry %s has no %r field; skipped", entry_id, METRIC_FIELD)
        return None
    try:
        return Metric.model_validate_json(text)
    except ValidationError as error:
        logger.debug("metrics stream entry %s is not a valid metric (%s); skipped", entry_id, error)
        return None


class KafkaMetricsWriter:
    """The seed's Kafka writer. Not available: no Kafka client library is a dependency of this project.

    Raises:
        RuntimeError: always, on construction, saying Kafka support needs a client library that is not
            installed and where metrics go instead.
    """

    TOPIC_MAPPING: ClassVar[dict[str, str]] = {
        "routing_": "dev.agent.metrics.routing.v1",
        "state_": "dev.agent.metrics.state-ops.v1",
        "coordination_": "dev.agent.metrics.coordination.v1",
        "workflow_": "dev.agent.metrics.workflow.v1",
        "quorum_": "dev.agent.metrics.ai-quorum.v1",
    }
    DEFAULT_TOPIC: ClassVar[str] = "dev.agent.metrics.routing.v1"

    def __init__(self, bootstrap_servers: str, *args: object, **kwargs: object) -> None:
        raise RuntimeError(kafka_unavailable_message())


class PostgreSQLMetricsWriter:
    """The seed's PostgreSQL writer. Not used: metrics reach PostgreSQL through the beat archive task.

    The collector never writes to PostgreSQL itself: it flushes to the Redis stream, and beat copies the
    stream into the archive in idempotent batches (then trims Redis), so a slow database never slows a worker.

    Raises:
        NotImplementedError: always, on construction, pointing to the beat archive task.
    """

    TABLE_MAPPING: ClassVar[dict[str, str]] = {
        "routing_": "agent_routing_metrics",
        "state_": "agent_state_metrics",
        "coordination_": "agent_coordination_metrics",
        "workflow_": "agent_workflow_metrics",
        "quorum_": "agent_quorum_metrics",
    }
    DEFAULT_TABLE: ClassVar[str] = "agent_routing_metrics"

    def __init__(self, postgres_url: str, *args: object, **kwargs: object) -> None:
        raise NotImplementedError(
            "PostgreSQLMetricsWriter is not used in this project: MetricsCollector flushes metrics to the "
            f"Redis stream {metrics_stream(get_settings().namespace)!r} and the beat archive task copies "
            "them to PostgreSQL (settings.database_url)"
        )
