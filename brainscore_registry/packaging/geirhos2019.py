"""Geirhos et al. 2019, texture vs shape: cue-conflict (1,280 images), edge (160) and silhouette (160)
experiments, 16 categories, 224×224 PNGs, 10 human subjects each (plus 3 CNNs' decisions in CSVs).

- One stimulus set per experiment, original PNG bytes; `stimulus_id` is the file name without its
  extension (e.g. `cat1-airplane1`); table columns `category` (the folder: the shape category),
  `shape`, `texture` (for cue-conflict the texture category from the name after '-'; for edges and
  silhouettes the same as the shape).
- One behavioural assembly per experiment: every human trial of the 10 subject CSVs (choice =
  `object_response`, `na` where there was no response), with `truth` (= shape category), `shape`,
  `texture`, `subject`, `session`, `trial`, `rt` (s), `condition`. The CNN CSVs are not human data: they
  are read by `cnn_predictions` (the paper's CNN decisions, for prediction-only scoring).
- Benchmarks: `-accuracy` and `-error_consistency` per experiment, and `cue_conflict-shape_bias`: the
  model's shape bias against the humans', normalised by the spread between subjects
  (`shape_bias_subjects` ceiling, `closeness_over_ceiling`; see metrics/decisions.py).
- Behavioural readout: the model's `label` task is fitted on another experiment's images of the same 16
  categories (cue-conflict and edges on the silhouettes; silhouettes on the edges). Visual degrees: 8, as
  Brain-Score's Geirhos benchmarks.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from . import Package, Prepared, verify_raw

FOLDER = "geirhos2019_texture_vs_shape"
SOURCE = "https://github.com/rgeirhos/texture-vs-shape"
COMMIT = "ccd0c01d42c0a8a834e90ec141e7f24fa915dc23"
CITATION = (
    "Geirhos, R., Rubisch, P., Michaelis, C., Bethge, M., Wichmann, F. A., & Brendel, W. (2019). ImageNet-trained "
    "CNNs are biased towards texture; increasing shape bias improves accuracy and robustness. ICLR 2019."
)
EXPERIMENTS = {  # name: (raw-data folder, stimuli folder)
    "cue_conflict": ("style-transfer-512-nomask-experiment", "style-transfer-preprocessed-512"),
    "edge": ("edge-experiment", "edges"),
    "silhouette": ("silhouette-filled-experiment", "filled-silhouettes"),
}
FITTING = {"cue_conflict": "silhouette", "edge": "silhouette", "silhouette": "edge"}
CATEGORIES = "airplane bear bicycle bird boat bottle car cat chair clock dog elephant keyboard knife oven truck".split()
NETWORKS = ("alexnet", "googlenet", "vgg")
VISUAL_DEGREES = 8.0


def _category(name: str) -> str:
    return re.sub(r"\d+$", "", name)


def stimulus_table(raw_root: Path, experiment: str) -> pd.DataFrame:
    folder = raw_root / FOLDER / "stimuli" / EXPERIMENTS[experiment][1]
    rows = []
    for path in sorted(folder.glob("*/*.png")):
        stem = path.stem
        shape = path.parent.name
        texture = _category(stem.split("-", 1)[1]) if experiment == "cue_conflict" else shape
        rows.append(
            {"stimulus_id": stem, "filename": f"{shape}/{path.name}", "category": shape, "shape": shape, "texture": texture}
        )
    return pd.DataFrame(rows)


def read_trials(raw_root: Path, experiment: str, who: str) -> pd.DataFrame:
    """The CSV trials of one subject (`subject-01`) or network (`alexnet`), with stimulus ids."""
    folder = raw_root / FOLDER / "raw-data" / EXPERIMENTS[experiment][0]
    frame = pd.read_csv(folder / f"{EXPERIMENTS[experiment][0]}_{who}_session_1.csv", keep_default_na=False)
    frame["stimulus_id"] = frame["imagename"].str.rsplit("_", n=1).str[1].str.removesuffix(".png")
    return frame


def _subjects(raw_root: Path, experiment: str) -> list[str]:
    folder = raw_root / FOLDER / "raw-data" / EXPERIMENTS[experiment][0]
    return sorted(re.search(r"_(subject-\d+)_", p.name).group(1) for p in folder.glob("*_subject-*_session_1.csv"))


def human_trials(raw_root: Path, experiment: str) -> xr.DataArray:
    table = stimulus_table(raw_root, experiment).set_index("stimulus_id")
    frame = pd.concat([read_trials(raw_root, experiment, s) for s in _subjects(raw_root, experiment)], ignore_index=True)
    rt = pd.to_numeric(frame["rt"].replace("NaN", np.nan), errors="coerce").to_numpy(dtype=np.float64)
    return xr.DataArray(
        frame["object_response"].to_numpy(dtype=object),
        dims="presentation",
        coords={
            "stimulus_id": ("presentation", frame["stimulus_id"].to_numpy(dtype=object)),
            "subject": ("presentation", frame["subj"].to_numpy(dtype=object)),
            "truth": ("presentation", frame["category"].to_numpy(dtype=object)),
            "shape": ("presentation", table.loc[frame["stimulus_id"], "shape"].to_numpy(dtype=object)),
            "texture": ("presentation", table.loc[frame["stimulus_id"], "texture"].to_numpy(dtype=object)),
            "session": ("presentation", frame["session"].to_numpy(dtype=np.int64)),
            "trial": ("presentation", frame["trial"].to_numpy(dtype=np.int64)),
            "condition": ("presentation", frame["condition"].astype(str).to_numpy(dtype=object)),
            "rt": ("presentation", rt),
        },
    )


def cnn_predictions(raw_root: Path, experiment: str, network: str) -> xr.DataArray:
    """A network's decisions from the paper's CSVs, as a prediction-only `choice` per presentation."""
    frame = read_trials(raw_root, experiment, network)
    return xr.DataArray(
        frame["object_response"].to_numpy(dtype=object),
        dims="presentation",
        coords={"stimulus_id": ("presentation", frame["stimulus_id"].to_numpy(dtype=object))},
        name="choice",
    )


def _raw_files(raw_root: Path) -> list[str]:
    sums = (raw_root / FOLDER / "SHA256SUMS").read_text().split("\n")
    return sorted(line.split(maxsplit=1)[1].strip().removeprefix("./") for line in sums if line.strip())


def prepare(raw_root: Path, work: Path) -> Prepared:
    sums = verify_raw(raw_root / FOLDER, _raw_files(raw_root))
    prepared = Prepared()
    for experiment, (raw_folder, stimuli_folder) in EXPERIMENTS.items():
        table = stimulus_table(raw_root, experiment)
        images = work / experiment / "images"
        for filename in table["filename"]:
            (images / filename).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(raw_root / FOLDER / "stimuli" / stimuli_folder / filename, images / filename)
        table_path = work / experiment / "stimuli.csv"
        table.to_csv(table_path, index=False)
        stimulus_sums = {k: v for k, v in sums.items() if k.startswith(f"stimuli/{stimuli_folder}/")}
        trial_sums = {k: v for k, v in sums.items() if k.startswith(f"raw-data/{raw_folder}/") and "subject" in k}
        common = {"citation": CITATION, "license": "CC-BY-4.0"}
        prepared.stimulus_sets.append(
            (
                images,
                table_path,
                {
                    "identifier": f"Geirhos2019.{experiment}.images",
                    "description": f"Geirhos 2019 {experiment.replace('_', '-')} images: {len(table)} PNG, 224x224.",
                    **common,
                    "provenance": {"source": SOURCE, "revision": COMMIT, "sha256": stimulus_sums},
                    "visual_degrees": VISUAL_DEGREES,
                },
            )
        )
        trials = human_trials(raw_root, experiment)
        prepared.assemblies.append(
            (
                trials,
                {
                    "identifier": f"Geirhos2019.{experiment}",
                    "description": (
                        f"Geirhos 2019 {experiment.replace('_', '-')} experiment: 16-way decisions of "
                        f"{len(set(trials['subject'].values))} human subjects, {trials.sizes['presentation']} trials "
                        "('na' = no response)."
                    ),
                    **common,
                    "provenance": {"source": SOURCE, "revision": COMMIT, "sha256": trial_sums},
                    "kind": "behavioral",
                    "species": "homo_sapiens",
                    "regions": ["behavior"],
                    "modality": "psychophysics",
                    "stimulus_set": f"Geirhos2019.{experiment}.images",
                },
            )
        )
    return prepared


def specs(versions: dict[str, str]) -> list[dict]:
    out = []
    for experiment in EXPERIMENTS:
        common = {
            "version": 1,
            "assembly": versions[f"Geirhos2019.{experiment}"],
            "fitting_stimuli": versions[f"Geirhos2019.{FITTING[experiment]}.images"],
            "procedure": {"task": "label", "visual_degrees": VISUAL_DEGREES, "choices": list(CATEGORIES)},
            "parent": "behavior",
            "citation": CITATION,
        }
        title = experiment.replace("_", "-")
        out.append(
            {
                "id": f"Geirhos2019.{experiment}-accuracy",
                "description": f"Top-1 accuracy (shape category) on the {title} images; ceiling 1.",
                **common,
                "metric": {"name": "accuracy"},
                "ceiling": {"value": 1.0},
                "normalization": "none",
            }
        )
        out.append(
            {
                "id": f"Geirhos2019.{experiment}-error_consistency",
                "description": f"Error consistency (Cohen's kappa) with each of the 10 subjects on the {title} images.",
                **common,
                "metric": {"name": "error_consistency"},
                "ceiling": {"method": "error_consistency_subject_pairs"},
                "normalization": "raw_over_ceiling_clipped",
            }
        )
    out.append(
        {
            "id": "Geirhos2019.cue_conflict-shape_bias",
            "description": (
                "Shape bias on the 1,200 cue-conflict images whose shape and texture differ, scored as closeness to the "
                "human mean relative to how close each held-out subject is to the others."
            ),
            **{
                **common,
                "assembly": versions["Geirhos2019.cue_conflict"],
                "fitting_stimuli": versions["Geirhos2019.silhouette.images"],
            },
            "metric": {"name": "shape_bias"},
            "ceiling": {"method": "shape_bias_subjects"},
            "normalization": "closeness_over_ceiling",
        }
    )
    return out


PACKAGE = Package("geirhos2019", FOLDER, prepare, specs)
