"""Alert rules evaluated against recorded metrics, and the notifiers that deliver alerts.

The collector evaluates every flushed metric in its flusher thread (never in the record path), so a slow
notifier delays alerts, not the code that records metrics.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from abc import ABC, abstractmethod

from coordination.errors import InvalidInputError
from coordination.metrics.models import Alert, AlertRule, AlertSeverity, Metric
from coordination.metrics.storage import kafka_unavailable_message

logger = logging.getLogger(__name__)


class AlertNotifier(ABC):
    """Delivers alerts somewhere. Subclasses implement :meth:`notify`."""

    @abstractmethod
    async def notify(self, alert: Alert) -> None:
        """Deliver ``alert``."""


class LogAlertNotifier(AlertNotifier):
    """Logs alerts: CRITICAL at critical level, WARNING at warning, INFO at info."""

    async def notify(self, alert: Alert) -> None:
        """Log ``alert`` at the level matching its severity."""
        level = {
            AlertSeverity.CRITICAL: logging.CRITICAL,
            AlertSeverity.WARNING: logging.WARNING,
            AlertSeverity.INFO: logging.INFO,
        }[alert.severity]
        logger.log(
            level,
            "[ALERT] %s - %s (metric=%s, value=%s, threshold=%s)",
            alert.severity.value,
            alert.message,
            alert.metric_name,
            alert.actual_value,
            alert.threshold,
        )


class KafkaAlertNotifier(AlertNotifier):
    """The seed's Kafka notifier. Not available: no Kafka client library is a dependency of this project.

    Raises:
        RuntimeError: always, on construction, saying Kafka support needs a client library that is not
            installed.
    """

    ALERT_TOPIC = "dev.agent.alerts.v1"

    def __init__(self, bootstrap_servers: str, *args: object, **kwargs: object) -> None:
        raise RuntimeError(kafka_unavailable_message())

    async def notify(self, alert: Alert) -> None:  # pragma: no cover - cannot be constructed
        """Never called: the constructor raises."""
        raise RuntimeError(kafka_unavailable_message())


class AlertRuleEngine:
    """Holds alert rules (indexed by metric name) and notifiers; evaluates metrics against the rules.

    Rules and notifiers may be added from any thread while the collector's flusher evaluates metrics.

    Args:
        rules: initial rules.
        notifiers: initial notifiers.

    Raises:
        InvalidInputError: a rule is not an :class:`AlertRule` or a notifier not an :class:`AlertNotifier`.
    """

    def __init__(self, rules: list[AlertRule] | None = None, notifiers: list[AlertNotifier] | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, AlertRule] = {}
        self._by_metric: dict[str, list[AlertRule]] = {}
        self._notifiers: list[AlertNotifier] = []
        for rule in rules or []:
            self.add_rule(rule)
        for notifier in notifiers or []:
            self.add_notifier(notifier)

    def add_rule(self, rule: AlertRule) -> None:
        """Add ``rule``; adding a rule with an existing ``rule_id`` replaces that rule."""
        if not isinstance(rule, AlertRule):
            raise InvalidInputError("rule", f"must be an AlertRule, got {type(rule).__name__}")
        with self._lock:
            old = self._rules.pop(rule.rule_id, None)
            if old is not None:
                self._by_metric[old.metric_name] = [
                    r for r in self._by_metric[old.metric_name] if r.rule_id != rule.rule_id
                ]
            self._rules[rule.rule_id] = rule
            # Copy-on-write: evaluation iterates a list that is never mutated in place.
            self._by_metric[rule.metric_name] = [*self._by_metric.get(rule.metric_name, []), rule]

    def add_notifier(self, notifier: AlertNotifier) -> None:
        """Add ``notifier``; every alert is sent to every notifier."""
        if not isinstance(notifier, AlertNotifier):
            raise InvalidInputError("notifier", f"must be an AlertNotifier, got {type(notifier).__name__}")
        with self._lock:
            self._notifiers = [*self._notifiers, notifier]

    def get_rules(self) -> list[AlertRule]:
        """Return every rule, in the order added."""
        with self._lock:
            return list(self._rules.values())

    def get_rules_for_metric(self, metric_name: str) -> list[AlertRule]:
        """Return the rules watching ``metric_name``."""
        return list(self._by_metric.get(metric_name, []))

    async def evaluate_metric(self, metric: Metric) -> list[Alert]:
        """Evaluate ``metric`` against its rules, send each alert to every notifier, return the alerts.

        A failing notifier is logged and does not stop the others.
        """
        rules = self._by_metric.get(metric.metric_name)
        if not rules:
            return []
        alerts = [alert for rule in rules if (alert := rule.evaluate(metric)) is not None]
        notifiers = self._notifiers
        for alert in alerts:
            if not notifiers:
                continue
            results = await asyncio.gather(*(n.notify(alert) for n in notifiers), return_exceptions=True)
            for notifier, result in zip(notifiers, results, strict=True):
                if isinstance(result, BaseException):
                    logger.error(
                        "alert notifier %s failed for alert %s: %r",
                        type(notifier).__name__,
                        alert.alert_id,
                        result,
                    )
        return alerts
