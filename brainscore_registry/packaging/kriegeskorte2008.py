"""Kriegeskorte et al. 2008, 92 object images: monkey-IT and human-IT RDMs.

- Stimuli: the 92 images stored inside `Kriegeskorte_Neuron2008_supplementalData.mat` (175×175 RGB),
  `stimulus_id` `image_01` … `image_92` in the .mat's order, written as deterministic PNG bytes
  (`png.deterministic_png`: stored deflate blocks, the same bytes on any machine); table columns
  `category` and the `human`, `face`, `animal`, `natural` flags.
- Similarity assemblies (dissimilarities, 1 − Pearson r), `stimulus_a × stimulus_b × subject`:
  `IT_monkey` (674 neurons, Kiani et al. 2007), `IT_human` (316 voxels, the mean over subjects), and
  `IT_human_subjects` (4 subjects × 2 sessions from `92_brainRDMs.mat`, one "subject" per session).
- Benchmarks: `IT_monkey-rdm` (Spearman ρ between the model's RDM and the monkey's; a single RDM has no
  noise ceiling, so the raw ρ is the score) and `IT_human-rsa` (ρ with each of the 8 human RDMs, mean,
  normalised by the rsatoolbox upper bound of the noise ceiling from the same RDMs).
- Visual degrees: 2.9, the images' size in the fMRI experiment (Kriegeskorte et al. 2008).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io
import xarray as xr
from scipy.spatial.distance import squareform

from ..data.png import deterministic_png
from . import Package, Prepared, verify_raw

FOLDER = "kriegeskorte2008_92images"
SUPPLEMENT = "Kriegeskorte_Neuron2008_supplementalData.mat"
BRAIN = "92_brainRDMs.mat"
SOURCE = "https://github.com/rsagroup/rsatoolbox (demos/92imageData)"
COMMIT = "f1f83cadb7243492a1aae7460466e0f0140b20ac"
CITATION = (
    "Kriegeskorte, N., Mur, M., Ruff, D. A., Kiani, R., Bodurka, J., Esteky, H., Tanaka, K., & Bandettini, P. A. "
    "(2008). Matching categorical object representations in inferior temporal cortex of man and monkey. Neuron 60(6), "
    "1126-1141."
)
VISUAL_DEGREES = 2.9
IDS = [f"image_{i:02d}" for i in range(1, 93)]


def _similarity(rdms: list[np.ndarray], subjects: list[str]) -> xr.DataArray:
    return xr.DataArray(
        np.stack([np.asarray(r, dtype=np.float64) for r in rdms], axis=-1),
        dims=("stimulus_a", "stimulus_b", "subject"),
        coords={
            "stimulus_a": np.array(IDS, dtype=object),
            "stimulus_b": np.array(IDS, dtype=object),
            "subject": np.array(subjects, dtype=object),
        },
    )


def figure_rdms(raw_root: Path) -> dict[str, np.ndarray]:
    """The paper's monkey-IT and human-IT RDMs (92 × 92)."""
    m = scipy.io.loadmat(raw_root / FOLDER / SUPPLEMENT)
    entries = m["RDMs_mIT_hIT_fig1"][0]
    return {str(e["name"][0]): squareform(np.asarray(e["RDM"], dtype=np.float64).ravel()) for e in entries}


def prepare(raw_root: Path, work: Path) -> Prepared:
    folder = raw_root / FOLDER
    sums = verify_raw(folder, [SUPPLEMENT, BRAIN])
    m = scipy.io.loadmat(folder / SUPPLEMENT)
    stimuli = m["stimuli_92objs"][0]
    images = work / "images"
    images.mkdir(parents=True)
    rows = []
    for stimulus_id, s in zip(IDS, stimuli):
        (images / f"{stimulus_id}.png").write_bytes(deterministic_png(np.asarray(s["image"], dtype=np.uint8)))
        flags = {k: int(np.asarray(s[k]).ravel()[0]) for k in ("human", "face", "animal", "natural")}
        rows.append({"stimulus_id": stimulus_id, "filename": f"{stimulus_id}.png", "category": str(s["category"][0]), **flags})
    table = work / "stimuli.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    common = {"citation": CITATION, "license": "MIT"}
    provenance = {"source": SOURCE, "revision": COMMIT}
    prepared = Prepared(
        [
            (
                images,
                table,
                {
                    "identifier": "Kriegeskorte2008.images",
                    "description": "The 92 object images (175x175 RGB) from the .mat, as deterministic lossless PNG.",
                    **common,
                    "provenance": {**provenance, "sha256": {SUPPLEMENT: sums[SUPPLEMENT]}},
                    "visual_degrees": VISUAL_DEGREES,
                },
            )
        ]
    )
    figure = figure_rdms(raw_root)

    def rdm_meta(identifier: str, description: str, raw_file: str, species: str, modality: str) -> dict:
        return {
            "identifier": identifier,
            "description": description,
            **common,
            "provenance": {**provenance, "sha256": {raw_file: sums[raw_file]}},
            "species": species,
            "modality": modality,
            "kind": "similarity",
            "regions": ["IT"],
            "stimulus_set": "Kriegeskorte2008.images",
        }

    monkey = "Monkey IT RDM (1 - Pearson r over 674 neurons; Kiani et al. 2007), 92 images."
    human = "Human IT RDM (fMRI, 316 voxels, averaged over 4 subjects), 92 images."
    prepared.assemblies += [
        (
            _similarity([figure["mIT_674neurons"]], ["monkey_IT_674neurons"]),
            rdm_meta("Kriegeskorte2008.IT_monkey", monkey, SUPPLEMENT, "macaca_mulatta", "spikes"),
        ),
        (
            _similarity([figure["hITvisStim_316vx"]], ["human_IT_316vx_mean"]),
            rdm_meta("Kriegeskorte2008.IT_human", human, SUPPLEMENT, "homo_sapiens", "fmri"),
        ),
    ]
    brain = scipy.io.loadmat(folder / BRAIN)["RDMs"]
    rdms, subjects = [], []
    for subject in range(brain.shape[1]):
        for session in range(brain.shape[2]):
            entry = brain[0, subject, session]
            name = str(entry["name"][0])  # 'hIT | BE | Session: 1'
            subjects.append(f"{name.split('|')[1].strip()}_session{session + 1}")
            rdms.append(entry["RDM"])
    subjects_description = "Human IT RDMs per subject and session (4 subjects x 2 sessions, fMRI), 92 images."
    prepared.assemblies.append(
        (
            _similarity(rdms, subjects),
            rdm_meta("Kriegeskorte2008.IT_human_subjects", subjects_description, BRAIN, "homo_sapiens", "fmri"),
        )
    )
    return prepared


def specs(versions: dict[str, str]) -> list[dict]:
    procedure = {"region": "IT", "time_bins": [[0, 1]], "visual_degrees": VISUAL_DEGREES}
    return [
        {
            "id": "Kriegeskorte2008.IT_monkey-rdm",
            "version": 1,
            "description": "Spearman rho of the model's IT RDM with the monkey IT RDM; a single RDM has no noise ceiling.",
            "assembly": versions["Kriegeskorte2008.IT_monkey"],
            "procedure": procedure,
            "metric": {"name": "rsa"},
            "ceiling": {"value": 1.0},
            "normalization": "none",
            "parent": "IT",
            "citation": CITATION,
        },
        {
            "id": "Kriegeskorte2008.IT_human-rsa",
            "version": 1,
            "description": "Mean Spearman rho with 8 human IT RDMs (4 subjects x 2 sessions) over the noise-ceiling upper bound.",
            "assembly": versions["Kriegeskorte2008.IT_human_subjects"],
            "procedure": procedure,
            "metric": {"name": "rsa"},
            "ceiling": {"method": "rsa_noise_ceiling"},
            "normalization": "raw_over_ceiling",
            "parent": "IT",
            "citation": CITATION,
        },
    ]


PACKAGE = Package("kriegeskorte2008", FOLDER, prepare, specs)
