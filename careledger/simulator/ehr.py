"""EHR exports: FHIR R4 bulk-data NDJSON and HL7 v2.5 ADT, built with polars string
expressions (no per-record Python objects).

Text values that go into JSON come from controlled vocabularies (no quotes or backslashes),
so JSON is assembled with ``concat_str`` templates; tests validate every line with
``fhir.resources`` R4B models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from careledger.simulator.network import Network

TZ = "-06:00"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
MRN_SYSTEM = "urn:careledger:mrn"


def q(e: pl.Expr | str) -> pl.Expr:
    """A JSON string literal of an expression (values are plain text)."""
    x = pl.col(e) if isinstance(e, str) else e
    return pl.concat_str([pl.lit('"'), x, pl.lit('"')])


def j(*parts: pl.Expr | str) -> pl.Expr:
    return pl.concat_str([p if isinstance(p, pl.Expr) else pl.lit(p) for p in parts])


def ts_fhir(col: str) -> pl.Expr:
    return pl.col(col).dt.strftime("%Y-%m-%dT%H:%M:%S") + TZ


def ts_hl7(col: str) -> pl.Expr:
    return pl.col(col).dt.strftime("%Y%m%d%H%M%S")


# ----------------------------------------------------------------------------- FHIR


@dataclass(frozen=True)
class FhirOutput:
    files: dict[str, pl.Series]  # resource type -> NDJSON lines (in file order)
    encounter_versions: pl.DataFrame  # enc_idx, version, status, last_updated, line_no, out_of_order


def organizations(net: Network) -> pl.Series:
    f = net.facilities
    fac = f.select(
        j(
            '{"resourceType":"Organization","id":',
            q("ehr_org_id"),
            ',"identifier":[{"system":"',
            NPI_SYSTEM,
            '","value":',
            q("npi"),
            "}]",
            ',"active":true,"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/organization-type","code":"prov","display":"Healthcare Provider"}]}]',
            ',"name":',
            q("facility_name"),
            ',"address":[{"line":[',
            q("address_line"),
            '],"city":',
            q("city"),
            ',"state":',
            q("state"),
            ',"postalCode":',
            q("zip"),
            "}]}",
        ).alias("l")
    )
    pay = net.payers.select(
        j(
            '{"resourceType":"Organization","id":',
            q("ehr_org_id"),
            ',"active":true,"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/organization-type","code":"pay","display":"Payer"}]}]',
            ',"name":',
            q("payer_name"),
            "}",
        ).alias("l")
    )
    return pl.concat([fac, pay])["l"]


def locations(net: Network) -> pl.Series:
    f = net.facilities.select(
        j(
            '{"resourceType":"Location","id":',
            q("ehr_location_id"),
            ',"status":"active","name":',
            q("facility_name"),
            ',"mode":"instance","physicalType":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/location-physical-type","code":"bu","display":"Building"}]}',
            ',"address":{"line":[',
            q("address_line"),
            '],"city":',
            q("city"),
            ',"state":',
            q("state"),
            ',"postalCode":',
            q("zip"),
            "}",
            ',"managingOrganization":{"reference":"Organization/',
            pl.col("ehr_org_id"),
            '"}}',
        ).alias("l")
    )
    d = net.departments.join(
        net.facilities.select("facility_idx", "ehr_location_id", "ehr_org_id"),
        on="facility_idx",
        how="left",
        maintain_order="left",
    ).select(
        j(
            '{"resourceType":"Location","id":',
            q("ehr_code"),
            ',"status":"active","name":',
            q("department_name"),
            ',"mode":"instance","physicalType":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/location-physical-type","code":"wa","display":"Ward"}]}',
            ',"managingOrganization":{"reference":"Organization/',
            pl.col("ehr_org_id"),
            '"}',
            ',"partOf":{"reference":"Location/',
            pl.col("ehr_location_id"),
            '"}}',
        ).alias("l")
    )
    return pl.concat([f, d])["l"]


def practitioners(net: Network) -> tuple[pl.Series, pl.Series]:
    p = net.providers.join(
        net.departments.select("dept_idx", "ehr_code", "department_name"),
        on="dept_idx",
        how="left",
        maintain_order="left",
    ).join(net.facilities.select("facility_idx", "ehr_org_id"), on="facility_idx", how="left", maintain_order="left")
    gender = pl.when(pl.col("sex") == "F").then(pl.lit("female")).otherwise(pl.lit("male"))
    prac = p.select(
        j(
            '{"resourceType":"Practitioner","id":',
            q("practitioner_id"),
            ',"identifier":[{"system":"',
            NPI_SYSTEM,
            '","value":',
            q("npi"),
            "}]",
            ',"active":true,"name":[{"family":',
            q("family"),
            ',"given":[',
            q("given"),
            '],"prefix":["Dr."]}]',
            ',"gender":',
            q(gender),
            "}",
        ).alias("l")
    )["l"]
    role = p.select(
        j(
            '{"resourceType":"PractitionerRole","id":"PRR-',
            pl.col("practitioner_id"),
            '","active":true',
            ',"practitioner":{"reference":"Practitioner/',
            pl.col("practitioner_id"),
            '"}',
            ',"organization":{"reference":"Organization/',
            pl.col("ehr_org_id"),
            '"}',
            ',"location":[{"reference":"Location/',
            pl.col("ehr_code"),
            '"}]',
            ',"specialty":[{"text":',
            q("service_line_code"),
            "}]}",
        ).alias("l")
    )["l"]
    return prac, role


def build_fhir(
    rng: np.random.Generator,
    *,
    encounters: pl.DataFrame,
    patients: pl.DataFrame,
    net: Network,
    as_of: date,
    faults: float,
) -> tuple[FhirOutput, pl.DataFrame]:
    """All FHIR NDJSON files. Returns the output and the out-of-order fault rows."""
    as_of_ts = pl.lit(np.datetime64(as_of, "ms")).cast(pl.Datetime("ms"))
    enc = encounters
    used = enc.select("patient_idx").unique()
    pats = patients.join(used, on="patient_idx", how="semi").sort("patient_idx", maintain_order=True)
    gender = pl.when(pl.col("sex") == "F").then(pl.lit("female")).otherwise(pl.lit("male"))
    patient = pats.select(
        j(
            '{"resourceType":"Patient","id":',
            q("patient_id"),
            ',"identifier":[{"use":"usual","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":"',
            MRN_SYSTEM,
            '","value":',
            q("mrn"),
            "}",
            ',{"system":"http://hl7.org/fhir/sid/us-ssn","value":',
            q(pl.col("ssn").str.replace_all("-", "")),
            "}]",
            ',"active":true,"name":[{"use":"official","family":',
            q("family"),
            ',"given":[',
            q("given"),
            ",",
            q("middle"),
            "]}]",
            ',"telecom":[{"system":"phone","value":',
            q("phone"),
            ',"use":"home"}]',
            ',"gender":',
            q(gender),
            ',"birthDate":',
            q(pl.col("birth_date").dt.strftime("%Y-%m-%d")),
            ',"address":[{"use":"home","line":[',
            q("address_line"),
            '],"city":',
            q("city"),
            ',"state":',
            q("state"),
            ',"postalCode":',
            q("zip"),
            "}]}",
        ).alias("l")
    )["l"]
    cov = (
        pats.filter(pl.col("member_id").is_not_null())
        .join(
            net.payers.select("payer_idx", "ehr_org_id", "payer_name"),
            on="payer_idx",
            how="left",
            maintain_order="left",
        )
        .select(
            j(
                '{"resourceType":"Coverage","id":"COV-',
                pl.col("patient_id"),
                '","status":"active"',
                ',"subscriberId":',
                q("member_id"),
                ',"beneficiary":{"reference":"Patient/',
                pl.col("patient_id"),
                '"}',
                ',"relationship":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/subscriber-relationship","code":"self"}]}',
                ',"payor":[{"reference":"Organization/',
                pl.col("ehr_org_id"),
                '","display":',
                q("payer_name"),
                "}]",
                ',"class":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/coverage-class","code":"group"}]},"value":',
                q("group_number"),
                "}]}",
            ).alias("l")
        )["l"]
    )

    # ---- encounter versions
    n = enc.height
    lead = rng.integers(1, 21, n) * 86400 + rng.integers(0, 8 * 3600, n)
    prog = rng.integers(5 * 60, 60 * 60, n)
    cancel_after = rng.integers(10 * 60, 120 * 60, n)
    conditional = rng.random(n) < 0.1
    amb = (enc["enc_class"] == "AMB").to_numpy()
    start = enc["start_ts"].to_numpy()
    v1_ts = np.where(amb, start - lead.astype("timedelta64[s]"), start)
    v2_ts = np.where(amb, start, start + prog.astype("timedelta64[s]"))
    cancelled = enc["cancelled"].to_numpy()
    v2_ts = np.where(
        cancelled,
        np.where(amb, start - cancel_after.astype("timedelta64[s]"), start + cancel_after.astype("timedelta64[s]")),
        v2_ts,
    )
    base = enc.select(
        "enc_idx",
        "encounter_id",
        "patient_idx",
        "provider_idx",
        "dept_idx",
        "facility_idx",
        "enc_class",
        "start_ts",
        "end_ts",
        "cancelled",
    ).with_columns(conditional=pl.Series(conditional))
    v1 = base.with_columns(
        version=pl.lit(1),
        status=pl.when(pl.col("enc_class") == "AMB").then(pl.lit("planned")).otherwise(pl.lit("arrived")),
        last_updated=pl.Series(v1_ts.astype("datetime64[ms]")),
    )
    v2 = base.with_columns(
        version=pl.lit(2),
        status=pl.when(pl.col("cancelled")).then(pl.lit("cancelled")).otherwise(pl.lit("in-progress")),
        last_updated=pl.Series(v2_ts.astype("datetime64[ms]")),
    )
    v3 = base.filter(~pl.col("cancelled")).with_columns(
        version=pl.lit(3), status=pl.lit("finished"), last_updated=pl.col("end_ts")
    )
    versions = pl.concat([v1, v2, v3]).filter(pl.col("last_updated") < as_of_ts)
    # out-of-order delivery: the finished version lands before the in-progress one
    ooo_enc = versions.filter(pl.col("version") == 3).select("enc_idx")
    pick = rng.random(ooo_enc.height) < faults
    ooo = ooo_enc.filter(pl.Series(pick))
    versions = versions.join(
        ooo.with_columns(out_of_order=pl.lit(True)), on="enc_idx", how="left", maintain_order="left"
    ).with_columns(pl.col("out_of_order").fill_null(False))
    v2_time = versions.filter(pl.col("version") == 2).select("enc_idx", pl.col("last_updated").alias("_v2"))
    versions = (
        versions.join(v2_time, on="enc_idx", how="left", maintain_order="left")
        .with_columns(
            sort_ts=pl.when(pl.col("out_of_order") & (pl.col("version") == 3))
            .then(pl.col("_v2"))
            .otherwise(pl.col("last_updated")),
            sort_v=pl.when(pl.col("out_of_order") & (pl.col("version") == 3))
            .then(pl.lit(0))
            .otherwise(pl.col("version")),
        )
        .sort("sort_ts", "enc_idx", "sort_v", maintain_order=True)
        .drop("_v2", "sort_ts", "sort_v")
    )
    versions = versions.with_row_index("line_no", offset=1).with_columns(pl.col("line_no").cast(pl.Int64))
    v = (
        versions.join(
            patients.select("patient_idx", "patient_id", "mrn"), on="patient_idx", how="left", maintain_order="left"
        )
        .join(
            net.providers.select("provider_idx", "practitioner_id"),
            on="provider_idx",
            how="left",
            maintain_order="left",
        )
        .join(net.departments.select("dept_idx", "ehr_code"), on="dept_idx", how="left", maintain_order="left")
        .join(net.facilities.select("facility_idx", "ehr_org_id"), on="facility_idx", how="left", maintain_order="left")
        .sort("line_no", maintain_order=True)
    )
    subject = (
        pl.when(pl.col("conditional"))
        .then(j("Patient?identifier=", MRN_SYSTEM, "|", pl.col("mrn")))
        .otherwise(j("Patient/", pl.col("patient_id")))
    )
    cls_display = pl.col("enc_class").replace_strict(
        {"IMP": "inpatient encounter", "EMER": "emergency", "AMB": "ambulatory"}
    )
    finished = pl.col("status") == "finished"
    period = (
        pl.when(finished)
        .then(j(',"period":{"start":', q(ts_fhir("start_ts")), ',"end":', q(ts_fhir("end_ts")), "}"))
        .otherwise(j(',"period":{"start":', q(ts_fhir("start_ts")), "}"))
    )
    hosp = (
        pl.when(finished & (pl.col("enc_class") == "IMP"))
        .then(
            pl.lit(
                ',"hospitalization":{"dischargeDisposition":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/discharge-disposition","code":"home","display":"Home"}]}}'
            )
        )
        .otherwise(pl.lit(""))
    )
    encounter = v.select(
        j(
            '{"resourceType":"Encounter","id":',
            q("encounter_id"),
            ',"meta":{"versionId":',
            q(pl.col("version").cast(pl.Utf8)),
            ',"lastUpdated":',
            q(ts_fhir("last_updated")),
            "}",
            ',"identifier":[{"system":"urn:careledger:visit","value":',
            q("encounter_id"),
            "}]",
            ',"status":',
            q("status"),
            ',"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":',
            q("enc_class"),
            ',"display":',
            q(cls_display),
            "}",
            ',"subject":{"reference":',
            q(subject),
            "}",
            ',"participant":[{"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"ATND","display":"attender"}]}],"individual":{"reference":"Practitioner/',
            pl.col("practitioner_id"),
            '"}}]',
            period,
            hosp,
            ',"location":[{"location":{"reference":"Location/',
            pl.col("ehr_code"),
            '"}}]',
            ',"serviceProvider":{"reference":"Organization/',
            pl.col("ehr_org_id"),
            '"}}',
        ).alias("l")
    )["l"]

    # ---- conditions and procedures (recorded at the start of the visit)
    live = (
        enc.filter(~pl.col("cancelled") & (pl.col("start_ts") < as_of_ts))
        .join(patients.select("patient_idx", "patient_id"), on="patient_idx", how="left", maintain_order="left")
        .join(
            net.providers.select("provider_idx", "practitioner_id"),
            on="provider_idx",
            how="left",
            maintain_order="left",
        )
    )
    condition = live.select(
        j(
            '{"resourceType":"Condition","id":"COND-',
            pl.col("encounter_id"),
            '"',
            ',"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]}',
            ',"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]}',
            ',"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"encounter-diagnosis"}]}]',
            ',"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":',
            q("dx_code"),
            ',"display":',
            q("dx_desc"),
            "}]}",
            ',"subject":{"reference":"Patient/',
            pl.col("patient_id"),
            '"}',
            ',"encounter":{"reference":"Encounter/',
            pl.col("encounter_id"),
            '"}',
            ',"recordedDate":',
            q(ts_fhir("start_ts")),
            "}",
        ).alias("l")
    )["l"]
    procedure = live.filter(pl.col("primary_procedure").is_not_null()).select(
        j(
            '{"resourceType":"Procedure","id":"PROC-',
            pl.col("encounter_id"),
            '","status":"completed"',
            ',"code":{"coding":[{"system":"http://www.ama-assn.org/go/cpt","code":',
            q("primary_procedure"),
            "}]}",
            ',"subject":{"reference":"Patient/',
            pl.col("patient_id"),
            '"}',
            ',"encounter":{"reference":"Encounter/',
            pl.col("encounter_id"),
            '"}',
            ',"performedDateTime":',
            q(ts_fhir("start_ts")),
            ',"performer":[{"actor":{"reference":"Practitioner/',
            pl.col("practitioner_id"),
            '"}}]}',
        ).alias("l")
    )["l"]
    prac, role = practitioners(net)
    files = {
        "Organization": organizations(net),
        "Location": locations(net),
        "Practitioner": prac,
        "PractitionerRole": role,
        "Patient": patient,
        "Coverage": cov,
        "Encounter": encounter,
        "Condition": condition,
        "Procedure": procedure,
    }
    ooo_rows = versions.filter(pl.col("out_of_order") & (pl.col("version") == 3)).select("enc_idx", "line_no")
    return FhirOutput(
        files=files,
        encounter_versions=versions.select("enc_idx", "version", "status", "last_updated", "line_no", "out_of_order"),
    ), ooo_rows


# ----------------------------------------------------------------------------- HL7 ADT

MESSAGE_STRUCTURE = {
    "A01": "ADT_A01",
    "A03": "ADT_A03",
    "A04": "ADT_A01",
    "A08": "ADT_A01",
    "A11": "ADT_A09",
    "A13": "ADT_A01",
    "A40": "ADT_A39",
}


def build_adt_events(
    rng: np.random.Generator,
    *,
    encounters: pl.DataFrame,
    claims: pl.DataFrame,
    as_of: date,
    faults: float,
) -> pl.DataFrame:
    """One row per ADT message: enc_idx, event, event_ts, flags (merge, late A08)."""
    e = encounters.filter(pl.col("enc_class").is_in(["IMP", "EMER"]))
    n = e.height
    start = e["start_ts"].to_numpy()
    end = e["end_ts"].to_numpy()
    cls = e["enc_class"].to_numpy()
    cancelled = e["cancelled"].to_numpy()
    dur = (end - start).astype("timedelta64[s]").astype(np.int64)
    rows = []

    def add(mask: np.ndarray, event: str, ts: np.ndarray, extra: dict | None = None) -> None:
        d = {"enc_idx": e["enc_idx"].to_numpy()[mask], "event": event, "event_ts": ts[mask].astype("datetime64[ms]")}
        for k2, v2 in (extra or {}).items():
            d[k2] = v2[mask] if isinstance(v2, np.ndarray) else v2
        # an empty mask (a small system without, say, any merge) must keep the column types,
        # or the diagonal concat below meets a Null-typed enc_idx
        schema = {"enc_idx": e["enc_idx"].dtype, "event": pl.Utf8, "event_ts": pl.Datetime("ms")}
        rows.append(pl.DataFrame(d).cast(schema))

    add(cls == "IMP", "A01", start)
    add(cls == "EMER", "A04", start)
    # A08 updates while the patient is in house
    n_upd = np.where(cancelled, 0, np.where(cls == "IMP", rng.integers(1, 4, n), rng.integers(0, 2, n)))
    for k in range(3):
        m = n_upd > k
        frac = rng.uniform(0.05, 0.95, n)
        add(m, "A08", start + (dur * frac).astype("timedelta64[s]"))
    cancel_ts = start + rng.integers(600, 7200, n).astype("timedelta64[s]")
    add(cancelled, "A11", cancel_ts)
    add(~cancelled, "A03", end)
    # discharge cancelled then re-sent (A13 + A03)
    a13 = ~cancelled & (cls == "IMP") & (rng.random(n) < 0.03)
    a13_ts = end + rng.integers(3600, 4 * 3600, n).astype("timedelta64[s]")
    add(a13, "A13", a13_ts)
    add(a13, "A03", a13_ts + rng.integers(1800, 3 * 3600, n).astype("timedelta64[s]"))
    # merges: registration under a temporary duplicate MRN, merged a few hours later
    merged = ~cancelled & (rng.random(n) < 0.004)
    merge_ts = start + np.minimum(dur // 2, rng.integers(1800, 6 * 3600, n)).astype("timedelta64[s]")
    add(merged, "A40", merge_ts)
    ev = pl.concat(rows, how="diagonal")
    ev = ev.join(
        pl.DataFrame(
            {"enc_idx": e["enc_idx"].to_numpy()[merged], "merge_ts": merge_ts[merged].astype("datetime64[ms]")}
        ),
        on="enc_idx",
        how="left",
        maintain_order="left",
    )
    ev = ev.with_columns(
        temp_mrn=pl.col("merge_ts").is_not_null() & (pl.col("event_ts") < pl.col("merge_ts")),
        is_late_a08=pl.lit(False),
    )
    # fault: A08 after the claim went out
    sub = (
        claims.filter(pl.col("freq") == 1)
        .select("enc_idx", "submitted_date")
        .join(e.select("enc_idx", "enc_class"), on="enc_idx", how="inner", maintain_order="left")
    )
    m = rng.random(sub.height) < faults
    late = sub.filter(pl.Series(m))
    late = late.with_columns(
        event_ts=(
            pl.col("submitted_date").cast(pl.Datetime("ms"))
            + pl.duration(seconds=pl.Series(rng.integers(86400, 5 * 86400, late.height)))
        ),
    ).select("enc_idx", pl.lit("A08").alias("event"), "event_ts", pl.lit(True).alias("is_late_a08"))
    ev = pl.concat(
        [ev, late.with_columns(temp_mrn=pl.lit(False), merge_ts=pl.lit(None, pl.Datetime("ms")))],
        how="diagonal_relaxed",
    )
    as_of_ts = np.datetime64(as_of, "ms")
    ev = ev.filter(pl.col("event_ts") < pl.lit(as_of_ts).cast(pl.Datetime("ms")))
    event_order = pl.col("event").replace_strict(
        {"A01": 0, "A04": 0, "A08": 1, "A40": 1, "A11": 2, "A03": 2, "A13": 3}, return_dtype=pl.Int64
    )
    return ev.with_columns(_o=event_order).sort("event_ts", "enc_idx", "_o", maintain_order=True).drop("_o")


def build_hl7(
    rng: np.random.Generator,
    *,
    events: pl.DataFrame,
    encounters: pl.DataFrame,
    patients: pl.DataFrame,
    net: Network,
    faults: float,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """HL7 ADT messages grouped into daily files.

    Returns (messages: file, msg_index, text, enc_idx, event, is_late_a08, out_of_order),
    and the injected malformed messages (file, msg_index).
    """
    e = (
        events.with_row_index("msg_seq")
        .join(
            encounters.select(
                "enc_idx",
                "encounter_id",
                "patient_idx",
                "facility_idx",
                "dept_idx",
                "provider_idx",
                "enc_class",
                "start_ts",
                "end_ts",
                "dx_code",
                "dx_desc",
                "primary_procedure",
                "drg_code",
            ),
            on="enc_idx",
            how="left",
            maintain_order="left",
        )
        .join(
            patients.select(
                "patient_idx",
                "mrn",
                "family",
                "given",
                "middle",
                "birth_date",
                "sex",
                "address_line",
                "city",
                "state",
                "zip",
                "phone",
                "ssn",
                "payer_idx",
                "member_id",
                "group_number",
            ),
            on="patient_idx",
            how="left",
            maintain_order="left",
        )
        .join(
            net.facilities.select("facility_idx", "facility_name", "ehr_location_id", "facility_num"),
            on="facility_idx",
            how="left",
            maintain_order="left",
        )
        .join(
            net.departments.select("dept_idx", "ehr_code", "hospital_service"),
            on="dept_idx",
            how="left",
            maintain_order="left",
        )
        .join(
            net.providers.select(
                "provider_idx",
                pl.col("npi").alias("prov_npi"),
                pl.col("family").alias("prov_family"),
                pl.col("given").alias("prov_given"),
            ),
            on="provider_idx",
            how="left",
            maintain_order="left",
        )
        .join(
            net.payers.select("payer_idx", "payer_name", "ehr_org_id", "payer_code"),
            on="payer_idx",
            how="left",
            maintain_order="left",
        )
        .sort("msg_seq", maintain_order=True)
    )
    temp_mrn = "MRN" + ((pl.col("mrn").str.slice(3).cast(pl.Int64) + 50_000_000) % 100_000_000).cast(pl.Utf8).str.zfill(
        8
    )
    e = e.with_columns(pid_mrn=pl.when(pl.col("temp_mrn")).then(temp_mrn).otherwise(pl.col("mrn")), prior_mrn=temp_mrn)
    ev = pl.col("event")
    msg_ts = ts_hl7("event_ts")
    msh = j(
        "MSH|^~\\&|EPICADT|",
        pl.col("ehr_location_id"),
        "|CARELEDGER|CARELEDGER|",
        msg_ts,
        "||ADT^",
        ev,
        "^",
        ev.replace_strict(MESSAGE_STRUCTURE),
        "|MSG",
        pl.col("msg_seq").cast(pl.Utf8).str.zfill(10),
        "|P|2.5",
    )
    evn = j("EVN|", ev, "|", msg_ts, "|||ADTUSER")
    pid_mrn_col = pl.when(ev == "A40").then(pl.col("mrn")).otherwise(pl.col("pid_mrn"))
    pid = j(
        "PID|1||",
        pid_mrn_col,
        "^^^CARELEDGER^MR||",
        pl.col("family").str.to_uppercase(),
        "^",
        pl.col("given").str.to_uppercase(),
        "^",
        pl.col("middle"),
        "||",
        pl.col("birth_date").dt.strftime("%Y%m%d"),
        "|",
        pl.col("sex"),
        "|||",
        pl.col("address_line"),
        "^^",
        pl.col("city"),
        "^",
        pl.col("state"),
        "^",
        pl.col("zip"),
        "||",
        pl.col("phone"),
        "||||||",
        pl.col("ssn").str.replace_all("-", ""),
    )
    pd1 = j("PD1|||", pl.col("facility_name"), "^^", pl.col("facility_num").cast(pl.Utf8))
    patient_class = pl.when(pl.col("enc_class") == "IMP").then(pl.lit("I")).otherwise(pl.lit("E"))
    room = (
        pl.when(pl.col("enc_class") == "IMP")
        .then(pl.concat_str([pl.lit("R"), ((pl.col("enc_idx") * 7919) % 400 + 100).cast(pl.Utf8)]))
        .otherwise(pl.concat_str([pl.lit("ED"), ((pl.col("enc_idx") * 31) % 30 + 1).cast(pl.Utf8)]))
    )
    bed = pl.when((pl.col("enc_idx") % 2) == 0).then(pl.lit("A")).otherwise(pl.lit("B"))
    discharge = ev.is_in(["A03"])
    admit_source = pl.when(pl.col("enc_class") == "EMER").then(pl.lit("7")).otherwise(pl.lit("1"))
    pv1_fields = [
        "PV1|1|",
        patient_class,
        "|",
        pl.col("ehr_code"),
        "^",
        room,
        "^",
        bed,
        "^",
        pl.col("ehr_location_id"),
        "|",
        pl.when(pl.col("enc_class") == "EMER").then(pl.lit("E")).otherwise(pl.lit("U")),
        "|||",
        pl.col("prov_npi"),
        "^",
        pl.col("prov_family").str.to_uppercase(),
        "^",
        pl.col("prov_given").str.to_uppercase(),
        "|||",
        pl.col("hospital_service"),
        "||||",
        admit_source,
        "|||||",
        pl.col("encounter_id"),
        "|||||||||||||||||",
        pl.when(discharge).then(pl.lit("01")).otherwise(pl.lit("")),
        "||||||||",
        ts_hl7("start_ts"),
        "|",
        pl.when(discharge).then(ts_hl7("end_ts")).otherwise(pl.lit("")),
    ]
    pv1 = j(*pv1_fields)
    pv2 = j("PV2|||", pl.col("dx_code"), "^", pl.col("dx_desc"), "^I10")
    dg1 = j(
        "DG1|1||",
        pl.col("dx_code"),
        "^",
        pl.col("dx_desc"),
        "^I10||",
        ts_hl7("start_ts"),
        "|",
        pl.when(discharge).then(pl.lit("F")).otherwise(pl.lit("A")),
    )
    pr1 = pl.when(discharge & pl.col("primary_procedure").is_not_null() & (pl.col("enc_class") == "IMP")).then(
        j("PR1|1||", pl.col("primary_procedure"), "^^C4||", ts_hl7("start_ts"))
    )
    in1 = pl.when(pl.col("member_id").is_not_null()).then(
        j(
            "IN1|1|",
            pl.col("payer_code"),
            "|",
            pl.col("ehr_org_id"),
            "|",
            pl.col("payer_name").str.to_uppercase(),
            "||||",
            pl.col("group_number"),
            "|||||||||||||||||||||||||||",
            pl.col("member_id"),
        )
    )
    mrg = j("MRG|", pl.col("prior_mrn"), "^^^CARELEDGER^MR")
    full = ev.is_in(["A01", "A04", "A08"])
    text = (
        pl.when(full)
        .then(pl.concat_str([msh, evn, pid, pd1, pv1, pv2, dg1, in1], separator="\r", ignore_nulls=True))
        .when(ev == "A03")
        .then(pl.concat_str([msh, evn, pid, pv1, dg1, pr1], separator="\r", ignore_nulls=True))
        .when(ev == "A40")
        .then(pl.concat_str([msh, evn, pid, pd1, mrg], separator="\r"))
        .otherwise(pl.concat_str([msh, evn, pid, pv1], separator="\r"))
    ) + "\r"
    msgs = e.select(
        "msg_seq",
        "enc_idx",
        "event",
        "event_ts",
        "is_late_a08",
        "temp_mrn",
        file_day=pl.col("event_ts").dt.date(),
        text=text,
    )
    # fault: out-of-order delivery, a message that arrives in the next day's file
    ooo = (rng.random(msgs.height) < faults) & (msgs["event"] == "A08").to_numpy()
    msgs = msgs.with_columns(out_of_order=pl.Series(ooo)).with_columns(
        file_day=pl.when(pl.col("out_of_order"))
        .then(pl.col("file_day") + pl.duration(days=1))
        .otherwise(pl.col("file_day")),
        _k=pl.when(pl.col("out_of_order")).then(pl.lit(0)).otherwise(pl.lit(1)),
    )
    # fault: malformed message: a copy truncated in the middle of its MSH segment
    bad = rng.random(msgs.height) < faults
    trunc = msgs.filter(pl.Series(bad)).with_columns(
        text=pl.col("text").str.slice(0, 24) + "\r",
        event=pl.lit("MALFORMED"),
        is_late_a08=pl.lit(False),
        out_of_order=pl.lit(False),
        _k=pl.lit(1),
    )
    msgs = pl.concat([msgs.with_columns(malformed=pl.lit(False)), trunc.with_columns(malformed=pl.lit(True))])
    msgs = (
        msgs.sort("file_day", "_k", "event_ts", "msg_seq", "malformed", maintain_order=True)
        .with_columns(
            file=pl.concat_str([pl.lit("ehr/adt/adt_"), pl.col("file_day").dt.strftime("%Y%m%d"), pl.lit(".hl7")]),
        )
        .with_columns(msg_index=pl.int_range(1, pl.len() + 1).over("file"))
        .drop("_k")
    )
    return msgs, msgs.filter(pl.col("malformed")).select("file", "msg_index")
