"""The contract every metric and ceiling follows, as scikit-learn's estimators follow `BaseEstimator`:

- parameters are exactly the constructor's keyword arguments, stored on the instance under the same
  names; `params()` reads them back through the constructor's signature, so the parameters a Score's
  attrs and a signed record list can never drift from what the constructor takes;
- a metric is `metric(source, target) -> Score`, the model's output first, the data second (the
  fixed-split metrics take `(source_train, source_test, target_train, target_test)`); a ceiling is
  `ceiling(target) -> Score`;
- `progress` is None or `progress(stage, done, total)`; any caller may set it on any instance, and
  metrics with long loops report through it;
- `source_kind` and `target_kind` name what a metric compares (`SOURCE_KINDS`, `TARGET_KINDS`), so a
  generic test can build inputs for every registered metric and ceiling.

This module imports nothing numerical: the registry reads signatures without loading numpy's stack.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import UserInputError

if TYPE_CHECKING:
    from .score import Score

ProgressCallback = Callable[[str, int, int], None]

SOURCE_KINDS: dict[str, str] = {
    "features": "model responses, `presentation × neuroid`, coordinate stimulus_id along presentation",
    "features_train_test": "features as a train and a test part, for fixed-split metrics",
    "probabilities": "class probabilities, `presentation × choice`, coordinates stimulus_id and choice",
    "choices": "one label per stimulus, `presentation`, coordinate stimulus_id",
    "rdm_or_features": "features (`presentation × ...`) or the model's own RDM (`stimulus_a × stimulus_b`)",
}
TARGET_KINDS: dict[str, str] = {
    "recordings": "repetition-averaged recordings, `presentation × neuroid`, coordinates stimulus_id and "
    "neuroid_id (and the stratification coordinate, object_name by default, when splits use one)",
    "recordings_train_test": "recordings as a train and a test part, for fixed-split metrics",
    "repeated_recordings": "repetition-level recordings, `presentation × neuroid`, coordinates stimulus_id, "
    "repetition and neuroid_id",
    "trials": "two-alternative trials, one choice per `presentation`, coordinates stimulus_id, truth, sample_obj, dist_obj",
    "subject_trials": "subjects' choices, one per `presentation`, coordinates stimulus_id, subject, truth (or label) "
    "and optionally condition",
    "labels": "the correct label of each stimulus: coordinates stimulus_id and truth (or label) along presentation",
    "cue_conflict": "cue-conflict stimuli: coordinates stimulus_id, shape and texture along presentation",
    "cue_conflict_trials": "subjects' choices on cue-conflict stimuli: coordinates subject, shape and texture",
    "rdms": "per-subject matrices, `stimulus_a × stimulus_b × subject` (attrs['measure']: dissimilarity by default, "
    "or similarity)",
    "triplet_trials": "odd-one-out trials, one per `presentation`: coordinates stimulus_id, stimulus_id_2, stimulus_id_3 "
    "(the triplet) and the chosen odd one as the value (or coordinate `choice`)",
}


MAX_SPLITS = 1000
"""Most cross-validation splits (or trial-half draws) a spec may ask for: the reference uses 10."""
MAX_SEED = 2**32 - 1
"""numpy's RandomState takes seeds in [0, 2**32 - 1]."""


def _refuse(owner: str, name: str, rule: str, value: Any) -> None:
    raise UserInputError(
        f"The {name!r} parameter of {owner} must be {rule}. Got {value!r} instead.",
        field=name,
        fix=f"set {name} to {rule} in the benchmark spec's metric params, or leave it out for the default",
    )


def int_parameter(owner: str, name: str, value: Any, low: int, high: int) -> int:
    """A constructor's integer parameter in [low, high] (a bool is not an int here); returned unchanged."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        _refuse(owner, name, f"an int in [{low}, {high}]", value)
    return value


def fraction_parameter(owner: str, name: str, value: Any) -> float:
    """A constructor's fraction parameter, a finite number in the open interval (0, 1); returned unchanged."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (math.isfinite(value) and 0 < value < 1):
        _refuse(owner, name, "a number in (0, 1)", value)
    return value


def coordinate_parameter(owner: str, name: str, value: Any) -> str | None:
    """A constructor's coordinate name: a non-empty printable string, or None; returned unchanged."""
    if value is not None and (not isinstance(value, str) or not value.strip() or not value.isprintable()):
        _refuse(owner, name, "a coordinate name or null", value)
    return value


class Parameterized:
    """What metrics and ceilings share: named parameters, a progress callback, the kind of data they read."""

    target_kind: ClassVar[str]
    progress: ProgressCallback | None = None

    @classmethod
    def parameter_names(cls) -> tuple[str, ...]:
        """The constructor's parameters, in order; *args or **kwargs would hide them, so they are refused."""
        if cls.__init__ is object.__init__:
            return ()
        names = []
        for parameter in list(inspect.signature(cls.__init__).parameters.values())[1:]:  # after self
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ takes *{parameter.name}; a metric's parameters must be named")
            names.append(parameter.name)
        return tuple(names)

    def params(self) -> dict[str, Any]:
        """The constructor's arguments as stored on the instance, in signature order."""
        return {name: getattr(self, name) for name in self.parameter_names()}

    def report(self, stage: str, total: int) -> Callable[[int], None]:
        """`report(done)` for one stage of `total` steps: forwards to `progress` when one is set."""
        progress = self.progress
        return (lambda done: progress(stage, done, total)) if progress else (lambda done: None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.params().items())})"


class Metric(Parameterized):
    """`metric(source, target) -> Score`: the model's output against the data."""

    source_kind: ClassVar[str]

    def __call__(self, source: Any, target: Any) -> Score:
        raise NotImplementedError

    def conditioning_note(self, n_stimuli: int) -> str | None:
        """When, on a benchmark of `n_stimuli` stimuli, this metric's numbers would depend on the machine
        (BLAS kernel, thread count) rather than on the data alone; None when they never do. A metric
        that can be ill-posed also reports, in its Score's attrs["conditioning"], whether it was."""
        return None


class Ceiling(Parameterized):
    """`ceiling(target) -> Score`: how well the data predict themselves."""

    def __call__(self, target: Any) -> Score:
        raise NotImplementedError
