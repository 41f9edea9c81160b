"""Install the Hebart2023 odd-one-out port into a registry: the plugin file and both specs, pinned.

    python install.py --registry REGISTRY --assembly 'Hebart2023syn.odd_one_out@sha256:<64 hex>' [--similarity cosine]

- copies hebart2023_odd_one_out.py to REGISTRY/registry/metrics/ (the plugin form's code);
- writes Hebart2023.odd_one_out-plugin.yaml and Hebart2023.odd_one_out-vocabulary.yaml into
  REGISTRY/registry/benchmarks/ from the templates next to this script, with the assembly pin and the
  plugin file's sha256 filled in; with `--similarity cosine` the ids end in `_cosine`
  (Hebart2023.odd_one_out_cosine-plugin, ...) so both similarities can live side by side.

Then record the specs' versions (`bsr benchmark record`) and score (see README.md).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLUGIN = "hebart2023_odd_one_out"
FORMS = ("plugin", "vocabulary")


def install(registry: Path, assembly: str, similarity: str = "dot") -> list[Path]:
    if not re.fullmatch(r"[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}", assembly):
        raise SystemExit(f"--assembly must be a pinned version Name@sha256:<64 hex>, got {assembly!r}")
    if similarity not in ("dot", "cosine"):
        raise SystemExit(f"--similarity must be dot or cosine, got {similarity!r}")
    metrics, benchmarks = registry / "registry" / "metrics", registry / "registry" / "benchmarks"
    metrics.mkdir(parents=True, exist_ok=True)
    benchmarks.mkdir(parents=True, exist_ok=True)
    plugin = metrics / f"{PLUGIN}.py"
    shutil.copyfile(HERE / f"{PLUGIN}.py", plugin)
    sha256 = hashlib.sha256(plugin.read_bytes()).hexdigest()
    written = [plugin]
    for form in FORMS:
        text = (HERE / f"Hebart2023.odd_one_out-{form}.yaml").read_text()
        text = "\n".join(line for line in text.splitlines() if not line.startswith("#")) + "\n"
        text = text.replace("ASSEMBLY_PIN", assembly).replace("PLUGIN_SHA256", sha256)
        benchmark_id = f"Hebart2023.odd_one_out-{form}"
        if similarity == "cosine":
            benchmark_id = f"Hebart2023.odd_one_out_cosine-{form}"
            text = text.replace("id: Hebart2023.odd_one_out-", "id: Hebart2023.odd_one_out_cosine-")
            text = text.replace("similarity: dot", "similarity: cosine").replace("(dot product)", "(cosine similarity)")
        path = benchmarks / f"{benchmark_id}.yaml"
        path.write_text(text)
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", type=Path, required=True, help="the registry's root (holding registry/benchmarks)")
    parser.add_argument("--assembly", required=True, help="the registered trials, Name@sha256:<64 hex>")
    parser.add_argument("--similarity", default="dot", choices=("dot", "cosine"))
    args = parser.parse_args()
    for path in install(args.registry, args.assembly, args.similarity):
        print(path)


if __name__ == "__main__":
    main()
