"""Every task name, as explicit constant strings (never derived from module paths)."""

PING = "coordination.health.ping"

ALL = frozenset({PING})
