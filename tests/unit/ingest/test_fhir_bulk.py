"""``careledger fetch fhir`` against a Bulk Data export server on 127.0.0.1 (mock_fhir_bulk.py):
kick-off, 202 polling with Retry-After, a 429, a transient 503, a manifest with two files and
an error file, an access token that expires mid-run; the files land once through ingest, the
next run asks ``_since`` = the last transactionTime, and a run interrupted while polling is
resumed from its status URL. Sleeps are recorded, not slept."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from mock_fhir_bulk import CLIENT_ID, KEY_ID, BulkServer

from careledger.ingest.fhir import bulk
from careledger.transport import CircuitBreaker, RetryPolicy, Transport

CARELEDGER = str(Path(sys.executable).parent / "careledger")


def _pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture()
def secrets(monkeypatch, rsa_key):
    monkeypatch.setenv("CARELEDGER_FHIR_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("CARELEDGER_FHIR_KEY_ID", KEY_ID)
    monkeypatch.setenv("CARELEDGER_FHIR_PRIVATE_KEY", _pem(rsa_key))
    monkeypatch.delenv("CARELEDGER_FHIR_TOKEN_URL", raising=False)
    return _pem(rsa_key)


@pytest.fixture()
def server(rsa_key):
    srv = BulkServer(rsa_key.public_key())
    yield srv
    srv.stop()


class Sleeps:
    """Records every wait; ``interrupt_at``: the wait (1-based) at which Ctrl-C comes."""

    def __init__(self, interrupt_at: int | None = None) -> None:
        self.waits: list[float] = []
        self.interrupt_at = interrupt_at

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.interrupt_at is not None and len(self.waits) == self.interrupt_at:
            raise KeyboardInterrupt


def _transport(sleep: Sleeps) -> Transport:
    return Transport(
        policy=RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=5.0, timeout=5.0),
        breaker=CircuitBreaker(threshold=6),
        sleep=sleep,
        rng=random.Random(1),
    )


def _fetch(tmp_path: Path, server: BulkServer, sleep: Sleeps | None = None, **request) -> bulk.FetchResult:
    sleep = sleep or Sleeps()
    lines: list[str] = []
    result = bulk.fetch_fhir(
        tmp_path / "warehouse.duckdb",
        tmp_path / "landing",
        bulk.Request(server.base, **request),
        transport=_transport(sleep),
        echo=lines.append,
    )
    result.lines = lines  # type: ignore[attr-defined]
    return result


def _q(tmp_path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_export_lands_once_and_the_next_run_asks_since_the_last_transaction_time(tmp_path, server, secrets):
    sleep = Sleeps()
    # the token expires once the export is kicked off: the first status check is refused (401)
    # and a new token is fetched (a second assertion)
    original = server.kick_off

    def kick_off_then_expire(*args):
        answer = original(*args)
        server.expire_tokens()
        return answer

    server.kick_off = kick_off_then_expire
    first = _fetch(tmp_path, server, sleep, types=("Patient", "Encounter"))

    # kick-off as the IG says, no _since on the first run
    assert server.state.kickoffs == [{"path": "/$export", "_type": "Patient,Encounter"}]
    # 202 Retry-After 2, 429 Retry-After 3 (at least), 503 back-off, 202 Retry-After 2
    assert sleep.waits[0] == 2 and sleep.waits[1] >= 3 and 0 < sleep.waits[2] < 1 and sleep.waits[3] == 2
    assert len(sleep.waits) == 4
    assert server.state.tokens_issued == 2  # the expired token was fetched again
    claims = server.state.assertions[0]["claims"]
    assert claims["iss"] == claims["sub"] == CLIENT_ID and server.state.assertions[0]["header"]["alg"] == "RS384"
    assert server.state.assertions[0]["scope"] == "system/*.read"
    assert sorted(server.state.downloads) == ["Encounter", "Patient", "errors"]
    assert server.state.deleted == ["job1"] and first.deleted

    # landed through ingest: lineage to the downloaded files, errors as findings
    assert first.transaction_time == "2026-03-01T12:00:00.000+00:00"
    assert first.totals["records_accepted"] == 5 and first.totals["records_quarantined"] == 0
    rows = _q(tmp_path, "select resource_type, count(*) from raw_ehr.fhir_resources group by 1 order by 1")
    assert rows == [("Encounter", 3), ("Patient", 2)]
    batches = _q(tmp_path, "select file_name, rows_read, rows_accepted, status from raw_meta.batches order by 1")
    assert batches == [
        ("001_Patient.ndjson", 2, 2, "landed"),
        ("002_Encounter.ndjson", 3, 3, "landed"),
        ("error_001_OperationOutcome.ndjson", 0, 0, "landed"),
    ]
    folder = tmp_path / "landing" / "ehr" / "fhir" / "bulk" / first.export_id
    assert {p.name for p in folder.iterdir()} == {b[0] for b in batches}  # no .part left
    findings = _q(
        tmp_path,
        "select severity, message from raw_meta.validation_findings where rule = 'OPERATION_OUTCOME' order by 1",
    )
    assert [f[0] for f in findings] == ["error", "warning"]
    assert "Patient/P3 could not be exported" in findings[0][1]
    assert first.findings >= 2
    state = _q(
        tmp_path,
        "select state, transaction_time, records_accepted, deleted_at is not null from raw_meta.fhir_bulk_exports",
    )
    assert state == [("landed", first.transaction_time, 5, True)]

    # the next run asks _since the first run's transactionTime; the same files land nothing twice
    second = _fetch(tmp_path, server, types=("Patient", "Encounter"))
    assert server.state.kickoffs[1] == {
        "path": "/$export",
        "_type": "Patient,Encounter",
        "_since": "2026-03-01T12:00:00.000+00:00",
    }
    assert second.totals["files_skipped"] == 3 and second.totals["records_accepted"] == 0
    assert _q(tmp_path, "select count(*) from raw_ehr.fhir_resources") == [(5,)]
    assert _q(tmp_path, "select count(*) from raw_meta.batches where status = 'landed'") == [(3,)]
    assert second.transaction_time == "2026-03-02T12:00:00.000+00:00"
    # a third run would ask from the second's transactionTime
    log = bulk.ExportLog(tmp_path / "warehouse.duckdb", lambda: __import__("contextlib").nullcontext())
    assert log.next_since(bulk.Request(server.base, types=("Patient", "Encounter"))) == second.transaction_time
    # a different request (system level, all types) has its own _since: none yet
    assert log.next_since(bulk.Request(server.base)) is None


def test_a_run_interrupted_while_polling_is_resumed_from_its_status_url(tmp_path, server, secrets):
    with pytest.raises(KeyboardInterrupt):
        _fetch(tmp_path, server, Sleeps(interrupt_at=2), group="G1")
    assert len(server.state.kickoffs) == 1 and server.state.kickoffs[0]["path"] == "/Group/G1/$export"
    assert _q(tmp_path, "select state, status_url from raw_meta.fhir_bulk_exports") == [
        ("polling", f"{server.base}/status/job1")
    ]
    resumed = _fetch(tmp_path, server, group="G1")
    assert resumed.resumed and len(server.state.kickoffs) == 1  # no second kick-off
    assert any(line.startswith("resuming export") for line in resumed.lines)
    assert _q(tmp_path, "select count(*) from raw_ehr.fhir_resources") == [(5,)]
    assert _q(tmp_path, "select state from raw_meta.fhir_bulk_exports") == [("landed",)]
    assert server.state.deleted == ["job1"]


def test_a_resumed_export_whose_status_url_expired_is_kicked_off_again(tmp_path, server, secrets):
    with pytest.raises(KeyboardInterrupt):
        _fetch(tmp_path, server, Sleeps(interrupt_at=1))
    server.state.jobs.clear()  # the server forgot it
    result = _fetch(tmp_path, server)
    assert not result.resumed and len(server.state.kickoffs) == 2
    assert _q(tmp_path, "select state from raw_meta.fhir_bulk_exports order by kicked_off_at") == [
        ("expired",),
        ("landed",),
    ]


def test_es384_keys_sign_the_assertion(tmp_path, monkeypatch):
    key = ec.generate_private_key(ec.SECP384R1())
    srv = BulkServer(key.public_key(), status_script=["done"])
    try:
        monkeypatch.setenv("CARELEDGER_FHIR_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("CARELEDGER_FHIR_KEY_ID", KEY_ID)
        monkeypatch.setenv("CARELEDGER_FHIR_PRIVATE_KEY", _pem(key))
        _fetch(tmp_path, srv)
        assert srv.state.assertions[0]["header"]["alg"] == "ES384"
    finally:
        srv.stop()


def test_an_export_the_server_failed_is_one_sentence_and_not_resumed(tmp_path, rsa_key, secrets):
    srv = BulkServer(rsa_key.public_key(), status_script=["202", "fail"])
    try:
        with pytest.raises(bulk.ExportFailed, match="export job crashed: disk full") as info:
            _fetch(tmp_path, srv)
        assert info.value.remote
        assert _q(tmp_path, "select state from raw_meta.fhir_bulk_exports") == [("failed",)]
        srv.status_script = ["done"]
        again = _fetch(tmp_path, srv)
        assert not again.resumed and len(srv.state.kickoffs) == 2
    finally:
        srv.stop()


def test_a_token_refused_after_a_refetch_stops(tmp_path, rsa_key, secrets):
    srv = BulkServer(rsa_key.public_key(), refuse_tokens=True)
    try:
        with pytest.raises(bulk.FetchError, match="refused a freshly fetched access token"):
            _fetch(tmp_path, srv)
        assert srv.state.tokens_issued == 2  # fetched, refused, fetched again, refused: stop
    finally:
        srv.stop()


def _run(tmp_path: Path, env: dict, *argv: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CARELEDGER_", "DAGSTER_HOME"))}
    return subprocess.run(
        [CARELEDGER, "--home", str(tmp_path / "home"), "fetch", "fhir", *argv],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=120,
    )


def test_cli_fetches_and_fails_in_one_sentence(tmp_path, rsa_key, secrets):
    pem = secrets
    srv = BulkServer(rsa_key.public_key(), status_script=["done"])
    env = {"CARELEDGER_FHIR_CLIENT_ID": CLIENT_ID, "CARELEDGER_FHIR_KEY_ID": KEY_ID}
    try:
        key_file = tmp_path / "key.pem"
        key_file.write_text(pem)
        ok = _run(tmp_path, {**env, "CARELEDGER_FHIR_PRIVATE_KEY_FILE": str(key_file)}, "--base", srv.base, "--json")
        assert ok.returncode == 0, ok.stderr
        out = json.loads(ok.stdout)
        assert out["totals"]["records_accepted"] == 5 and out["transaction_time"].startswith("2026-03-01")
        assert "kick-off" in ok.stderr and "downloaded 3/3" in ok.stderr
        log = (tmp_path / "home" / "logs" / "careledger.log").read_text()
        for text in (ok.stdout, ok.stderr, log):
            assert "PRIVATE KEY" not in text and "access-1" not in text and "eyJ" not in text

        # no credentials for a server that needs them: one sentence naming the variables, exit 10
        denied = _run(tmp_path, {}, "--base", srv.base)
        assert denied.returncode == 10, denied.stderr
        errors = [line for line in denied.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and "CARELEDGER_FHIR_CLIENT_ID" in errors[0]
        assert "Traceback" not in denied.stderr

        bad = _run(tmp_path, env, "--base", srv.base, "--since", "yesterday")
        assert bad.returncode == 2 and "is not a FHIR instant" in bad.stderr and "Traceback" not in bad.stderr
    finally:
        srv.stop()
