"""The scoring service against hostile clients, careless operators and a server that lies: what a
hostile-input pass found, each kept as a test against a real `bsr serve` process (or, for the client's
side, a fake server on 127.0.0.1)."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import h5netcdf
import h5py
import httpx
import numpy as np
import pytest

from .service_process import STIMULI, ServiceProcess, add_token, random_responses, raw_request

pytestmark = pytest.mark.slow
RIDGE, RSA = "Syn.IT-ridge", "Syn.IT-rsa"


def start(private_lab, tmp_path, *extra: str, env: dict | None = None) -> tuple[ServiceProcess, str]:
    db = f"sqlite:///{tmp_path / 'server-home' / 'serve.sqlite'}"
    return ServiceProcess(private_lab[0], [RIDGE, RSA], tmp_path / "server-home", *extra, db=db, env=env), db


def post(url: str, benchmark: str, body: bytes, token: str, **headers) -> httpx.Response:
    return httpx.post(f"{url}/v1/benchmarks/{benchmark}/submissions", content=body,
                      headers={"Authorization": f"Bearer {token}", **headers}, timeout=120)  # fmt: skip


def usage(url: str, token: str) -> dict:
    return httpx.get(f"{url}/v1/account", headers={"Authorization": f"Bearer {token}"}).json()["used_last_24h"]


def _bomb(path: Path, neuroids: int) -> None:
    """A NetCDF file of a few kB declaring 40 × `neuroids` float64 values (nothing written: the fill value)."""
    with h5netcdf.File(path, "w") as f:
        f.dimensions = {"presentation": 40, "neuroid": neuroids}
        f.create_variable("responses", ("presentation", "neuroid"), float, chunks=(40, 65536), compression="gzip")
        ids = f.create_variable("stimulus_id", ("presentation",), h5py.string_dtype())
        ids[:] = np.array(STIMULI, dtype=object)


def test_hostile_uploads_are_refused_cheaply_and_use_no_slot(cli, private_lab, tmp_path):
    files = private_lab[1]
    real = tmp_path / "real-tmp"
    real.mkdir()
    (tmp_path / "tmp-link").symlink_to(real)  # a scratch directory reached through a symbolic link (macOS's /var)
    server, db = start(private_lab, tmp_path, "--max-decoded-mb", "256", env={"TMPDIR": str(tmp_path / "tmp-link")})
    token = add_token(cli, db, "mallory", "3/day")
    try:
        bomb = tmp_path / "bomb.nc"
        _bomb(bomb, 12_500_000)  # 4 GB once decoded
        assert bomb.stat().st_size < 1 << 20
        started = time.perf_counter()
        answer = post(server.url, RIDGE, bomb.read_bytes(), token, **{"X-Predictions-Filename": "bomb.nc"})
        assert answer.status_code == 422 and "once decoded" in answer.json()["error"]["message"], answer.text
        assert time.perf_counter() - started < 10  # refused before it is read
        assert str(real) not in answer.text and str(tmp_path) not in answer.text and answer.json()["error"]["file"] == "bomb.nc"
        base = random_responses(STIMULI, seed=1)
        for name, array, expected in (
            ("text.nc", base.copy(data=np.full((40, 30), "abc", dtype=object)), "must be real numbers"),
            ("huge.nc", base * 1e300, "beyond 1e+100"),
        ):
            array.to_netcdf(tmp_path / name)
            answer = post(server.url, RIDGE, (tmp_path / name).read_bytes(), token)
            assert answer.status_code == 422 and expected in answer.json()["error"]["message"], answer.text
            local = cli("--registry", private_lab[0], "score", "-b", RIDGE, "--predictions", tmp_path / name)
            assert local.exit_code == 2 and expected in local.output and "Traceback" not in local.output  # the CLI too
        assert usage(server.url, token) == {}
        # an Idempotency-Key answers a retry of the same request only
        key = str(uuid.uuid4())
        first = post(server.url, RIDGE, (files / "predictions.nc").read_bytes(), token, **{"Idempotency-Key": key})
        assert first.status_code == 200
        other_file = post(server.url, RIDGE, (files / "other.nc").read_bytes(), token, **{"Idempotency-Key": key})
        other_benchmark = post(server.url, RSA, (files / "rdm.nc").read_bytes(), token, **{"Idempotency-Key": key})
        for answer in (other_file, other_benchmark):
            assert answer.status_code == 422 and answer.json()["error"]["field"] == "Idempotency-Key", answer.text
        again = post(server.url, RIDGE, (files / "predictions.nc").read_bytes(), token, **{"Idempotency-Key": key})
        assert again.status_code == 200 and again.json()["replayed"] is True
        assert usage(server.url, token) == {RIDGE: 1}
    finally:
        assert server.stop(), server.output()[-2000:]
    assert not any(real.iterdir())  # every scratch directory removed


def test_interrupted_and_stalled_uploads_give_their_slot_back(cli, private_lab, tmp_path):
    files = private_lab[1]
    server, db = start(private_lab, tmp_path, "--upload-timeout", "3")
    token = add_token(cli, db, "oscar", "1/day")
    body = (files / "predictions.nc").read_bytes()
    head = (f"POST /v1/benchmarks/{RIDGE}/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Idempotency-Key: stalled-key-0001\r\nContent-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
    try:
        answer, _ = raw_request(server.port, head, [body[:1000]])  # then nothing: the timeout answers
        assert answer.startswith(b"HTTP/1.1 408"), answer[:300]
        assert usage(server.url, token) == {}
        # a stalled upload holds its slot while it lasts, and the 429 says so
        import socket

        stalled = socket.create_connection(("127.0.0.1", server.port))
        stalled.sendall(head.replace(b"stalled-key-0001", b"stalled-key-0002") + body[:1000])
        time.sleep(0.5)
        limited = post(server.url, RIDGE, body, token)
        assert limited.status_code == 429 and "still being received or scored" in limited.json()["error"]["message"]
        assert int(limited.headers["retry-after"]) <= 30
        stalled.close()  # the client goes away: the slot is given back at once
        time.sleep(1.0)
        assert usage(server.url, token) == {}
        assert post(server.url, RIDGE, body, token, **{"Idempotency-Key": "stalled-key-0001"}).status_code == 200
    finally:
        assert server.stop(), server.output()[-2000:]


def test_a_server_stopped_mid_upload_leaves_no_slot_taken(cli, private_lab, tmp_path):
    import socket

    files = private_lab[1]
    server, db = start(private_lab, tmp_path)
    token = add_token(cli, db, "peggy", "1/day")
    body = (files / "predictions.nc").read_bytes()
    head = (f"POST /v1/benchmarks/{RIDGE}/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Idempotency-Key: cut-short-00001\r\nContent-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
    stalled = socket.create_connection(("127.0.0.1", server.port))
    try:
        stalled.sendall(head + body[:1000])
        time.sleep(0.5)
    finally:
        assert server.stop(), server.output()[-2000:]  # SIGTERM while the upload waits
        stalled.close()
    server, _ = start(private_lab, tmp_path)
    try:
        assert usage(server.url, token) == {}
        again = post(server.url, RIDGE, body, token, **{"Idempotency-Key": "cut-short-00001"})
        assert again.status_code == 200, again.text
    finally:
        assert server.stop(), server.output()[-2000:]
    audit = json.loads(cli("serve", "audit", "--db", db, "--json").stdout)
    assert any(row["detail"] == "interrupted" for row in audit)


def test_requests_the_api_does_not_know_get_its_error_shape(cli, private_lab, tmp_path):
    server, db = start(private_lab, tmp_path)
    token = add_token(cli, db, "trent", "2/day")
    try:
        for method, route in (("GET", "/nowhere"), ("DELETE", f"/v1/benchmarks/{RIDGE}"), ("GET", "/openapi.json")):
            answer = httpx.request(method, server.url + route)
            assert answer.status_code in (404, 405) and "error" in answer.json(), (route, answer.text)
        two = httpx.post(f"{server.url}/v1/benchmarks/{RIDGE}/submissions", content=b"x",
                         headers=[("Authorization", f"Bearer {token}"), ("Authorization", "Bearer other")])  # fmt: skip
        assert two.status_code == 400
        long_id = "x" * 5000
        answer = httpx.get(f"{server.url}/v1/submissions/{long_id}", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 404 and len(answer.text) < 1000
        spoofed = httpx.post(f"{server.url}/v1/benchmarks/{RIDGE}/submissions", content=b"x",
                             headers={"Authorization": "Bearer nope", "X-Forwarded-For": "203.0.113.9"})  # fmt: skip
        assert spoofed.status_code == 401
    finally:
        assert server.stop(), server.output()[-2000:]
    audit = json.loads(cli("serve", "audit", "--db", db, "--json").stdout)
    assert audit and all(row["client"] == "127.0.0.1" for row in audit)  # X-Forwarded-For is not believed


def test_operator_mistakes_are_clear_errors(cli, private_lab, tmp_path):
    registry = private_lab[0]
    args = ("--registry", registry, "serve", "-b", RIDGE)
    key_dir = tmp_path / "keydir"
    key_dir.mkdir()
    for extra, expected in (
        (("--precision", "²"), "is not a precision"),
        (("--precision", "16"), "is not a precision"),
        (("--max-upload-mb", "nan"), "--max-upload-mb must be"),
        (("--max-upload-mb", "inf"), "--max-upload-mb must be"),
        (("--max-upload-mb", "1e-9"), "--max-upload-mb must be"),
        (("--db", "sqlite:////proc/nope/serve.sqlite"), "cannot create the database's directory"),
        (("--key", str(key_dir)), "is not a file"),
        (("--tls-cert", str(tmp_path / "none.pem"), "--tls-key", str(tmp_path / "none.pem")), "file not found"),
        (("--host", "256.1.1.1"), "cannot listen on"),
        (("-b", "Syn.IT-ridg"), "Did you mean"),
    ):
        result = cli(*args, *extra)
        assert result.exit_code == 2 and expected in result.output and "Traceback" not in result.output, (extra, result.output)
    db = f"sqlite:///{tmp_path / 'accounts.sqlite'}"
    assert cli("serve", "audit", "--db", db, "--last", "99999999999999999999").exit_code == 2
    token = add_token(cli, db, "victor", "2/day")
    assert cli("serve", "token", "add", "VICTOR", "--limit", "2/day", "--db", db).exit_code == 2  # one account, any case
    assert cli("serve", "--db", db, "token", "revoke", "victor").exit_code == 0  # --db given to `serve` counts
    rotated = cli("serve", "token", "rotate", "Victor", "--limit", "4/day", "--db", db, "--json")
    assert rotated.exit_code == 0, rotated.output
    new_token = json.loads(rotated.stdout)["token"]
    assert new_token != token
    listed = {row["name"]: row for row in json.loads(cli("serve", "token", "list", "--db", db, "--json").stdout)}
    assert listed["victor"]["revoked"] is None and listed["victor"]["limit_per_day"] == 4
    server = ServiceProcess(registry, [RIDGE], tmp_path / "home", db=db)
    try:
        assert usage(server.url, new_token) == {}
        assert httpx.get(f"{server.url}/v1/account", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    finally:
        assert server.stop()


class _Liar(BaseHTTPRequestHandler):
    """A server that answers like a scoring service, but not quite: `answers` maps a path to its body."""

    answers: dict[str, object] = {}

    def _send(self) -> None:
        body = json.dumps(self.answers.get(self.path.split("?")[0], {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self._send()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._send()

    def log_message(self, *args) -> None:
        pass


def test_submit_refuses_a_server_that_does_not_answer_as_a_service(cli, private_lab, tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from brainscore_registry.data.hashing import canonical_json

    files = private_lab[1]
    path = files / "predictions.nc"
    # a genuine answer to start from, then the same record without its submission part, re-signed by the liar
    server, db = start(private_lab, tmp_path)
    token = add_token(cli, db, "walter", "5/day")
    try:
        genuine = post(server.url, RIDGE, path.read_bytes(), token).json()
    finally:
        assert server.stop()
    liar_key = Ed25519PrivateKey.generate()
    raw_public = liar_key.public_key().public_bytes_raw()
    record = {k: v for k, v in genuine["record"].items() if k not in ("submission", "signature")}
    from brainscore_registry.runs.records import key_id

    record["signer"] = {"key_id": key_id(liar_key.public_key()), "public_key": base64.b64encode(raw_public).decode()}
    record["signature"] = base64.b64encode(liar_key.sign(canonical_json(record))).decode()
    key = {"key_id": record["signer"]["key_id"], "public_key": record["signer"]["public_key"]}
    limits = {"max_upload_bytes": 1 << 20}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Liar)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    submit = f"/v1/benchmarks/{RIDGE}/submissions"
    cases = [
        ({"/v1/benchmarks": {}, "/v1/key": key}, "no int 'max_upload_bytes'"),
        ({"/v1/benchmarks": {"max_upload_bytes": "lots"}, "/v1/key": key}, "no int 'max_upload_bytes'"),
        ({"/v1/benchmarks": limits, "/v1/key": {"public_key": "!!"}}, "no Ed25519 public key"),
        ({"/v1/benchmarks": limits, "/v1/key": key, submit: {"score": 1}}, "no dict 'record'"),
        ({"/v1/benchmarks": limits, "/v1/key": key, submit: {"record": record}}, "names no submission id"),
        ({"/v1/benchmarks": limits, "/v1/key": key, submit: {"record": genuine["record"]}}, "not signed by the key the server"),
    ]
    try:
        for answers, expected in cases:
            _Liar.answers = answers
            result = cli("submit", "--server", url, "-b", RIDGE, "--predictions", path, env={"BSR_TOKEN": token})
            assert result.exit_code == 1 and expected in result.output and "Traceback" not in result.output, result.output
    finally:
        httpd.shutdown()
        httpd.server_close()
