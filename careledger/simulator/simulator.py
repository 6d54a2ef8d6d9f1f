"""careledger's synthetic health system: writes a landing folder laid out by source system
(EHR, billing, ERP) in the formats those systems really export, with optional fault
injection and a ground truth that a correct pipeline must reproduce.

Same seed and options give byte-identical files. Everything is generated in bulk with numpy
and polars; see ``docs/simulator.md``.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from careledger.simulator import ground_truth as gt
from careledger.simulator.bank import PATIENT_TX_FILE, BankOutput, bank_accounts, build_bank
from careledger.simulator.billing import Billing, build_billing
from careledger.simulator.catalog import build_catalog
from careledger.simulator.charges import ChargeFeed, build_charge_feed
from careledger.simulator.clinical import build_encounters, build_patients
from careledger.simulator.ehr import build_adt_events, build_fhir, build_hl7
from careledger.simulator.erp import Erp, build_erp
from careledger.simulator.network import Network, build_network, crosswalks
from careledger.simulator.reference import SEEDS_DIR, Reference, cents_to_str, money
from careledger.simulator.x12_835 import build_835, write_files

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

CLAIM_COLUMNS = [
    "claim_id",
    "claim_frequency_code",
    "original_claim_id",
    "patient_control_number",
    "encounter_id",
    "patient_mrn",
    "member_id",
    "payer_code",
    "billing_npi",
    "rendering_npi",
    "facility_code",
    "department_code",
    "claim_type",
    "bill_type",
    "drg_code",
    "admit_date",
    "discharge_date",
    "statement_from_date",
    "statement_to_date",
    "submitted_date",
    "line_number",
    "service_date",
    "procedure_code",
    "modifiers",
    "revenue_code",
    "units",
    "charge_amount",
    "place_of_service",
    "principal_diagnosis_code",
]
DENIAL_COLUMNS = [
    "event_id",
    "claim_id",
    "payer_code",
    "event_type",
    "event_date",
    "group_code",
    "carc_code",
    "amount",
    "work_queue",
    "note",
]
QUARANTINED_KINDS = {"malformed_json", "malformed_hl7", "x12_se_count_mismatch", "csv_bad_date", "csv_bad_amount"}
SKIPPED_KINDS = {"duplicate_file", "duplicate_record"}
OWN_TOP_LEVEL = {"ehr", "billing", "bank", "erp", "ground_truth", "ground_truth.json"}
STAGES = [
    "network",
    "clinical",
    "billing",
    "remits",
    "fhir",
    "adt",
    "claims_denials_erp",
    "duplicate_files",
    "bank",
    "ground_truth",
]


@dataclass
class SynthResult:
    out_dir: Path
    files: dict[str, int]
    rows: dict[str, int]
    elapsed_seconds: float
    ground_truth: Path
    faults: dict[str, int] = field(default_factory=dict)


@dataclass
class _Faults:
    records: dict[str, list[dict]] = field(default_factory=dict)

    def add(self, kind: str, rows: list[dict]) -> None:
        self.records.setdefault(kind, []).extend(rows)


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream]))


# records written per file (CSV data rows, NDJSON lines, HL7 messages, 835 transaction sets)
_RECORDS: ContextVar[dict[str, int]] = ContextVar("synth_records")


def _count(path: Path, n: int) -> None:
    _RECORDS.get()[str(path)] = n


def _write_lines(path: Path, lines: pl.Series, terminator: str = "\n") -> None:
    _count(path, lines.len())
    path.parent.mkdir(parents=True, exist_ok=True)
    if lines.len() == 0:
        path.write_bytes(b"")
        return
    pl.DataFrame({"l": lines}).write_csv(path, include_header=False, quote_style="never", line_terminator=terminator)


def _write_csv(path: Path, df: pl.DataFrame) -> None:
    _count(path, df.height)
    path.parent.mkdir(parents=True, exist_ok=True)
    # empty text is written as an unquoted empty field (= null), as the contract says
    df = df.with_columns(pl.col(pl.Utf8).replace("", None))
    df.write_csv(path, date_format="%Y-%m-%d", null_value="")


def _records(df: pl.DataFrame, file_col: str, idx_col: str, reason: pl.Expr | str) -> list[dict]:
    r = reason if isinstance(reason, pl.Expr) else pl.lit(reason)
    return df.select(file=pl.col(file_col), record_index=pl.col(idx_col), reason=r).to_dicts()


def synthesize(
    out_dir: Path,
    *,
    encounters: int = 2000,
    seed: int = 42,
    start_date: date = date(2026, 1, 1),
    days: int = 90,
    facilities: int = 4,
    faults: float = 0.0,
    unmapped_share: float = 0.02,
    dft_share: float = 0.3,
    bar_share: float = 0.3,
    progress: Progress | None = None,
) -> SynthResult:
    """Write a simulated landing folder with ground truth into ``out_dir``.

    ``out_dir`` must be new, empty, or a previous simulator output (which is replaced);
    a folder holding anything else is refused rather than deleted. ``faults`` is the per-record probability of each injected
    fault kind (0 for clean data); ``unmapped_share`` the share of crosswalk rows left out;
    ``dft_share`` the share of claimed encounters whose EHR charges (DFT^P03) the HL7 feed
    carries, ``bar_share`` the share of encounters, claimed or not yet billed, whose account
    events (BAR^P01/P05/P12) it carries.
    """
    if encounters < 1 or days < 1 or facilities < 1:
        raise ValueError("encounters, days and facilities must be positive")
    if not 0.0 <= faults < 0.5 or not 0.0 <= unmapped_share < 1.0:
        raise ValueError("faults must be in [0, 0.5) and unmapped_share in [0, 1)")
    if not (0.0 <= dft_share <= 1.0 and 0.0 <= bar_share <= 1.0):
        raise ValueError("dft_share and bar_share must be in [0, 1]")
    t0 = time.perf_counter()
    c0 = time.process_time()
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        foreign = sorted(p.name for p in out.iterdir() if p.name not in OWN_TOP_LEVEL)
        if foreign:
            raise ValueError(
                f"{out} holds files the simulator did not write ({', '.join(foreign[:5])}); "
                "choose an empty or new folder"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    as_of = start_date + timedelta(days=days)
    records: dict[str, int] = {}
    token = _RECORDS.set(records)
    try:
        return _synthesize(
            out,
            t0,
            c0,
            records,
            encounters=encounters,
            seed=seed,
            start_date=start_date,
            days=days,
            facilities=facilities,
            faults=faults,
            unmapped_share=unmapped_share,
            dft_share=dft_share,
            bar_share=bar_share,
            as_of=as_of,
            progress=progress,
        )
    finally:
        _RECORDS.reset(token)


def _synthesize(
    out: Path,
    t0: float,
    c0: float,
    records: dict[str, int],
    *,
    encounters: int,
    seed: int,
    start_date: date,
    days: int,
    facilities: int,
    faults: float,
    unmapped_share: float,
    dft_share: float,
    bar_share: float,
    as_of: date,
    progress: Progress | None,
) -> SynthResult:
    tick = progress or (lambda stage, done, total: None)

    def step(i: int) -> None:
        tick(STAGES[i], i + 1, len(STAGES))
        logger.info(
            "synth stage %s done at %.2fs wall, %.2fs cpu",
            STAGES[i],
            time.perf_counter() - t0,
            time.process_time() - c0,
        )

    ref = Reference.load(SEEDS_DIR)
    carc_category = {
        (g, c): k for g, c, k in ref.carc_categories.select("group_code", "carc_code", "category").iter_rows()
    }
    net = build_network(_rng(seed, 1), facilities)
    xwalk, dropped = crosswalks(net, _rng(seed, 2), unmapped_share)
    catalog = build_catalog(_rng(seed, 3), ref)
    step(0)
    patients = build_patients(_rng(seed, 4), max(20, int(encounters * 0.45)), net, start_date)
    enc = build_encounters(
        _rng(seed, 5), encounters, start=start_date, days=days, net=net, ref=ref, catalog=catalog, patients=patients
    )
    step(1)
    billing, bill_faults = build_billing(
        _rng(seed, 6),
        encounters=enc,
        patients=patients,
        net=net,
        catalog=catalog,
        as_of=as_of,
        faults=faults,
        carc_category=carc_category,
    )
    step(2)
    flt = _Faults()
    rows: dict[str, int] = {}
    frng = _rng(seed, 12)

    # ------------------------------------------------------------------ billing: 835 remits
    remits = build_835(_rng(seed, 7), billing, patients, net, faults=faults)
    write_files(out, remits.files)
    for fname, n_st in remits.transactions.group_by("file").len().iter_rows():
        _count(out / fname, n_st)
    remits = replace(remits, files=[])
    rows["remit_claims"] = billing.instances.height
    flt.add(
        "x12_se_count_mismatch",
        _records(
            remits.transactions.filter(pl.col("faulted")), "file", "st_index", "SE01 does not match the segment count"
        ),
    )
    step(3)

    # ------------------------------------------------------------------ EHR: FHIR
    fhir, fhir_ooo = build_fhir(_rng(seed, 8), encounters=enc, patients=patients, net=net, as_of=as_of, faults=faults)
    for rtype, lines in fhir.files.items():
        rel = f"ehr/fhir/{rtype}.ndjson"
        n = lines.len()
        bad = frng.random(n) < faults if rtype in ("Patient", "Encounter", "Condition") else np.zeros(n, bool)
        if bad.any():
            # a truncated copy of the line is inserted right after it
            pos = np.flatnonzero(bad)
            broken = lines.gather(pos).str.slice(0, 40)
            order = np.concatenate([np.arange(n) * 2, pos * 2 + 1])
            sort_idx = np.argsort(order, kind="stable")
            lines = pl.concat([lines, broken]).gather(sort_idx)
            new_index = np.empty(len(order), dtype=np.int64)
            new_index[sort_idx] = np.arange(len(order)) + 1
            flt.add(
                "malformed_json",
                [
                    {"file": rel, "record_index": int(i), "reason": "truncated JSON line"}
                    for i in new_index[n:].tolist()
                ],
            )
            if rtype == "Encounter":
                # out-of-order line numbers move with the insertions
                shift = np.searchsorted(np.sort(pos + 1), fhir_ooo["line_no"].to_numpy(), side="left")
                fhir_ooo = fhir_ooo.with_columns(line_no=pl.Series(fhir_ooo["line_no"].to_numpy() + shift))
        _write_lines(out / rel, lines)
        rows[f"fhir_{rtype}"] = n
    flt.add(
        "out_of_order",
        [
            {
                "file": "ehr/fhir/Encounter.ndjson",
                "record_index": int(i),
                "reason": "finished version delivered before the in-progress version",
            }
            for i in fhir_ooo["line_no"].to_list()
        ],
    )
    del fhir
    step(4)

    # ------------------------------------------------------------------ EHR: HL7
    adt_events = build_adt_events(_rng(seed, 9), encounters=enc, claims=billing.claims, as_of=as_of, faults=faults)
    hl7, hl7_bad = build_hl7(
        _rng(seed, 10), events=adt_events, encounters=enc, patients=patients, net=net, faults=faults
    )
    for (fname,), part in hl7.partition_by("file", as_dict=True, maintain_order=True).items():
        _write_lines(out / fname, part["text"].str.strip_suffix("\r"), terminator="\r")
    rows["hl7_messages"] = hl7.filter(~pl.col("malformed")).height
    flt.add("malformed_hl7", _records(hl7_bad, "file", "msg_index", "MSH segment truncated"))
    flt.add(
        "late_a08",
        _records(
            hl7.filter(pl.col("is_late_a08") & ~pl.col("malformed")),
            "file",
            "msg_index",
            "A08 after the claim was submitted",
        ),
    )
    flt.add(
        "out_of_order",
        _records(
            hl7.filter(pl.col("out_of_order") & ~pl.col("malformed")),
            "file",
            "msg_index",
            "message delivered in the next day's file",
        ),
    )
    del hl7, adt_events
    step(5)

    # ------------------------------------------------------------------ billing: claims, denials, payers
    claims_out = _claim_rows(billing, patients, net)
    claims_out, landed_keys = _write_claims(out, claims_out, frng, faults, flt)
    rows["claim_lines"] = billing.lines.height
    rows["claims"] = billing.claims.height
    for kind, freq, reason in (
        ("corrected_claim", 7, "replacement claim (frequency 7)"),
        ("void_claim", 8, "void claim (frequency 8)"),
    ):
        first = claims_out.filter(
            (pl.col("claim_frequency_code") == str(freq)) & (pl.col("line_number") == 1) & ~pl.col("_dup")
        )
        flt.add(kind, _records(first, "_file", "_rec", reason))
    um = claims_out.join(bill_faults["unmapped_code"], on=["claim_idx", "line_number"], how="semi").filter(
        ~pl.col("_dup")
    )
    flt.add(
        "unmapped_code",
        _records(
            um,
            "_file",
            "_rec",
            pl.concat_str(
                [pl.lit("procedure code "), pl.col("procedure_code"), pl.lit(" not in seeds/procedure_codes.csv")]
            ),
        ),
    )
    umd = claims_out.join(bill_faults["unmapped_drg"], on="claim_idx", how="semi").filter(
        (pl.col("line_number") == 1) & ~pl.col("_dup")
    )
    flt.add(
        "unmapped_code",
        _records(
            umd,
            "_file",
            "_rec",
            pl.concat_str([pl.lit("DRG "), pl.col("drg_code"), pl.lit(" not in seeds/ms_drgs.csv")]),
        ),
    )
    drift = claims_out.join(bill_faults["id_drift"], on="claim_idx", how="semi").filter(
        (pl.col("line_number") == 1) & ~pl.col("_dup")
    )
    flt.add(
        "id_drift",
        _records(
            drift,
            "_file",
            "_rec",
            pl.concat_str(
                [pl.lit("billing codes drifted: "), pl.col("facility_code"), pl.lit(" / "), pl.col("department_code")]
            ),
        ),
    )
    del claims_out
    flt.add(
        "unmapped_crosswalk",
        [
            {
                "file": "erp/crosswalks.csv",
                "record_index": None,
                "reason": f"no crosswalk row for {e} {s} {c}",
                "entity": e,
                "source_system": s,
                "source_code": c,
            }
            for e, s, c, _t in dropped.iter_rows()
        ],
    )
    _write_denials(out, billing, patients, net, frng, faults, flt, carc_category)
    rows["denial_events"] = billing.denial_events.height
    _write_csv(
        out / "billing/payers.csv",
        net.payers.select(
            "payer_code",
            "payer_name",
            "payer_class",
            "x12_payer_id",
            inpatient_base_rate=money("ip_base_cents"),
            outpatient_method="outpatient_method",
            outpatient_rate=(pl.col("op_rate_bp") // 10000).cast(pl.Utf8)
            + "."
            + (pl.col("op_rate_bp") % 10000).cast(pl.Utf8).str.zfill(4),
        ),
    )

    # ------------------------------------------------------------------ ERP
    erp = build_erp(_rng(seed, 11), net=net, encounters=enc, start=start_date, as_of=as_of)
    accounts = bank_accounts(net)
    bank_xwalk = accounts.select(
        entity=pl.lit("bank_account"),
        source_system=pl.lit("bank"),
        source_code="account_number",
        target_code="legal_entity_id",
    )
    _write_erp(out, net, erp, pl.concat([xwalk, bank_xwalk]))
    step(6)
    rows["gl_lines"] = erp.gl.height
    rows["payroll_rows"] = erp.payroll.height
    rows["supply_invoices"] = erp.supply_spend.height

    # ------------------------------------------------------------------ duplicate files
    candidates = sorted(
        str(p.relative_to(out))
        for p in out.rglob("*")
        if p.is_file() and p.suffix in (".csv", ".835", ".hl7") and "/erp/" not in f"/{p.relative_to(out)}"
    )
    dup_n = int(np.floor(faults * len(candidates) + 0.5)) if faults > 0 else 0
    if dup_n:
        pick = sorted(frng.choice(len(candidates), size=min(dup_n, len(candidates)), replace=False).tolist())
        for i in pick:
            src = out / candidates[i]
            stem, suffix = src.name.rsplit(".", 1)
            stem = stem[:-2] if stem.endswith("_1") else stem
            dst = src.with_name(f"{stem}_resend.{suffix}")
            shutil.copyfile(src, dst)
            _count(dst, records.get(str(src), 0))
            flt.add(
                "duplicate_file",
                [{"file": str(dst.relative_to(out)), "record_index": 0, "reason": f"exact copy of {candidates[i]}"}],
            )
    step(7)

    # ------------------------------------------------------------------ patient transactions, bank deposits
    # written after the duplicate-file faults, so the files those pick are the same as before
    bank = build_bank(_rng(seed, 13), billing, remits.transactions, net, faults=faults, as_of=as_of)
    _write_csv(
        out / PATIENT_TX_FILE,
        bank.patient_transactions.select(
            "transaction_id",
            "claim_id",
            "transaction_type",
            "transaction_date",
            amount=money("amount_cents"),
            payment_method="payment_method",
            deposit_reference="deposit_reference",
        ),
    )
    rows["patient_transactions"] = bank.patient_transactions.height
    write_files(out, bank.files)
    for rel, text in bank.files:
        _count(out / rel, text.count("\n16,"))
    rows["bank_deposits"] = bank.deposits.height
    for kind, recs in bank.fault_records.items():
        flt.add(kind, recs)

    # ------------------------------------------------------------------ EHR: DFT charges, BAR accounts
    # last, from their own stream, so every file written above is the same with or without them
    feed = build_charge_feed(
        _rng(seed, 14),
        billing=billing,
        encounters=enc,
        patients=patients,
        net=net,
        catalog=catalog,
        as_of=as_of,
        dft_share=dft_share,
        bar_share=bar_share,
    )
    for (fname,), part in feed.messages.partition_by("file", as_dict=True, maintain_order=True).items():
        _write_lines(out / fname, part["text"], terminator="\r")
    rows["dft_messages"] = feed.messages.filter(pl.col("kind") == "DFT").height
    rows["bar_messages"] = feed.messages.filter(pl.col("kind") == "BAR").height
    rows["ehr_charges"] = feed.ehr_charges.height
    step(8)

    # ------------------------------------------------------------------ ground truth
    gt_path = _write_ground_truth(
        out,
        ref=ref,
        net=net,
        billing=billing,
        remits=remits,
        erp=erp,
        xwalk=xwalk,
        bank=bank,
        feed=feed,
        landed_keys=landed_keys,
        flt=flt,
        config={
            "encounters": encounters,
            "seed": seed,
            "start_date": start_date.isoformat(),
            "days": days,
            "as_of_exclusive": as_of.isoformat(),
            "facilities": facilities,
            "faults": faults,
            "unmapped_share": unmapped_share,
            "dft_share": dft_share,
            "bar_share": bar_share,
        },
        counts={
            "patients": int(patients.join(enc.select("patient_idx").unique(), on="patient_idx", how="semi").height),
            "encounters": enc.height,
            "encounters_cancelled": int(enc["cancelled"].sum()),
            "encounters_inpatient": int((enc["enc_class"] == "IMP").sum()),
            "encounters_emergency": int((enc["enc_class"] == "EMER").sum()),
            "encounters_ambulatory": int((enc["enc_class"] == "AMB").sum()),
            "providers": net.providers.height,
            "facilities": net.facilities.height,
            "payers": net.payers.height,
            "adt_messages": rows["hl7_messages"],
            **rows,
        },
    )
    step(9)
    files: dict[str, int] = {}
    for p in out.rglob("*"):
        if p.is_file():
            top = str(p.relative_to(out).parent)
            files[top] = files.get(top, 0) + 1
    elapsed = time.perf_counter() - t0
    logger.info("synthesized %d encounters into %s in %.2fs", encounters, out, elapsed)
    return SynthResult(
        out_dir=out,
        files=dict(sorted(files.items())),
        rows=rows,
        elapsed_seconds=elapsed,
        ground_truth=gt_path,
        faults={k: len(v) for k, v in flt.records.items()},
    )


# ---------------------------------------------------------------------- writers


def _claim_rows(billing: Billing, patients: pl.DataFrame, net: Network) -> pl.DataFrame:
    c = (
        billing.claims.join(
            patients.select("patient_idx", "mrn", "member_id"), on="patient_idx", how="left", maintain_order="left"
        )
        .join(net.payers.select("payer_idx", "payer_code"), on="payer_idx", how="left", maintain_order="left")
        .join(
            net.facilities.select("facility_idx", pl.col("npi").alias("facility_npi")),
            on="facility_idx",
            how="left",
            maintain_order="left",
        )
        .join(
            net.providers.select("provider_idx", pl.col("npi").alias("prov_npi")),
            on="provider_idx",
            how="left",
            maintain_order="left",
        )
    )
    is_i = pl.col("claim_type") == "I"
    ip = pl.col("enc_class") == "IMP"
    c = c.with_columns(
        bill_type=pl.when(is_i).then(
            pl.concat_str([pl.when(ip).then(pl.lit("011")).otherwise(pl.lit("013")), pl.col("freq").cast(pl.Utf8)])
        ),
        admit_date=pl.when(ip).then(pl.col("statement_from_date")),
        discharge_date=pl.when(ip).then(pl.col("statement_to_date")),
    )
    lines = billing.lines.join(c, on="claim_idx", how="left", maintain_order="left")
    return lines.select(
        "claim_idx",
        "claim_id",
        claim_frequency_code=pl.col("freq").cast(pl.Utf8),
        original_claim_id="original_claim_id",
        patient_control_number="patient_control_number",
        encounter_id="encounter_id",
        patient_mrn="mrn",
        member_id="member_id",
        payer_code="payer_code",
        billing_npi="facility_npi",
        rendering_npi="prov_npi",
        facility_code="facility_code",
        department_code="department_code",
        claim_type="claim_type",
        bill_type="bill_type",
        drg_code="drg_code",
        admit_date="admit_date",
        discharge_date="discharge_date",
        statement_from_date="statement_from_date",
        statement_to_date="statement_to_date",
        submitted_date="submitted_date",
        line_number="line_number",
        service_date=pl.col("service_date").dt.strftime("%Y-%m-%d"),
        procedure_code="procedure_code",
        modifiers="modifiers",
        revenue_code="revenue_code",
        units=pl.col("units").cast(pl.Utf8),
        charge_amount=money("charge_cents"),
        place_of_service="place_of_service",
        principal_diagnosis_code="dx_code",
    ).sort("submitted_date", "claim_id", "line_number", maintain_order=True)


def _write_claims(
    out: Path, claims: pl.DataFrame, rng: np.random.Generator, faults: float, flt: _Faults
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Write claims_YYYYMMDD.csv files with duplicate and malformed rows injected.

    Returns the written rows (with _file, _rec, _dup) and the landed (claim_idx, line_number) keys.
    """
    n = claims.height
    u = rng.random((n, 3))
    dup = u[:, 0] < faults
    later = (claims["line_number"] > 1).to_numpy()
    bad_date = ~dup & later & (u[:, 1] < faults / 2)
    bad_amt = ~dup & later & ~bad_date & (u[:, 2] < faults / 2)
    c = claims.with_columns(
        service_date=pl.when(pl.Series(bad_date)).then(pl.lit("2026-02-30")).otherwise(pl.col("service_date")),
        charge_amount=pl.when(pl.Series(bad_amt))
        .then(pl.concat_str([pl.col("charge_amount"), pl.lit(".00")]))
        .otherwise(pl.col("charge_amount")),
        _bad=pl.when(pl.Series(bad_date))
        .then(pl.lit("csv_bad_date"))
        .when(pl.Series(bad_amt))
        .then(pl.lit("csv_bad_amount"))
        .otherwise(pl.lit(None)),
        _dup=pl.lit(False),
        _o=pl.int_range(0, pl.len()) * 2,
    )
    dups = c.filter(pl.Series(dup)).with_columns(_dup=pl.lit(True), _o=pl.col("_o") + 1)
    c = (
        pl.concat([c, dups])
        .sort("_o", maintain_order=True)
        .with_columns(
            _file=pl.concat_str(
                [pl.lit("billing/claims/claims_"), pl.col("submitted_date").dt.strftime("%Y%m%d"), pl.lit(".csv")]
            ),
        )
        .with_columns(_rec=pl.int_range(1, pl.len() + 1).over("_file"))
    )
    for (fname,), part in c.partition_by("_file", as_dict=True, maintain_order=True).items():
        _write_csv(out / fname, part.select(CLAIM_COLUMNS))
    flt.add(
        "duplicate_record", _records(c.filter(pl.col("_dup")), "_file", "_rec", "exact duplicate of the previous row")
    )
    for kind, reason in (
        ("csv_bad_date", "service_date is not a valid date"),
        ("csv_bad_amount", "charge_amount is not a valid amount"),
    ):
        flt.add(kind, _records(c.filter(pl.col("_bad") == kind), "_file", "_rec", reason))
    landed = c.filter(~pl.col("_dup") & pl.col("_bad").is_null()).select("claim_idx", "line_number")
    return c, landed


def _write_denials(
    out: Path,
    billing: Billing,
    patients: pl.DataFrame,
    net: Network,
    rng: np.random.Generator,
    faults: float,
    flt: _Faults,
    carc_category: dict,
) -> None:
    ev = (
        billing.denial_events.join(
            billing.claims.select("claim_idx", "claim_id"), on="claim_idx", how="left", maintain_order="left"
        )
        .join(
            patients.select("patient_idx", "family", "given", "birth_date"),
            on="patient_idx",
            how="left",
            maintain_order="left",
        )
        .join(
            net.payers.select("payer_idx", "payer_code", "payer_name"),
            on="payer_idx",
            how="left",
            maintain_order="left",
        )
    )
    note = (
        pl.when(pl.col("event_type") == "denial_received")
        .then(
            pl.concat_str(
                [
                    pl.lit("Denial posted for "),
                    pl.col("given"),
                    pl.lit(" "),
                    pl.col("family"),
                    pl.lit(" DOB "),
                    pl.col("birth_date").dt.strftime("%m/%d/%Y"),
                ]
            )
        )
        .when(pl.col("event_type") == "appeal_filed")
        .then(
            pl.concat_str(
                [pl.lit("Appeal sent to "), pl.col("payer_name"), pl.lit(" with records for "), pl.col("family")]
            )
        )
        .when(pl.col("event_type") == "overturned")
        .then(pl.lit("Payer reprocessed claim after appeal"))
        .when(pl.col("event_type") == "upheld")
        .then(pl.lit("Appeal denied by payer"))
        .otherwise(pl.lit("Balance written off per policy"))
    )
    rows = ev.select(
        "event_id",
        "claim_id",
        "payer_code",
        "event_type",
        pl.col("event_date"),
        "group_code",
        "carc_code",
        amount=pl.when(pl.col("amount_cents").is_not_null()).then(money("amount_cents")),
        work_queue=pl.concat_str([pl.lit("denials_"), pl.col("denial_category")]),
        note=note,
    )
    n = rows.height
    dup = rng.random(n) < faults
    rows = rows.with_columns(_dup=pl.lit(False), _o=pl.int_range(0, pl.len()) * 2)
    rows = pl.concat([rows, rows.filter(pl.Series(dup)).with_columns(_dup=pl.lit(True), _o=pl.col("_o") + 1)]).sort(
        "_o", maintain_order=True
    )
    rows = rows.with_columns(
        _file=pl.concat_str(
            [pl.lit("billing/denials/denial_events_"), pl.col("event_date").dt.strftime("%Y%m%d"), pl.lit(".csv")]
        )
    )
    rows = rows.with_columns(_rec=pl.int_range(1, pl.len() + 1).over("_file"))
    for (fname,), part in rows.partition_by("_file", as_dict=True, maintain_order=True).items():
        _write_csv(out / fname, part.select(DENIAL_COLUMNS))
    flt.add(
        "duplicate_record",
        _records(rows.filter(pl.col("_dup")), "_file", "_rec", "exact duplicate of the previous row"),
    )


def _write_erp(out: Path, net: Network, erp: Erp, xwalk: pl.DataFrame) -> None:
    e = out / "erp"
    _write_csv(e / "legal_entities.csv", net.legal_entities)
    _write_csv(
        e / "facilities.csv",
        net.facilities.select(
            "facility_id",
            "facility_name",
            "facility_type",
            "legal_entity_id",
            "address_line",
            "city",
            "state",
            "zip",
            "bed_count",
        ),
    )
    _write_csv(e / "cost_centers.csv", net.cost_centers)
    _write_csv(e / "chart_of_accounts.csv", net.chart_of_accounts)
    _write_csv(e / "suppliers.csv", net.suppliers)
    _write_csv(e / "accounting_periods.csv", erp.periods)
    _write_csv(e / "crosswalks.csv", xwalk)
    ym = lambda d: d.replace("-", "")  # noqa: E731
    gl = erp.gl.select(
        "journal_id",
        "line_number",
        "legal_entity_id",
        "facility_id",
        "cost_center_id",
        "account_id",
        "posting_date",
        "period_id",
        debit_amount=money("debit_cents"),
        credit_amount=money("credit_cents"),
        source="source",
        supplier_id="supplier_id",
        description="description",
    )
    for (pid,), part in gl.partition_by("period_id", as_dict=True, maintain_order=True).items():
        _write_csv(e / f"gl_actuals_{ym(pid)}.csv", part)
    pay = erp.payroll.sort("pay_period_end_date", "cost_center_id", "employee_id", maintain_order=True).select(
        "pay_period_end_date",
        "employee_id",
        "npi",
        "cost_center_id",
        "job_code",
        hours=money("hours_centi"),
        cost_amount=money("cost_cents"),
        _p="period_id",
    )
    for (pid,), part in pay.partition_by("_p", as_dict=True, maintain_order=True).items():
        _write_csv(e / f"payroll_{ym(pid)}.csv", part.drop("_p"))
    sup = erp.supply_spend.select(
        "invoice_id",
        "invoice_date",
        "supplier_id",
        "cost_center_id",
        "item_category",
        amount=money("amount_cents"),
        _p="period_id",
    )
    for (pid,), part in sup.partition_by("_p", as_dict=True, maintain_order=True).items():
        _write_csv(e / f"supply_spend_{ym(pid)}.csv", part.drop("_p"))


def _write_ground_truth(
    out: Path,
    *,
    ref: Reference,
    net: Network,
    billing: Billing,
    remits,
    erp: Erp,
    xwalk: pl.DataFrame,
    bank: BankOutput,
    feed: ChargeFeed,
    landed_keys: pl.DataFrame,
    flt: _Faults,
    config: dict,
    counts: dict,
) -> Path:
    g = out / "ground_truth"
    g.mkdir(parents=True, exist_ok=True)
    landed_lines = billing.lines.join(landed_keys, on=["claim_idx", "line_number"], how="semi")
    dims = gt.claim_dimensions(
        billing.claims, landed_lines, crosswalk=xwalk, cost_centers=net.cost_centers, payers=net.payers, ref=ref
    )
    bad_inst = remits.instance_st.join(
        remits.transactions.filter(pl.col("faulted")).select("file", "st_index"), on=["file", "st_index"], how="semi"
    )
    landed_inst = billing.instances.join(bad_inst.select("inst_id"), on="inst_id", how="anti")
    landed_units = billing.units.join(bad_inst.select("inst_id"), on="inst_id", how="anti").join(
        billing.instances.filter(pl.col("kind") != "reversal").select("inst_id"), on="inst_id", how="semi"
    )
    charges = gt.charges_daily(billing.claims, landed_lines, dims)
    daily = gt.daily_reimbursement(landed_inst, dims)
    denials = gt.denials_by_category(landed_units, ref.carc_categories)
    costs = gt.direct_costs(erp.gl, net.cost_centers)
    reserves = gt.claim_reserves(billing.claims, landed_lines, dims)
    inst = (
        landed_inst.join(gt.reserve_events(landed_inst, billing.claims, reserves), on="inst_id", how="left")
        .join(dims, on="claim_idx", how="left", maintain_order="left")
        .with_columns(pl.col("release").fill_null(0), pl.col("true_up").fill_null(pl.col("contractual")))
    )
    plb = gt.provider_adjustments(remits.transactions, remits.instance_st, landed_inst, dims)
    patient = gt.patient_postings(bank.patient_transactions, billing.claims, dims)
    measures = gt.journal_measures(inst, reserves, plb, patient, erp.periods)
    journals = gt.journal_totals(measures, net.facilities)
    balances = gt.gl_balances(measures, net.facilities, erp.periods)

    # the payee each facility's 835s name (N1*PE*..*XX*npi, REF*TJ tax id): what a payee crosswalk maps
    _write_csv(
        g / "payees.csv",
        net.facilities.select(
            "facility_id",
            "legal_entity_id",
            payee_npi=pl.col("npi"),
            payee_tax_id=pl.col("tax_id").str.replace("-", ""),
        ).sort("facility_id"),
    )
    _write_csv(
        g / "daily_reimbursement.csv",
        daily.select(
            "remit_date",
            "facility_id",
            "payer_class",
            "service_line_code",
            "claim_count",
            charge_amount=money("charge"),
            payment_amount=money("paid"),
            contractual_adjustment_amount=money("contractual"),
            patient_responsibility_amount=money("patient_resp"),
            denial_amount=money("denial"),
        ),
    )
    _write_csv(
        g / "charges_daily.csv",
        charges.select(
            "statement_to_date",
            "facility_id",
            "payer_class",
            "service_line_code",
            "claim_count",
            "line_count",
            charge_amount=money("charge"),
            expected_reimbursement_amount=money("expected"),
        ),
    )
    _write_csv(
        g / "denials_by_category.csv",
        denials.select(
            "denial_category",
            "carc_code",
            "group_code",
            "denied_claim_count",
            "denied_line_count",
            denied_amount=money("denied"),
        ),
    )
    _write_csv(g / "direct_costs.csv", costs.drop("_p", "_s", "_o"))
    _write_csv(g / "journal_totals.csv", journals.drop("_d"))
    _write_csv(g / "gl_balances.csv", balances.drop("_n"))
    _write_csv(
        g / "cash_reconciliation.csv",
        bank.reconciliation.select(
            "legal_entity_id",
            "deposit_date",
            "source",
            "reference",
            remittance_amount=money("remittance_cents"),
            deposit_amount=money("deposit_cents"),
            status="status",
        ),
    )
    chains = gt.claim_chains(billing.claims, landed_lines, dims)
    _write_csv(
        g / "expected_reimbursement.csv",
        chains.sort("claim_id", maintain_order=True).select(
            "claim_id",
            "current_claim_id",
            "facility_id",
            "payer_class",
            charge_amount=money("charge"),
            expected_reimbursement_amount=money("expected"),
            contractual_reserve_amount=money("reserve"),
        ),
    )
    subledger = gt.ar_subledger(
        chains, billing.claims, landed_inst, payers=net.payers, facilities=net.facilities, periods=erp.periods
    )
    _write_csv(
        g / "ar_subledger.csv",
        subledger.select(
            *gt.AR_SUBLEDGER_COLUMNS,
            days_outstanding_from_discharge="days_from_discharge",
            days_outstanding_from_bill="days_from_bill",
            gross_balance_amount=money("gross"),
            reserve_balance_amount=money("reserve"),
            net_balance_amount=money("net"),
        ),
    )
    aging = gt.ar_aging(subledger)
    _write_csv(
        g / "ar_aging.csv",
        aging.select(
            "period_id",
            "aging_basis",
            "payer_code",
            "payer_class",
            "claim_count",
            *[money(f"ar_{b}").alias(f"ar_{b}_amount") for b in (*gt.AGING_BUCKETS, "unbilled")],
            gross_balance_amount=money("gross"),
            billed_ar_amount=money("billed"),
            billed_ar_over_90_amount=money("billed_over_90"),
        ),
    )
    _write_csv(
        g / "dnfb.csv",
        gt.dnfb(subledger).select(
            "period_id",
            "legal_entity_id",
            "facility_id",
            "claim_count",
            unbilled_charge_amount=money("charges_to_date"),
            unbilled_expected_reimbursement_amount=money("expected_to_date"),
        ),
    )
    kpis = gt.revenue_cycle_kpis(
        charges,
        daily,
        subledger,
        bank.patient_transactions,
        billing.denial_events,
        billing.claims,
        dims,
        plb,
        landed_inst,
        landed_lines,
        facilities=net.facilities,
        periods=erp.periods,
    )
    _write_csv(
        g / "revenue_cycle_kpis.csv",
        kpis.select(
            "period_id",
            "facility_id",
            gross_charge_amount=money("gross"),
            contractual_adjustment_amount=money("contractual"),
            denial_amount=money("denial"),
            contractual_reserve_amount=money("reserve_bal"),
            contractual_reserve_change_amount=money("reserve_change"),
            bad_debt_amount=money("bad_debt"),
            charity_amount=money("charity"),
            net_revenue_amount=money("npsr"),
            payer_net_ar_amount=money("payer_net"),
            dnfb_net_ar_amount=money("dnfb_net"),
            patient_ar_amount=money("patient_ar"),
            plb_recoupment_ar_amount=money("plb_ar"),
            net_ar_amount=money("net_ar"),
            payment_amount=money("paid"),
            patient_payment_amount=money("ppay"),
            cash_collected_amount=money("cash"),
            denial_write_off_amount=money("write_off"),
            dnfb_gross_amount=money("dnfb"),
            avg_daily_net_revenue_amount="avg_daily_npsr",
            net_days_in_ar="net_days_in_ar",
            cash_pct_of_net_revenue="cash_pct",
            denial_write_off_pct="write_off_pct",
            avg_daily_gross_revenue_amount="avg_daily_gross",
            dnfb_days="dnfb_days",
            bad_debt_pct="bad_debt_pct",
            charity_pct="charity_pct",
            submitted_claim_count="submitted_n",
            initial_denied_claim_count="denied_n",
            adjudicated_claim_count="adjudicated_n",
            prior_avg_submitted_claim_count="prior_avg_submitted",
            initial_denial_rate="initial_denial_rate",
            initial_denied_charge_amount=money("denied_charge"),
            prior_avg_submitted_charge_amount="prior_avg_submitted_charge",
            initial_denial_charge_rate="initial_denial_charge_rate",
        ),
    )
    ptx = gt.patient_transactions_by_period(bank.patient_transactions)
    _write_csv(
        g / "patient_transactions.csv",
        ptx.select("period_id", "legal_entity_id", "transaction_type", "transaction_count", amount=money("amount")),
    )

    capture = gt.charge_capture(feed.ehr_charges, billing.claims, landed_lines)
    _write_csv(g / "charge_capture.csv", capture.select(gt.CHARGE_CAPTURE_COLUMNS))
    # where each BAR account stands at the as-of date (core.fct_patient_accounts)
    _write_csv(g / "patient_accounts.csv", feed.accounts.select("encounter_id", "account_state"))
    late = feed.ehr_charges.filter(pl.col("fate") == "late_unbilled")

    def tot(df: pl.DataFrame, col: str) -> str:
        return cents_to_str(int(df[col].sum())) if df.height else "0.00"

    fault_json = {}
    for kind in sorted(flt.records):
        recs = sorted(
            flt.records[kind],
            key=lambda r: (r["file"], r["record_index"] if r["record_index"] is not None else -1, r["reason"]),
        )
        fault_json[kind] = {
            "count": len(recs),
            "handling": "quarantine" if kind in QUARANTINED_KINDS else "skip" if kind in SKIPPED_KINDS else "land",
            "records": recs,
        }
    doc = {
        "generator": "careledger.ingest.synthetic",
        "config": config,
        "counts": counts,
        "totals": {
            "remit_claims": int(daily["claim_count"].sum()) if daily.height else 0,
            "charge_amount_remitted": tot(daily, "charge"),
            "payment_amount": tot(daily, "paid"),
            "contractual_adjustment_amount": tot(daily, "contractual"),
            "patient_responsibility_amount": tot(daily, "patient_resp"),
            "denial_amount": tot(daily, "denial"),
            "provider_level_adjustment_amount": cents_to_str(
                int(
                    remits.transactions.filter(~pl.col("faulted"))["interest"].sum()
                    + remits.transactions.filter(~pl.col("faulted"))["fb"].sum()
                )
            )
            if remits.transactions.height
            else "0.00",
            "gross_charge_amount": tot(charges, "charge"),
            "expected_reimbursement_amount": tot(charges, "expected"),
            "claims_counted": int(charges["claim_count"].sum()) if charges.height else 0,
            "denied_amount_initial": tot(denials, "denied"),
            "payroll_cost_amount": tot(costs, "_p"),
            "supply_cost_amount": tot(costs, "_s"),
            "other_cost_amount": tot(costs, "_o"),
        },
        "files": {
            p.relative_to(out).as_posix(): {"bytes": p.stat().st_size, "records": _RECORDS.get().get(str(p), 0)}
            for p in sorted(out.rglob("*"))
            if p.is_file() and not p.relative_to(out).as_posix().startswith("ground_truth")
        },
        "faults": fault_json,
        "charge_capture": {
            "ehr_charges": feed.ehr_charges.height,
            "ehr_charge_amount": tot(feed.ehr_charges, "amount_cents"),
            "late_charges_never_billed": late.height,
            "late_charge_amount": tot(late, "amount_cents"),
            "claim_lines_without_ehr_charge": feed.omitted_lines.height,
            "claim_lines_without_ehr_charge_amount": tot(feed.omitted_lines, "charge_cents"),
            "repriced_ehr_charges": int((feed.ehr_charges["fate"] == "repriced").sum()),
            "credited_ehr_charges": int((feed.ehr_charges["fate"] == "credited").sum()),
            "credited_amount": tot(feed.ehr_charges.filter(pl.col("fate") == "credited"), "amount_cents"),
            "resent_dft_messages": feed.sent["resent_dft_messages"],
            "resent_transactions": feed.sent["resent_transactions"],
            "ft1_sent": feed.sent["ft1_sent"],
            "ft1_sent_amount": cents_to_str(feed.sent["ft1_sent_amount_cents"]),
            "rows_by_status": dict(sorted(capture.group_by("reconciliation_status").len().iter_rows())),
        },
    }
    path = out / "ground_truth.json"
    path.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    return path
