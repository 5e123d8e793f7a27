"""Submitting a workflow: validate everything the run will need, then create it in one atomic step.

Submission is all-or-nothing. Everything a worker will later parse, build or look up is checked here first,
with the same code the worker uses: the stored declaration is read back, every id the run will build (signal ids,
the shared state's namespace, dependency ids) is built and checked, the contexts and the ``coordination_started``
signal are encoded with their size limits. Only then does one Lua script (``pipeline_submit.lua``) write the
records, contexts, dependencies and signal, make the coordination active and queue the agents that can start; a
refusal leaves nothing behind, and nothing of a refused submission is ever active.
"""

from __future__ import annotations

import uuid
from typing import Any

from config.settings import get_settings
from coordination import jsonutil
from coordination.errors import InvalidInputError, PayloadTooLargeError, WorkflowError
from coordination.ids import validate_id
from coordination.models.dependencies import Dependency, DependencyType
from coordination.models.fan_out import item_id
from coordination.models.signals import SignalType
from coordination.models.workflow import WorkflowSpec
from coordination.pipeline.components import Components, components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.spec_cache import keep_workflow
from coordination.store.keys import coordination_state_namespace

#: Largest submission (workflow, input, contexts, dependencies) written in one step, in bytes of JSON.
MAX_SUBMISSION_BYTES = 32 * 1024 * 1024
#: The longest suffix the run appends to ``<coordination id>.<agent id>`` in a signal id.
_LONGEST_AGENT_SIGNAL = ".agent_initialized"


def verdict_signal_id(coordination_id: str, gate: str) -> str:
    """The id of the ``approval_verdict`` signal of one approval gate (one verdict per gate and coordination)."""
    return f"{coordination_id}.{gate}.verdict"


def new_coordination_id(spec: WorkflowSpec) -> str:
    """A fresh id: the workflow name and 12 random hex digits."""
    return f"{spec.name}-{uuid.uuid4().hex[:12]}"


def submit(
    spec: WorkflowSpec, input: Any = None, coordination_id: str | None = None, parts: Components | None = None
) -> str:
    """Start a coordination of ``spec`` and return its id at once; workers run it to the end.

    Raises:
        InvalidInputError: the input is not JSON or too large, an id the run would build is too long, the
            workflow is too large for one coordination, or the id is taken; nothing was written.
    """
    parts = parts or components()
    dispatcher = Dispatcher(parts)
    stored = as_stored(spec)
    document = build_submission(parts, dispatcher, stored, input, coordination_id)
    sends = dispatcher.records.submit(document)
    if sends is None:
        raise InvalidInputError("coordination_id", f"{document['cid']!r} already exists")
    # This process sends the first attempts: it knows the stored workflow (and its queue) without reading it back.
    dispatcher.send_for(keep_workflow(str(document["cid"]), stored), sends)
    return str(document["cid"])


def as_stored(spec: WorkflowSpec) -> WorkflowSpec:
    """``spec`` as it is stored: with its queue (the submitter's ``COORD_TASK_QUEUE`` unless it names one).

    Stored with the coordination, so a worker, beat or the CLI of another shell sends its agents there too.
    """
    return spec if spec.queue is not None else spec.model_copy(update={"queue": get_settings().task_queue})


def build_submission(
    parts: Components, dispatcher: Dispatcher, spec: WorkflowSpec, input: Any, coordination_id: str | None
) -> dict[str, Any]:
    """Validate a submission completely and return the document ``pipeline_submit.lua`` writes."""
    settings = get_settings()
    cid = validate_id(coordination_id, "coordination_id") if coordination_id else new_coordination_id(spec)
    spec = as_stored(spec)
    workflow_json = spec.model_dump_json()
    if WorkflowSpec.model_validate_json(workflow_json) != spec:
        # The worker re-reads the stored declaration: what it reads must be what was validated.
        raise WorkflowError("workflow", "does not survive being stored as JSON (a value JSON cannot carry exactly)")
    input_json = jsonutil.dumps(input, "input", settings.max_context_bytes)
    check_derived_ids(spec, cid, settings.pipeline_namespace)

    order = spec.order()
    upstream = spec.upstream()
    contexts = parts.contexts.context_texts(
        {"coordination_id": cid, "session_id": cid},
        {
            agent_id: {
                "objective": spec.agents[agent_id].objective,
                "tasks": spec.agents[agent_id].tasks,
                "input_data": spec.agents[agent_id].input_data,
                "dependencies": upstream[agent_id],
                "output_requirements": spec.agents[agent_id].output_requirements,
                "success_criteria": spec.agents[agent_id].success_criteria,
            }
            for agent_id in order
        },
        shared_intelligence=spec.shared_intelligence,
        resource_allocations={agent_id: spec.agents[agent_id].resources for agent_id in order},
    )
    dependencies = []
    for index, item in enumerate(spec.all_dependencies()):
        metadata: dict[str, Any] = {
            "require_success": item.require_success,
            "threshold": item.threshold,
            "max_retries": item.max_retries,
            "scope": item.scope,
        }
        if item.check_interval_ms is not None:
            metadata["check_interval_ms"] = item.check_interval_ms
        if item.approvers is not None:
            metadata["approvers"] = item.approvers  # shown with the approval (status, web view, archive)
        dependency = Dependency(
            item.id, item.type, item.target, timeout=item.timeout, max_retries=item.max_retries, metadata=metadata
        )
        try:
            fields = parts.resolver.registration_fields(cid, dependency, item.agent)
        except InvalidInputError as error:
            raise type(error)(f"dependencies[{index}].{error.field}", error.problem) from error
        dependencies.append(fields)
    try:
        started = dispatcher.signal_values(
            cid,
            SignalType.COORDINATION_STARTED,
            "system",
            {"workflow": spec.name, "agents": order, "dependencies": len(dependencies)},
            f"{cid}.started",
        )
    except PayloadTooLargeError as error:
        raise WorkflowError(
            "agents", f"{len(order)} agents are too many for one coordination: {error.problem}"
        ) from error
    # Limit keys are filled in from the input now, so a template naming a missing field is refused here.
    limits = [
        [agent_id, jsonutil.dumps(spec.resolved_limits(agent_id, input), f"agents.{agent_id}.limits")]
        for agent_id in order
        if spec.has_limits(agent_id)
    ]
    document = {
        "cid": cid,
        "name": spec.name,
        "workflow": workflow_json,
        "input": input_json,
        "auto": [agent_id for agent_id in order if spec.agents[agent_id].start == "auto"],
        "dormant": [agent_id for agent_id in order if spec.agents[agent_id].start != "auto"],
        "contexts": [[agent_id, contexts[agent_id]] for agent_id in order],
        "deps": dependencies,
        "signal": started,
        "history": parts.signals.max_history_size,
        "grace_ms": settings.dispatch_grace_seconds * 1000,
        "limits": limits,
    }
    size = sum(len(text) for text in (workflow_json, input_json, *contexts.values()))
    if size > MAX_SUBMISSION_BYTES:
        raise PayloadTooLargeError(
            "workflow", f"the submission is {size} bytes of JSON, over the limit of {MAX_SUBMISSION_BYTES} bytes"
        )
    return document


def check_derived_ids(spec: WorkflowSpec, coordination_id: str, pipeline_namespace: str) -> None:
    """Build the longest id of each kind the run will build, and refuse the submission if one is not a valid id.

    Ids are never truncated to fit (two long ids that differ only at the end would collide), so a coordination
    whose ids would not fit is refused here, before anything is written.

    Raises:
        InvalidIdError: names the id and what it would be.
    """
    coordination_state_namespace(pipeline_namespace, coordination_id)
    validate_id(f"{coordination_id}.finished", "coordination_id (as <id>.finished, a signal id)")
    for agent_id, agent in spec.agents.items():
        attempts = 1 + agent.resources.max_retry_attempts
        longest = f"{coordination_id}.{agent_id}.a{attempts}{_LONGEST_AGENT_SIGNAL}"
        validate_id(longest, f"agents.{agent_id} (in signal id {longest[:40]}...)")
        if agent.map is not None:
            # The signals of its last item, and its own (map.done / map.failed).
            last = item_id(agent_id, agent.map.max_items - 1)
            longest = f"{coordination_id}.{last}.a{attempts}{_LONGEST_AGENT_SIGNAL}"
            validate_id(longest, f"agents.{agent_id}.map.max_items (in signal id {longest[:40]}...)")
            validate_id(f"{coordination_id}.{agent_id}.map.failed", f"agents.{agent_id} (in a signal id)")
    for dependency in spec.all_dependencies():
        longest = f"{coordination_id}.{dependency.id}.timeout.r{dependency.max_retries}"
        validate_id(longest, f"dependencies.{dependency.id} (in signal id {longest[:40]}...)")
        if dependency.type is DependencyType.APPROVAL:
            verdict = verdict_signal_id(coordination_id, dependency.target)
            validate_id(verdict, f"dependencies.{dependency.id}.target (in signal id {verdict[:40]}...)")
