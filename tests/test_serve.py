"""The private scoring service, end to end: `bsr serve` as its own process on 127.0.0.1 (started and
stopped by PID), a real HTTP client (httpx, raw sockets, `bsr submit`), SQLite (WAL) and a private
PostgreSQL cluster from Debian's packages.

What must hold: a submission's record verifies with the server's key and equals `bsr score
--predictions` on the same data (|Δ| = 0 at full precision); bad tokens get 401, the (N+1)-th
submission 429 with Retry-After, a restart keeps counts and records, an oversized upload 413 before it
is read whole, a malformed file 422 with the CLI's own message; no answer holds a held-out value."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest

from .service_process import PostgresCluster, ServiceProcess, add_token, postgres_bin, raw_request

pytestmark = pytest.mark.slow
RIDGE, RSA, ACCURACY = "Syn.IT-ridge", "Syn.IT-rsa", "Syn.objects-accuracy"
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="module")
def postgres():
    if postgres_bin() is None:
        pytest.fail("PostgreSQL is not installed: .ci/run installs it (apt-get install postgresql)")
    cluster = PostgresCluster()
    yield cluster
    cluster.stop()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'server-home' / 'serve.sqlite'}"
    return request.getfixturevalue("postgres").database(f"bsr_{uuid.uuid4().hex[:12]}")


def start(private_lab, tmp_path, db: str, *extra: str, benchmarks=(RIDGE, RSA)) -> ServiceProcess:
    return ServiceProcess(private_lab[0], list(benchmarks), tmp_path / "server-home", *extra, db=db)


def upload(url: str, benchmark: str, path: Path, token: str | None, **headers) -> httpx.Response:
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{url}/v1/benchmarks/{benchmark}/submissions", content=path.read_bytes(),
                      headers={**auth, "X-Predictions-Filename": path.name, **headers}, timeout=120)  # fmt: skip


def score_locally(cli, registry: Path, benchmark: str, path: Path, out: Path) -> dict:
    result = cli("--registry", registry, "score", "-b", benchmark, "--predictions", path, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


SCORE_PARTS = ("value", "error")


def test_a_submission_equals_the_local_score_and_verifies(cli, private_lab, tmp_path, db_url, monkeypatch):
    registry, files = private_lab
    token = add_token(cli, db_url, "alice", "5/day")
    server = start(private_lab, tmp_path, db_url, "--precision", "full")
    try:
        monkeypatch.setenv("BSR_TOKEN", token)
        pub = server.home / "serve" / "server.pub"
        for benchmark, path in ((RIDGE, files / "predictions.nc"), (RSA, files / "rdm.nc")):
            out = tmp_path / "records" / f"{benchmark}.json"
            submitted = cli("submit", "--server", server.url, "-b", benchmark, "--predictions", path, "--out", out, "--json")
            assert submitted.exit_code == 0, submitted.output
            row = json.loads(submitted.stdout)
            assert row["account"] == "alice" and row["precision"] == "full" and row["trusted"] is False
            served, local = (
                json.loads(out.read_text()),
                score_locally(cli, registry, benchmark, path, tmp_path / f"{benchmark}-local.json"),
            )
            # |Δ| = 0: every released number is the local one, bit for bit
            assert served["score"]["value"] == local["score"]["value"] == row["score"]
            for part in ("raw", "ceiling"):
                for key in SCORE_PARTS:
                    assert served["score"][part][key] == local["score"][part][key], (benchmark, part, key)
            assert served["score"]["error"] == local["score"]["error"]
            # the same record but for what the service adds and holds back
            assert served["model"] == local["model"] and served["model"]["kind"] == "predictions"
            assert served["model"]["predictions_sha256"] == local["model"]["predictions_sha256"]
            assert served["data"] == local["data"] and served["benchmark"] == local["benchmark"]
            assert served["submission"]["account"] == "alice" and served["submission"]["id"] == row["submission"]
            assert served["score"]["raw"]["raw"] == [] and served["score"]["ceiling"]["units"] == []
            assert served["signer"]["key_id"] != local["signer"]["key_id"]
            again = cli("--registry", registry, "reproduce", out, "--predictions", path, "--trusted-key", pub, "--json")
            assert again.exit_code == 0 and json.loads(again.stdout)["verdict"] == "reproduced", (
                again.output
            )  # the private_lab can
            ok = cli("--registry", registry, "verify", out, "--trusted-key", pub, "--json")
            assert ok.exit_code == 0 and json.loads(ok.stdout)["signer"] == served["signer"]["key_id"], ok.output
            untrusted = cli("--registry", registry, "verify", out)
            assert untrusted.exit_code == 1 and "not trusted" in untrusted.output
        board = cli("--registry", registry, "leaderboard", tmp_path / "records", "--out", tmp_path / "site",
                    "--trusted-key", pub, "--json")  # fmt: skip
        summary = json.loads(board.stdout)
        assert board.exit_code == 0 and summary["shown"] == 2 and summary["untrusted"] == 0 and summary["rejected"] == 0
        assert "alice@" in (tmp_path / "site" / "index.html").read_text()
    finally:
        assert server.stop(), server.output()[-2000:]


def test_tokens_limits_idempotency_and_a_restart(cli, private_lab, tmp_path, db_url):
    _, files = private_lab
    token = add_token(cli, db_url, "bob", "2/day")
    revoked = add_token(cli, db_url, "carol", "2/day")
    assert cli("serve", "token", "revoke", "carol", "--db", db_url).exit_code == 0
    server = start(private_lab, tmp_path, db_url)
    path = files / "predictions.nc"
    try:
        wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        for bad in (None, wrong, revoked, "bsr_0000000000000000_" + "A" * 43, "not-a-token", token + "x"):
            answer = upload(server.url, RIDGE, path, bad)
            assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer", bad
            assert httpx.get(f"{server.url}/v1/account", headers={"Authorization": f"Bearer {bad}"}).status_code == 401
        assert httpx.get(f"{server.url}/v1/account", headers={"Authorization": f"Basic {token}"}).status_code == 401
        key = str(uuid.uuid4())
        first = upload(server.url, RIDGE, path, token, **{"Idempotency-Key": key})
        again = upload(server.url, RIDGE, path, token, **{"Idempotency-Key": key})  # a retry: the same answer, not counted
        assert first.status_code == again.status_code == 200 and again.json()["replayed"] is True
        assert again.json()["submission"] == first.json()["submission"]
        released = first.json()["record"]
        assert released["submission"]["precision"] == 3 and released["score"]["value"] == round(released["score"]["value"], 3)
        (tmp_path / "first.json").write_text(json.dumps(released))
        pub = server.home / "serve" / "server.pub"
        rerun = cli(
            "--registry",
            private_lab[0],
            "reproduce",
            tmp_path / "first.json",
            "--predictions",
            path,
            "--trusted-key",
            pub,
            "--json",
        )
        assert rerun.exit_code == 0 and json.loads(rerun.stdout)["verdict"] == "reproduced", rerun.output  # at its precision
        second = upload(server.url, RIDGE, files / "other.nc", token)
        assert second.status_code == 200
        limited = upload(server.url, RIDGE, path, token)
        assert limited.status_code == 429, limited.text
        retry_after = int(limited.headers["retry-after"])
        assert 86_300 < retry_after <= 86_400 and limited.json()["error"]["retry_after"] == retry_after
        assert upload(server.url, RSA, files / "rdm.nc", token).status_code == 200  # the limit is per benchmark
        usage = httpx.get(f"{server.url}/v1/account", headers={"Authorization": f"Bearer {token}"}).json()
        assert usage["used_last_24h"] == {RIDGE: 2, RSA: 1} and usage["limit_per_day"] == 2
    finally:
        assert server.stop(), server.output()[-2000:]
    server = start(private_lab, tmp_path, db_url)  # a new process on the same database
    try:
        assert upload(server.url, RIDGE, path, token).status_code == 429  # the counts survived
        fetched = httpx.get(
            f"{server.url}/v1/submissions/{first.json()['submission']}", headers={"Authorization": f"Bearer {token}"}
        )
        assert fetched.status_code == 200 and fetched.json() == first.json()["record"]  # and the records
        other = add_token(cli, db_url, "dave", "1/day")
        not_theirs = httpx.get(
            f"{server.url}/v1/submissions/{first.json()['submission']}", headers={"Authorization": f"Bearer {other}"}
        )
        assert not_theirs.status_code == 404
        assert upload(server.url, RIDGE, path, other).status_code == 200  # another account's own limit
    finally:
        assert server.stop(), server.output()[-2000:]
    stored, logged = _stored_text(db_url), "".join(p.read_text() for p in server.home.glob("serve-*.log"))  # both runs
    for secret in (token, revoked, other):
        assert secret not in stored and secret.split("_")[-1] not in stored  # only digests are kept
        assert secret.split("_")[-1] not in logged  # and no log line holds a token
    audit = cli("serve", "audit", "--db", db_url, "--last", "100", "--json")
    statuses = [row["status"] for row in json.loads(audit.stdout) if row["action"] == "submit"]
    assert statuses.count(401) == 6 and statuses.count(429) == 2 and statuses.count(200) == 5


def _stored_text(db_url: str) -> str:
    """Everything the database holds, as text."""
    from sqlalchemy import MetaData, create_engine, select

    engine = create_engine(db_url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        rows = [row for table in meta.sorted_tables for row in conn.execute(select(table)).all()]
    engine.dispose()
    text = "\n".join(map(str, rows))
    if db_url.startswith("sqlite:///"):  # and the file's bytes, WAL included
        base = Path(db_url.removeprefix("sqlite:///"))
        text += "".join(p.read_bytes().decode("latin-1") for p in base.parent.glob(base.name + "*"))
    return text


def test_an_oversized_upload_is_refused_before_it_is_read(cli, private_lab, tmp_path):
    db = f"sqlite:///{tmp_path / 'server-home' / 'serve.sqlite'}"
    token = add_token(cli, db, "erin", "5/day")
    server = start(private_lab, tmp_path, db, "--max-upload-mb", "1")
    try:
        auth = f"Authorization: Bearer {token}\r\n"
        path = f"/v1/benchmarks/{RIDGE}/submissions"
        declared = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Length: {1 << 30}\r\n\r\n".encode()
        answer, sent = raw_request(server.port, declared, [b"\0" * 65536] * 16384, pause=0.001)  # 1 GiB offered
        assert answer.startswith(b"HTTP/1.1 413") and sent < 8 << 20, (answer[:200], sent)
        chunked = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Transfer-Encoding: chunked\r\n\r\n".encode()
        chunk = b"40000\r\n" + b"\1" * 0x40000 + b"\r\n"  # 256 KiB chunks, no declared length
        answer, sent = raw_request(server.port, chunked, (chunk for _ in range(4096)), pause=0.005)
        assert answer.startswith(b"HTTP/1.1 413") and sent < 8 << 20, (answer[:200], sent)
        body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        assert body["error"]["field"] == "predictions" and "1,048,576 bytes" in body["error"]["message"]
        big = tmp_path / "big.nc"
        big.write_bytes(b"\0" * ((1 << 20) + 1))
        refused = cli("submit", "--server", server.url, "-b", RIDGE, "--predictions", big, env={"BSR_TOKEN": token})
        assert refused.exit_code == 2 and "accepts at most 1,048,576" in refused.output  # before any upload
        usage = httpx.get(f"{server.url}/v1/account", headers={"Authorization": f"Bearer {token}"}).json()
        assert usage["used_last_24h"] == {}  # a refused upload uses no slot
        assert upload(server.url, RIDGE, private_lab[1] / "predictions.nc", token).status_code == 200  # the server is fine
    finally:
        assert server.stop(), server.output()[-2000:]


@pytest.mark.parametrize("name", ["rdm.nc", "garbage.nc", "no_ids.nc"])
def test_a_malformed_file_gets_422_with_the_cli_message(cli, private_lab, tmp_path, name):
    registry, files = private_lab
    db = f"sqlite:///{tmp_path / 'server-home' / 'serve.sqlite'}"
    token = add_token(cli, db, "frank", "1/day")
    server = start(private_lab, tmp_path, db, benchmarks=(RIDGE,))
    try:
        path = files / name
        local = cli("--registry", registry, "score", "-b", RIDGE, "--predictions", path)
        submitted = cli("submit", "--server", server.url, "-b", RIDGE, "--predictions", path, env={"BSR_TOKEN": token})
        assert local.exit_code == submitted.exit_code == 2
        assert submitted.output == local.output and "Traceback" not in submitted.output  # word for word
        answer = upload(server.url, RIDGE, path, token)
        assert answer.status_code == 422
        problem = answer.json()["error"]
        assert problem["file"] == name and str(server.home) not in answer.text and "/tmp" not in answer.text
        assert problem["message"] in local.output.replace("\n", " ") or problem["message"].split(":")[0] in local.output
        assert upload(server.url, RIDGE, files / "predictions.nc", token).status_code == 200  # the 422s used no slot
    finally:
        assert server.stop(), server.output()[-2000:]


def test_a_dead_scoring_worker_is_replaced_and_costs_no_slot(cli, private_lab, tmp_path):
    """The workers hold the data and parse the uploads; one that dies (as a file crashing the HDF5
    reader would make it) is replaced, and the server goes on."""
    db = f"sqlite:///{tmp_path / 'server-home' / 'serve.sqlite'}"
    token = add_token(cli, db, "judy", "5/day")
    server = start(private_lab, tmp_path, db, "--jobs", "2", benchmarks=(RIDGE,))
    try:
        pids = _worker_pids(server.output(), r"holding the data\): PIDs ([\d ]+)")
        assert len(pids) == 2 and server.proc.pid not in pids
        os.kill(pids[0], signal.SIGKILL)
        time.sleep(0.5)
        answer = upload(server.url, RIDGE, private_lab[1] / "predictions.nc", token)
        assert answer.status_code == 200, answer.text  # tried again on a fresh pool
        replaced = _worker_pids(server.output(), r"the pool was restarted \(workers ([\d, ]+)\)")
        assert len(replaced) == 2 and not set(replaced) & set(pids)
        assert upload(server.url, RIDGE, private_lab[1] / "other.nc", token).status_code == 200
        usage = httpx.get(f"{server.url}/v1/account", headers={"Authorization": f"Bearer {token}"}).json()
        assert usage["used_last_24h"] == {RIDGE: 2}
    finally:
        assert server.stop(), server.output()[-2000:]
    assert _all_gone(pids + replaced, 1.0)  # a graceful stop ends the workers with the server


def test_the_workers_end_with_a_killed_server(cli, private_lab, tmp_path):
    """The workers hold the held-out data: none outlives its server, even one killed with SIGKILL."""
    db = f"sqlite:///{tmp_path / 'server-home' / 'serve.sqlite'}"
    server = start(private_lab, tmp_path, db, "--jobs", "2", benchmarks=(RIDGE,))
    pids = _worker_pids(server.output(), r"holding the data\): PIDs ([\d ]+)")
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait()
    server.log.close()
    assert _all_gone(pids, 10.0), pids


def _worker_pids(log: str, pattern: str) -> list[int]:
    return [int(p) for p in re.findall(r"\d+", re.findall(pattern, log)[-1])]


def _all_gone(pids: list[int], within: float) -> bool:
    """Whether every process in `pids` has exited (or is a zombie awaiting its reaper) within `within` s."""

    def alive(pid: int) -> bool:
        status = Path(f"/proc/{pid}/status")
        try:
            return "zombie" not in status.read_text().lower()
        except OSError:
            return False

    deadline = time.time() + within
    while any(alive(pid) for pid in pids) and time.time() < deadline:
        time.sleep(0.1)
    return not any(alive(pid) for pid in pids)


def test_no_answer_holds_a_held_out_value(cli, private_lab, tmp_path):
    """Every endpoint, every kind of answer, scanned for the responses (raw and trial-averaged), the
    per-unit and per-split values behind the score, and the ceiling's per-unit values."""
    from brainscore_registry.benchmarks.scoring import load_benchmark_data, target_of
    from brainscore_registry.benchmarks.specs import find_spec
    from brainscore_registry.metrics.data import average_repetitions
    from brainscore_registry.store.registry import Registry

    registry, files = private_lab
    db = f"sqlite:///{tmp_path / 'server-home' / 'serve.sqlite'}"
    token = add_token(cli, db, "grace", "2/day")
    server = start(private_lab, tmp_path, db)
    auth = {"Authorization": f"Bearer {token}"}
    bodies: list[str] = []
    try:
        get = lambda route, **kw: bodies.append(httpx.get(server.url + route, **kw).text)  # noqa: E731
        for route in ("/v1/key", "/v1/benchmarks", f"/v1/benchmarks/{RIDGE}", f"/v1/benchmarks/{RSA}", "/openapi.json",
                      "/v1/benchmarks/nope", "/nowhere"):  # fmt: skip
            get(route)
        get("/v1/account", headers=auth)
        for benchmark, name in ((RIDGE, "predictions.nc"), (RIDGE, "rdm.nc"), (RSA, "rdm.nc"), (RIDGE, "garbage.nc"),
                                (RIDGE, "other.nc"), (RIDGE, "predictions.nc"), (RSA, "no_ids.nc")):  # fmt: skip
            answer = upload(server.url, benchmark, files / name, token)
            bodies.append(answer.text)
            if answer.status_code == 200:
                get(f"/v1/submissions/{answer.json()['submission']}", headers=auth)
        bodies.append(upload(server.url, RIDGE, files / "predictions.nc", None).text)
    finally:
        assert server.stop(), server.output()[-2000:]
    assert any('"score"' in b for b in bodies) and any('"status":429' in b for b in bodies)
    reg = Registry(registry)
    held_out = []
    for benchmark in (RIDGE, RSA):
        data = load_benchmark_data(find_spec(registry, benchmark), reg)
        target = target_of(data)
        held_out += [data.assembly.values, target.values]
        if data.kind == "neural":
            held_out.append(average_repetitions(target).values)
    local = score_locally(cli, registry, RIDGE, files / "predictions.nc", tmp_path / "local.json")["score"]
    held_out += [np.array(local["raw"]["raw"], dtype=float), np.array(local["ceiling"]["raw"], dtype=float)]
    text = "\n".join(bodies)
    spellings = _spellings(np.concatenate([np.ravel(a).astype(float) for a in held_out]))
    local_text = (tmp_path / "local.json").read_text()
    assert sum(s in local_text for s in spellings) > 100  # the scan finds values where they are (a local record)
    leaks = sorted(s for s in spellings if s in text)
    assert leaks == [], leaks[:10]


def _spellings(values: np.ndarray) -> set[str]:
    """The ways a JSON or Python writer spells a value with 5 or more significant digits."""
    found = set()
    for v in values[np.isfinite(values)]:
        if v == round(v, 3):  # 0, 1, 0.5: too short to tell a leak from a coincidence
            continue
        found |= {repr(float(v)), f"{v:.6g}", f"{v:.5g}", repr(float(np.float32(v)))}
    return {s for s in found if len(s.lstrip("-").replace(".", "").lstrip("0")) >= 5}


def test_sql_injection_attempts_are_only_data(cli, private_lab, tmp_path):
    _, files = private_lab
    db = f"sqlite:///{tmp_path / 'server-home' / 'serve.sqlite'}"
    evil = ["x'; DROP TABLE submissions; --", "' OR '1'='1", 'Robert"); DROP TABLE accounts;--', "1; DELETE FROM audit"]
    for name in evil:
        refused = cli("serve", "token", "add", name, "--limit", "3/day", "--db", db)
        assert refused.exit_code == 2 and "not a usable account name" in refused.output
        assert cli("serve", "token", "revoke", name, "--db", db).exit_code == 2
    token = add_token(cli, db, "heidi", "3/day")
    server = start(private_lab, tmp_path, db)
    auth = {"Authorization": f"Bearer {token}"}
    try:
        for text in evil:
            quoted = httpx.URL(server.url).copy_with(path=f"/v1/benchmarks/{text}/submissions")
            answer = httpx.post(quoted, content=b"x", headers=auth)
            assert answer.status_code == 404 and "does not score" in answer.json()["error"]["message"]
            assert httpx.get(httpx.URL(server.url).copy_with(path=f"/v1/submissions/{text}"), headers=auth).status_code == 404
            assert upload(server.url, RIDGE, files / "predictions.nc", text).status_code == 401
            assert upload(server.url, RIDGE, files / "predictions.nc", token, **{"Idempotency-Key": text}).status_code == 400
        named = upload(server.url, RIDGE, files / "predictions.nc", token, **{"X-Predictions-Filename": evil[0]})
        assert named.status_code == 200 and named.json()["record"]["model"]["name"] == "predictions:predictions.nc"
        traversal = upload(server.url, RIDGE, files / "predictions.nc", token, **{"X-Predictions-Filename": "../../etc/passwd"})
        assert traversal.status_code == 200 and traversal.json()["record"]["model"]["name"] == "predictions:passwd"  # a name only
        audit = cli("serve", "audit", "--db", db, "--account", evil[1], "--json")
        assert audit.exit_code == 0 and json.loads(audit.stdout) == []
    finally:
        assert server.stop(), server.output()[-2000:]
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"accounts", "submissions", "audit"} <= tables
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM submissions WHERE status='scored'").fetchone() == (2,)
        stored = {row[0] for row in conn.execute("SELECT benchmark FROM audit")}
    assert set(evil) <= stored  # kept as the literal text they are


def test_submit_takes_its_token_only_from_the_environment_or_a_private_file(cli, private_lab, tmp_path):
    _, files = private_lab
    db = f"sqlite:///{tmp_path / 'server-home' / 'serve.sqlite'}"
    token = add_token(cli, db, "ivan", "3/day")
    server = start(private_lab, tmp_path, db, benchmarks=(RIDGE,))
    try:
        args = ("submit", "--server", server.url, "-b", RIDGE, "--predictions", files / "predictions.nc")
        none = cli(*args)
        assert none.exit_code == 2 and "bsr login --server" in none.output
        bad_login = cli("login", "--server", server.url, input="bsr_0123456789abcdef_" + "x" * 43 + "\n")
        assert bad_login.exit_code == 2 and "no valid API token" in bad_login.output
        login = cli("login", "--server", server.url + "/", input=token + "\n")
        assert login.exit_code == 0 and "as ivan" in login.output, login.output
        tokens = Path(os.environ["BSR_HOME"]) / "tokens.json"
        assert tokens.stat().st_mode & 0o777 == 0o600 and token not in login.output
        done = cli(*args, "--out", tmp_path / "r.json", "--json")
        assert done.exit_code == 0 and json.loads(done.stdout)["account"] == "ivan", done.output
        tokens.chmod(0o644)
        loose = cli(*args)
        assert loose.exit_code == 2 and "chmod 600" in loose.output
        remote = cli("submit", "--server", "http://192.0.2.1:8000", "-b", RIDGE, "--predictions", files / "predictions.nc")
        assert remote.exit_code == 2 and "unencrypted" in remote.output
        unknown = cli(*args, "--benchmark", "Syn.IT-ridg", env={"BSR_TOKEN": token})
        assert unknown.exit_code == 2 and "Did you mean 'Syn.IT-ridge'" in unknown.output
    finally:
        assert server.stop(), server.output()[-2000:]
    gone = cli(*args, env={"BSR_TOKEN": token})
    assert gone.exit_code == 1 and "cannot reach the scoring service" in gone.output
