"""Every fixed bound on input, in one place (pure); ``docs/security.md`` lists them with where each is enforced.

Bounds are chosen so that no real use comes near them while every value stays one that the store, JSON readers
and Python's arithmetic handle without overflow (``timeout: 1e308`` never reaches a ``round()`` that overflows).
Sizes that operators tune (context, signal and state value bytes) are settings, not constants: see
``config/settings.py``. The JSON rule's own bounds (depth, integer range) live in :mod:`coordination.jsonutil`.
"""

from __future__ import annotations

from typing import Final

#: Longest time-out a dependency can have, and the longest duration any declared time may take: 30 days.
MAX_TIMEOUT_SECONDS: Final = 30 * 24 * 3600
#: The same bound for the fields counted in milliseconds (execution times, estimated durations).
MAX_DURATION_MS: Final = MAX_TIMEOUT_SECONDS * 1000
#: Longest re-check, heartbeat or update interval: one day.
MAX_INTERVAL_MS: Final = 24 * 3600 * 1000
#: Most retries an agent (``max_retry_attempts``) or a dependency (``max_retries``) may declare.
MAX_RETRIES: Final = 100
#: Largest memory grant an agent may declare (1 TiB, in MB; informational, but bounded like every number).
MAX_MEMORY_MB: Final = 1024 * 1024
#: Largest concurrency an agent may declare.
MAX_CONCURRENCY: Final = 10_000
#: Largest routing weight of a strategy (weights multiply confidences between 0 and 1).
MAX_ROUTING_WEIGHT: Final = 1_000_000.0

#: Longest state key, in characters.
MAX_STATE_KEY_LENGTH: Final = 512
#: Longest ``changed_by`` of a state change, in characters (printable only).
MAX_CHANGED_BY_LENGTH: Final = 128

#: Longest metric name (the seed's bound), in characters (printable only).
MAX_METRIC_NAME_LENGTH: Final = 100
#: Longest metric tag key, in characters (printable only).
MAX_TAG_KEY_LENGTH: Final = 100
#: Longest metric tag value, in characters (printable only).
MAX_TAG_VALUE_LENGTH: Final = 256
#: Most tags one metric may carry.
MAX_TAGS: Final = 32

#: Largest workflow file ``Workflow.from_file`` and ``coord submit`` read: 1 MiB (the example is 2 KB).
MAX_WORKFLOW_FILE_BYTES: Final = 1024 * 1024

#: Longest ``approvers`` text of an approval dependency (free text: who may approve; printable only).
MAX_APPROVERS_LENGTH: Final = 200
#: Longest name of who gave a verdict (``approve(..., by=)``, ``coord approve --by``; printable only).
MAX_APPROVER_NAME_LENGTH: Final = 128
#: Longest note of a verdict (``note=``, ``--note``; printable only, and newlines).
MAX_APPROVAL_NOTE_LENGTH: Final = 2000

#: Most items one fan-out (an agent's ``map: {max_items: N}``) may declare: each item is an attempt of its own.
MAX_MAP_ITEMS: Final = 10_000
#: Most limits one agent (or the workflow's default) may declare.
MAX_LIMITS_PER_AGENT: Final = 16
#: Longest limit key (``llm:gpt-x``, after its template is filled in), in characters.
MAX_LIMIT_KEY_LENGTH: Final = 128
#: Largest N of a rate limit (``rate: "N/m"``): the store keeps one entry per start within the window.
MAX_RATE_COUNT: Final = 100_000
#: Largest N of a token limit (``tokens: "N/m"``) and of one ``run.use_tokens(n)``.
MAX_TOKEN_COUNT: Final = 1_000_000_000_000

#: ``run.progress(fraction, message)``: the longest message, in characters.
MAX_PROGRESS_MESSAGE_LENGTH: Final = 500
#: ``run.stream(text)``: the longest chunk one call may send, in characters.
MAX_STREAM_CHUNK_LENGTH: Final = 8192
#: How much of an attempt's streamed text its record keeps (the end of it), in bytes of UTF-8.
STREAM_TAIL_BYTES: Final = 4000
#: Progress and stream events announced on the signal stream per attempt; later calls update the record only.
MAX_PROGRESS_EVENTS: Final = 500
