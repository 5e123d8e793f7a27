"""Benchmark suite: each figure is measured beside a raw-Redis baseline taken in the same run.

Run ``python -m bench core [--json FILE] [--quick]`` (or ``coord bench core``); see ``docs/benchmarks.md``.
"""
