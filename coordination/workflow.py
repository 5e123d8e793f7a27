"""Workflow: declare agents and how they depend on each other, then submit; workers run it to the end.

::

    wf = Workflow.from_file("examples/codegen.yaml")
    cid = wf.submit(input={"contract": "user.yaml"})
    print(coordination_status(cid).status)
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from coordination.errors import WorkflowError
from coordination.models.workflow import declared_spec
from coordination.pipeline.submission import submit
from coordination.task_names import agent_task
from coordination.workflow_file import read_workflow_file


class Workflow:
    """A validated workflow declaration.

    Build one from a YAML or JSON file, from a dict, or from keyword arguments in Python::

        Workflow(name="codegen", agents={"model-gen": {}, "test-gen": {"depends_on": ["model-gen"]}})

    Raises:
        WorkflowError: the declaration is invalid (unknown agents, cycles, bad operators, bad ids, unknown
            fields); the message names the field.
    """

    def __init__(self, **declaration: Any) -> None:
        self.spec = declared_spec(declaration)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Workflow:
        """Build from a dict (the parsed YAML/JSON document)."""
        if not isinstance(data, dict):
            raise WorkflowError("workflow", f"must be a mapping, got {type(data).__name__}")
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path) -> Workflow:
        """Read a ``.yaml``/``.yml`` or ``.json`` file (at most 1 MiB; see :mod:`coordination.workflow_file`).

        Raises:
            WorkflowError: the file cannot be read or parsed (the field is the file: missing, a directory, binary,
                not UTF-8, malformed, YAML anchors or tags, duplicate keys, ...), or the declaration it holds is
                invalid (the field is the declaration's field).
        """
        return cls.from_dict(read_workflow_file(path))

    @property
    def name(self) -> str:
        """The workflow's name (it prefixes coordination ids)."""
        return self.spec.name

    def import_modules(self) -> None:
        """Import the modules that define this workflow's agents (so their tasks are registered here).

        Modules are found on the import path as it is: the current directory is not added to it (``coord submit
        --import-path DIR`` or ``PYTHONPATH`` add directories explicitly).

        Raises:
            WorkflowError: a module cannot be imported (not found, or it fails while importing); names the entry.
        """
        for index, module in enumerate(self.spec.modules):
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as error:
                raise WorkflowError(
                    f"modules[{index}]",
                    f"module {module!r} was not found on the import path ({error}); install it, or add its "
                    "directory with PYTHONPATH or `coord submit --import-path DIR`",
                ) from None
            except Exception as error:  # a module that fails while importing: its own error, in one line
                raise WorkflowError(
                    f"modules[{index}]", f"importing {module!r} failed: {type(error).__name__}: {error}"
                ) from None

    def check_agents_registered(self) -> None:
        """Refuse agents whose ``@agent`` task is not registered in this process (after importing ``modules``).

        Raises:
            WorkflowError: names the first agent whose task is unknown.
        """
        # The Celery app is built on first use, not when `coordination` is imported (it reads the settings).
        from config.celery_app import app

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
        if check_agents and self.spec.modules:
            self.check_agents_registered()
        return submit(self.spec, input, coordination_id)
