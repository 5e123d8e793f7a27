"""Held-out adversarial suite: bad input at every entry point is refused clearly and writes nothing.

Each case asserts three things: the error type (or, for the CLI, exit code 2 or 1 and one line on stderr with no
traceback), that the message names the field, and that the store holds exactly what it held before (every key
under the test's namespace, with its content).

Entry points: the Python API (``test_api_*.py``), the ``coord`` command line (``test_cli.py``) and workflow files
on disk (``test_workflow_files.py``). Bad Celery task messages and the atomicity of ``Workflow.submit`` belong
to the pipeline runtime and are added by its owner: ``test_task_messages.py`` is deliberately not here yet.
"""
