"""The distributed pipeline: workflows submitted once, run to the end by Celery workers on any machine.

Modules: ``components`` (the per-process coordination objects), ``records`` (agent and coordination records,
changed only by Lua scripts), ``submission``, ``runtime`` (one agent attempt inside a worker), ``dispatch``
(messages out), ``routing`` (per-agent routers built from the workflow), ``polling`` (beat's safety net),
``status`` (what a user reads).
"""
