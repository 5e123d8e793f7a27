"""The example code-generation pipeline: model-gen -> validator-gen ∥ test-gen (quality gate) -> packager.

Each agent is a plain function of ``run``; it returns a small result dict. ``model-gen`` scores the
``model-quality`` gate that ``test-gen`` waits for; a routing rule retries ``model-gen`` when its quality is below
0.8; ``packager`` also waits for the ``artifact-store`` resource and a person's ``release-approval``. The two
generators share the ``codegen:llm`` limit (one at a time; tokens reported with ``run.use_tokens``). The gate,
the resource and the approval are the coordination's own: marking them for one run never releases another.
"""

from __future__ import annotations

import time
from typing import Any

from coordination import agent

# How long each demo agent "works", so progress is visible (seconds; tests set it to 0).
WORK_SECONDS = {"model-gen": 0.6, "validator-gen": 0.8, "test-gen": 1.0, "packager": 0.4}


def _work(run: Any) -> None:
    pace = float((run.input or {}).get("pace", 1.0))
    time.sleep(WORK_SECONDS.get(run.agent_id, 0.5) * pace)


@agent("model-gen")
def generate_models(run: Any) -> dict[str, Any]:
    """Generate models; the first attempt is below the quality bar unless the input says otherwise."""
    _work(run)
    first_quality = float((run.input or {}).get("first_quality", 0.62))
    quality = first_quality if run.attempt == 1 else 0.95
    run.state.set("generated_models", {"User": "models/user.py", "Order": "models/order.py"}, changed_by=run.agent_id)
    run.report_quality("model-quality", quality)
    return {
        "summary": f"Generated 2 models (attempt {run.attempt})",
        "quality_score": quality,
        "artifacts": ["models/user.py", "models/order.py"],
    }


@agent("validator-gen")
def generate_validators(run: Any) -> dict[str, Any]:
    """Generate validators for the models model-gen produced."""
    _work(run)
    run.use_tokens(1800)  # what the model call cost (counted against codegen:llm's token limit)
    models = run.state.get("generated_models", {}) or {}
    run.state.set(
        "generated_validators", {name: f"validators/{name.lower()}.py" for name in models}, changed_by=run.agent_id
    )
    return {"summary": f"Generated {len(models)} validators", "quality_score": 0.9}


@agent("test-gen")
def generate_tests(run: Any) -> dict[str, Any]:
    """Generate tests once the models pass the quality gate."""
    _work(run)
    run.use_tokens(2400)
    models = run.state.get("generated_models", {}) or {}
    return {"summary": f"Generated {len(models) * 3} tests", "quality_score": 0.88}


@agent("packager")
def package(run: Any) -> dict[str, Any]:
    """Package everything once validators and tests exist and the artifact store is up."""
    _work(run)
    validators = run.result_of("validator-gen") or {}
    tests = run.result_of("test-gen") or {}
    return {
        "summary": f"Packaged: {validators.get('summary')}; {tests.get('summary')}",
        "quality_score": 1.0,
        "artifacts": ["dist/codegen-0.1.0.tar.gz"],
    }
