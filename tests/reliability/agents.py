"""Agents of the fault tests (workers import them beside tests.e2e.agents: see ``AGENT_MODULES``)."""

from __future__ import annotations

import os
import time
from typing import Any

from config.settings import get_settings
from coordination import agent
from coordination.store.connection import sync_client
from tests.e2e.agents import count_run

#: ``COORD_AGENT_MODULES`` of the fault tests' workers.
AGENT_MODULES = "tests.e2e.agents,tests.reliability.agents"


@agent("fault-step")
def fault_step(run: Any) -> dict[str, Any]:
    """Sleep input[agent]["first_sleep"] s on the agent's first run and input[agent]["sleep"] s on later runs.

    A long first run keeps the agent running while a test breaks something; the run after the fault is short.
    """
    runs = count_run(run)
    sync_client().set(f"{get_settings().namespace}:pid:{run.coordination_id}:{run.agent_id}", os.getpid(), ex=600)
    settings = (run.input or {}).get(run.agent_id, {})
    time.sleep(float(settings.get("first_sleep", 0) if runs == 1 else settings.get("sleep", 0)))
    return {"summary": f"{run.agent_id} done after {runs} run(s)"}
