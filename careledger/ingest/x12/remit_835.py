"""X12 005010X221A1 (835) remittance loader.

A small single-pass parser: the file is split on the segment terminator and the elements
on the element separator (``str.split``), and one walk over the segments gives each its
transaction (ST count), claim (CLP count within the ST) and service line (SVC count within
the CLP), the way an X12 reader tracks its loops. The checks and the six tables are built
from those segments, and each table goes to DuckDB in one ``INSERT ... SELECT`` from an
Arrow table. Why not data frames or SQL: remittance files are small (703 files averaging
46 KB at 100k encounters) and a frame or SQL plan pays a fixed cost per operation (the
polars parser this replaced ran ~420 collects per file; the same parse written in DuckDB SQL
paid tens of milliseconds of planning and hash-table set-up per statement and was slower
still), so the fixed cost per file, not the bytes, was the time. Segment ids, element
positions, code tables, the delimiters (from the ISA), the envelope checks and the frame
shapes are shared with the polars parser in ``x12/segments.py``. A UTF-8 BOM, text before the
ISA and whitespace between segments (pretty-printed X12) are tolerated and reported as findings.

Records: one record is one ST..SE transaction set (1-based, in file order). A transaction
set that cannot be trusted (SE count wrong, ST/SE control numbers differ, missing BPR/TRN,
a non-numeric BPR02 or PLB amount, ...) is quarantined whole, with its raw text; the rest of
the file lands. A malformed claim loop (CLP and the segments under it up to the next CLP / PLB
/ SE: a truncated CLP, a non-numeric CLP03/04, a broken SVC or CAS) is quarantined alone, as
record number of transaction sets + k, and the other claims of its ST..SE land; BPR02 is then
checked against the landed claims and the PLB (the finding names the quarantined CLP01s). A
claim out of balance lands with an error finding, so the ERA's payments still add up to BPR02
(dbt posts the difference to remittance suspense). After either parser,
``segments.check_version_and_dates`` checks ISA12/GS08 and fills a missing BPR16 payment date from
DTM*405, GS04 or ISA09, each with a finding. Envelope problems (ISA/IEA, GS/GE counts and control numbers)
are findings. ``_source_record`` on landed rows is the 1-based segment index in the file of
the segment the row came from (CLP, SVC, CAS, PLB, BPR, LQ/MOA/MIA); ``_record_hash`` is
the md5 of the row's whole transaction set text. Balancing uses exact decimals (4 places).

``parse_835_text`` is pure (no DuckDB) so benchmarks can time the parser alone. Per byte the
polars parser (``x12/remit_835_polars.py``) is several times faster, so files larger than
``SINGLE_PASS_MAX_CHARS`` (the measured crossover) go to it; tests/unit/ingest/
test_x12_equivalence.py lands fixtures and a simulated folder through both and compares
every raw row, quarantine record and finding.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import polars as pl

from careledger.ingest.landing import record_hash
from careledger.ingest.x12.segments import (
    AMOUNT_RE,
    CAS_GROUP_CODES,
    CLAIM_QUALIFIERS,
    COLUMNS,
    ENVELOPE_SEGMENTS,
    HEAD_QUALIFIERS,
    LAST_ELEMENT_READ,
    LINE_QUALIFIERS,
    MAX_FINDINGS_PER_RULE,
    NUMERIC_ELEMENTS,
    ORPHAN_SEGMENTS,
    PAYEE_NPI_QUALIFIER,
    PAYEE_TAX_ID_QUALIFIER,
    READ_SEGMENTS,
    REMARK_POSITIONS,
    REQUIRED_BY_SEGMENT,
    TABLES,
    WHITESPACE,
    Parsed835,
    ParserBase,
    check_envelopes,
    claim_out_of_balance_message,
    decode_835_bytes,
    find_delimiters,
    parse_with,
    payment_out_of_balance_message,
    quarantined_claim_loop,
    quarantined_transaction_set,
    readable_amount,
    whole_file_quarantined,
)
from careledger.ingest.x12.segments import to_date as _to_date

# The loader and the tests take the entry points from here; the helpers live in x12/segments.py.
__all__ = ["decode_835_bytes", "find_delimiters", "parse_835_text"]

log = logging.getLogger(__name__)

SPACE_RE = re.compile(r"\s")
N_ELEMENTS = max(LAST_ELEMENT_READ.values()) + 1  # MIA24 is the last element read
PADDING: list[None] = [None] * N_ELEMENTS
FOUR_PLACES = Decimal("0.0001")
ZERO = Decimal("0.0000")
# The content checks in the order a transaction set's problems are listed.
CONTENT_CHECKS = ("orphan", *REQUIRED_BY_SEGMENT, "numeric", "cas_amount")


def parse_835_text(text: str, source_name: str = "<text>") -> Parsed835:
    """Parse 835 text into the six remit frames (pure; no database).

    Returns a :class:`Parsed835` whose ``tables`` maps ``payments``, ``claims``,
    ``service_lines``, ``adjustments``, ``remarks`` and ``provider_adjustments`` to polars
    frames shaped like the ``raw_billing.remit_*`` tables (amounts as decimal strings,
    dates as ``pl.Date``), plus ``_source_record`` and ``_record_hash``.
    """
    return parse_with(_Parser, text, source_name)


_FRAME_INT32 = ("claim_seq", "line_seq", "triplet_seq", "claim_count")


def _frame(key: str, rows: list[tuple]) -> pl.DataFrame:
    """Rows (table columns, then _source_record, _record_hash) as a frame shaped like the table."""
    names = [*COLUMNS[key], "_source_record", "_record_hash"]
    schema = {
        n: (
            pl.Date
            if n.endswith("_date")
            else pl.Int32
            if n in _FRAME_INT32
            else pl.Int64
            if n == "_source_record"
            else pl.Utf8
        )
        for n in names
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def _to_decimal(value: str | None) -> Decimal | None:
    """An amount as DECIMAL(38, 4) for the balancing checks; None when it is not a number."""
    if value is None:
        return None
    if AMOUNT_RE.match(value) and value.isascii():
        return Decimal(value).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)
    if SPACE_RE.search(value) or not value.isascii():
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    return number.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


class _Seg:
    """One segment inside an ST..SE: its place in the file and its elements ('' -> None), padded
    with None to at least ``N_ELEMENTS`` so any element the parser reads can be indexed."""

    __slots__ = ("seg_no", "start", "raw", "sid", "txn", "claim_seq", "line_seq", "claim_id", "line_id", "loop", "el")

    def __init__(
        self,
        seg_no: int,
        start: int,
        raw: str,
        sid: str,
        txn: int,
        claim_seq: int,
        line_seq: int,
        claim_id: int,
        line_id: int,
        el: list[str | None],
    ) -> None:
        self.seg_no, self.start, self.raw, self.sid, self.txn = seg_no, start, raw, sid, txn
        self.claim_seq, self.line_seq, self.claim_id, self.line_id, self.el = claim_seq, line_seq, claim_id, line_id, el
        self.loop = 0  # claim_id while in a claim loop (CLP up to the next CLP / PLB / SE), else 0


@dataclass
class _Txn:
    """One ST..SE transaction set."""

    txn: int
    first_seg: int
    start: int
    isa_seq: int
    gs_seq: int
    n_segs: int = 0
    last_seg: int = 0
    last_sid: str = ""
    stop: int = 0
    segs: list[_Seg] = field(default_factory=list)


class _Parser(ParserBase):
    """One pass over the segments of an interchange: loop context, checks, table rows."""

    # -- tokenising ------------------------------------------------------------------------
    def _tokenise(self) -> tuple[dict[int, _Txn], list[dict], dict[int, dict], dict[int, str | None]]:
        """Transaction sets (with their segments), segments outside any ST..SE, ISA and GS
        control data by sequence. Each segment gets its transaction (ST count), claim (CLP
        count within the ST) and line (SVC count within the CLP)."""
        e = self.d.element
        prefixes = {seg_id: seg_id for seg_id in READ_SEGMENTS}
        prefixes.update({seg_id + e: seg_id for seg_id in READ_SEGMENTS if len(seg_id) == 2})
        txns: dict[int, _Txn] = {}
        outside: list[dict] = []
        isas: dict[int, dict] = {}
        gss: dict[int, str | None] = {}
        pos = seg_no = 0
        txn = isa_seq = gs_seq = n_se = n_env = n_clp = n_svc = 0
        st_se = st_env = st_clp = last_svc = 0
        whitespace = False
        for piece in self.body.split(self.d.segment):
            start = pos
            pos += len(piece) + 1
            raw = piece.strip(WHITESPACE)
            if len(raw) != len(piece):
                whitespace = True
            if not raw:
                continue
            seg_no += 1
            sid = prefixes.get(raw[:3], "")
            se_before = n_se
            if sid == "ST":
                txn += 1
            elif sid == "SE":
                n_se += 1
            elif sid == "CLP":
                n_clp += 1
            elif sid == "SVC":
                n_svc += 1
            elif sid in ENVELOPE_SEGMENTS:
                n_env += 1
                if sid == "ISA":
                    isa_seq += 1
                elif sid == "GS":
                    gs_seq += 1
            if sid == "ST":
                st_se, st_env, st_clp = se_before, n_env, n_clp
            if sid in ("ST", "CLP"):
                last_svc = n_svc
            if txn > 0 and se_before == st_se and n_env == st_env:
                t = txns.get(txn)
                if t is None:
                    t = txns[txn] = _Txn(txn, seg_no, start, isa_seq, gs_seq)
                t.n_segs += 1
                t.last_seg, t.last_sid, t.stop = seg_no, sid, start + len(raw)
                if sid:
                    el = [x or None for x in raw.split(e)]
                    if len(el) < N_ELEMENTS:
                        el += PADDING[len(el) :]
                    t.segs.append(
                        _Seg(seg_no, start, raw, sid, txn, n_clp - st_clp, n_svc - last_svc, n_clp, n_svc, el)
                    )
                continue
            osid = raw[:3].rstrip(e)
            outside.append({"seg_no": seg_no, "sid": osid, "txn": txn, "gs_seq": gs_seq, "raw": raw})
            if osid == "ISA" and isa_seq not in isas:
                el = raw.split(e)
                isas[isa_seq] = {
                    "icn": (el[13] or None) if len(el) > 13 else None,
                    "isa06": el[6].strip(WHITESPACE) if len(el) > 6 else None,
                    "isa08": el[8].strip(WHITESPACE) if len(el) > 8 else None,
                }
            elif osid == "GS" and gs_seq not in gss:
                el = raw.split(e)
                gss[gs_seq] = (el[6] or None) if len(el) > 6 else None
        if whitespace:
            self.finding(
                0,
                "info",
                "WHITESPACE_BETWEEN_SEGMENTS",
                "whitespace or line breaks between segments (pretty-printed X12) were removed",
                "file",
            )
        return txns, outside, isas, gss

    # -- main ------------------------------------------------------------------------------
    def run(self) -> Parsed835:
        txns, outside, isas, gss = self._tokenise()
        self._check_envelopes(outside, txns)
        if not txns:
            return whole_file_quarantined(
                self.body,
                self.src,
                "NO_TRANSACTION_SETS",
                "the interchange holds no ST..SE transaction set",
                self.findings,
            )
        segs = [s for t in txns.values() for s in t.segs]
        for t in txns.values():
            after_plb = False
            for s in t.segs:
                after_plb = after_plb or s.sid == "PLB"
                if s.claim_seq > 0 and not after_plb and s.sid != "SE":
                    s.loop = s.claim_id
        problems: dict[int, list[tuple[str, str]]] = {}
        self._check_structure(txns, problems)
        loop_problems = self._check_content(segs, problems)
        bad_loops = {loop: p for loop, p in loop_problems.items() if self._txn_of_loop[loop] not in problems}
        self._check_payment_totals(segs, bad_loops)
        texts = {n: self.body[t.start : t.stop] + self.d.segment for n, t in txns.items()}
        self._quarantine(problems, texts)
        self._quarantine_loops(txns, segs, bad_loops)
        good = {n: t for n, t in txns.items() if n not in problems}
        if bad_loops:
            for t in good.values():
                t.segs = [s for s in t.segs if s.loop not in bad_loops]
        ctx = {n: self._context(t, texts[n], isas, gss) for n, t in good.items()}
        self._check_accepted(good, ctx)
        kept = [s for t in good.values() for s in t.segs]
        tables = _Tables(kept, ctx, self.d.component).build()
        return Parsed835(
            tables=tables,
            records_read=len(txns) + len(bad_loops),
            quarantined=self.quarantined,
            findings=self.findings,
            delimiters=self.d,
        )

    @staticmethod
    def _context(t: _Txn, text: str, isas: dict[int, dict], gss: dict[int, str | None]) -> dict:
        st = next(s for s in t.segs if s.sid == "ST")
        trn = next((s for s in t.segs if s.sid == "TRN"), None)
        isa = isas.get(t.isa_seq, {})
        return {
            "record_hash": record_hash(text),
            "icn": isa.get("icn"),
            "gcn": gss.get(t.gs_seq),
            "st02": st.el[2],
            "isa06": isa.get("isa06"),
            "isa08": isa.get("isa08"),
            "trace_number": trn.el[2] if trn else None,
            "originating_company_id": trn.el[3] if trn else None,
        }

    # -- checks ----------------------------------------------------------------------------
    def _where(self, t: _Txn, st02: str | None) -> str:
        return f"{self.src} transaction set {t.txn} (ST02 {st02!s}, segments {t.first_seg}-{t.last_seg})"

    def _check_structure(self, txns: dict[int, _Txn], problems: dict[int, list[tuple[str, str]]]) -> None:
        for n, t in txns.items():
            add: list[tuple[str, str]] = []
            st = next(s for s in t.segs if s.sid == "ST")
            se = next((s for s in t.segs if s.sid == "SE"), None)
            st01, st02 = st.el[1], st.el[2]
            where = self._where(t, st02)
            if t.last_sid != "SE" or se is None:
                add.append(("MISSING_SE", f"{where}: no SE trailer before the next envelope segment or end of file"))
            else:
                se01, se02 = se.el[1], se.el[2]
                count = (se01 or "").strip()
                if not count.isdigit() or int(count) != t.n_segs:
                    add.append(
                        ("SE_COUNT_MISMATCH", f"{where}: SE01 says {se01!r} segments, counted {t.n_segs} (ST..SE)")
                    )
                if (se02 or "").strip() != (st02 or "").strip():
                    add.append(("ST_SE_CONTROL_MISMATCH", f"{where}: SE02 {se02!r} does not match ST02 {st02!r}"))
            if (st01 or "").strip() != "835":
                add.append(("UNSUPPORTED_TRANSACTION_SET", f"{where}: ST01 is {st01!r}, expected 835"))
            sids = {s.sid for s in t.segs}
            if "BPR" not in sids:
                add.append(("MISSING_BPR", f"{where}: no BPR (financial information) segment"))
            if "TRN" not in sids:
                add.append(("MISSING_TRN", f"{where}: no TRN (reassociation trace number) segment"))
            if add:
                problems[n] = add

    def _check_content(
        self, segs: list[_Seg], problems: dict[int, list[tuple[str, str]]]
    ) -> dict[int, list[tuple[str, str]]]:
        """Quarantine reasons from the segments and the balancing / code findings that still land.

        A problem on a segment of a claim loop (CLP up to the next CLP / PLB / SE) is the loop's:
        the loop is quarantined alone, unless its transaction set is quarantined whole (a
        structural or header-level problem), which then lists every problem (first per transaction
        set within each check, in segment order). Returns the problems by claim loop (claim_id)."""
        self._txn_of_loop = {s.claim_id: s.txn for s in segs if s.sid == "CLP"}
        txn_hits: dict[str, dict[int, tuple[_Seg, str, str]]] = {check: {} for check in CONTENT_CHECKS}
        unit_hits: dict[str, dict[tuple[int, int], tuple[_Seg, str, str]]] = {check: {} for check in CONTENT_CHECKS}

        def hit(check: str, seg: _Seg, reason: str, describe: str) -> None:
            txn_hits[check].setdefault(seg.txn, (seg, reason, describe))
            unit_hits[check].setdefault((seg.txn, seg.loop), (seg, reason, describe))

        for s in segs:
            sid, el = s.sid, s.el
            if (sid in ORPHAN_SEGMENTS and s.claim_seq == 0) or (sid == "LQ" and s.line_seq == 0):
                hit("orphan", s, "SEGMENT_OUT_OF_PLACE", "segment appears before the CLP/SVC it belongs to")
            positions = REQUIRED_BY_SEGMENT.get(sid)
            if positions and any(el[p] is None for p in positions):
                hit(
                    sid,
                    s,
                    "MISSING_REQUIRED_ELEMENT",
                    f"{sid} lacks a required element ({', '.join(f'{sid}{p:02d}' for p in positions)})",
                )
            for pos in NUMERIC_ELEMENTS.get(sid, ()):  # amounts and quantities must be numbers
                value = el[pos]
                if value is not None and not AMOUNT_RE.match(value):
                    hit("numeric", s, "NON_NUMERIC_AMOUNT", f"{sid}{pos:02d} {value!r} is not a number")
            if sid == "CAS":
                for k in range(6):
                    if el[2 + 3 * k] is not None and el[3 + 3 * k] is None:
                        hit(
                            "cas_amount",
                            s,
                            "MISSING_REQUIRED_ELEMENT",
                            f"CAS{3 + 3 * k:02d} (adjustment amount) is empty for a reason code",
                        )
        whole = set(problems) | {txn for check in CONTENT_CHECKS for txn, loop in unit_hits[check] if loop == 0}
        loop_problems: dict[int, list[tuple[str, str]]] = {}
        for check in CONTENT_CHECKS:
            for seg, reason, describe in txn_hits[check].values():
                if seg.txn in whole:
                    problems.setdefault(seg.txn, []).append((reason, self._problem(seg, describe)))
            for (txn, loop), (seg, reason, describe) in unit_hits[check].items():
                if loop and txn not in whole:
                    loop_problems.setdefault(loop, []).append((reason, self._problem(seg, describe)))
        cas = [s for s in segs if s.sid == "CAS"]

        # claim balancing: CLP03 = CLP04 + every CAS of the claim (claim and line level)
        claim_adj: dict[int, Decimal] = {}
        line_adj: dict[int, Decimal] = {}
        unknown_groups: list[_Seg] = []
        for s in cas:
            if s.claim_seq == 0:
                continue
            present = False
            for k in range(6):
                if s.el[2 + 3 * k] is None and s.el[3 + 3 * k] is None:
                    continue
                present = True
                amount = _to_decimal(s.el[3 + 3 * k])
                if amount is not None:
                    claim_adj[s.claim_id] = claim_adj.get(s.claim_id, ZERO) + amount
                    if s.line_seq > 0:
                        line_adj[s.line_id] = line_adj.get(s.line_id, ZERO) + amount
            if present and s.el[1] is not None and s.el[1] not in CAS_GROUP_CODES:
                unknown_groups.append(s)
        for s in segs:
            if s.sid != "CLP":
                continue
            charge, paid = _to_decimal(s.el[3]), _to_decimal(s.el[4])
            if charge is None or paid is None:
                continue
            adjusted = claim_adj.get(s.claim_id, ZERO)
            diff = charge - paid - adjusted
            if diff != 0:
                self.finding(
                    s.txn,
                    "error",
                    "CLAIM_OUT_OF_BALANCE",
                    claim_out_of_balance_message(s.txn, s.seg_no, s.raw, s.claim_seq, charge, paid, adjusted, diff),
                    f"segment {s.seg_no}",
                )

        # standard deviations that still land: findings only
        for s in unknown_groups[: MAX_FINDINGS_PER_RULE + 1]:
            self.finding(
                s.txn,
                "warning",
                "UNKNOWN_CAS_GROUP_CODE",
                f"transaction set {s.txn} segment {s.seg_no}: CAS group code {s.el[1]!r} is not one of "
                f"{', '.join(CAS_GROUP_CODES)}",
                f"segment {s.seg_no}",
            )
        off = 0
        for s in segs:
            if s.sid != "SVC" or s.claim_seq == 0:
                continue
            charge, paid = _to_decimal(s.el[2]), _to_decimal(s.el[3])
            adjusted = line_adj.get(s.line_id, ZERO)
            if charge is None or paid is None or charge - paid - adjusted == 0:
                continue
            off += 1
            if off > MAX_FINDINGS_PER_RULE + 1:
                break
            self.finding(
                s.txn,
                "warning",
                "LINE_OUT_OF_BALANCE",
                f"transaction set {s.txn} claim {s.claim_seq} line {s.line_seq}: charge {charge} != paid "
                f"{paid} + line adjustments {adjusted}",
                f"segment {s.seg_no}",
            )
        return loop_problems

    def _problem(self, seg: _Seg, describe: str) -> str:
        return f"{self.src} transaction set {seg.txn} segment {seg.seg_no} ({seg.raw[:80]}): {describe}"

    def _check_payment_totals(self, segs: list[_Seg], bad_loops: dict[int, list]) -> None:
        """BPR02 = sum(CLP04) - sum(PLB amounts), per transaction set (a finding); the CLP04 of a
        quarantined claim loop is not counted, and the finding names the loop."""
        bpr: dict[int, _Seg] = {}
        paid: dict[int, Decimal] = {}
        plb: dict[int, Decimal] = {}
        loops: dict[int, list[tuple[str | None, Decimal | None]]] = {}
        for s in segs:
            if s.sid == "BPR":
                bpr.setdefault(s.txn, s)
            elif s.sid == "CLP" and s.claim_id in bad_loops:
                loops.setdefault(s.txn, []).append((s.el[1], readable_amount(s.el[4])))
            elif s.sid == "CLP":
                paid[s.txn] = paid.get(s.txn, ZERO) + (_to_decimal(s.el[4]) or ZERO)
            elif s.sid == "PLB":
                plb[s.txn] = plb.get(s.txn, ZERO) + sum((_to_decimal(s.el[4 + 2 * k]) or ZERO for k in range(6)), ZERO)
        n = 0
        for txn in sorted(bpr):
            total = _to_decimal(bpr[txn].el[2])
            if total is None or total - (paid.get(txn, ZERO) - plb.get(txn, ZERO)) == 0:
                continue
            n += 1
            if n > MAX_FINDINGS_PER_RULE + 1:
                break
            self.finding(
                txn,
                "warning",
                "PAYMENT_OUT_OF_BALANCE",
                payment_out_of_balance_message(txn, total, paid.get(txn, ZERO), plb.get(txn, ZERO), loops.get(txn, [])),
                f"segment {bpr[txn].seg_no}",
            )

    def _check_accepted(self, good: dict[int, _Txn], ctx: dict[int, dict]) -> None:
        """Findings about the transaction sets that land."""
        traces = Counter(c["trace_number"] for c in ctx.values() if c["trace_number"] is not None)
        repeated = [n for n, c in ctx.items() if c["trace_number"] is not None and traces[c["trace_number"]] > 1]
        for n in repeated[: MAX_FINDINGS_PER_RULE + 1]:
            self.finding(
                n,
                "warning",
                "DUPLICATE_TRACE_NUMBER",
                f"transaction set {n}: TRN02 {ctx[n]['trace_number']} appears in more than one "
                f"transaction set of this file; all land",
                f"ST02 {ctx[n]['st02']}",
            )
        heads = {n: [s for s in t.segs if s.claim_seq == 0] for n, t in good.items()}
        no_payer = [n for n, h in heads.items() if not any(s.sid == "N1" and s.el[1] == "PR" for s in h)]
        for n in no_payer[: MAX_FINDINGS_PER_RULE + 1]:
            self.finding(
                n, "warning", "MISSING_PAYER", f"transaction set {n}: no N1*PR payer", f"ST02 {ctx[n]['st02']}"
            )
        no_date = [n for n, h in heads.items() if not any(s.sid == "DTM" and s.el[1] == "405" for s in h)]
        for n in no_date[: MAX_FINDINGS_PER_RULE + 1]:
            self.finding(
                n,
                "info",
                "MISSING_PRODUCTION_DATE",
                f"transaction set {n}: no DTM*405 production date",
                f"ST02 {ctx[n]['st02']}",
            )
        bad_dates = 0
        for t in good.values():
            for s in t.segs:
                value = s.el[16] if s.sid == "BPR" else s.el[2] if s.sid in ("DTM", "PLB") else None
                if value is None or _to_date(value) is not None:
                    continue
                bad_dates += 1
                if bad_dates > MAX_FINDINGS_PER_RULE + 1:
                    return
                self.finding(
                    s.txn,
                    "warning",
                    "BAD_DATE",
                    f"transaction set {s.txn} segment {s.seg_no} ({s.raw[:60]}): {value!r} is not a "
                    f"CCYYMMDD date; landed as null",
                    f"segment {s.seg_no}",
                )

    def _quarantine(self, problems: dict[int, list[tuple[str, str]]], texts: dict[int, str]) -> None:
        for txn in sorted(problems):
            self.quarantined.append(quarantined_transaction_set(txn, problems[txn], texts[txn]))

    def _quarantine_loops(self, txns: dict[int, _Txn], segs: list[_Seg], bad_loops: dict[int, list]) -> None:
        """Each malformed claim loop of a landing transaction set: record len(txns) + k, in file order."""
        members: dict[int, list[_Seg]] = {}
        for s in segs:
            if s.loop in bad_loops:
                members.setdefault(s.loop, []).append(s)
        for k, loop in enumerate(sorted(bad_loops), start=1):
            first, last = members[loop][0], members[loop][-1]
            st02 = next(s.el[2] for s in txns[first.txn].segs if s.sid == "ST")
            text = self.body[first.start : last.start + len(last.raw)] + self.d.segment
            self.quarantined.append(
                quarantined_claim_loop(
                    len(txns) + k,
                    self.src,
                    first.txn,
                    st02,
                    first.el[1],
                    first.seg_no,
                    last.seg_no,
                    bad_loops[loop],
                    text,
                )
            )

    # -- envelopes -------------------------------------------------------------------------
    def _check_envelopes(self, outside: list[dict], txns: dict[int, _Txn]) -> None:
        check_envelopes(outside, Counter(t.gs_seq for t in txns.values()), self.d.element, self.finding)


class _Tables:
    """The six raw tables from the segments of the accepted transaction sets (file order)."""

    def __init__(self, segs: list[_Seg], ctx: dict[int, dict], component: str) -> None:
        self.segs = segs
        self.ctx = ctx
        self.comp = component

    def _keys(self, s: _Seg) -> tuple:
        c = self.ctx[s.txn]
        return c["icn"], c["st02"], c["trace_number"]

    def build(self) -> dict[str, pl.DataFrame]:
        rows: dict[str, list[tuple]] = {key: [] for key in TABLES}
        claim_extra: dict[int, dict[str, _Seg]] = {}
        line_extra: dict[int, dict[str, _Seg]] = {}
        head: dict[int, dict[str, _Seg]] = {}
        bpr: dict[int, _Seg] = {}
        claim_count: Counter[int] = Counter()
        for s in self.segs:  # the first qualifying segment of each kind, per transaction / claim / line
            sid, q = s.sid, s.el[1]
            if sid == "BPR":
                bpr.setdefault(s.txn, s)
            elif sid == "CLP":
                claim_count[s.txn] += 1
            if s.claim_seq == 0:
                if (sid, q) in HEAD_QUALIFIERS:
                    head.setdefault(s.txn, {}).setdefault(f"{sid}*{q}", s)
            elif s.line_seq == 0:
                if (sid, q) in CLAIM_QUALIFIERS:
                    claim_extra.setdefault(s.claim_id, {}).setdefault(f"{sid}*{q}", s)
            if s.line_seq > 0 and (sid, q) in LINE_QUALIFIERS:
                line_extra.setdefault(s.line_id, {}).setdefault(f"{sid}*{q}", s)

        def el(found: dict[str, _Seg], key: str, i: int) -> str | None:
            seg = found.get(key)
            return seg.el[i] if seg is not None else None

        for txn, b in bpr.items():
            c, h = self.ctx[txn], head.get(txn, {})
            pe_qualifier, pe_id, ref_tj = el(h, "N1*PE", 3), el(h, "N1*PE", 4), el(h, "REF*TJ", 2)
            pe_npi = pe_id if pe_qualifier == PAYEE_NPI_QUALIFIER else None
            pe_tax_id = ref_tj if ref_tj is not None else pe_id if pe_qualifier == PAYEE_TAX_ID_QUALIFIER else None
            rows["payments"].append(
                (
                    c["icn"],
                    c["gcn"],
                    c["st02"],
                    c["isa06"],
                    c["isa08"],
                    b.el[1],
                    b.el[2],
                    b.el[3],
                    b.el[4],
                    _to_date(b.el[16]),
                    c["trace_number"],
                    c["originating_company_id"],
                    _to_date(el(h, "DTM*405", 2)),
                    el(h, "N1*PR", 4) if el(h, "N1*PR", 4) is not None else el(h, "REF*2U", 2),
                    el(h, "N1*PR", 2),
                    el(h, "N1*PE", 2),
                    pe_npi,
                    pe_qualifier,
                    pe_id,
                    pe_tax_id,
                    claim_count[txn],
                    b.seg_no,
                    c["record_hash"],
                )
            )
        for s in self.segs:
            sid = s.sid
            if sid == "CLP":
                x = claim_extra.get(s.claim_id, {})
                il, qc = el(x, "NM1*IL", 9), el(x, "NM1*QC", 9)
                rows["claims"].append(
                    (
                        *self._keys(s),
                        s.claim_seq,
                        s.el[1],
                        s.el[2],
                        s.el[3],
                        s.el[4],
                        s.el[5],
                        s.el[6],
                        s.el[7],
                        s.el[8],
                        s.el[9],
                        s.el[11],
                        el(x, "NM1*QC", 3),
                        el(x, "NM1*QC", 4),
                        il if il is not None else qc,
                        el(x, "NM1*82", 9),
                        _to_date(el(x, "DTM*232", 2)),
                        _to_date(el(x, "DTM*233", 2)),
                        _to_date(el(x, "DTM*050", 2)),
                        el(x, "AMT*AU", 2),
                        s.seg_no,
                        self.ctx[s.txn]["record_hash"],
                    )
                )
            elif s.claim_seq == 0:
                if sid == "PLB":
                    self._plb(s, rows["provider_adjustments"])
                continue
            elif sid == "SVC":
                x = line_extra.get(s.line_id, {})
                comps = [(p or None) for p in (s.el[1] or "").split(self.comp)[:7]] if s.el[1] is not None else []
                comps += [None] * (7 - len(comps))
                modifiers = ":".join(m for m in comps[2:6] if m is not None) or None
                revenue = s.el[4] if s.el[4] is not None else (comps[1] if comps[0] == "NU" else None)
                d472, d150 = _to_date(el(x, "DTM*472", 2)), _to_date(el(x, "DTM*150", 2))
                rows["service_lines"].append(
                    (
                        *self._keys(s),
                        s.claim_seq,
                        s.line_seq,
                        comps[0],
                        comps[1],
                        modifiers,
                        s.el[2],
                        s.el[3],
                        revenue,
                        s.el[5],
                        d472 if d472 is not None else d150,
                        el(x, "REF*6R", 2),
                        el(x, "AMT*B6", 2),
                        s.seg_no,
                        self.ctx[s.txn]["record_hash"],
                    )
                )
            elif sid == "CAS":
                line = s.line_seq if s.line_seq > 0 else None
                for k in range(6):
                    carc, amount = s.el[2 + 3 * k], s.el[3 + 3 * k]
                    if carc is None and amount is None:
                        continue
                    rows["adjustments"].append(
                        (
                            *self._keys(s),
                            s.claim_seq,
                            line,
                            "line" if line else "claim",
                            k + 1,
                            s.el[1],
                            carc,
                            amount,
                            s.el[4 + 3 * k],
                            s.seg_no,
                            self.ctx[s.txn]["record_hash"],
                        )
                    )
            elif sid in REMARK_POSITIONS and (sid != "LQ" or s.el[1] == "HE"):
                line = s.line_seq if s.line_seq > 0 else None
                for pos in REMARK_POSITIONS[sid]:
                    if s.el[pos] is not None:
                        rows["remarks"].append(
                            (
                                *self._keys(s),
                                s.claim_seq,
                                line,
                                sid,
                                s.el[pos],
                                s.seg_no,
                                self.ctx[s.txn]["record_hash"],
                            )
                        )
            elif sid == "PLB":
                self._plb(s, rows["provider_adjustments"])
        return {key: _frame(key, found) for key, found in rows.items()}

    def _plb(self, s: _Seg, out: list[tuple]) -> None:
        for k in range(6):
            reason, amount = s.el[3 + 2 * k], s.el[4 + 2 * k]
            parts = reason.split(self.comp)[:2] if reason is not None else []
            code = (parts[0] or None) if parts else None
            reference = (parts[1] or None) if len(parts) > 1 else None
            if code is None and amount is None:
                continue
            out.append(
                (
                    *self._keys(s),
                    s.el[1],
                    _to_date(s.el[2]),
                    code,
                    reference,
                    amount,
                    s.seg_no,
                    self.ctx[s.txn]["record_hash"],
                )
            )
