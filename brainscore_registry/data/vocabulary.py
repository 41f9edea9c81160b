"""Controlled vocabularies for metadata: species, brain regions, recording modalities, licenses.

Free text would split one region into many spellings ("IT", "it", "inferotemporal") and make
benchmarks impossible to aggregate, so these lists are closed; extend them here by pull request.
"""

from __future__ import annotations

from functools import lru_cache

from ..errors import did_you_mean

SPECIES: dict[str, str] = {
    "macaca_mulatta": "rhesus macaque",
    "macaca_fascicularis": "cynomolgus macaque",
    "macaca_nemestrina": "pig-tailed macaque",
    "callithrix_jacchus": "common marmoset",
    "homo_sapiens": "human",
    "mus_musculus": "house mouse",
    "rattus_norvegicus": "brown rat",
    "felis_catus": "cat",
    "mustela_putorius_furo": "ferret",
    "tupaia_belangeri": "tree shrew",
    "danio_rerio": "zebrafish",
}

REGIONS: dict[str, str] = {
    # primate visual cortex and thalamus
    "LGN": "lateral geniculate nucleus",
    "V1": "primary visual cortex",
    "V2": "secondary visual cortex",
    "V3": "third visual area",
    "V4": "fourth visual area",
    "MT": "middle temporal area",
    "MST": "medial superior temporal area",
    "TEO": "temporal-occipital area",
    "IT": "inferior temporal cortex",
    "pIT": "posterior inferior temporal cortex",
    "cIT": "central inferior temporal cortex",
    "aIT": "anterior inferior temporal cortex",
    "PFC": "prefrontal cortex",
    # human fMRI regions of interest
    "hV4": "human V4",
    "LO": "lateral occipital complex",
    "FFA": "fusiform face area",
    "PPA": "parahippocampal place area",
    "EBA": "extrastriate body area",
    "EVC": "early visual cortex",
    "VTC": "ventral temporal cortex",
    # mouse visual cortex (Allen CCF acronyms)
    "VISp": "mouse primary visual cortex",
    "VISl": "mouse lateral visual area",
    "VISal": "mouse anterolateral visual area",
    "VISpm": "mouse posteromedial visual area",
    "VISam": "mouse anteromedial visual area",
    "VISrl": "mouse rostrolateral visual area",
    # behaviour has no region but a readout
    "behavior": "behavioral output (no recorded region)",
}

MODALITIES: dict[str, str] = {
    "spikes": "sorted single units",
    "multi_unit": "multi-unit activity",
    "fmri": "functional MRI",
    "eeg": "electroencephalography",
    "meg": "magnetoencephalography",
    "calcium": "calcium imaging",
    "psychophysics": "behavioral responses",
}


def vocabulary_problem(value: str, vocabulary: dict[str, str], what: str) -> str | None:
    """Why `value` is not in `vocabulary` (with the closest names), or None."""
    if value in vocabulary:
        return None
    return f"unknown {what} {value!r}.{did_you_mean(value, vocabulary)} Known: {', '.join(vocabulary)}"


@lru_cache(maxsize=1)
def _spdx():
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


def normalize_license(expression: str) -> tuple[str | None, str | None]:
    """(normalised SPDX expression, None) or (None, reason). Accepts expressions such as
    'CC-BY-4.0 OR MIT'; matching is case-insensitive as SPDX specifies."""
    result = _spdx().validate(expression)
    if result.errors or not result.normalized_expression:
        first = expression.replace("(", " ").replace(")", " ").split()[0] if expression.strip() else expression
        hint = did_you_mean(first, _spdx_ids())
        return None, f"{expression!r} is not an SPDX license identifier or expression.{hint}"
    return str(result.normalized_expression), None


@lru_cache(maxsize=1)
def _spdx_ids() -> list[str]:
    return sorted(str(k) for k in _spdx().known_symbols if not str(k).startswith("LicenseRef-"))
