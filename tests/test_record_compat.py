"""Records are signed promises: ones written by an earlier version of the code must keep verifying
and reproducing. The records under fixtures/records-1ddc898/ were written by commit 1ddc898 (before the
package was cut into layers) on the same synthetic benchmarks this suite builds: a prediction-only
ridge score and a convnet4 RSA score. Building that registry again must give the very versions they
pin (dataset hashes unchanged), and today's code must verify both and reproduce their numbers."""

from __future__ import annotations

import json
from pathlib import Path

from .scoring_setup import CONVNET, build_benchmark_registry

OLD = Path(__file__).parent / "fixtures" / "records-1ddc898"


def test_old_records_verify_and_reproduce(cli, tmp_path):
    registry = build_benchmark_registry(tmp_path / "registry")
    args = ("--registry", registry.root)
    records = sorted(OLD.glob("*.json"))
    assert len(records) == 2
    for record in records:
        verified = cli(*args, "verify", record, "--json")
        assert verified.exit_code == 0, verified.output
        assert json.loads(verified.stdout)["valid"] is True

    predictions = cli(
        *args, "reproduce", OLD / "Syn.IT-ridge--predictions.json", "--predictions", OLD / "predictions.nc", "--json"
    )
    assert predictions.exit_code == 0, predictions.output
    report = json.loads(predictions.stdout)
    # the old record names no BLAS kernel, so a reproduction is held to the cross-kernel tolerance
    assert report["verdict"] == "reproduced" and report["tolerance"]["setting"] in ("blas_kernel", "cpu_threads")
    assert max(row["delta"] for row in report["rows"]) <= 1e-6

    model = cli(*args, "reproduce", OLD / "Syn.IT-rsa--convnet4.json", "-m", CONVNET, "--device", "cpu", "--json")
    assert model.exit_code == 0, model.output
    assert json.loads(model.stdout)["verdict"] == "reproduced"
