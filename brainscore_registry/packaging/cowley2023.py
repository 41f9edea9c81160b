"""Cowley et al. 2023, macaque V4, session 210325: 640 images, 50 neurons, per-repetition spike counts.

- Stimuli: the 640 JPEGs of `images_210325.zip`, original bytes (no re-encoding); `stimulus_id`
  `image0001` … `image0640` (the zip's numbering, which starts at 1; array index i is image i+1).
- Assembly: spike counts in one 100 ms counting window per repetition (the source does not state the
  window's offset from stimulus onset; it is recorded as [0, 100]). The raw array (50, 640, 10) pads
  unused repetition slots with trailing NaNs: those slots become absent presentations, so images have
  6–10 presentations (repetition = slot index).
- Ceiling (`internal_consistency`): split-half over the 10 repetition slots (5 + 5). An image's valid
  slots are 0 … k−1 with k ≥ 6, so every split leaves each image at least one presentation in each
  half, and each half is averaged over the presentations it has (1–5 of them): unequal counts enter
  as unequal averaging, not as dropped images. Documented bounds for the result: 0.68–0.82 (an
  independent check gives a median Spearman-Brown split-half reliability of 0.76 over the 50 neurons).
- The images carry no object labels, so the regressions use plain (unstratified) shuffled splits.
- Visual degrees: 8, assumed as for Brain-Score's DiCarlo-lab V4 benchmarks (same image set); the
  source does not state the display size.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from . import Package, Prepared, verify_raw

FOLDER = "cowley2023_v4_session210325"
NAME = "Cowley2023.V4_session210325"
IMAGES = "data_V4_responses/images/images_210325.zip"
RAW = "data_V4_responses/responses_raw/responses_210325.npy"
SOURCE = "https://github.com/cowleygroup/V4_compact_models"
COMMIT = "f4552ad9d34a466ebc66658f72a08a8e5038f1cf"
CITATION = (
    "Cowley, B. R., Stan, P. L., Pillow, J. W., & Smith, M. A. (2023). Compact deep neural network models of visual "
    "cortex. bioRxiv 2023-11."
)
VISUAL_DEGREES = 8.0
CEILING_BOUNDS = (0.68, 0.82)


def _provenance(sums: dict[str, str]) -> dict:
    return {"source": SOURCE, "revision": COMMIT, "sha256": {k: v for k, v in sums.items()}}


def prepare(raw_root: Path, work: Path) -> Prepared:
    folder = raw_root / FOLDER
    sums = verify_raw(folder, [IMAGES, RAW])
    images = work / "images"
    images.mkdir(parents=True)
    with zipfile.ZipFile(folder / IMAGES) as archive:
        for i in range(1, 641):
            (images / f"image{i:04d}.jpg").write_bytes(archive.read(f"image{i:04d}.jpg"))
    table = work / "stimuli.csv"
    ids = [f"image{i:04d}" for i in range(1, 641)]
    pd.DataFrame({"stimulus_id": ids, "filename": [f"{i}.jpg" for i in ids]}).to_csv(table, index=False)
    common = {"citation": CITATION, "license": "GPL-3.0-only"}
    stimuli_meta = {
        "identifier": f"{NAME}.images",
        "description": "640 images (Bashivan, Kar & DiCarlo 2019 set), 112x112 JPEG, as shown in session 210325.",
        **common,
        "provenance": _provenance({IMAGES: sums[IMAGES]}),
        "visual_degrees": VISUAL_DEGREES,
    }
    counts = np.load(folder / RAW)  # (neurons, images, repetition slots), NaN-padded
    neuron, image, slot = np.nonzero(~np.isnan(counts[0:1]))  # valid slots are the same for every neuron
    values = counts[:, image, slot].T  # presentations × neurons
    n_neurons = counts.shape[0]
    assembly = xr.DataArray(
        values[:, :, None].astype(np.float32),
        dims=("presentation", "neuroid", "time_bin"),
        coords={
            "stimulus_id": ("presentation", np.array([f"image{i + 1:04d}" for i in image], dtype=object)),
            "repetition": ("presentation", slot.astype(np.int64)),
            "neuroid_id": ("neuroid", np.array([f"210325_n{j:02d}" for j in range(n_neurons)], dtype=object)),
            "region": ("neuroid", np.array(["V4"] * n_neurons, dtype=object)),
            "animal": ("neuroid", np.array(["PE"] * n_neurons, dtype=object)),
            "time_bin_start": ("time_bin", [0]),
            "time_bin_end": ("time_bin", [100]),
        },
    )
    assembly_meta = {
        "identifier": NAME,
        "description": (
            "Macaque V4 spike counts (100 ms window; offset from onset not stated in the source), session 210325, "
            "animal PE, 50 neurons x 640 images, 6-10 repetitions per image (NaN-padded slots dropped)."
        ),
        **common,
        "provenance": _provenance({RAW: sums[RAW]}),
        "kind": "neural",
        "species": "macaca_mulatta",
        "regions": ["V4"],
        "modality": "spikes",
        "stimulus_set": f"{NAME}.images",
        "time_bins": [[0, 100]],
    }
    return Prepared([(images, table, stimuli_meta)], [(assembly, assembly_meta)])


def specs(versions: dict[str, str]) -> list[dict]:
    common = {
        "version": 1,
        "assembly": versions[NAME],
        "procedure": {"region": "V4", "time_bins": [[0, 100]], "visual_degrees": VISUAL_DEGREES, "number_of_trials": 1},
        "ceiling": {"method": "internal_consistency"},
        "normalization": "r2_over_ceiling",
        "parent": "V4",
        "citation": CITATION,
    }
    note = "The images carry no object labels: plain (unstratified) shuffled splits."
    return [
        {
            "id": "Cowley2023.V4-pls",
            "description": f"V4 neural predictivity, PLS (25 components), 10 shuffled 90/10 splits. {note}",
            "metric": {"name": "pls", "params": {"stratification_coord": None}},
            **common,
        },
        {
            "id": "Cowley2023.V4-ridge",
            "description": f"V4 neural predictivity, ridge (alpha 1), 10 shuffled 90/10 splits. {note}",
            "metric": {"name": "ridge", "params": {"stratification_coord": None}},
            **common,
        },
    ]


PACKAGE = Package("cowley2023", FOLDER, prepare, specs)
