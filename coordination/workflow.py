"""Workflow: declare agents and how they depend on each other, then submit; workers run it to the end.

::

    wf = Workflow.from_file("examples/codegen.yaml")
    cid = wf.submit(input={"contract": "user.yaml"})
    print(coordination_status(cid).status)
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from coordination.errors import WorkflowError
from coordination.models.workflow import WorkflowSpec
from coordination.validation import input_error


class Workflow:
    """A validated workflow declaration.

    Build one from a YAML or JSON file, from a dict, or from keyword arguments in Python::

        Workflow(name="codegen", agents={"model-gen": {}, "test-gen": {"depends_on": ["model-gen"]}})

    Raises:
        WorkflowError: the declaration is invalid (unknown agents, cycles, bad operators, bad ids, unknown
            fields); the message names the field.
    """

    def __init__(self, **declaration: Any) -> None:
        try:
            self.spec = WorkflowSpec.model_validate(declaration)
        except ValidationError as error:
            raise input_error(error, error_class=WorkflowError, default_field="workflow") from None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Workflow:
        """Build from a dict (the parsed YAML/JSON document)."""
        if not isinstance(data, dict):
            raise WorkflowError("workflow", f"must be a mapping, got {type(data).__name__}")
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path) -> Workflow:
        """Read a ``.yaml``/``.yml`` or ``.json`` file."""
        file = Path(path)
        text = file.read_text(encoding="utf-8")
        if file.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        elif file.suffix == ".json":
            data = json.loads(text)
        else:
            raise WorkflowError("path", f"{file.name}: expected a .yaml, .yml or .json file")
        return cls.from_dict(data)

    @property
    def name(self) -> str:
        """The workflow's name (it prefixes coordination ids)."""
        return self.spec.name

    def import_modules(self) -> None:
        """Import the modules that define this workflow's agents (so their tasks are registered here)."""
        for module in self.spec.modules:
            importlib.import_module(module)

    def check_agents_registered(self) -> None:
        """Refuse agents whose ``@agent`` task is not registered in this process (after importing ``modules``).

        Raises:
            WorkflowError: names the first agent whose task is unknown.
        """
        from config.celery_app import app
        from tasks.names import agent_task

        self.import_modules()
        for agent_id in self.spec.agents:
            name = agent_task(self.spec.task_name(agent_id))
            if name not in app.tasks:
                raise WorkflowError(
                    f"agents.{agent_id}.task",
                    f"no @agent({self.spec.task_name(agent_id)!r}) is registered; add its module to 'modules'",
                )

    def submit(self, input: Any = None, *, coordination_id: str | None = None, check_agents: bool = True) -> str:
        """Start a coordination and return its id at once; nothing waits here.

        Args:
            input: JSON-serializable input every agent can read (``run.input``).
            coordination_id: choose the id (default: ``<name>-<12 hex digits>``).
            check_agents: refuse agents whose tasks are not registered here (set False when this process
                cannot import the agents' modules, e.g. a producer in another code base).
        """
        from coordination.pipeline.submission import submit

        if check_agents and self.spec.modules:
            self.check_agents_registered()
        return submit(self.spec, input, coordination_id)
