"""`bsr leaderboard`: a static website of models × benchmarks built from signed score records."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import JSON_HELP, err, out, print_json, registry, user_errors


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
        print_json(summary.to_json())
        return
    if summary.shown == 0:
        err.print("warning: no verified record among the files given: the board is empty", markup=False)
    for rejected in summary.rejections[:10]:
        err.print(f"rejected {shown(rejected.path)}: {shown(rejected.reason)}", markup=False, highlight=False, soft_wrap=True)
    if len(summary.rejections) > 10:
        err.print(f"... and {len(summary.rejections) - 10} more: see rejected.html", markup=False)
    out.print(
        f"{summary.models} models × {summary.columns} benchmark columns from {summary.shown} records "
        f"({summary.untrusted} untrusted, {len(summary.rejections)} rejected, {summary.superseded} superseded)",
        markup=False,
    )
    out.print(f"open {shown(summary.index)}", markup=False, highlight=False)


def report(
    sources: list[Path] = typer.Argument(
        ..., metavar="RECORD_OR_DIR...", help="One model's score records (JSON), or directories."
    ),
    report_file: Path = typer.Option(
        ..., "--out", "-o", help="The HTML file to write (one file, nothing loaded from elsewhere)."
    ),
    model: str = typer.Option(None, "--model", help="The model, when the records hold several (as `bsr aggregate` names it)."),
    trusted_key: list[Path] = typer.Option(None, "--trusted-key", help="Signers to trust; others are marked †."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Write one model's scores as a self-contained HTML report (styles, figures and the signed records
    inside it), for a paper or a pull request. Records are checked as `bsr leaderboard` checks them.

    Example: bsr report records/ --model "convnet4 (V1=stage1, V2=stage2, V4=stage3, IT=stage4)" --out report.html
    """
    from brainscore_registry.paths import check_output_file
    from brainscore_registry.reports.report import build_report
    from brainscore_registry.runs.trust import load_policy

    with user_errors():
        check_output_file(report_file, can_follow=False)
        summary = build_report(registry(), sources, report_file, load_policy(trusted_key or ()), model)
    if as_json:
        print_json({**vars(summary), "path": str(summary.path)})
        return
    out.print(
        f"{shown(summary.model)}: {summary.records} records ({summary.untrusted} untrusted, {summary.rejected} rejected)",
        markup=False,
        highlight=False,
    )
    out.print(f"wrote {shown(summary.path)}", markup=False, highlight=False)


def shown(value: object) -> str:
    """Text from records or paths as a terminal shows it safely: control and bidirectional-override
    characters (escape sequences, RLO) spelled out, never sent to the terminal."""
    return "".join(
        ch if ch.isprintable() and not 0x202A <= ord(ch) <= 0x202E and not 0x2066 <= ord(ch) <= 0x2069 else ascii(ch)[1:-1]
        for ch in str(value)
    )
