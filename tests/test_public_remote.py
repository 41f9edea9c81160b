"""The public remote: a fresh clone pulls through a read-only DVC HTTP remote with no credentials, and
says the truth about where data are. A real HTTP server (`python -m http.server` on 127.0.0.1, a
subprocess stopped by its PID) serves what `bsr push` to a directory or `bsr publish` wrote.

- a registry pushed to a directory, served over HTTP, is pulled by a fresh clone (no cache, another
  $BSR_HOME, no AWS credentials);
- the must-show case: a fresh clone of this repository, without raw data, pulls the published Cowley
  2023 versions from the test server and scores `Cowley2023.V4-pls` with convnet4 (gated on the raw
  data, which the maintainer side needs to build what it publishes);
- `bsr status` says here / cache / remote / public / nowhere; `bsr pull BENCHMARK_ID`; the one error
  for data that are nowhere (remotes tried, `bsr package`, the citation); `bsr publish` round trip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from brainscore_registry import Registry, load_assembly, register_assembly
from brainscore_registry.packaging import default_raw_root
from brainscore_registry.packaging.build import PACKAGES, raw_available
from brainscore_registry.paths import bsr_home
from brainscore_registry.store import transfers
from brainscore_registry.store.public import PUBLIC_REMOTE, PUBLIC_URL_ENV
from brainscore_registry.store.sources import packaging_name

from .s3 import free_port, stop_process, wait_for
from .scoring_setup import build_benchmark_registry

REPOSITORY = Path(__file__).resolve().parents[1]
COWLEY = "Cowley2023.V4_session210325"
COWLEY_BENCHMARK = "Cowley2023.V4-pls"


class HttpServer:
    """`python -m http.server` on 127.0.0.1 serving `directory`; its request log goes to `log`;
    `stop()` terminates it by its PID."""

    def __init__(self, directory: Path, log: Path) -> None:
        self.port, self.log = free_port(), log
        with open(log, "wb") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(directory), str(self.port)],
                stdout=fh,
                stderr=subprocess.STDOUT,
            )
        self.url = f"http://127.0.0.1:{self.port}"
        wait_for(self.url + "/")

    def requests(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.proc)


@pytest.fixture
def serve(tmp_path):
    """Start HTTP servers over directories; every one is stopped at the end of the test."""
    servers: list[HttpServer] = []

    def start(directory: Path) -> HttpServer:
        directory.mkdir(parents=True, exist_ok=True)
        servers.append(HttpServer(directory, tmp_path / f"http-{len(servers)}.log"))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def _no_aws_credentials(monkeypatch) -> None:
    """Another machine, with no AWS credentials at all: the public remote must not need any."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


def _elsewhere(monkeypatch, tmp_path: Path, name: str) -> Path:
    """Switch to another machine's data home: no cache, no embedded remote, no keys."""
    home = tmp_path / name
    monkeypatch.setenv("BSR_HOME", str(home))
    _no_aws_credentials(monkeypatch)
    return home


def _commit(root: Path) -> None:
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", "registry"], cwd=root, check=True)


def clone_working_tree(dest: Path) -> Path:
    """A fresh clone of this repository as it is now, without committing anything: HEAD, plus the
    working tree's changes to tracked files and its untracked, not ignored files. No data come along
    (stores are git-ignored), nor `.dvc/config.local`."""
    subprocess.run(["git", "clone", "-q", str(REPOSITORY), str(dest)], check=True)

    def listed(*options: str) -> list[str]:
        found = subprocess.run(["git", "ls-files", "-z", *options], cwd=REPOSITORY, capture_output=True, check=True)
        return [p for p in found.stdout.decode().split("\0") if p]

    for relative in listed("--modified", "--others", "--exclude-standard"):
        source, target = REPOSITORY / relative, dest / relative
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        else:
            target.unlink(missing_ok=True)
    return dest


def _wipe(registry: Registry, *stored) -> None:
    """Remove the workspace copies of versions and this machine's whole DVC cache."""
    for v in stored:
        shutil.rmtree(registry.layout.local_path(v), ignore_errors=True)
    shutil.rmtree(bsr_home() / "cache", ignore_errors=True)


def _uncache(registry: Registry, stored) -> None:
    """Take one version out of the cache (its manifest), leaving objects other versions share."""
    with registry.storage.repo() as repo:
        Path(repo.cache.local.oid_to_path(stored.dvc.md5)).unlink()


def _flat(text: str) -> str:
    return " ".join(text.split())


# -- (a) a fresh clone pulls through the public remote -------------------------------------------


def test_fresh_clone_pulls_a_pushed_directory_through_the_public_remote(
    cli, registry, stimuli, experiment, serve, tmp_path, monkeypatch
):
    neural = register_assembly(experiment.neural, experiment.neural_meta, registry=registry)
    directory = tmp_path / "published"
    assert cli("--registry", registry.root, "remote", "add", "dir", directory).exit_code == 0
    pushed = cli("--registry", registry.root, "push", "--remote", "dir")
    assert pushed.exit_code == 0, pushed.stderr
    server = serve(directory)
    set_url = cli("--registry", registry.root, "remote", "set-url", PUBLIC_REMOTE, server.url)  # committed
    assert set_url.exit_code == 0, set_url.stderr
    _commit(registry.root)
    expected = load_assembly(str(neural.version), registry=registry).values

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(registry.root), str(clone)], check=True)
    home = _elsewhere(monkeypatch, tmp_path, "other_home")
    assert not home.exists() and "AWS_ACCESS_KEY_ID" not in os.environ
    pulled = cli("--registry", clone, "pull", "Synthetic2026.V4IT")
    assert pulled.exit_code == 0, pulled.stderr
    assert pulled.stdout.split() == [str(stimuli.version), str(neural.version)]
    np.testing.assert_array_equal(load_assembly(str(neural.version), registry=clone, verify=True).values, expected)
    assert f"GET /files/md5/{neural.stored.dvc.md5[:2]}/{neural.stored.dvc.md5[2:]}" in server.requests()
    assert not any((home / "remote").iterdir())  # nothing came through the embedded remote


# -- (b) the must-show case: this repository, no raw data, the published Cowley data, a score --------


@pytest.mark.skipif(
    not raw_available(names=["cowley2023"]),
    reason=f"raw data not found at {default_raw_root()} (set BSR_RAW_DATA): the maintainer side of this test builds "
    "the published Cowley 2023 versions from them with `bsr package cowley2023`",
)
def test_fresh_clone_without_raw_data_scores_cowley_from_the_public_remote(cli, serve, tmp_path, monkeypatch):
    timings = {}
    started = time.perf_counter()
    # the maintainers: package from the raw files, publish to what the web server serves
    maintainer = clone_working_tree(tmp_path / "maintainer")
    monkeypatch.setenv("BSR_HOME", str(tmp_path / "maintainer_home"))
    packaged = cli("--registry", maintainer, "package", "cowley2023", "--raw", default_raw_root(), "--json")
    assert packaged.exit_code == 0, packaged.output
    pinned = Registry(REPOSITORY).catalog.read_entry(COWLEY).latest
    assert json.loads(packaged.stdout)["cowley2023"]["versions"][COWLEY] == str(pinned.version)
    published = cli("--registry", maintainer, "publish", COWLEY_BENCHMARK, "--to", tmp_path / "www", "--json")
    assert published.exit_code == 0, published.output
    assert set(json.loads(published.stdout)["published"]) == {str(pinned.version), str(pinned.stimulus_set)}
    server = serve(tmp_path / "www")
    timings["package + publish"] = time.perf_counter() - started

    # a new user: a fresh clone, no raw data, no cache, no credentials; the public remote is the test server
    started = time.perf_counter()
    user = clone_working_tree(tmp_path / "user")
    _elsewhere(monkeypatch, tmp_path, "user_home")
    monkeypatch.setenv("BSR_RAW_DATA", str(tmp_path / "no-raw-data"))
    monkeypatch.setenv(PUBLIC_URL_ENV, server.url)
    assert not (user / pinned.path).exists()
    status = cli("--registry", user, "status", COWLEY_BENCHMARK, "--json")
    assert status.exit_code == 0, status.output
    assert {r["state"] for r in json.loads(status.stdout)} == {"in public remote: pull it"}
    timings["clone + status"] = time.perf_counter() - started

    started = time.perf_counter()
    card = user / "examples" / "models" / "convnet4" / "card.yaml"
    scored = cli("--registry", user, "score", "-b", COWLEY_BENCHMARK, "-m", card, "--device", "cpu", "--json")
    timings["score (pull included)"] = time.perf_counter() - started
    assert scored.exit_code == 0, scored.output
    [row] = json.loads(scored.stdout)
    assert row["benchmark"] == COWLEY_BENCHMARK and row["score"] == row["score"] and 0 < row["ceiling"] <= 1
    assert (user / pinned.path / "zarr.json").is_file()
    assert f"GET /files/md5/{pinned.dvc.md5[:2]}/{pinned.dvc.md5[2:]}" in server.requests()
    assert cli("--registry", user, "verify", row["record"]).exit_code == 0
    again = cli("--registry", user, "status", COWLEY_BENCHMARK, "--json")
    assert {r["state"] for r in json.loads(again.stdout)} == {"here, published"}
    print("\nmust-show timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))


# -- (c) status tells the truth ----------------------------------------------------------------------


def test_status_says_here_cache_remote_public_or_nowhere(cli, serve, tmp_path, monkeypatch):
    registry = build_benchmark_registry(tmp_path / "b")
    names = {e.kind: e.latest for e in registry.catalog.entries()}
    stimuli, neural, behavioral, similarity = (names[k] for k in ("stimuli", "neural", "behavioral", "similarity"))
    assert cli("--registry", registry.root, "push", str(neural.version)).exit_code == 0  # with its stimulus set
    www = tmp_path / "www"
    assert cli("--registry", registry.root, "publish", str(similarity.version), "--to", www).exit_code == 0
    server = serve(www)
    monkeypatch.setenv(PUBLIC_URL_ENV, server.url)
    for stored in (neural, behavioral, similarity):
        shutil.rmtree(registry.layout.local_path(stored))
    for stored in (neural, similarity):
        _uncache(registry, stored)

    def rows() -> dict[str, dict]:
        result = cli("--registry", registry.root, "status", "--json")
        assert result.exit_code == 0, result.output
        return {r["version"]: r for r in json.loads(result.stdout)}

    now = rows()
    assert {v: now[str(s.version)]["state"] for v, s in names.items()} == {
        "stimuli": "synced",
        "neural": "in remote: pull it",
        "behavioral": "in cache: pull it (instant)",
        "similarity": "in public remote: pull it",
    }
    fields = ("local", "cache", "remote", "public", "intact")
    assert [now[str(stimuli.version)][f] for f in fields] == [True, True, True, True, True]
    assert [now[str(neural.version)][f] for f in fields] == [False, False, True, False, None]
    assert [now[str(behavioral.version)][f] for f in fields] == [False, True, False, False, None]
    assert [now[str(similarity.version)][f] for f in fields] == [False, False, False, True, None]
    assert now[str(neural.version)]["path"] == neural.path

    table = cli("--registry", registry.root, "status")
    assert "in public remote: pull it" in table.stdout and "remote 'bsr-local'" in table.stdout

    server.stop()  # the public remote goes away: nowhere reachable, and said so
    offline = cli("--registry", registry.root, "status", "--json")
    row = next(r for r in json.loads(offline.stdout) if r["version"] == str(similarity.version))
    assert row["public"] is None and row["state"] == "nowhere reachable (public not reachable)"
    assert "remote 'public'" in offline.stderr and "could not be asked" in offline.stderr
    monkeypatch.delenv(PUBLIC_URL_ENV)  # no public remote at all: missing everywhere
    assert rows()[str(similarity.version)]["state"] == "missing everywhere"


def test_a_version_in_the_shared_cache_is_checked_out_without_any_remote(cli, registry, stimuli, experiment, monkeypatch):
    """The reported case: status said 'missing everywhere' while score found the data in the cache."""
    neural = register_assembly(experiment.neural, experiment.neural_meta, registry=registry)
    shutil.rmtree(neural.path)
    shutil.rmtree(bsr_home() / "remote")  # no remote holds anything
    row = next(r for r in transfers.status(registry) if r.version == neural.version)
    assert (row.local, row.cache, row.remote, row.state) == (False, True, False, "in cache: pull it (instant)")
    pulled = cli("--registry", registry.root, "pull", str(neural.version))
    assert pulled.exit_code == 0, pulled.stderr
    load_assembly(str(neural.version), registry=registry, verify=True)


# -- (d) pull by benchmark id -----------------------------------------------------------------------


def test_pull_by_benchmark_id(cli, tmp_path):
    registry = build_benchmark_registry(tmp_path / "b")
    assert cli("--registry", registry.root, "push").exit_code == 0
    versions = [v for e in registry.catalog.entries() for v in e.versions]
    _wipe(registry, *versions)
    by_kind = {e.kind: e.latest for e in registry.catalog.entries()}
    pulled = cli("--registry", registry.root, "pull", "Syn.objects-accuracy")  # behavioral + fitting stimuli
    assert pulled.exit_code == 0, pulled.stderr
    assert sorted(pulled.stdout.split()) == sorted([str(by_kind["stimuli"].version), str(by_kind["behavioral"].version)])
    assert not registry.layout.is_local(by_kind["neural"])
    both = cli("--registry", registry.root, "pull", "Syn.IT-ridge", "Synthetic2026.images")  # ids and names mix
    assert both.exit_code == 0, both.stderr
    assert registry.layout.is_local(by_kind["neural"])
    typo = cli("--registry", registry.root, "pull", "Syn.IT-rigde")
    assert typo.exit_code == 2
    message = _flat(typo.stderr)
    assert "no dataset 'Syn.IT-rigde' and no benchmark 'Syn.IT-rigde'" in message and "Did you mean 'Syn.IT-ridge'" in message
    dataset_typo = cli("--registry", registry.root, "pull", "Synthetic2026.image")
    assert dataset_typo.exit_code == 2 and "Did you mean 'Synthetic2026.images'" in _flat(dataset_typo.stderr)


# -- (e) the one error for data that are nowhere -------------------------------------------------------


def test_nowhere_is_one_error_with_remotes_rebuild_and_citation(cli, tmp_path, monkeypatch):
    """A fresh clone of this repository whose public remote does not answer: `bsr pull` and `bsr score`
    fail with one error that names every remote tried, `bsr package`, the documentation and the citation."""
    user = clone_working_tree(tmp_path / "user")
    home = _elsewhere(monkeypatch, tmp_path, "user_home")
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv(PUBLIC_URL_ENV, dead)
    monkeypatch.setenv("BSR_RAW_DATA", str(tmp_path / "no-raw-data"))
    started = time.perf_counter()
    pulled = cli("--registry", user, "pull", COWLEY_BENCHMARK)
    assert time.perf_counter() - started < 30  # an unreachable remote is known in seconds, not after retries
    scored = cli("--registry", user, "score", "-b", COWLEY_BENCHMARK, "-m", user / "examples/models/convnet4/card.yaml")
    for result in (pulled, scored):
        message = _flat(result.output)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in message and "CheckoutError" not in message and "Is your cache up to date" not in message
        assert message.count("Error:") == 1
        assert f"remote 'bsr-local' ({home / 'remote'}, default): reachable, does not hold them" in message
        assert f"remote 'public' ({dead}, from ${PUBLIC_URL_ENV}): not reachable" in message
        assert "`bsr package cowley2023 --raw PATH`" in message and "brainscore_registry/packaging/cowley2023.py" in message
        assert "PROVENANCE.md" in message and "https://github.com/cowleygroup/V4_compact_models" in message
        assert "Cowley, B. R., Stan, P. L." in message and f"bsr remote set-url {PUBLIC_REMOTE} URL --local" in message
    assert "benchmark Cowley2023.V4-pls cannot run" in _flat(scored.output)


def test_nowhere_with_a_public_remote_that_lacks_the_version(cli, registry, stimuli, experiment, serve, tmp_path, monkeypatch):
    neural = register_assembly(experiment.neural, experiment.neural_meta, registry=registry)
    server = serve(tmp_path / "empty")
    monkeypatch.setenv(PUBLIC_URL_ENV, server.url)
    _wipe(registry, stimuli, neural)
    result = cli("--registry", registry.root, "pull", "Synthetic2026.V4IT")
    message = _flat(result.stderr)
    assert result.exit_code == 1 and "Traceback" not in message
    assert f"remote 'public' ({server.url}, from ${PUBLIC_URL_ENV}): reachable, does not hold them" in message
    assert "the public remote does not hold them (yet)" in message and "bsr publish" in message
    assert "bsr package NAME --raw PATH" in message and "registered by hand" in message
    assert "Synthetic data generated by brainscore-registry" in message


def test_every_catalogued_dataset_is_rebuilt_by_its_packaging():
    """The nowhere error names `bsr package <author><year>` by convention (store/ cannot import
    packaging/); every published dataset in this repository's catalogue must follow it."""
    entries = Registry(REPOSITORY).catalog.entries()
    assert entries
    for entry in entries:
        assert packaging_name(entry.latest) in PACKAGES, entry.identifier


# -- (f) publish, serve, pull ---------------------------------------------------------------------------


def test_publish_round_trip(cli, registry, stimuli, experiment, serve, tmp_path, monkeypatch):
    neural = register_assembly(experiment.neural, experiment.neural_meta, registry=registry)
    www = tmp_path / "www"
    published = cli("--registry", registry.root, "publish", "--to", www, "--json")
    assert published.exit_code == 0, published.output
    report = json.loads(published.stdout)
    assert set(report["published"]) == {str(stimuli.version), str(neural.version)} and report["objects_sent"] > 0
    manifest = www / "files" / "md5" / neural.stored.dvc.md5[:2] / neural.stored.dvc.md5[2:]
    assert manifest.is_file()  # DVC's remote layout, what the public remote serves
    again = cli("--registry", registry.root, "publish", "--to", www, "--json")
    assert json.loads(again.stdout)["objects_sent"] == 0  # a rerun sends only what is missing
    server = serve(www)
    expected = load_assembly(str(neural.version), registry=registry).values
    _commit(registry.root)
    bare = tmp_path / "registry.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(registry.root), str(bare)], check=True)

    _elsewhere(monkeypatch, tmp_path, "consumer_home")
    monkeypatch.setenv(PUBLIC_URL_ENV, server.url)
    pulled = cli("--registry", bare, "pull", str(neural.version))
    assert pulled.exit_code == 0, pulled.stderr
    np.testing.assert_array_equal(load_assembly(str(neural.version), registry=str(bare), verify=True).values, expected)
    assert "GET /files/md5/" in server.requests()
    refused = cli("--registry", bare, "push", "--remote", PUBLIC_REMOTE)
    assert refused.exit_code == 2 and "read-only" in _flat(refused.stderr) and "bsr publish" in _flat(refused.stderr)

    clone = Registry(str(bare))
    _wipe(clone, clone.catalog.read_entry("Synthetic2026.V4IT").latest, clone.catalog.read_entry("Synthetic2026.images").latest)
    nothing_here = cli("--registry", bare, "publish", "--to", tmp_path / "elsewhere")
    assert nothing_here.exit_code == 2 and "not on this machine to publish" in _flat(nothing_here.stderr)
    recached = cli("--registry", registry.root, "publish", "--to", tmp_path / "again", "--json")  # here, cache gone
    assert recached.exit_code == 0, recached.output
    assert set(json.loads(recached.stdout)["published"]) == {str(stimuli.version), str(neural.version)}
    over_http = cli("--registry", registry.root, "publish", "--to", server.url)
    assert over_http.exit_code == 2 and "read-only over HTTP" in _flat(over_http.stderr)


def test_public_url_is_committed_and_overridden_per_machine_or_process(cli, tmp_path, monkeypatch):
    committed = (REPOSITORY / ".dvc" / "config").read_text()
    assert f"['remote \"{PUBLIC_REMOTE}\"']" in committed and "url = https://" in committed
    user = clone_working_tree(tmp_path / "user")
    monkeypatch.delenv(PUBLIC_URL_ENV, raising=False)

    def public() -> dict:
        return json.loads(cli("--registry", user, "remote", "list", "--json").stdout)[PUBLIC_REMOTE]

    assert public()["url"].startswith("https://") and public()["read_only"] and not public()["default"]
    mirror = "http://127.0.0.1:9/mirror"
    assert cli("--registry", user, "remote", "set-url", PUBLIC_REMOTE, mirror, "--local").exit_code == 0
    assert public()["url"] == mirror and (user / ".dvc" / "config").read_text() == committed
    monkeypatch.setenv(PUBLIC_URL_ENV, "http://127.0.0.1:10/env")
    assert public()["url"] == "http://127.0.0.1:10/env" and public()["overridden"]
    assert "http://127.0.0.1:10/env" not in (user / ".dvc" / "config.local").read_text()  # never written
    bad = cli("--registry", user, "remote", "set-url", PUBLIC_REMOTE, "ftp://example.org/x", "--local")
    assert bad.exit_code == 2 and "does not start with" in _flat(bad.stderr)
    secret = cli("--registry", user, "remote", "set-url", PUBLIC_REMOTE, "https://user:pw@example.org/dvc")
    assert secret.exit_code == 2 and "embeds credentials" in _flat(secret.stderr)


def test_publish_to_s3_writes_the_remote_layout(cli, registry, stimuli, experiment):
    """An S3 bucket with anonymous read is the other place a public remote is served from; the upload
    itself uses the maintainer's credentials from the environment (a moto server here)."""
    from .s3 import MotoServer, s3_client

    neural = register_assembly(experiment.neural, experiment.neural_meta, registry=registry)
    server = MotoServer()
    try:
        s3_client(server.endpoint).create_bucket(Bucket="bsr-public")
        result = cli(
            "--registry", registry.root, "publish", "--to", "s3://bsr-public/dvc", "--endpoint-url", server.endpoint, "--json"
        )
        assert result.exit_code == 0, result.output
        listing = s3_client(server.endpoint).list_objects_v2(Bucket="bsr-public").get("Contents", [])
        keys = {o["Key"] for o in listing}
        md5 = neural.stored.dvc.md5
        assert f"dvc/files/md5/{md5[:2]}/{md5[2:]}" in keys and json.loads(result.stdout)["objects_sent"] == len(keys)
    finally:
        server.stop()
