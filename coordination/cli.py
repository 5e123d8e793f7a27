"""The ``coord`` command line (Typer + Rich)."""

from __future__ import annotations

import sys

import typer

app = typer.Typer(help="Coordinate multi-agent pipelines on Celery and Redis.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks, each figure beside a baseline measured in the same run.")
app.add_typer(bench_app, name="bench")


@app.command()
def demo() -> None:
    """Run the example end to end (an embedded Redis is used when none is reachable)."""
    from coordination.demo import run_demo

    raise typer.Exit(run_demo())


@app.command()
def check() -> None:
    """Check that the coordination store answers; exit non-zero otherwise."""
    from config.settings import get_settings
    from coordination.store.embedded import redis_reachable

    url = str(get_settings().redis_url)
    if not redis_reachable(url):
        typer.echo(f"FAIL redis: nothing answers at {url}", err=True)
        raise typer.Exit(1)
    typer.echo(f"ok   redis: {url}")


@bench_app.command("core")
def bench_core(
    json_path: str | None = typer.Option(None, "--json", help="Also write the results to this JSON file."),
    quick: bool = typer.Option(False, "--quick", help="Fewer iterations: a smoke run, not a measurement."),
) -> None:
    """Benchmark the coordination core (signals, routing, contexts, dependencies, memory)."""
    from bench.core import main as run_core

    raise typer.Exit(run_core(json_path, quick))


def main() -> None:
    """Entry point of the ``coord`` script."""
    app(args=sys.argv[1:])


if __name__ == "__main__":
    main()
