"""Sensors and schedules evaluated with Dagster's test contexts."""

from __future__ import annotations

import json

import duckdb
from dagster import DagsterInstance, RunRequest, SkipReason, build_schedule_context, build_sensor_context

from careledger.orchestration.automation import (
    adt_drop_sensor,
    billing_hourly_schedule,
    daily_finance_schedule,
    month_close_schedule,
    posting_sla_sensor,
)


def test_adt_sensor_requests_a_run_for_new_files_only(tmp_path, monkeypatch):
    monkeypatch.setenv("CARELEDGER_HOME", str(tmp_path))
    drop = tmp_path / "landing" / "ehr" / "adt"
    drop.mkdir(parents=True)
    with DagsterInstance.ephemeral() as instance:
        ctx = build_sensor_context(instance=instance)
        assert isinstance(adt_drop_sensor(ctx), SkipReason)

        (drop / "adt_0001.hl7").write_text("MSH|^~\\&|EHR|H1|CL|CL|20260301120000||ADT^A01|1|P|2.5\r")
        ctx = build_sensor_context(instance=instance)
        result = adt_drop_sensor(ctx)
        assert isinstance(result, RunRequest)
        assert "adt_0001.hl7" in result.tags["careledger/new_adt_files"]

        # the same files again: nothing new
        ctx2 = build_sensor_context(instance=instance, cursor=ctx.cursor)
        assert isinstance(adt_drop_sensor(ctx2), SkipReason)

        (drop / "adt_0002.hl7").write_text("MSH|^~\\&|EHR|H1|CL|CL|20260301130000||ADT^A03|2|P|2.5\r")
        ctx3 = build_sensor_context(instance=instance, cursor=ctx.cursor)
        result = adt_drop_sensor(ctx3)
        assert isinstance(result, RunRequest)
        assert result.tags["careledger/new_adt_files"] == "adt_0002.hl7"


def test_sla_sensor_raises_alert_when_posting_is_late(tmp_path, monkeypatch):
    monkeypatch.setenv("CARELEDGER_HOME", str(tmp_path))
    monkeypatch.setenv("CARELEDGER_POSTING_DEADLINE", "00:00")  # always past the deadline
    with DagsterInstance.ephemeral() as instance:
        ctx = build_sensor_context(instance=instance)
        result = posting_sla_sensor(ctx)
        assert "ALERT" in result.skip_message
        with duckdb.connect(str(tmp_path / "ops.duckdb")) as con:
            rows = con.execute("select alert_type, message from alerts").fetchall()
        assert len(rows) == 1 and rows[0][0] == "posting_sla"
        # alerted once per business date
        again = posting_sla_sensor(build_sensor_context(instance=instance, cursor=ctx.cursor))
        assert "already alerted" in again.skip_message


def test_sla_sensor_quiet_when_posting_done(tmp_path, monkeypatch):
    from datetime import date, timedelta

    monkeypatch.setenv("CARELEDGER_HOME", str(tmp_path))
    monkeypatch.setenv("CARELEDGER_POSTING_DEADLINE", "00:00")
    status = tmp_path / "exports" / "posting_status.json"
    status.parent.mkdir(parents=True)
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    status.write_text(json.dumps({t: {"last_posted_date": yesterday} for t in ("oracle", "json")}))
    with DagsterInstance.ephemeral() as instance:
        result = posting_sla_sensor(build_sensor_context(instance=instance))
    assert "ALERT" not in result.skip_message
    assert not (tmp_path / "ops.duckdb").exists()


def test_schedules_target_the_right_jobs():
    from careledger.orchestration.definitions import defs

    assert billing_hourly_schedule.job_name == "billing_hourly"
    assert billing_hourly_schedule.cron_schedule == "5 * * * *"
    assert defs.resolve_schedule_def(daily_finance_schedule.name).job_name == "daily_finance"
    assert defs.resolve_schedule_def(month_close_schedule.name).job_name == "month_close"
    with DagsterInstance.ephemeral() as instance:
        ctx = build_schedule_context(instance=instance)
        req = next(iter(billing_hourly_schedule.evaluate_tick(ctx).run_requests))
        assert isinstance(req, RunRequest)
