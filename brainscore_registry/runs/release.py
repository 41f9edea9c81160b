"""What a private benchmark's score may say: the aggregates, rounded, and nothing per split or per unit.

Per-unit correlations, per-split values and the warnings that quote raw numbers are summaries of the
held-out responses finer than the score itself; a stream of submissions could learn from them far more
than from one number. So a released score keeps value, error, raw score and ceiling, each rounded to
`precision` decimals (None: unrounded), and drops the rest. Rounding bounds what one answer can carry
(about log2(2·10^precision) bits); with the daily limit it bounds what an account learns per day. It
does not stop an attacker with many accounts, nor adaptive attacks spread over months (Blum & Hardt
2015, "The Ladder"; Dwork et al. 2015, "The reusable holdout").
"""

from __future__ import annotations

import math

import numpy as np

from ..metrics.score import BenchmarkScore, Score

RELEASED = "aggregates only: value, error, raw score and ceiling, at the precision; no per-split or per-unit values, no warnings"


def rounded(value: float, precision: int | None) -> float:
    if precision is None or not math.isfinite(value):
        return value
    return round(value, precision)


def _aggregate(score: Score, precision: int | None) -> Score:
    return Score(rounded(score.value, precision), rounded(score.error, precision), np.empty((0, 0)), (), {})


def released_score(score: BenchmarkScore, precision: int | None) -> BenchmarkScore:
    """`score` as the service answers it (see the module's docstring)."""
    return BenchmarkScore(
        rounded(score.value, precision),
        rounded(score.error, precision),
        _aggregate(score.raw, precision),
        _aggregate(score.ceiling, precision),
        score.normalization,
    )


def precision_value(precision: int | None) -> int | str:
    """The precision as records and the service's answers state it: decimals, or "full"."""
    return "full" if precision is None else precision


def released_precision(record) -> tuple[bool, int | None]:
    """Whether `record` (a ScoreRecord) holds a released score, and at what precision (None: full)."""
    submission = record.submission or {}
    if "released" not in submission:
        return False, None
    precision = submission.get("precision")
    return True, precision if isinstance(precision, int) else None
