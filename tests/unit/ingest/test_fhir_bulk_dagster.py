"""The FHIR Bulk Data export as a Dagster asset (careledger.orchestration.assets.fhir_fetch),
materialized in process against the Bulk Data server on 127.0.0.1 (mock_fhir_bulk.py): it lands
the export through ingest once, a second run asks ``_since`` the first one's transactionTime,
an unnamed server fails the step with one sentence, and the nightly schedule skips until a
server is named. The asset sits upstream of the FHIR raw table, so the ``fhir_bulk_fetch``
job runs export, raw and the dbt models downstream in that order."""

from __future__ import annotations

import duckdb
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dagster import AssetKey, DagsterInstance, RunRequest, SkipReason, build_schedule_context, materialize
from mock_fhir_bulk import CLIENT_ID, KEY_ID, BulkServer

from careledger.orchestration.assets.fhir_fetch import FHIR_EXPORT_KEY, fhir_bulk_export
from careledger.orchestration.automation import fhir_bulk_job, fhir_bulk_nightly_schedule
from careledger.orchestration.resources import CareledgerResource


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture()
def server(rsa_key, monkeypatch):
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    for name, value in (
        ("CARELEDGER_FHIR_CLIENT_ID", CLIENT_ID),
        ("CARELEDGER_FHIR_KEY_ID", KEY_ID),
        ("CARELEDGER_FHIR_PRIVATE_KEY", pem),
    ):
        monkeypatch.setenv(name, value)
    for name in ("CARELEDGER_FHIR_TOKEN_URL", "CARELEDGER_FHIR_GROUP", "CARELEDGER_FHIR_TYPES"):
        monkeypatch.delenv(name, raising=False)
    srv = BulkServer(rsa_key.public_key(), status_script=["done"])
    yield srv
    srv.stop()


def _materialize(tmp_path, instance):
    resource = CareledgerResource(home=str(tmp_path / "home"), landing_dir=str(tmp_path / "landing"))
    return materialize([fhir_bulk_export], resources={"careledger": resource}, instance=instance, raise_on_error=False)


def test_the_asset_lands_the_export_and_the_next_run_asks_since(tmp_path, server, monkeypatch) -> None:
    monkeypatch.setenv("CARELEDGER_FHIR_BASE", server.base)
    with DagsterInstance.ephemeral() as instance:
        first = _materialize(tmp_path, instance)
        assert first.success
        meta = first.asset_materializations_for_node("raw_ehr__fhir_bulk_export")[0].metadata
        assert meta["records_accepted"].value == 5 and meta["records_quarantined"].value == 0
        transaction_time = meta["transaction_time"].value
        assert transaction_time.startswith("2026-03-01")
        second = _materialize(tmp_path, instance)
        assert second.success
    kickoffs = server.state.kickoffs
    assert len(kickoffs) == 2 and "_since" not in kickoffs[0]
    assert kickoffs[1]["_since"] == transaction_time
    with duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw_ehr.fhir_resources").fetchone()[0] == 5


def test_an_unnamed_server_fails_the_step_in_one_sentence(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("CARELEDGER_FHIR_BASE", raising=False)
    with DagsterInstance.ephemeral() as instance:
        result = _materialize(tmp_path, instance)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    text = failure.step_failure_data.error.message
    assert "CARELEDGER_FHIR_BASE is not set" in text and "Traceback" not in text


def test_the_schedule_skips_until_a_server_is_named(monkeypatch) -> None:
    monkeypatch.delenv("CARELEDGER_FHIR_BASE", raising=False)
    skipped = fhir_bulk_nightly_schedule(build_schedule_context())
    assert isinstance(skipped, SkipReason) and "CARELEDGER_FHIR_BASE" in skipped.skip_message
    monkeypatch.setenv("CARELEDGER_FHIR_BASE", "https://fhir.example.org/r4")
    assert isinstance(fhir_bulk_nightly_schedule(build_schedule_context()), RunRequest)


def test_the_job_runs_the_export_before_the_fhir_models() -> None:
    from careledger.orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    raw = AssetKey(["raw_ehr", "fhir_resources"])
    assert FHIR_EXPORT_KEY in graph.get(raw).parent_keys
    job = defs.resolve_job_def(fhir_bulk_job.name)
    selected = set(job.asset_layer.executable_asset_keys)
    assert FHIR_EXPORT_KEY in selected and raw in selected
    assert any(k.path[0] == "staging" and "fhir" in k.path[-1] for k in selected)
