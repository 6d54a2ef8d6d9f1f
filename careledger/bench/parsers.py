"""Time the 835 and HL7 ADT parsers alone (no database): ``python -m careledger.bench.parsers``.

Builds a synthetic, balanced 835 of about ``--mb`` megabytes (pretty-printed, one claim
shape repeated) and a synthetic ADT file of ``--messages`` messages, then times
``parse_835_text``, the polars parser it replaced (``careledger.ingest.x12.remit_835_polars``, with
``--reference``) and ``parse_adt_text``. Prints one JSON line per parser with the best of
``--repeats`` runs, so ``careledger bench`` and docs/benchmarks.md can quote it.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from decimal import Decimal

from careledger.ingest.hl7.adt import parse_adt_text
from careledger.ingest.x12.remit_835 import parse_835_text
from careledger.ingest.x12.remit_835_polars import parse_835_text_polars

log = logging.getLogger(__name__)

CLAIM = [
    "LX*1",
    "CLP*PCN{n:010d}*1*500*350*50*12*CLM{n:06d}*11*1",
    "NM1*QC*1*DOE*JANE****MI*MBR{n:06d}",
    "NM1*82*1*SMITH*JOHN****XX*1234567893",
    "DTM*232*20251220",
    "DTM*233*20251220",
    "SVC*HC:99213:25*300*200**1",
    "DTM*472*20251220",
    "CAS*PR*2*50",
    "CAS*CO*45*50",
    "REF*6R*C{n:08d}-1",
    "AMT*B6*250",
    "LQ*HE*N130",
    "SVC*HC:80053*200*150**1",
    "DTM*472*20251220",
    "CAS*CO*45*50",
    "REF*6R*C{n:08d}-2",
]
CLAIMS_PER_SET = 500


def synthetic_835(target_mb: float) -> tuple[str, int]:
    """A pretty-printed interchange of about ``target_mb`` MB; returns (text, claim count)."""
    claim_bytes = sum(len(s) + 2 for s in CLAIM) + 20
    n_claims = max(1, int(target_mb * 1e6 / claim_bytes))
    segs = [
        "ISA*00*          *00*          *ZZ*PAYERSENDER    *ZZ*CARELEDGER     *260105*1200*^*00501*000000001*0*P*:",
        "GS*HP*PAYERSENDER*CARELEDGER*20260105*1200*1*X*005010X221A1",
    ]
    n_sets = 0
    for start in range(0, n_claims, CLAIMS_PER_SET):
        count = min(CLAIMS_PER_SET, n_claims - start)
        n_sets += 1
        body = [
            f"BPR*I*{Decimal(350) * count}*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20260105",
            f"TRN*1*TRC{n_sets:08d}*1512345678",
            "DTM*405*20260104",
            "N1*PR*ACME HEALTH*XV*PYR001X",
            "N1*PE*CARELEDGER GENERAL HOSPITAL*XX*1234567893",
        ]
        for n in range(start, start + count):
            body.extend(s.format(n=n) for s in CLAIM)
        segs.append(f"ST*835*{n_sets:04d}")
        segs.extend(body)
        segs.append(f"SE*{len(body) + 2}*{n_sets:04d}")
    segs += [f"GE*{n_sets}*1", "IEA*1*000000001"]
    return "~\n".join(segs) + "~\n", n_claims


def synthetic_adt(messages: int) -> str:
    out = []
    for n in range(messages):
        out.append(
            "\r".join(
                [
                    f"MSH|^~\\&|EPIC|GH|CARELEDGER|WH|20260105083000||ADT^A01^ADT_A01|M{n:08d}|P|2.5",
                    "EVN|A01|20260105083000",
                    f"PID|1||MRN{n:08d}^^^CARELEDGER^MR||DOE^JANE||19800102|F|||1 MAIN ST^^BOSTON^MA^02110",
                    "PV1|1|I|D-L1-MED^101^A^L-1||||1234567893^SMITH^JOHN|||MED||||7|||||" + f"V{n:08d}",
                    "DG1|1|I10|I20.9^Angina^I10||20260105|A",
                    "IN1|1|GOLD01|PAY-PYR001|ACME HEALTH",
                ]
            )
            + "\r"
        )
    return "".join(out)


def best_of(repeats: int, fn) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0, help="size of the synthetic 835 in MB")
    parser.add_argument("--messages", type=int, default=5000, help="number of synthetic ADT messages")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--reference", action="store_true", help="also time the polars 835 parser that parse_835_text replaced"
    )
    args = parser.parse_args(argv)

    text, n_claims = synthetic_835(args.mb)
    parsed = parse_835_text(text)
    if parsed.quarantined:
        raise SystemExit(f"synthetic 835 did not parse cleanly: {parsed.quarantined[0].message}")
    parsers = [("parse_835_text", parse_835_text)]
    if args.reference:
        parsers.append(("parse_835_text_polars", parse_835_text_polars))
    for name, parse in parsers:
        seconds = best_of(args.repeats, lambda parse=parse: parse(text))
        print(
            json.dumps(
                {
                    "parser": name,
                    "mb": round(len(text) / 1e6, 1),
                    "claims": n_claims,
                    "seconds": round(seconds, 3),
                    "mb_per_s": round(len(text) / 1e6 / seconds, 1),
                    "claims_per_s": round(n_claims / seconds),
                }
            )
        )

    adt = synthetic_adt(args.messages)
    seconds = best_of(args.repeats, lambda: parse_adt_text(adt))
    print(
        json.dumps(
            {
                "parser": "parse_adt_text",
                "messages": args.messages,
                "mb": round(len(adt) / 1e6, 1),
                "seconds": round(seconds, 3),
                "messages_per_s": round(args.messages / seconds),
            }
        )
    )


if __name__ == "__main__":
    main()
