"""`bsr demo`: the main job on a fresh machine, end to end on a clearly labelled synthetic experiment."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import typer

from brainscore_registry import Registry, load_assembly, load_stimulus_set, register_assembly, register_stimulus_set, transfers
from brainscore_registry.paths import bsr_home
from brainscore_registry.storage import local_remote_dir
from brainscore_registry.synthetic import write_synthetic_experiment

from . import common
from .common import RichProgress, err, out, print_json, user_errors
from .inspect import list_datasets, summary


def demo(
    workdir: Path = typer.Option(None, "--workdir", help="Where to build the demo registry (default: $BSR_HOME/demo; replaced)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary instead of tables."),
) -> None:
    """Generate a SYNTHETIC experiment, register it, register it again (nothing new), push it to the
    embedded remote, delete the local copy, pull it back verified, read it, list it.

    Example: bsr demo
    """
    workdir = (workdir or bsr_home() / "demo").resolve()
    started = time.perf_counter()
    with user_errors():
        if workdir.exists():
            shutil.rmtree(workdir)
        err.rule("[bold]bsr demo[/]: a synthetic experiment (generated data, not a real recording)")
        err.print(f"1/5 writing raw files (PNG images, CSV table, NetCDF recordings, metadata) to {workdir / 'raw'}")
        raw = write_synthetic_experiment(workdir / "raw")
        reg = Registry.init(workdir / "registry")
        err.print(f"2/5 registering into {reg.root}")
        versions = {}
        with RichProgress(not as_json) as progress:
            versions["stimuli"] = register_stimulus_set(
                raw.stimuli_dir, raw.table, raw.stimuli_meta, registry=reg, progress=progress
            )
        err.print(f"   [green]✓[/] {'stimuli':<10} {versions['stimuli'].version}")
        for kind, (source, meta) in {
            "neural": (raw.neural, raw.neural_meta),
            "behavioral": (raw.behavioral, raw.behavioral_meta),
            "similarity": (raw.similarity, raw.similarity_meta),
        }.items():
            with RichProgress(not as_json) as progress:
                versions[kind] = register_assembly(source, meta, registry=reg, progress=progress)
            err.print(f"   [green]✓[/] {kind:<10} {versions[kind].version}")
        err.print("3/5 registering the same files again: identical content must create nothing")
        again = register_assembly(raw.neural, raw.neural_meta, registry=reg)
        verdict = "[green]✓[/] no new version" if not again.created else "[red]✗ a new version was created[/]"
        err.print(f"   {verdict}: {again.version.short}")
        err.print(f"4/5 pushing to the embedded remote {local_remote_dir()}, deleting the local copy, pulling it back")
        with RichProgress(not as_json) as progress:
            transfers.push(reg, None, None, progress)
        shutil.rmtree(versions["neural"].path)  # and its objects in the shared cache: the pull must use the remote
        reg.storage.purge_cache(versions["neural"].stored.dvc.md5)
        with RichProgress(not as_json) as progress:
            pulled = transfers.pull(reg, [versions["neural"].version.name], None, progress)
        err.print(f"   [green]✓[/] pulled and verified {', '.join(v.version.split('@')[0] for v in pulled)}")
        err.print("5/5 reading back by version and verifying the content hash")
        neural = load_assembly(str(versions["neural"].version), registry=reg, verify=True)
        stimuli = load_stimulus_set(str(versions["stimuli"].version), registry=reg, verify=True)
        image = stimuli.open_image(stimuli.stimulus_ids[0])
        err.print(
            f"   [green]✓[/] neural {dict(neural.sizes)}, {len(stimuli)} stimuli ({image.format} {image.size[0]}×{image.size[1]})"
        )
    elapsed = time.perf_counter() - started
    if as_json:
        print_json(
            {
                "registry": str(reg.root),
                "seconds": round(elapsed, 2),
                "idempotent": not again.created,
                "pulled": [v.version for v in pulled],
                "datasets": [summary(reg, e) for e in reg.entries()],
            }
        )
        return
    common.State.registry = reg.root
    list_datasets(as_json=False)
    out.print(f"Done in {elapsed:.1f} s. Explore it: [bold]bsr --registry {reg.root} show {versions['neural'].version.name}[/]")
