"""Names of the pipeline benchmark's tasks, importable without the Celery app (the bench sets its queue first)."""

#: The ``@agent`` name of the no-op agent (workflows refer to it as ``task``).
NOOP_AGENT = "bench-noop"
#: Bare Celery no-op: returns the time at its end (throughput baseline).
NOOP_TASK = "bench.baseline.noop"
#: First task of the bare chain hop: returns the time at its end.
HOP_FIRST_TASK = "bench.baseline.hop_first"
#: Second task of the bare chain hop: records the time at its start, beside the first task's end.
HOP_SECOND_TASK = "bench.baseline.hop_second"
#: Bare Celery send-to-start: returns the time at its start (wake-up baseline).
STARTED_TASK = "bench.baseline.started"
#: The ``@agent`` name of the agent that is slow on its first run only (fault figures: killed mid-run, re-run fast).
SLOW_FIRST_AGENT = "bench-slow-first"
