"""`bsr leaderboard`: a static website of models × benchmarks built from signed score records."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import JSON_HELP, out, print_json, registry, user_errors


def leaderboard(
    sources: list[Path] = typer.Argument(..., metavar="RECORD_OR_DIR...", help="Score records (JSON) or directories of them."),
    site: Path = typer.Option(..., "--out", "-o", help="The site's directory (created; an earlier site there is replaced)."),
    trusted_key: list[Path] = typer.Option(
        None,
        "--trusted-key",
        help="Signers to trust (repeat for several); records of other valid signers are shown marked †. "
        "Default: your own signing key and the keys in $BSR_HOME/trusted_keys.",
    ),
    title: str = typer.Option("Brain-model leaderboard", "--title", help="The site's title."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Build a static leaderboard site (plain files: open index.html, or serve the directory anywhere).

    Every record is verified first: one that fails (not a record, truncated, a signature that does not
    match) is listed on the site's "rejected" page with the reason and shown nowhere else; records of
    signers you do not trust are shown, marked †. Of several records for one model on one benchmark
    version, the newest counts and the others are listed as superseded. Missing scores are shown as
    missing, never 0.

    Example: bsr leaderboard records/ --out site/
    """
    from brainscore_registry.reports.site import build_site
    from brainscore_registry.runs.trust import load_policy

    with user_errors():
        summary = build_site(registry(), sources, site, load_policy(trusted_key or ()), title)
    if as_json:
        print_json({key: str(value) if isinstance(value, Path) else value for key, value in vars(summary).items()})
        return
    out.print(
        f"{summary.models} models × {summary.columns} benchmark columns from {summary.shown} records "
        f"({summary.untrusted} untrusted, {summary.rejected} rejected, {summary.superseded} superseded)"
    )
    out.print(f"open {summary.index}")
