"""`bsr report`: one model's scores as one self-contained HTML file (styles, figures and the signed
records inside it), to attach to a paper or a pull request. The records are checked exactly as the
leaderboard checks them (`collect`); the report names any that were rejected."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import UserInputError
from ..metrics.normalization import NORMALIZATIONS
from ..paths import write_atomic
from ..runs.environment import package_version
from ..runs.trust import TrustPolicy
from ..store.registry import Registry
from .board import build_board
from .collect import Collection, collect, record_files
from .site import model_view, networks, template_environment, unwritable


@dataclass(frozen=True)
class ReportSummary:
    path: Path
    model: str
    records: int
    untrusted: int
    rejected: int


def choose_model(models: list[str], wanted: str | None, collection: Collection) -> str:
    """The one model the report is about: the one named, or the only one the records hold."""
    if not models:
        first = f" (first: {collection.rejected[0].path}: {collection.rejected[0].reason})" if collection.rejected else ""
        raise UserInputError(
            f"no verified record among the files given: {len(collection.rejected)} rejected{first}",
            field="RECORD_OR_DIR",
            fix="give score records written by `bsr score`, unchanged",
        )
    if wanted is not None:
        if wanted not in models:
            raise UserInputError(
                f"no verified record of {wanted!r}; the records hold: {', '.join(models) or 'none'}",
                field="model",
                fix="give --model one of those names (with its layer commitment, as `bsr aggregate` prints it)",
            )
        return wanted
    if len(models) != 1:
        raise UserInputError(
            f"the records hold {len(models)} models ({', '.join(models[:5])}{', ...' if len(models) > 5 else ''}); "
            "a report is about one",
            field="model",
            fix="name it with --model, or give only that model's records",
        )
    return models[0]


def build_report(registry: Registry, sources: list[Path], out: Path, policy: TrustPolicy, model: str | None) -> ReportSummary:
    if out.resolve() in {path.resolve() for path in record_files(sources)}:
        raise UserInputError(
            "is one of the records given: the report would replace it", file=out, field="out", fix="write the report elsewhere"
        )
    collection = collect(sources, policy)
    board = build_board(registry, collection)
    chosen = choose_model(board.models, model, collection)
    view = model_view(board, networks(board, collection), chosen)
    records = view["records"]
    formulas = {
        s.benchmark: NORMALIZATIONS[board.specs[s.benchmark].normalization_name].formula if s.benchmark in board.specs else "?"
        for s in records
    }
    html = (
        template_environment()
        .get_template("report.html")
        .render(
            **view,
            css=resources.files("brainscore_registry.reports").joinpath("static", "site.css").read_text(),
            texts=[s.verified_bytes().decode("utf-8") for s in records],
            formulas=formulas,
            rejected=collection.rejected,
            untrusted=sum(not s.trusted for s in records),
            bsr_version=package_version(),
        )
    )
    try:
        write_atomic(out, html)
    except OSError as exc:
        raise unwritable(out, exc) from None
    return ReportSummary(out, chosen, len(records), sum(not s.trusted for s in records), len(collection.rejected))
