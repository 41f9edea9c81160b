"""SYNTHETIC data in the shape of Hebart et al. (2023)'s THINGS odd-one-out benchmark, with a planted
ground truth, to try both forms of the port (plugin and built-in metric) without the real data.

The real benchmark (brainscore-vision `Hebart2023-match`): 1,854 THINGS object concepts, one image
each, and 453,642 triplet trials of the THINGS validation set; in each trial a person saw three
images and chose the odd one out, stored as the third image (`image_3`). Here:

- N stimuli (`--stimuli`, 1854 for the real shape), ids "0" … "N-1" as the reference's image numbers,
  each a tiny 8×8 PNG whose colour encodes nothing (models are scored from the features files below);
- a planted embedding E (N × 49, non-negative and sparse, as the THINGS SPoSE embedding): the odd one
  of a triplet under E is the item outside its most similar pair (dot product);
- M triplets (`--triplets`) of three distinct stimuli; the simulated human chooses E's odd one with
  probability 0.475 and otherwise one of the three at random, so agreeing with E's choices happens
  0.475 + 0.525 / 3 = 65 % of the time (the reference's pinned ceiling is 0.6767); the chosen one is
  stored last (`stimulus_id_3`), the other two in random order, as the reference's `ooo` column;
- model features, `presentation × neuroid` NetCDF keyed by stimulus_id, for `bsr score --predictions`:
  `features_planted.nc` (E itself: accuracy ≈ 0.65), `features_noisy.nc` (E plus noise: between),
  `features_random.nc` (unrelated Gaussian features: accuracy ≈ 1/3, chance).

Written into OUT (default ./hebart2023_synthetic): images/, stimuli.csv, stimuli.yaml, trials.nc,
trials.yaml and the three features files. Deterministic for a given --seed.

    python make_synthetic.py --stimuli 1854 --triplets 100000 --seed 0 --out /tmp/hebart
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import xarray as xr
import yaml

from brainscore_registry.data.png import deterministic_png

DIMENSIONS = 49  # the THINGS SPoSE embedding's
FOLLOW_EMBEDDING = 0.475  # P(the human picks E's odd one); else uniform: agreement 0.475 + 0.525 / 3 = 0.65
NAME = "Hebart2023syn"
CITATION = (
    "SYNTHETIC data shaped as Hebart MN, Contier O, Teichmann L, et al. (2023). THINGS-data, a multimodal "
    "collection of large-scale datasets for investigating object representations in human brain and behavior. "
    "eLife 12:e82580. Not real data."
)
PROVENANCE = {"source": "examples/benchmarks/hebart2023/make_synthetic.py", "revision": "hebart2023-synthetic-v1"}


def planted_embedding(rng: np.random.Generator, n_stimuli: int) -> np.ndarray:
    """Non-negative, sparse dimensions (as SPoSE's), every stimulus with at least one non-zero value."""
    values = np.abs(rng.standard_normal((n_stimuli, DIMENSIONS))) * (rng.random((n_stimuli, DIMENSIONS)) < 0.3)
    values[np.arange(n_stimuli), rng.integers(DIMENSIONS, size=n_stimuli)] += 0.5
    return values


def odd_one_by_dot(embedding: np.ndarray, triplets: np.ndarray) -> np.ndarray:
    """Triplet position (0, 1, 2) of the odd one out under the dot product (first maximum on ties)."""
    a, b, c = (embedding[triplets[:, p]] for p in range(3))
    similarities = np.stack([(a * b).sum(1), (a * c).sum(1), (b * c).sum(1)], axis=1)  # (0,1), (0,2), (1,2)
    return 2 - np.argmax(similarities, axis=1)


def random_triplets(rng: np.random.Generator, n_stimuli: int, n_triplets: int) -> np.ndarray:
    """`n_triplets × 3` stimulus indices, three distinct stimuli each; the first ones cover every stimulus."""
    cover = np.resize(rng.permutation(n_stimuli), 3 * -(-n_stimuli // 3)).reshape(-1, 3)[:n_triplets]
    return np.concatenate([cover, _distinct(rng, n_stimuli, n_triplets - len(cover))]).astype(np.int64)


def _distinct(rng: np.random.Generator, n_stimuli: int, n: int) -> np.ndarray:
    """n triplets of distinct indices: draw, then redraw the rows with a repeat until none is left."""
    out = rng.integers(n_stimuli, size=(n, 3))
    while True:
        bad = (out[:, 0] == out[:, 1]) | (out[:, 0] == out[:, 2]) | (out[:, 1] == out[:, 2])
        if not bad.any():
            return out
        out[bad] = rng.integers(n_stimuli, size=(int(bad.sum()), 3))


def human_trials(rng: np.random.Generator, embedding: np.ndarray, triplets: np.ndarray) -> np.ndarray:
    """The triplets reordered so that the simulated human's choice is last, the other two shuffled."""
    follow = rng.random(len(triplets)) < FOLLOW_EMBEDDING
    chosen = np.where(follow, odd_one_by_dot(embedding, triplets), rng.integers(3, size=len(triplets)))
    others = np.array([[1, 2], [0, 2], [0, 1]])[chosen]
    swap = rng.random(len(triplets)) < 0.5
    others = np.where(swap[:, None], others[:, ::-1], others)
    order = np.concatenate([others, chosen[:, None]], axis=1)
    return np.take_along_axis(triplets, order, axis=1)


def features_array(values: np.ndarray, ids: np.ndarray) -> xr.DataArray:
    return xr.DataArray(
        values,
        dims=("presentation", "neuroid"),
        coords={"stimulus_id": ("presentation", ids), "neuroid_id": ("neuroid", [f"f{d:03d}" for d in range(values.shape[1])])},
        name="features",
    )


def write(out: Path, n_stimuli: int, n_triplets: int, seed: int) -> dict:
    if n_stimuli < 3 or n_triplets < 1:
        raise SystemExit("need at least 3 stimuli and 1 triplet")
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    images = out / "images"
    images.mkdir(exist_ok=True)
    ids = np.array([str(i) for i in range(n_stimuli)], dtype=object)
    colours = rng.integers(0, 256, size=(n_stimuli, 3), dtype=np.uint8)
    rows = ["stimulus_id,filename,unique_id"]
    for i, sid in enumerate(ids):
        (images / f"{sid}.png").write_bytes(deterministic_png(np.broadcast_to(colours[i], (8, 8, 3))))
        rows.append(f"{sid},{sid}.png,concept_{i:04d}")
    (out / "stimuli.csv").write_text("\n".join(rows) + "\n")
    _yaml(
        out / "stimuli.yaml",
        identifier=f"{NAME}.images",
        description=f"SYNTHETIC stand-ins for the THINGS object images: {n_stimuli} 8x8 PNGs of one colour each.",
        visual_degrees=8.0,
    )

    embedding = planted_embedding(rng, n_stimuli)
    triplets = human_trials(rng, embedding, random_triplets(rng, n_stimuli, n_triplets))
    trial_ids = ids[triplets]
    trials = xr.DataArray(
        trial_ids[:, 2],
        dims=("presentation",),
        coords={
            "stimulus_id": ("presentation", trial_ids[:, 0]),
            "stimulus_id_2": ("presentation", trial_ids[:, 1]),
            "stimulus_id_3": ("presentation", trial_ids[:, 2]),
            "truth": ("presentation", trial_ids[:, 2]),
            "subject": ("presentation", np.full(n_triplets, "pooled", dtype=object)),
            "triplet_id": ("presentation", np.array([f"triplet_{t}" for t in range(n_triplets)], dtype=object)),
        },
        name="choice",
    )
    trials.to_netcdf(out / "trials.nc", engine="h5netcdf")
    _yaml(
        out / "trials.yaml",
        identifier=f"{NAME}.odd_one_out",
        description=(
            f"SYNTHETIC odd-one-out choices on {n_triplets} triplets of {n_stimuli} stimuli, shaped as the THINGS "
            "validation set of Hebart et al. (2023): stimulus_id, stimulus_id_2, stimulus_id_3 form the triplet, "
            "the value (and truth) is the chosen odd one, always the third. Simulated people agree with a planted "
            "embedding's odd one out 65% of the time."
        ),
        kind="behavioral",
        species="homo_sapiens",
        regions=["behavior"],
        modality="psychophysics",
        stimulus_set=f"{NAME}.images",
    )

    noisy = embedding + rng.normal(0, 0.5, embedding.shape)
    unrelated = rng.standard_normal((n_stimuli, 64))
    for stem, values in (("planted", embedding), ("noisy", noisy), ("random", unrelated)):
        features_array(values, ids).to_netcdf(out / f"features_{stem}.nc", engine="h5netcdf")
    agreement = float((odd_one_by_dot(embedding, triplets) == 2).mean())
    summary = {"stimuli": n_stimuli, "triplets": n_triplets, "seed": seed, "planted_embedding_agreement": agreement}
    _yaml(out / "summary.yaml", **summary)
    return summary


def _yaml(path: Path, **fields) -> None:
    if "identifier" in fields:
        fields = {**fields, "citation": CITATION, "license": "CC0-1.0", "provenance": dict(PROVENANCE)}
    path.write_text(yaml.safe_dump(fields, sort_keys=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stimuli", type=int, default=60, help="number of stimuli (1854 for the real data's shape)")
    parser.add_argument("--triplets", type=int, default=2000, help="number of triplet trials (453642 in the real data)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("hebart2023_synthetic"))
    args = parser.parse_args()
    summary = write(args.out, args.stimuli, args.triplets, args.seed)
    print(f"wrote {args.out}: {summary}")


if __name__ == "__main__":
    main()
