"""Commented YAML templates for metadata files (`bsr meta-template KIND`).

Each template is itself valid metadata (a test checks it), so a user edits values, never syntax. Its
values are realistic examples, which is what makes them dangerous: registered unedited, a dataset would
carry an invented citation and provenance. So registration refuses any value still equal to a
template's example (`placeholders`): the identifier's `Doe2024` author-year, the citation, the
provenance source and revision, and the descriptions.
"""

from __future__ import annotations

from collections.abc import Mapping

EXAMPLE_AUTHOR_YEAR = "Doe2024"
EXAMPLE_CITATION = "Doe J, Roe R (2024). Responses of macaque V4 neurons to natural images. J Neurosci 44:1-20."
EXAMPLE_SOURCE = "https://example.org/lab/v4-dataset"
EXAMPLE_REVISION = "v1.0 (2024-03-25)"
EXAMPLE_DESCRIPTIONS = {
    "640 natural images, 112x112 pixels, shown for 100 ms at the receptive field centre.",
    "Spike counts of 50 V4 neurons in one monkey, 640 images, 6-10 repetitions each.",
    "16-way object categorisation by 10 human subjects, one row per trial.",
    "Representational dissimilarity matrices (1 - Pearson r) of human IT, one per subject.",
}

_COMMON_TAIL = """\
# Full citation of the paper that reports the data.
citation: "Doe J, Roe R (2024). Responses of macaque V4 neurons to natural images. J Neurosci 44:1-20."
# SPDX license id or expression of the data (https://spdx.org/licenses/), e.g. CC-BY-4.0, CC0-1.0, MIT.
license: CC-BY-4.0
# Where the raw files came from, precisely enough to fetch them again.
provenance:
  source: https://example.org/lab/v4-dataset        # URL, DOI or archive
  revision: "v1.0 (2024-03-25)"                    # commit, release tag or download date
  # sha256:                                        # optional: raw file name -> sha256 hex
  #   responses.npy: 0000000000000000000000000000000000000000000000000000000000000000
"""

_ASSEMBLY_HEAD = """\
# Dataset identifier: letters, digits, '.', '_' and '-', at most 80 characters. <AuthorYear>[.<variant>]
identifier: Doe2024.{variant}
# neural | behavioral | similarity
kind: {kind}
# One paragraph: what was measured, in whom, under which conditions.
description: "{description}"
# macaca_mulatta, macaca_fascicularis, macaca_nemestrina, callithrix_jacchus, homo_sapiens, mus_musculus, ...
species: {species}
# Regions recorded: V1, V2, V4, IT, MT, LGN, hV4, LO, FFA, VISp, ... ('behavior' for behavioral data)
regions: [{regions}]
# spikes | multi_unit | fmri | eeg | meg | calcium | psychophysics
modality: {modality}
# The stimulus set shown: a name (its latest version) or a pinned 'Name@sha256:<64 hex>'.
stimulus_set: Doe2024.images
"""

_NEURAL = """\
# Time bins of the responses, in ms after stimulus onset: a list of [start_ms, end_ms].
time_bins:
  - [70, 170]
# Optional: a precomputed ceiling (value in [0, 1], error, how it was computed).
# ceiling:
#   value: 0.82
#   error: 0.01
#   method: internal_consistency
"""

_SIMILARITY = """\
# What the matrices hold: dissimilarity (e.g. 1 - Pearson r, Euclidean, crossnobis; the default) or
# similarity (e.g. Pearson r). Metrics compare dissimilarities and convert a similarity s to 1 - s.
measure: dissimilarity
# How they were computed (free text), e.g. '1 - pearson r', 'crossnobis', 'pearson r'.
measure_method: 1 - pearson r
# Several regions in one assembly: list them all above and give the data a 'region' coordinate along
# 'subject'; each (region, subject) has exactly one matrix.
"""

_STIMULI = """\
# Stimulus set identifier: letters, digits, '.', '_' and '-', at most 80 characters.
identifier: Doe2024.images
# One paragraph: what the images show, how they were made.
description: "640 natural images, 112x112 pixels, shown for 100 ms at the receptive field centre."
# Optional: width of the images in degrees of visual angle as the subject saw them.
visual_degrees: 8.0
"""

_IMPORT_STIMULI = """\
# The images shown: registered with the assembly and pinned to it. Citation, license and provenance
# default to the ones above. (Images already registered: stimulus_set: Doe2024.images@sha256:<64 hex>)
stimulus_set:
  identifier: Doe2024.images
  description: "640 natural images, 112x112 pixels, shown for 100 ms at the receptive field centre."
  visual_degrees: 8.0
"""

_NWB_HEAD = """\
# `bsr import nwb SESSION.nwb --meta THIS.yaml --time-bins 70:170`: the counts' time bins come from
# --time-bins, kind (neural) and modality (spikes) are set for you.
# Dataset identifier: letters, digits, '.', '_' and '-', at most 80 characters. <AuthorYear>[.<variant>]
identifier: Doe2024.V4_session1
# One paragraph: what was measured, in whom, under which conditions.
description: "Spike counts of 50 V4 neurons in one monkey, 640 images, 6-10 repetitions each."
# Optional: taken from the NWB file's Subject when left out (checked against it when given).
# species: macaca_mulatta
# Regions recorded. With several, each unit's electrode location names its region.
regions: [V4]
"""

_ASSEMBLY_STIMULI = """\
# The stimulus set shown: a name (its latest version) or a pinned 'Name@sha256:<64 hex>'.
stimulus_set: Doe2024.images
"""
_BRAINIO_HEAD = (
    "# `bsr import brainio --assembly A.nc --stimuli S.csv --stimuli-zip S.zip --meta THIS.yaml`; time_bins\n"
    "# default to the NetCDF's time_bin_start/time_bin_end.\n" + _ASSEMBLY_HEAD.replace(_ASSEMBLY_STIMULI, "")
)

_V4 = {
    "variant": "V4",
    "kind": "neural",
    "species": "macaca_mulatta",
    "regions": "V4",
    "modality": "spikes",
    "description": "Spike counts of 50 V4 neurons in one monkey, 640 images, 6-10 repetitions each.",
}

TEMPLATES: dict[str, str] = {
    "neural": _ASSEMBLY_HEAD.format(**_V4) + _NEURAL + _COMMON_TAIL,
    "behavioral": _ASSEMBLY_HEAD.format(
        variant="objects",
        kind="behavioral",
        species="homo_sapiens",
        regions="behavior",
        modality="psychophysics",
        description="16-way object categorisation by 10 human subjects, one row per trial.",
    )
    + _COMMON_TAIL,
    "similarity": _ASSEMBLY_HEAD.format(
        variant="IT_human",
        kind="similarity",
        species="homo_sapiens",
        regions="IT",
        modality="fmri",
        description="Representational dissimilarity matrices (1 - Pearson r) of human IT, one per subject.",
    )
    + _SIMILARITY
    + _COMMON_TAIL,
    "stimuli": _STIMULI + _COMMON_TAIL,
    "nwb": _NWB_HEAD + _COMMON_TAIL + _IMPORT_STIMULI,
    "brainio": _BRAINIO_HEAD.format(**_V4) + _COMMON_TAIL + _IMPORT_STIMULI,
}


def placeholders(meta: Mapping) -> list[tuple[str, str]]:
    """(field, value) for every value of `meta` still equal to a template's example: registering them
    would publish an invented citation or provenance."""
    found = []
    if str(meta.get("identifier", "")).split(".")[0] == EXAMPLE_AUTHOR_YEAR:
        found.append(("identifier", str(meta["identifier"])))
    for field, value, examples in (
        ("citation", meta.get("citation"), {EXAMPLE_CITATION}),
        ("description", meta.get("description"), EXAMPLE_DESCRIPTIONS),
        ("provenance.source", (meta.get("provenance") or {}).get("source"), {EXAMPLE_SOURCE}),
        ("provenance.revision", (meta.get("provenance") or {}).get("revision"), {EXAMPLE_REVISION}),
    ):
        if isinstance(value, str) and value.strip() in examples:
            found.append((field, value))
    return found
