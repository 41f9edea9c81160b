"""The `bsr` application: global options and command wiring. Commands live one group per module."""

from __future__ import annotations

import typer

import brainscore_registry

from . import aggregate, benchmarks, common, demo, init, inspect, keys, meta, package, register, remote, score, transfer

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
        common.out.print(f"bsr {brainscore_registry.__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    registry: str = typer.Option(
        None,
        "--registry",
        envvar="BSR_REGISTRY",
        help="Registry: a checkout, a git URL or a bare clone (default: the nearest parent with registry/datasets).",
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """brainscore-registry command line."""
    common.State.registry = registry


app.add_typer(register.app, name="register")
app.command("list")(inspect.list_datasets)
app.command("show")(inspect.show)
app.command("meta-template")(meta.meta_template)
app.command("init")(init.init)
app.command("push")(transfer.push)
app.command("pull")(transfer.pull)
app.command("status")(transfer.status)
app.add_typer(remote.app, name="remote")
app.command("benchmarks")(benchmarks.list_benchmarks)
app.add_typer(benchmarks.app, name="benchmark")
app.command("score")(score.score)
app.command("verify")(score.verify)
app.command("reproduce")(score.reproduce)
app.command("map-layers")(score.map_layers)
app.add_typer(keys.app, name="keys")
app.command("package")(package.package)
app.command("aggregate")(aggregate.aggregate)
app.command("demo")(demo.demo)


def main() -> None:
    app()
