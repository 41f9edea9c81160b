"""The scoring service under a bounded load: 200 submissions from 20 concurrent clients on loopback.
No submission is lost or counted twice, and every daily limit holds exactly: on SQLite with one server
process, and on PostgreSQL with two server processes sharing the database."""

from __future__ import annotations

import json
import uuid
from collections import Counter

import pytest

from brainscore_registry.runs.records import ScoreRecord, check_signature

from .service_process import PostgresCluster, ServiceProcess, add_token, postgres_bin, submit_load
from .test_serve import RIDGE

pytestmark = pytest.mark.slow
CLIENTS, PER_CLIENT, ACCOUNTS, LIMIT = 20, 10, 10, 15  # 20 attempts per account, 15 allowed


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_submissions_are_neither_lost_nor_duplicated_and_limits_are_exact(cli, private_lab, tmp_path, backend):
    registry, files = private_lab
    cluster = None
    if backend == "postgresql":
        if postgres_bin() is None:
            pytest.fail("PostgreSQL is not installed: .ci/run installs it (apt-get install postgresql)")
        cluster = PostgresCluster()
        db = cluster.database(f"bsr_{uuid.uuid4().hex[:12]}")
    else:
        db = f"sqlite:///{tmp_path / 'home' / 'serve.sqlite'}"
    servers = []
    try:
        tokens = [add_token(cli, db, f"load{k}", f"{LIMIT}/day") for k in range(ACCOUNTS)]
        for k in range(2 if backend == "postgresql" else 1):  # several processes need a shared server database
            servers.append(ServiceProcess(registry, [RIDGE], tmp_path / f"home{k}", "--jobs", "2", db=db))
        rows = submit_load([s.url for s in servers], RIDGE, files / "predictions.nc", tokens, CLIENTS, PER_CLIENT)
    finally:
        stopped = [server.stop() for server in servers]
        if cluster is not None:
            audit = cli("serve", "audit", "--db", db, "--last", "1000", "--json")
            accounts = json.loads(cli("serve", "token", "list", "--db", db, "--json").stdout)
            cluster.stop()
    assert all(stopped)
    if cluster is None:
        audit = cli("serve", "audit", "--db", db, "--last", "1000", "--json")
        accounts = json.loads(cli("serve", "token", "list", "--db", db, "--json").stdout)
    assert len(rows) == CLIENTS * PER_CLIENT
    per_account = Counter((row["token"], row["status"]) for row in rows)
    for k in range(ACCOUNTS):
        assert per_account[(k, 200)] == LIMIT and per_account[(k, 429)] == CLIENTS * PER_CLIENT // ACCOUNTS - LIMIT, k
    scored = [row for row in rows if row["status"] == 200]
    ids = [row["submission"] for row in scored]
    assert len(set(ids)) == len(ids) == ACCOUNTS * LIMIT
    for row in scored:
        record = ScoreRecord.model_validate(row["record"])
        check_signature(record)
        assert record.submission["id"] == row["submission"] and record.submission["account"] == f"load{row['token']}"
    logged = [entry for entry in json.loads(audit.stdout) if entry["action"] == "submit"]
    assert len(logged) == CLIENTS * PER_CLIENT
    assert sorted(e["submission_id"] for e in logged if e["status"] == 200) == sorted(ids)  # none lost, none twice
    assert len(accounts) == ACCOUNTS
