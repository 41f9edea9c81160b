"""Normalisations: how a raw metric score and its ceiling become a ceiled benchmark score.

Each is a name, a formula (what `bsr benchmark show` prints) and the parameters a spec may set
(`normalization: {name: ..., params: {...}}`; a bare name when it takes none):

- `r2_over_ceiling` (neural, Brain-Score 2.x explained variance): raw² / ceiling; error = the raw
  error, copied, not propagated (as the reference does).
- `squared_raw_over_ceiling` ((raw / ceiling)², the "noise-normalised R²" of Algonauts-style RSA
  benchmarks, where the ceiling is itself a correlation); error = 2|raw|·raw error / ceiling²
  (first-order propagation).
- `raw_over_sqrt_ceiling` (i1/i2n, Rajalingham 2018): per split raw / √ceiling of the same split
  (score and ceiling share the trial halves), then mean; error = std over splits (ddof=0).
- `raw_over_ceiling_clipped` (error consistency): raw / ceiling clipped to [0, 1]; error = raw error /
  ceiling.
- `raw_over_ceiling`: raw / ceiling; error = raw error / ceiling.
- `chance_corrected_over_ceiling` (`chance`: the score of guessing, e.g. 1/3 for odd-one-out;
  Hebart 2023 in brainscore-vision): (raw − chance) / (ceiling − chance) clipped to [0, 1]; error =
  raw error / (ceiling − chance).
- `closeness_over_ceiling` (a value to match, e.g. shape bias): clip((1 − |raw − target|) / ceiling, 0, 1)
  with the target the ceiling carries (`attrs["target"]`, e.g. the human mean); error = raw error / ceiling.
- `none`: the raw score.

The squaring forms discard the raw score's sign: a negative raw score (the model's RDM anti-correlated
with the data's) would come out as a plausible positive score. `sign_warning` says so, and scoring
records that warning with the score.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import UserInputError
from .score import BenchmarkScore, Score


def _per_split(score: Score):
    import numpy as np

    return np.asarray(score.raw, dtype=np.float64).reshape(len(score.raw), -1)[:, 0]


def _clip(value: float) -> float:
    return min(max(value, 0.0), 1.0)


def r2_over_ceiling(raw: Score, ceiling: Score) -> tuple[float, float]:
    return raw.value**2 / ceiling.value, raw.error


def squared_raw_over_ceiling(raw: Score, ceiling: Score) -> tuple[float, float]:
    return (raw.value / ceiling.value) ** 2, 2 * abs(raw.value) * raw.error / ceiling.value**2


def raw_over_sqrt_ceiling(raw: Score, ceiling: Score) -> tuple[float, float]:
    import numpy as np

    raw_splits, ceiling_splits = _per_split(raw), _per_split(ceiling)
    if len(raw_splits) != len(ceiling_splits):  # a pinned ceiling: one value for every split
        ceiling_splits = np.full(len(raw_splits), ceiling.value)
    ceiled = raw_splits / np.sqrt(ceiling_splits)
    return float(ceiled.mean()), float(ceiled.std())


def raw_over_ceiling_clipped(raw: Score, ceiling: Score) -> tuple[float, float]:
    return _clip(raw.value / ceiling.value), raw.error / ceiling.value


def raw_over_ceiling(raw: Score, ceiling: Score) -> tuple[float, float]:
    return raw.value / ceiling.value, raw.error / ceiling.value


def chance_corrected_over_ceiling(raw: Score, ceiling: Score, chance: float) -> tuple[float, float]:
    span = ceiling.value - chance
    return _clip((raw.value - chance) / span), raw.error / span


def closeness_over_ceiling(raw: Score, ceiling: Score) -> tuple[float, float]:
    closeness = 1 - abs(raw.value - ceiling.attrs["target"])
    return _clip(closeness / ceiling.value), raw.error / ceiling.value


def _chance(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and 0 <= value < 1):
        raise UserInputError(
            f"The 'chance' parameter of normalization 'chance_corrected_over_ceiling' must be a number in [0, 1). Got {value!r}.",
            field="normalization.params.chance",
            fix="set chance to the score of guessing, e.g. 0.3333333333333333 for a choice among three",
        )
    return float(value)


@dataclass(frozen=True)
class Normalization:
    """A named normalisation: its formula, its function and the parameters a spec must give it."""

    name: str
    formula: str
    apply: Callable[..., tuple[float, float]]
    parameters: dict[str, Callable[[Any], Any]] = field(default_factory=dict)

    def checked(self, params: dict) -> dict:
        """The spec's parameters, validated: exactly the ones this normalisation takes."""
        unknown, missing = sorted(set(params) - set(self.parameters)), sorted(set(self.parameters) - set(params))
        if unknown or missing:
            takes = ", ".join(self.parameters) or "no parameters"
            problem = f"takes no parameter {', '.join(map(repr, unknown))}" if unknown else f"needs {', '.join(missing)}"
            raise UserInputError(
                f"normalization {self.name!r} {problem}; it takes {takes}",
                field="normalization.params",
                fix=f"give {self.name} exactly: {takes}",
            )
        return {name: check(params[name]) for name, check in self.parameters.items()}


NORMALIZATIONS: dict[str, Normalization] = {
    n.name: n
    for n in (
        Normalization("none", "raw", lambda raw, ceiling: (raw.value, raw.error)),
        Normalization("r2_over_ceiling", "raw² / ceiling (error: the raw error)", r2_over_ceiling),
        Normalization(
            "squared_raw_over_ceiling", "(raw / ceiling)² (error: 2·|raw|·raw error / ceiling²)", squared_raw_over_ceiling
        ),
        Normalization(
            "raw_over_sqrt_ceiling", "mean over splits of raw / √ceiling (error: std over splits)", raw_over_sqrt_ceiling
        ),
        Normalization(
            "raw_over_ceiling_clipped", "clip(raw / ceiling, 0, 1) (error: raw error / ceiling)", raw_over_ceiling_clipped
        ),
        Normalization("raw_over_ceiling", "raw / ceiling (error: raw error / ceiling)", raw_over_ceiling),
        Normalization(
            "chance_corrected_over_ceiling",
            "clip((raw − chance) / (ceiling − chance), 0, 1) (error: raw error / (ceiling − chance))",
            chance_corrected_over_ceiling,
            {"chance": _chance},
        ),
        Normalization(
            "closeness_over_ceiling",
            "clip((1 − |raw − target|) / ceiling, 0, 1), target from the ceiling (error: raw error / ceiling)",
            closeness_over_ceiling,
        ),
    )
}
SQUARING = ("r2_over_ceiling", "squared_raw_over_ceiling")


def sign_warning(raw: Score, normalization: str) -> str | None:
    """A warning when squaring hides a negative raw score (None otherwise)."""
    if normalization in SQUARING and raw.value < 0:
        return (
            f"the raw score is negative ({raw.value:.4g}) and {normalization} squares its sign away: the model is "
            "anti-correlated with the data, not similar to it (for similarity data, check the assembly's measure)"
        )
    return None


def ceil_score(raw: Score, ceiling: Score, normalization: str, params: dict | None = None) -> BenchmarkScore:
    chosen = NORMALIZATIONS[normalization]
    value, error = chosen.apply(raw, ceiling, **chosen.checked(params or {}))
    warning = sign_warning(raw, normalization)
    return BenchmarkScore(
        value=float(value),
        error=float(error),
        raw=raw,
        ceiling=ceiling,
        normalization=normalization,
        warnings=(warning,) if warning else (),
    )
