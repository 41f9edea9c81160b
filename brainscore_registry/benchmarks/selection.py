"""Which part of an assembly a benchmark compares: selection by `procedure.region` and
`procedure.subjects`, the same for neural, behavioural and similarity data, never silent pooling.

- region: the data's `region` coordinate (along neuroid, presentation or subject) or, without one,
  the metadata's single region. A spec must choose a region when the data hold several; a region the
  data lack is refused with the list of those they have.
- subjects: only the listed subjects' rows (trials, matrices; neuroids when a neural assembly has a
  `subject` coordinate along neuroid); a listed subject the data lack is refused.
- neural data: then the one time bin the procedure names.
- similarity data: the metadata's `measure` travels with the matrices (attrs["measure"]) so that a
  metric compares dissimilarities whatever was registered.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import UserInputError, preview
from .specs import BenchmarkSpec

ROWS = {"neural": "neuroid", "behavioral": "presentation", "similarity": "subject"}
NOUN = {"neural": "neuroids", "behavioral": "trials", "similarity": "matrices"}


def _metadata(assembly: xr.DataArray) -> dict:
    return assembly.attrs.get("bsr", {}).get("metadata", {})


def data_regions(assembly: xr.DataArray, kind: str) -> list[str]:
    """The regions the data hold, from their coordinate, else from their metadata."""
    if "region" in assembly.coords and assembly["region"].dims == (ROWS[kind],):
        return sorted(set(np.asarray(assembly["region"].values).astype(str).tolist()))
    return list(_metadata(assembly).get("regions", []))


def select_region(spec: BenchmarkSpec, assembly: xr.DataArray, kind: str) -> xr.DataArray:
    region, regions = spec.procedure.region, data_regions(assembly, kind)
    if region is None:
        if len(regions) > 1:
            raise UserInputError(
                f"the data hold {len(regions)} regions ({', '.join(regions)}) and the spec chooses none",
                field="procedure.region",
                fix=f"set procedure.region to one of {', '.join(regions)}: a benchmark compares one region",
            )
        return assembly
    if regions and region not in regions:
        raise UserInputError(
            f"the data have no {NOUN[kind]} in region {region!r} (they have {', '.join(regions)})",
            field="procedure.region",
            fix="name a recorded region in the benchmark spec",
        )
    if "region" not in assembly.coords or assembly["region"].dims != (ROWS[kind],):
        return assembly
    chosen = np.asarray(assembly["region"].values).astype(str) == region
    return assembly if chosen.all() else assembly.isel({ROWS[kind]: chosen})  # all: no copy


def select_subjects(spec: BenchmarkSpec, assembly: xr.DataArray, kind: str) -> xr.DataArray:
    wanted = spec.procedure.subjects
    if wanted is None:
        return assembly
    dim = ROWS[kind]
    if "subject" not in assembly.coords or assembly["subject"].dims != (dim,):
        raise UserInputError(
            f"the spec selects subjects but the data have no 'subject' coordinate along {dim!r}",
            field="procedure.subjects",
            fix="remove procedure.subjects, or register the data with a subject per " + dim,
        )
    have = np.asarray(assembly["subject"].values).astype(str)
    missing = sorted(set(wanted) - set(have.tolist()))
    if missing:
        raise UserInputError(
            f"the data have no subject(s) {preview(missing)} (they have {preview(sorted(set(have.tolist())))})",
            field="procedure.subjects",
            fix="list subjects the data hold",
        )
    return assembly.isel({dim: np.isin(have, wanted)})


def select_time_bin(spec: BenchmarkSpec, assembly: xr.DataArray) -> xr.DataArray:
    bins_asked = spec.procedure.time_bins
    if not bins_asked or len(bins_asked) != 1:
        raise UserInputError(
            f"the procedure lists {len(bins_asked or [])} time bins; a neural benchmark compares one",
            field="procedure.time_bins",
            fix="name one recorded time bin, e.g. time_bins: [[70, 170]] (one benchmark per time bin)",
        )
    start, end = bins_asked[0]
    bins = list(zip(assembly["time_bin_start"].values.tolist(), assembly["time_bin_end"].values.tolist()))
    if (start, end) not in bins:
        raise UserInputError(
            f"the data have no time bin [{start}, {end}) (they have {preview([list(b) for b in bins])})",
            field="procedure.time_bins",
            fix="name a recorded time bin",
        )
    return assembly.isel(time_bin=bins.index((start, end)))


def selected_target(spec: BenchmarkSpec, assembly: xr.DataArray, kind: str) -> xr.DataArray:
    """The part of the data the spec's metric and ceiling see (neural: repetition level, one time bin)."""
    target = select_subjects(spec, select_region(spec, assembly, kind), kind)
    if kind == "neural":
        return select_time_bin(spec, target)
    if kind == "similarity":
        target = target.copy(deep=False)
        target.attrs = {**target.attrs, "measure": _metadata(assembly).get("measure", "dissimilarity")}
    return target
