"""Run by Brain-Score's own brainio (brainscore-core 2.4, in a virtual environment of its own: see
tests/test_brainio.py), never imported by the test suite itself.

    python brainio_reference.py write SOURCE.json OUT.nc    # an assembly written by brainio's write_netcdf
    python brainio_reference.py load TABLE.csv IMAGES.zip ASSEMBLY.nc   # brainio's loaders on a package

`write` builds a NeuroidAssembly (brainio gathers the coordinates into MultiIndexes) from plain JSON
and writes it as Brain-Score packages it. `load` reads a package with brainio's StimulusSetLoader and
StimulusReferenceAssemblyLoader and prints what they made of it as JSON.
"""

import json
import sys
import tempfile
import zipfile

import numpy as np
from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly, StimulusReferenceAssemblyLoader
from brainscore_core.supported_data_standards.brainio.packaging import write_netcdf
from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet, StimulusSetLoader


def write(source: str, target: str) -> None:
    spec = json.load(open(source))
    coords = {name: (dim, values) for name, (dim, values) in spec["coords"].items()}
    assembly = NeuroidAssembly(np.array(spec["values"], dtype=np.float32), coords=coords, dims=spec["dims"])
    print(
        json.dumps(
            {
                "sha1": write_netcdf(assembly, target),
                "indexes": {d: list(assembly.indexes[d].names) for d in ("presentation", "neuroid")},
            }
        )
    )


def load(table: str, images: str, assembly_file: str) -> None:
    directory = tempfile.mkdtemp()
    zipfile.ZipFile(images).extractall(directory)
    stimuli = StimulusSetLoader(cls=StimulusSet, csv_path=table, stimuli_directory=directory).load()
    assembly = StimulusReferenceAssemblyLoader(
        cls=NeuroidAssembly, file_path=assembly_file, stimulus_set_identifier="exported", stimulus_set=stimuli
    ).load()
    first = stimuli["stimulus_id"].iloc[0]
    print(json.dumps({
        "stimuli": len(stimuli),
        "columns": list(stimuli.columns),
        "first_image_bytes": open(stimuli.get_stimulus(first), "rb").read().hex()[:64],
        "dims": list(assembly.dims),
        "shape": list(assembly.shape),
        "indexes": {d: list(assembly.indexes[d].names) for d in assembly.dims if d in assembly.indexes},
        "sum": float(assembly.values.astype(np.float64).sum()),
        "stimulus_ids": [str(s) for s in assembly["stimulus_id"].values[:5]],
    }))  # fmt: skip


if __name__ == "__main__":
    {"write": write, "load": load}[sys.argv[1]](*sys.argv[2:])
