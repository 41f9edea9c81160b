"""Records are signed promises: ones written by an earlier version of the code must keep verifying
and reproducing. The records under fixtures/records-1ddc898/ were written by commit 1ddc898 (before the
package was cut into layers) on the same synthetic benchmarks this suite builds: a prediction-only
ridge score and a convnet4 RSA score. Building that registry again must give the very versions they
pin (dataset hashes unchanged), and today's code must verify both and reproduce their numbers.

They were signed by another machine's key (its public key: fixtures/records-1ddc898/signer.pub), so,
trust being explicit, they verify and reproduce only when that key is trusted: here, by --trusted-key."""

from __future__ import annotations

import json
from pathlib import Path

from .scoring_setup import CONVNET, build_benchmark_registry

OLD = Path(__file__).parent / "fixtures" / "records-1ddc898"
SIGNER = OLD / "signer.pub"


def test_old_records_verify_and_reproduce(cli, tmp_path):
    registry = build_benchmark_registry(tmp_path / "registry")
    args = ("--registry", registry.root)
    records = sorted(OLD.glob("*.json"))
    assert len(records) == 2
    for record in records:
        untrusted = cli(*args, "verify", record, "--json")
        assert untrusted.exit_code == 1 and "not trusted" in untrusted.output, untrusted.output
        report = json.loads(untrusted.stdout)
        assert (report["valid"], report["signature_valid"], report["trusted"]) == (False, True, False)
        verified = cli(*args, "verify", record, "--json", "--trusted-key", SIGNER)
        assert verified.exit_code == 0, verified.output
        assert json.loads(verified.stdout)["valid"] is True

    untrusted = cli(*args, "reproduce", OLD / "Syn.IT-ridge--predictions.json", "--predictions", OLD / "predictions.nc")
    assert untrusted.exit_code == 1 and "not trusted" in untrusted.output
    predictions = cli(
        *args,
        "reproduce",
        OLD / "Syn.IT-ridge--predictions.json",
        "--predictions",
        OLD / "predictions.nc",
        "--trusted-key",
        SIGNER,
        "--json",
    )
    assert predictions.exit_code == 0, predictions.output
    report = json.loads(predictions.stdout)
    # the old record names no BLAS kernel, so a reproduction is held to the cross-kernel tolerance
    assert report["verdict"] == "reproduced" and report["tolerance"]["setting"] in ("blas_kernel", "cpu_threads")
    assert max(row["delta"] for row in report["rows"]) <= 1e-6

    model = cli(
        *args, "reproduce", OLD / "Syn.IT-rsa--convnet4.json", "-m", CONVNET, "--device", "cpu", "--trusted-key", SIGNER, "--json"
    )
    assert model.exit_code == 0, model.output
    assert json.loads(model.stdout)["verdict"] == "reproduced"
