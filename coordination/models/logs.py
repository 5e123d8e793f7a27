"""Agent log lines (pure): what ``run.log`` wrote and the tracebacks of failed attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class LogLine(BaseModel):
    """One line of an agent attempt's log, or the traceback of a failed attempt (``level == "TRACEBACK"``)."""

    coordination_id: str
    agent_id: str
    attempt: int
    at: datetime
    level: str = Field(description="DEBUG, INFO, WARNING, ERROR, CRITICAL, or TRACEBACK")
    message: str
    stream_id: str = Field(description="Entry id in the coordination's log stream (orders lines, removes repeats).")
    source: Literal["redis", "archive"] = "redis"
