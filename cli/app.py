"""The `bsr` application: global options and command wiring. Commands live one group per module.

Command modules import only typer, rich and the package's error types at the top; each command
imports the library it needs when it runs, so `bsr --help` answers at once.
"""

from __future__ import annotations

import typer

from . import (
    aggregate,
    benchmarks,
    cache,
    common,
    demo,
    imports,
    init,
    inspect,
    keys,
    leaderboard,
    meta,
    package,
    register,
    remote,
    run,
    score,
    serve,
    submit,
    transfer,
)

app = typer.Typer(
    name="bsr",
    help="brainscore-registry: versioned neural and behavioral datasets and benchmarks for brain models.\n\nExample: bsr demo",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from brainscore_registry.runs.environment import package_version

        common.out.print(f"bsr {package_version()}")
        raise typer.Exit()


@app.callback()
def main_options(
    registry: str = typer.Option(
        None,
        "--registry",
        envvar="BSR_REGISTRY",
        help="Registry: a checkout, a git URL or a bare clone (default: the nearest parent with registry/datasets).",
    ),
    debug: bool = typer.Option(
        False, "--debug", envvar="BSR_DEBUG", help="Show the original traceback behind an error (also BSR_DEBUG=1)."
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """brainscore-registry command line."""
    common.State.registry = registry
    common.State.debug = debug


app.add_typer(register.app, name="register")
app.add_typer(imports.import_app, name="import")
app.add_typer(imports.export_app, name="export")
app.command("list")(inspect.list_datasets)
app.command("show")(inspect.show)
app.command("meta-template")(meta.meta_template)
app.command("init")(init.init)
app.command("push")(transfer.push)
app.command("pull")(transfer.pull)
app.command("status")(transfer.status)
app.command("publish")(transfer.publish)
app.command("verify-data")(transfer.verify_data)
app.add_typer(remote.app, name="remote")
app.command("benchmarks")(benchmarks.list_benchmarks)
app.add_typer(benchmarks.app, name="benchmark")
app.command("score")(score.score)
app.command("verify")(score.verify)
app.command("reproduce")(score.reproduce)
app.command("map-layers")(score.map_layers)
app.command("run")(run.run)
app.add_typer(keys.app, name="keys")
app.add_typer(cache.app, name="cache")
app.command("package")(package.package)
app.command("aggregate")(aggregate.aggregate)
app.command("leaderboard")(leaderboard.leaderboard)
app.command("report")(leaderboard.report)
app.command("demo")(demo.demo)
app.add_typer(serve.app, name="serve")
app.command("submit")(submit.submit)
app.command("login")(submit.login)


def main() -> None:
    from brainscore_registry import timings

    timings.mark_start()
    app()
