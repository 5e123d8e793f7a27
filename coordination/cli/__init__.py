"""The ``coord`` command line (Typer + Rich).

::

    coord demo                                   the example pipeline end to end (coord demo --core: components)
    coord submit FILE [--input JSON] [--wait]    start a coordination, print its id
    coord status|watch|history CID               look at one
    coord logs CID [AGENT]                       run.log lines and tracebacks of failed attempts
    coord cancel CID [--reason TEXT]             end a running one (agents not started are skipped)
    coord retry CID [--from AGENT]               run a finished one again from where it broke (or AGENT)
    coord ls [--status S] [--workflow W] ...     coordinations, newest first (Redis and the archive)
    coord graph FILE|CID [--format F] [-o OUT]   a workflow as DOT, Mermaid, SVG or PNG
    coord ui [--host H] [--port P]               the read-only web view (and /metrics)
    coord clean [--namespace N] [--yes]          remove a namespace's keys and queue (dry run without --yes)
    coord resource mark CID ID [--unavailable]   what a coordination's dependencies wait for (--global: the
    coord gate set CID ID SCORE                  namespace's, for dependencies declared scope: global)
    coord approve CID GATE --by NAME [--reject]  a verdict on an approval gate
    coord limits [--json]                        each limit key's use: running, started, tokens, waiting
    coord check                                  services, workers and a canary task through the queue
    coord db upgrade                             create or migrate the archive
    coord bench core|pipeline                    benchmarks
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Annotated

import typer
from rich.text import Text

from coordination.cli import clean, commands, conditions, graph, limits, listing, logs, retry, ui
from coordination.cli.benchmarks import BenchUnavailableError, load_bench
from coordination.cli.common import console, err_console, guarded
from coordination.cli.safe import safe

app = typer.Typer(help="Coordinate multi-agent pipelines on Celery and Redis.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks, each figure beside a baseline measured in the same run.")
app.add_typer(bench_app, name="bench")
app.add_typer(conditions.resource_app, name="resource")
app.add_typer(conditions.gate_app, name="gate")
app.add_typer(commands.db_app, name="db")
app.command()(commands.submit)
app.command()(commands.status)
app.command()(commands.watch)
app.command()(commands.history)
app.command()(commands.cancel)
app.command()(retry.retry)
app.command()(conditions.approve)
app.command()(logs.logs)
app.command()(limits.limits)
app.command()(listing.ls)
app.command()(graph.graph)
app.command()(ui.ui)
app.command()(clean.clean)

JsonPath = Annotated[str | None, typer.Option("--json", help="Also write the results to this JSON file.")]
Quick = Annotated[bool, typer.Option("--quick", help="Fewer iterations: a smoke run, not a measurement.")]


@app.command()
@guarded
def demo(
    core: Annotated[bool, typer.Option("--core", help="Instead: the components in two processes.")] = False,
    pace: Annotated[
        float, typer.Option("--pace", min=0.0, help="Scales how long each example agent works (0: no wait).")
    ] = 1.0,
    resource_after: Annotated[
        float, typer.Option("--resource-after", min=0.0, help="Seconds after submission until artifact-store is up.")
    ] = 2.0,
    timeout: Annotated[float, typer.Option("--timeout", min=1.0, help="Give up after this many seconds.")] = 120.0,
    own_workers: Annotated[
        bool, typer.Option("--own-workers", help="Always start a worker and beat, even if a worker is running.")
    ] = False,
    pool: Annotated[
        str, typer.Option("--pool", help="Pool of the demo's own worker (prefork, threads, solo).")
    ] = "prefork",
    approve_after: Annotated[
        float,
        typer.Option("--approve-after", min=0.0, help="Seconds the packager waits for release-approval alone."),
    ] = 1.0,
) -> None:
    """Run the example pipeline end to end through real workers (embedded Redis when none is reachable)."""
    if core:
        from coordination.demo import run_demo as run_core_demo

        raise typer.Exit(run_core_demo())
    from config.settings import SettingsError
    from coordination.cli.demo import DemoOptions, run_demo

    try:
        code = run_demo(DemoOptions(pace, resource_after, timeout, own_workers, pool, approve_after=approve_after))
    except SettingsError:
        raise  # reported by @guarded like every other command's
    except RuntimeError as error:
        err_console.print(Text.assemble(("demo failed:", "red"), " ", safe(error)), soft_wrap=True)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


@app.command()
@guarded
def check() -> None:
    """Check the store, the broker, the archive database, the workers, and a canary task through the queue."""
    from coordination.cli.checks import Check, run_checks

    def report(outcome: Check) -> None:
        mark = "[green]ok  [/]" if outcome.ok else "[bold red]FAIL[/]"
        console.print(Text.from_markup(mark).append(safe(f" {outcome.name:<9} {outcome.detail}")), soft_wrap=True)

    outcomes = run_checks(report)
    if not all(outcome.ok for outcome in outcomes):
        raise typer.Exit(1)


@bench_app.command("core")
@guarded
def bench_core(json_path: JsonPath = None, quick: Quick = False) -> None:
    """Benchmark the coordination core (signals, routing, contexts, dependencies, memory)."""
    raise typer.Exit(_bench("core").main(json_path, quick))


@bench_app.command("pipeline")
@guarded
def bench_pipeline(json_path: JsonPath = None, quick: Quick = False) -> None:
    """Benchmark the distributed pipeline through real workers (latency per hop, throughput)."""
    raise typer.Exit(_bench("pipeline").main(json_path, quick))


def _bench(name: str) -> ModuleType:
    """``bench.<name>`` from the checkout, or exit 1 saying how to get the suite."""
    try:
        return load_bench(name)
    except BenchUnavailableError as error:
        err_console.print(Text.assemble(("error:", "red"), " ", safe(str(error))))
        raise typer.Exit(1) from None


def main() -> None:
    """Entry point of the ``coord`` script."""
    app(args=sys.argv[1:], prog_name="coord")
