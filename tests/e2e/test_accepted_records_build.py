"""Accepted records that used to break the build (issue #23, docs/reliability.md "Accepted records
that broke the build").

On a small simulated health system, four records are made bad the way real exports are:

- an Encounter ``period.start`` of ``2025-13-45T99:99:99Z``;
- a Patient ``birthDate`` of ``2025-02-30`` and another of the JSON number ``19800101``;
- an HL7 ADT file that repeats its first message.

Before, each failed ``careledger refresh`` on its own: ``dbt.safe_cast`` is a plain cast on
DuckDB (``Conversion Error: date field value out of range: "2025-02-30"`` in
int_patients__fhir_mrns, holding back 13 models and 3 public marts), and the repeated message
gave two int_encounters__events rows with one primary key. Now each lands with a finding, the
build is green (exit 0, no model or test failed) and the encounters are still in the marts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

CARELEDGER = str(Path(sys.executable).parent / "careledger")


def _edit_line(path: Path, index: int, edit) -> dict:
    lines = path.read_text().splitlines()
    record = json.loads(lines[index])
    edit(record)
    lines[index] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    return record


@pytest.mark.e2e
def test_unreadable_dates_and_a_repeated_message_land_with_findings_and_build(tmp_path: Path) -> None:
    from careledger.simulator.simulator import synthesize

    landing, home = tmp_path / "landing", tmp_path / "home"
    synthesize(landing, encounters=120, seed=11, faults=0.0)
    fhir = landing / "ehr" / "fhir"
    encounter = _edit_line(fhir / "Encounter.ndjson", 0, lambda r: r["period"].update(start="2025-13-45T99:99:99Z"))
    _edit_line(fhir / "Patient.ndjson", 0, lambda r: r.update(birthDate="2025-02-30"))
    _edit_line(fhir / "Patient.ndjson", 1, lambda r: r.update(birthDate=19800101))
    adt = sorted((landing / "ehr" / "adt").glob("adt_*.hl7"))[0]
    text = adt.read_bytes().decode()  # not read_text: universal newlines would turn the segment CRs into LFs
    first = "MSH" + text.split("MSH")[1]
    adt.write_text(text.rstrip("\r\n") + "\r" + first.rstrip("\r\n") + "\r")
    visit = next(s for s in first.split("\r") if s.startswith("PV1")).split("|")[19]

    env = {k: v for k, v in os.environ.items() if k not in ("CARELEDGER_HOME", "DAGSTER_HOME", "CARELEDGER_LANDING")}
    env["COLUMNS"] = "200"
    proc = subprocess.run(
        [CARELEDGER, "--home", str(home), "refresh", "--landing", str(landing)], capture_output=True, text=True, env=env
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    assert "Traceback" not in out
    status = json.loads((home / "dbt_build_status.json").read_text())
    assert (status["failed_models"], status["failed_tests"], status["blocked_models"]) == ([], [], [])

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        findings = con.execute(
            "select f.rule, f.location, b.file_name from raw_meta.validation_findings f "
            "join raw_meta.batches b using (batch_id) "
            "where f.rule in ('BAD_DATE', 'BAD_DATETIME', 'DUPLICATE_CONTROL_ID') order by all"
        ).fetchall()
        assert findings == [
            ("BAD_DATE", "Patient.birthDate", "Patient.ndjson"),
            ("BAD_DATE", "Patient.birthDate", "Patient.ndjson"),
            ("BAD_DATETIME", "Encounter.period.start", "Encounter.ndjson"),
            ("DUPLICATE_CONTROL_ID", "MSH-10", adt.name),
        ], findings
        nulls = con.execute(
            "select count(*) filter (where birth_date is null) from staging.stg_ehr__fhir_patients"
        ).fetchone()[0]
        assert nulls >= 2
        (start,) = con.execute(
            "select period_start_at from staging.stg_ehr__fhir_encounters where encounter_id = ?", [encounter["id"]]
        ).fetchone()
        assert start is None
        # the repeated message is two events (one per record), one finalized encounter
        (events,) = con.execute(
            "select count(*) from intermediate.int_encounters__events e join raw_meta.batches b on b.batch_id = e._batch_id "
            "where b.file_name = ? and e.encounter_id = ? and e._source_record in (1, ?)",
            [adt.name, visit, text.count("MSH") + 1],
        ).fetchone()
        assert events == 2
        for encounter_id in (encounter["id"], visit):
            assert con.execute(
                "select count(*) from core.fct_encounters where encounter_id = ?", [encounter_id]
            ).fetchone() == (1,)
