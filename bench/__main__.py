"""``python -m bench core|pipeline [--json FILE] [--quick]``."""

from __future__ import annotations

import argparse
import sys

from bench.env import use_fresh_namespace

# The section names, repeated from bench.core so that parsing imports nothing of coordination.
SECTIONS = ("routing", "context", "signals", "dependencies", "memory")


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Coordination benchmark suite.")
    parser.add_argument("suite", choices=["core", "pipeline"], help="the suite to run")
    parser.add_argument("--json", dest="json_path", metavar="FILE", help="also write the results as JSON")
    parser.add_argument(
        "--quick", action="store_true", help="fewer iterations (smoke run: core < 30 s, pipeline < 60 s)"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        metavar="SECTION",
        help="core only: run only this section (repeatable): routing, context, signals, dependencies, memory",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    # The bench key prefix must be in the environment before coordination reads its settings.
    use_fresh_namespace()
    if args.suite == "pipeline":
        if args.only:
            print("--only applies to the core suite only", file=sys.stderr)
            return 2
        from bench.pipeline import main as pipeline_main

        return pipeline_main(args.json_path, args.quick)
    from bench.core import main as core_main

    return core_main(args.json_path, args.quick, only=args.only)


if __name__ == "__main__":
    from config.settings import SettingsError

    try:
        sys.exit(main())
    except SettingsError as error:  # one line naming the variable, like every other entry point
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
