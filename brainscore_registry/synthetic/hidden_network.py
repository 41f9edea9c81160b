"""A synthetic experiment whose ground truth is known: "neural" responses produced by one layer of a
hidden seeded network plus Poisson noise over repetitions (used by `bsr demo`).

Each synthetic neuron reads out the hidden layer: rate = softplus(w · z) scaled to a few spikes per
presentation, with z the layer's standardised activations and w a random sparse readout; spike counts
are Poisson draws per repetition. So the true best layer is the hidden one, and the true reliability of
each neuron's repetition-averaged response is known from the rates:
ρ = var_stimuli(λ) / (var_stimuli(λ) + mean_stimuli(λ) / R), R repetitions (Poisson variance = mean).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..models.model_card import load_card
from .experiment import spike_counts, synthetic_meta, write_assembly_files, write_procedural_stimuli


@dataclass(frozen=True)
class HiddenExperiment:
    stimuli_dir: Path
    table: Path
    stimuli_meta: Path
    neural: Path
    neural_meta: Path
    hidden_model: str
    hidden_layer: str
    true_reliability: float  # median over neurons of ρ for the R-repetition mean


def _layer_activations(card_path: Path, layer: str, images: list[np.ndarray]) -> np.ndarray:
    from PIL import Image

    from ..models.activations import extract

    card = load_card(card_path)
    pil = [Image.fromarray(i) for i in images]
    return extract(card.build(), [layer], pil, len(pil), card.card.preprocessing, device="cpu")[layer].astype(np.float64)


def write_hidden_experiment(
    directory: str | Path,
    card_path: str | Path,
    layer: str,
    *,
    region: str = "V4",
    n_stimuli: int = 400,
    n_neuroids: int = 32,
    n_repetitions: int = 5,
    image_size: int = 64,
    mean_rate: float = 4.0,
    seed: int = 0,
    name: str = "Synthetic2026",
) -> HiddenExperiment:
    directory = Path(directory)
    rng = np.random.default_rng(seed)
    stimuli_dir, table, stimuli_meta, rows, images = write_procedural_stimuli(directory, rng, n_stimuli, image_size, name)
    z = _layer_activations(Path(card_path), layer, images)
    z = (z - z.mean(0)) / (z.std(0) + 1e-6)
    readout = rng.standard_normal((z.shape[1], n_neuroids)) * (rng.random((z.shape[1], n_neuroids)) < 0.05)
    drive = z @ readout
    drive = (drive - drive.mean(0)) / (drive.std(0) + 1e-9)
    rates = np.log1p(np.exp(drive))  # softplus
    rates *= mean_rate / rates.mean(0)
    counts = rng.poisson(rates[:, None, :], size=(n_stimuli, n_repetitions, n_neuroids))
    reliability = rates.var(0) / (rates.var(0) + rates.mean(0) / n_repetitions)
    description = (
        f"SYNTHETIC: Poisson spike counts of {n_neuroids} model neurons reading out layer {layer!r} of a hidden "
        f"seeded network ({Path(card_path).parent.name}), {n_repetitions} repetitions."
    )
    neural_path, neural_meta = write_assembly_files(
        directory,
        "neural",
        spike_counts(counts, rows, [region] * n_neuroids),
        synthetic_meta(
            f"{name}.{region}",
            description,
            kind="neural",
            species="macaca_mulatta",
            regions=[region],
            modality="spikes",
            stimulus_set=f"{name}.images",
            time_bins=[[70, 170]],
        ),
    )
    return HiddenExperiment(
        stimuli_dir,
        table,
        stimuli_meta,
        neural_path,
        neural_meta,
        Path(card_path).parent.name,
        layer,
        float(np.median(reliability)),
    )
