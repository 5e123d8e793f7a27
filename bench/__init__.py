"""Benchmark suites: each figure is measured beside a baseline taken in the same run.

Run ``python -m bench core [--json FILE] [--quick]`` (or ``coord bench core``) for the coordination core against
raw Redis, and ``python -m bench pipeline [--json FILE] [--quick]`` (or ``coord bench pipeline``) for the pipeline
through a real Celery worker against bare Celery; see ``docs/benchmarks.md``.
"""
