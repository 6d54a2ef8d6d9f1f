"""Small, independent readers of the simulator's output used by the tests (they do not
reuse the simulator's own code, so they can catch its mistakes)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path


def load_truth(root: Path) -> dict:
    return json.loads((root / "ground_truth.json").read_text())


def fault_keys(truth: dict, kind: str) -> set[tuple[str, int]]:
    return {(r["file"], r["record_index"]) for r in truth["faults"].get(kind, {}).get("records", [])}


def duplicate_files(truth: dict) -> set[str]:
    return {r["file"] for r in truth["faults"].get("duplicate_file", {}).get("records", [])}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def hl7_messages(path: Path) -> list[str]:
    text = path.read_bytes().decode("ascii")
    parts = text.split("MSH|")
    return ["MSH|" + p for p in parts[1:]]


@dataclass
class Clp:
    st_index: int
    pcn: str
    status: str
    charge: Decimal
    paid: Decimal
    patient_resp: Decimal
    claim_cas: list[tuple[str, str, Decimal]] = field(default_factory=list)
    svcs: list[dict] = field(default_factory=list)


@dataclass
class St:
    index: int
    control: str
    segments: int
    se_count: int
    bpr_amount: Decimal
    payment_date: str
    plb_total: Decimal
    claims: list[Clp]
    trace_number: str = ""


def _cas_triplets(el: list[str]) -> list[tuple[str, str, Decimal]]:
    out = []
    group = el[1]
    for k in range(2, len(el), 3):
        if el[k]:
            out.append((group, el[k], Decimal(el[k + 1])))
    return out


def parse_835(path: Path) -> list[St]:
    """Parse an 835 into transaction sets, claims, services and adjustments."""
    raw = path.read_bytes().decode("ascii")
    elem, term = raw[3], raw[105]
    segs = [s.strip() for s in raw.split(term) if s.strip()]
    sts: list[St] = []
    cur: St | None = None
    clp: Clp | None = None
    svc: dict | None = None
    count = 0
    for s in segs:
        el = s.split(elem)
        tag = el[0]
        if tag == "ST":
            cur = St(len(sts) + 1, el[2], 0, 0, Decimal(0), "", Decimal(0), [])
            count = 0
        if cur is not None:
            count += 1
        if tag == "BPR":
            cur.bpr_amount = Decimal(el[2])
            cur.payment_date = el[16]
        elif tag == "TRN":
            cur.trace_number = el[2]
        elif tag == "CLP":
            clp = Clp(cur.index, el[1], el[2], Decimal(el[3]), Decimal(el[4]), Decimal(el[5] or "0"))
            cur.claims.append(clp)
            svc = None
        elif tag == "SVC":
            svc = {"code": el[1], "charge": Decimal(el[2]), "paid": Decimal(el[3]), "cas": [], "ref6r": None}
            clp.svcs.append(svc)
        elif tag == "CAS":
            (svc["cas"] if svc is not None else clp.claim_cas).extend(_cas_triplets(el))
        elif tag == "REF" and el[1] == "6R" and svc is not None:
            svc["ref6r"] = el[2]
        elif tag == "PLB":
            for k in range(3, len(el), 2):
                cur.plb_total += Decimal(el[k + 1])
        elif tag == "SE":
            cur.segments = count
            cur.se_count = int(el[1])
            sts.append(cur)
            cur = None
            clp = None
            svc = None
    return sts
