"""`bsr meta-template KIND`: a commented metadata YAML to start from."""

from __future__ import annotations

from enum import Enum

import typer

from brainscore_registry.data.templates import TEMPLATES

from .common import out


class TemplateKind(str, Enum):
    neural = "neural"
    behavioral = "behavioral"
    similarity = "similarity"
    stimuli = "stimuli"
    nwb = "nwb"
    brainio = "brainio"


def meta_template(
    kind: TemplateKind = typer.Argument(..., help="neural, behavioral, similarity, stimuli; nwb or brainio (for `bsr import`)."),
) -> None:
    """Print a commented metadata template; edit the values, keep the keys.

    Example: bsr meta-template neural > my-v4.yaml
    """
    out.print(TEMPLATES[kind.value], markup=False, end="")
