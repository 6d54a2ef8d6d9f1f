"""The polars 835 parser: ``careledger.ingest.x12.loader.load`` uses it for files larger than
``SINGLE_PASS_MAX_CHARS``, where it is several times faster per byte than the single-pass
parser; small files pay its fixed cost (about 400 small polars collects per file) and take
the single-pass parser instead.

``tests/unit/ingest/test_x12_equivalence.py`` lands the same files through both parsers and
asserts identical raw rows, quarantine and findings; ``python -m careledger.bench.parsers
--reference`` times both.
"""

from __future__ import annotations

import polars as pl

from careledger.ingest.landing import Finding, record_hash
from careledger.ingest.x12.segments import (
    AMOUNT_PATTERN,
    CAS_GROUP_CODES,
    LAST_ELEMENT_READ,
    MAX_FINDINGS_PER_RULE,
    NUMERIC_ELEMENTS,
    ORPHAN_SEGMENTS,
    PAYEE_NPI_QUALIFIER,
    PAYEE_TAX_ID_QUALIFIER,
    READ_SEGMENTS,
    REQUIRED_BY_SEGMENT,
    Delimiters,
    Parsed835,
    ParserBase,
    check_envelopes,
    claim_out_of_balance_message,
    parse_with,
    payment_out_of_balance_message,
    quarantined_claim_loop,
    quarantined_transaction_set,
    readable_amount,
    whole_file_quarantined,
)


def parse_835_text_polars(text: str, source_name: str = "<text>") -> Parsed835:
    """The polars parse of 835 text (pure; no database)."""
    return parse_with(_Parser, text, source_name)


def _nz(expr: pl.Expr) -> pl.Expr:
    """Empty string -> null."""
    return expr.replace("", None)


def _el(i: int) -> pl.Expr:
    """Element ``i`` of a split segment frame (columns e0..eN, empty already null)."""
    return pl.col(f"e{i}")


def _date(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_date("%Y%m%d", strict=False)


def _first_per(keys: list[str]) -> pl.Expr:
    """True on the first row of each key (frames are in segment order)."""
    return pl.col(keys[0]).is_first_distinct() if len(keys) == 1 else pl.struct(keys).is_first_distinct()


def _ffill_at(cond: pl.Expr, value: pl.Expr) -> pl.Expr:
    """``value`` taken where ``cond`` holds, carried forward (0 before the first)."""
    return pl.when(cond).then(value).forward_fill().fill_null(0)


# Segment ids as small integer codes (0 = any other segment), in READ_SEGMENTS order: the
# envelope segments come last, so ``code >= ISA`` means "envelope".
SEGMENT_CODES = {seg_id: n + 1 for n, seg_id in enumerate(READ_SEGMENTS)}
CODE_NAMES = {code: seg_id for seg_id, code in SEGMENT_CODES.items()}
KEY_COLUMNS = ["seg_no", "txn", "claim_seq", "line_seq", "claim_id", "line_id", "loop_id", "raw"]


class _Parser(ParserBase):
    def __init__(self, body: str, delims: Delimiters, source_name: str, findings: list[Finding]) -> None:
        super().__init__(body, delims, source_name, findings)
        self._parts: dict[str, pl.DataFrame] = {}
        self._split: dict[str, pl.DataFrame] = {}

    # -- reporting ---------------------------------------------------------------------
    # -- tokenising --------------------------------------------------------------------
    def _segments(self) -> pl.DataFrame:
        """One row per non-empty segment with its transaction, claim and line position."""
        d = self.d
        raw = pl.Series("raw", self.body.split(d.segment), dtype=pl.Utf8)
        frame = pl.DataFrame({"raw": raw}).with_columns(length=pl.col("raw").str.len_chars())
        frame = frame.with_columns(offset=(pl.col("length") + 1).cum_sum() - (pl.col("length") + 1))
        frame = frame.with_columns(raw=pl.col("raw").str.strip_chars())
        if (frame["raw"].str.len_chars() != frame["length"]).any():
            self.finding(
                0,
                "info",
                "WHITESPACE_BETWEEN_SEGMENTS",
                "whitespace or line breaks between segments (pretty-printed X12) were removed",
                "file",
            )
        # segment ids as small integer codes: one pass over a 3-character prefix
        prefixes: dict[str, int] = {}
        for seg_id, code in SEGMENT_CODES.items():
            prefixes[seg_id] = code
            if len(seg_id) == 2:
                prefixes[seg_id + d.element] = code
        seg = (
            frame.filter(pl.col("raw") != "")
            .with_row_index("seg_no", offset=1)
            .with_columns(
                pl.col("seg_no").cast(pl.Int64),
                code=pl.col("raw").str.slice(0, 3).replace_strict(prefixes, default=0, return_dtype=pl.UInt8),
            )
        )
        code = pl.col("code")

        def count(seg_id: str) -> pl.Expr:
            return (code == SEGMENT_CODES[seg_id]).cast(pl.Int32).cum_sum()

        is_st = code == SEGMENT_CODES["ST"]
        seg = seg.with_columns(
            txn=count("ST"),
            isa_seq=count("ISA"),
            gs_seq=count("GS"),
            _se=count("SE"),
            _env=(code >= SEGMENT_CODES["ISA"]).cast(pl.Int32).cum_sum(),
            _clp=count("CLP"),
            _svc=count("SVC"),
            _plb=count("PLB"),
        )
        se_before = pl.col("_se") - (code == SEGMENT_CODES["SE"]).cast(pl.Int32)
        seg = seg.with_columns(
            in_txn=(pl.col("txn") > 0)
            & (se_before - _ffill_at(is_st, se_before) == 0)
            & (pl.col("_env") - _ffill_at(is_st, pl.col("_env")) == 0),
            claim_seq=pl.col("_clp") - _ffill_at(is_st, pl.col("_clp")),
            line_seq=pl.col("_svc") - _ffill_at(is_st | (code == SEGMENT_CODES["CLP"]), pl.col("_svc")),
            _plb_seen=pl.col("_plb") - _ffill_at(is_st, pl.col("_plb")),
        )
        # the claim loop a segment belongs to (CLP up to the next CLP / PLB / SE): its claim_id, else 0
        seg = seg.with_columns(
            loop_id=pl.when((pl.col("claim_seq") > 0) & (pl.col("_plb_seen") == 0) & (code != SEGMENT_CODES["SE"]))
            .then(pl.col("_clp"))
            .otherwise(0)
            .cast(pl.Int32)
        )
        # file-wide ids (the n-th CLP / SVC of the file): single integer join keys
        return seg.drop("_se", "_env", "length", "_plb", "_plb_seen").rename({"_clp": "claim_id", "_svc": "line_id"})

    def part(self, seg_id: str) -> pl.DataFrame:
        """The in-transaction segments of one type, split into e0..eN columns."""
        if seg_id not in self._split:
            width = LAST_ELEMENT_READ[seg_id]
            frame = self._parts.get(seg_id)
            if frame is None:
                frame = pl.DataFrame(
                    schema={
                        "seg_no": pl.Int64,
                        "txn": pl.Int32,
                        "claim_seq": pl.Int32,
                        "line_seq": pl.Int32,
                        "claim_id": pl.Int32,
                        "line_id": pl.Int32,
                        "loop_id": pl.Int32,
                        "raw": pl.Utf8,
                    }
                )
            # split only as wide as the widest segment present (most CAS carry one triplet)
            present = frame["raw"].str.count_matches(self.d.element, literal=True).max() if frame.height else 0
            used = max(1, min(width, int(present or 0)))
            names = [f"e{i}" for i in range(used + 1)]
            split = frame.select(
                *KEY_COLUMNS,
                pl.col("raw").str.split_exact(self.d.element, used).struct.rename_fields(names).alias("_e"),
            ).unnest("_e")
            split = split.with_columns(_nz(pl.col(n)).alias(n) for n in names)
            if used < width:
                split = split.with_columns(
                    pl.lit(None, dtype=pl.Utf8).alias(f"e{i}") for i in range(used + 1, width + 1)
                )
            self._split[seg_id] = split
        return self._split[seg_id]

    # -- main --------------------------------------------------------------------------
    def run(self) -> Parsed835:
        seg = self._segments()
        t = seg.filter(pl.col("in_txn"))
        outside = seg.filter(~pl.col("in_txn")).with_columns(
            sid=pl.col("raw").str.slice(0, 3).str.strip_chars_end(self.d.element)
        )
        n_txn = int(t["txn"].max() or 0) if t.height else 0
        self._parts = {
            CODE_NAMES[k[0]]: v.select(KEY_COLUMNS)
            for k, v in t.partition_by("code", as_dict=True).items()
            if CODE_NAMES.get(k[0]) in LAST_ELEMENT_READ
        }
        txn_info = self._txn_info(t, outside)
        self._check_envelopes(outside, txn_info)
        if n_txn == 0:
            return whole_file_quarantined(
                self.body,
                self.src,
                "NO_TRANSACTION_SETS",
                "the interchange holds no ST..SE transaction set",
                self.findings,
            )

        problems: dict[int, list[tuple[str, str]]] = {}
        self._check_structure(txn_info, problems)
        loop_problems = self._check_content(problems)
        clp = self.part("CLP").select("txn", "loop_id", "seg_no", clp01=_el(1), clp04=_el(4))
        txn_of_loop = dict(zip(clp["loop_id"].to_list(), clp["txn"].to_list(), strict=True))
        bad_loops = {loop: p for loop, p in loop_problems.items() if txn_of_loop[loop] not in problems}
        self._check_payment_total(pl.Decimal(38, 4), clp.filter(pl.col("loop_id").is_in(list(bad_loops))))
        bad = sorted(problems)
        self._quarantine(txn_info, problems)
        self._quarantine_loops(t, txn_info, clp, bad_loops, n_txn)
        if bad or bad_loops:
            drop = ~pl.col("txn").is_in(bad) & ~pl.col("loop_id").is_in(list(bad_loops))
            self._split = {k: v.filter(drop) for k, v in ((k, self.part(k)) for k in LAST_ELEMENT_READ)}
        ctx = self._context(txn_info.filter(~pl.col("txn").is_in(bad)))
        tables = {
            "payments": self._payments(ctx),
            "claims": self._claims(ctx),
            "service_lines": self._service_lines(ctx),
            "adjustments": self._adjustments(ctx),
            "remarks": self._remarks(ctx),
            "provider_adjustments": self._provider_adjustments(ctx),
        }
        self._check_dates()
        return Parsed835(
            tables=tables,
            records_read=n_txn + len(bad_loops),
            quarantined=self.quarantined,
            findings=self.findings,
            delimiters=self.d,
        )

    # -- per-transaction facts ---------------------------------------------------------
    def _txn_info(self, t: pl.DataFrame, outside: pl.DataFrame) -> pl.DataFrame:
        if t.height == 0:
            return pl.DataFrame()
        e = self.d.element
        isa = (
            outside.filter(pl.col("sid") == "ISA")
            .select("isa_seq", _s=pl.col("raw").str.split_exact(e, 13))
            .unnest("_s")
            .select(
                "isa_seq",
                icn=_nz(pl.col("field_13")),
                isa06=pl.col("field_6").str.strip_chars(),
                isa08=pl.col("field_8").str.strip_chars(),
            )
            .unique("isa_seq", keep="first")
        )
        gs = (
            outside.filter(pl.col("sid") == "GS")
            .select("gs_seq", gcn=_nz(pl.col("raw").str.split_exact(e, 6).struct.field("field_6")))
            .unique("gs_seq", keep="first")
        )
        spans = t.group_by("txn").agg(
            n_segs=pl.len(),
            first_seg=pl.col("seg_no").first(),
            last_seg=pl.col("seg_no").last(),
            last_code=pl.col("code").last(),
            start=pl.col("offset").first(),
            end=pl.col("offset").last() + pl.col("raw").last().str.len_chars(),
            isa_seq=pl.col("isa_seq").first(),
            gs_seq=pl.col("gs_seq").first(),
        )
        st = self.part("ST").select("txn", st01=_el(1), st02=_el(2))
        se = self.part("SE").select("txn", se01=_el(1), se02=_el(2)).unique("txn", keep="first")
        flags = [
            self.part(s).select("txn").unique().with_columns(pl.lit(True).alias(f"has_{s.lower()}"))
            for s in ("BPR", "TRN")
        ]
        info = (
            spans.join(st, on="txn", how="left")
            .join(se, on="txn", how="left")
            .join(flags[0], on="txn", how="left")
            .join(flags[1], on="txn", how="left")
            .join(isa, on="isa_seq", how="left")
            .join(gs, on="gs_seq", how="left")
            .with_columns(pl.col("has_bpr", "has_trn").fill_null(False))
            .sort("txn")
        )
        texts = [
            self.body[a:b] + self.d.segment for a, b in zip(info["start"].to_list(), info["end"].to_list(), strict=True)
        ]
        return info.with_columns(
            text=pl.Series(texts, dtype=pl.Utf8), record_hash=pl.Series([record_hash(x) for x in texts], dtype=pl.Utf8)
        )

    def _where(self, row: dict) -> str:
        return (
            f"{self.src} transaction set {row['txn']} (ST02 {row['st02']!s}, "
            f"segments {row['first_seg']}-{row['last_seg']})"
        )

    def _check_structure(self, info: pl.DataFrame, problems: dict[int, list[tuple[str, str]]]) -> None:
        for row in info.drop("text").iter_rows(named=True):
            add = problems.setdefault(row["txn"], [])
            where = self._where(row)
            if row["last_code"] != SEGMENT_CODES["SE"]:
                add.append(("MISSING_SE", f"{where}: no SE trailer before the next envelope segment or end of file"))
            else:
                se01 = (row["se01"] or "").strip()
                if not se01.isdigit() or int(se01) != row["n_segs"]:
                    add.append(
                        (
                            "SE_COUNT_MISMATCH",
                            f"{where}: SE01 says {row['se01']!r} segments, counted {row['n_segs']} (ST..SE)",
                        )
                    )
                if (row["se02"] or "").strip() != (row["st02"] or "").strip():
                    add.append(
                        ("ST_SE_CONTROL_MISMATCH", f"{where}: SE02 {row['se02']!r} does not match ST02 {row['st02']!r}")
                    )
            if (row["st01"] or "").strip() != "835":
                add.append(("UNSUPPORTED_TRANSACTION_SET", f"{where}: ST01 is {row['st01']!r}, expected 835"))
            if not row["has_bpr"]:
                add.append(("MISSING_BPR", f"{where}: no BPR (financial information) segment"))
            if not row["has_trn"]:
                add.append(("MISSING_TRN", f"{where}: no TRN (reassociation trace number) segment"))
            if not add:
                del problems[row["txn"]]

    def _check_content(self, problems: dict[int, list[tuple[str, str]]]) -> dict[int, list[tuple[str, str]]]:
        """Quarantine reasons and findings, as the single-pass parser's ``_check_content``: a
        problem in a claim loop quarantines that loop alone unless its transaction set is
        quarantined whole. Returns the problems by claim loop (claim_id)."""
        hits: list[tuple[pl.DataFrame, str, str]] = []

        def report(frame: pl.DataFrame, reason: str, describe: str) -> None:
            hits.append((frame, reason, describe))

        base = ["txn", "seg_no", "raw", "loop_id"]
        # segments that need a claim (or a service line) around them
        orphan = [self.part(s).filter(pl.col("claim_seq") == 0).select(base) for s in ORPHAN_SEGMENTS]
        orphan.append(self.part("LQ").filter(pl.col("line_seq") == 0).select(base))
        report(
            pl.concat(orphan).sort("seg_no"), "SEGMENT_OUT_OF_PLACE", "segment appears before the CLP/SVC it belongs to"
        )

        for seg_id, positions in REQUIRED_BY_SEGMENT.items():
            cond = pl.lit(False)
            for p in positions:
                cond = cond | _el(p).is_null()
            report(
                self.part(seg_id).filter(cond).select(base),
                "MISSING_REQUIRED_ELEMENT",
                f"{seg_id} lacks a required element ({', '.join(f'{seg_id}{p:02d}' for p in positions)})",
            )

        # amounts and quantities must be numbers
        checks = [(seg_id, pos) for seg_id, positions in NUMERIC_ELEMENTS.items() for pos in positions]
        frames = [
            self.part(seg_id)
            .select(*base, value=_el(pos), element=pl.lit(f"{seg_id}{pos:02d}"))
            .filter(pl.col("value").is_not_null() & ~pl.col("value").str.contains(AMOUNT_PATTERN))
            for seg_id, pos in checks
        ]
        # a stable sort: within a segment the first element checked is the one reported, as in
        # the single-pass parser (a segment with two non-numeric elements names the first)
        report(
            pl.concat(frames).sort("seg_no", maintain_order=True),
            "NON_NUMERIC_AMOUNT",
            "{element} {value!r} is not a number",
        )
        cas = self.part("CAS")
        cas_missing = [
            cas.filter(_el(2 + 3 * k).is_not_null() & _el(3 + 3 * k).is_null()).select(
                *base, element=pl.lit(f"CAS{3 + 3 * k:02d}")
            )
            for k in range(6)
        ]
        report(
            pl.concat(cas_missing).sort("seg_no"),
            "MISSING_REQUIRED_ELEMENT",
            "{element} (adjustment amount) is empty for a reason code",
        )
        whole = set(problems)
        for frame, _, _ in hits:
            whole.update(frame.filter(pl.col("loop_id") == 0)["txn"].to_list())
        loop_problems: dict[int, list[tuple[str, str]]] = {}

        def message(row: dict, describe: str) -> str:
            return (
                f"{self.src} transaction set {row['txn']} segment {row['seg_no']} ({row['raw'][:80]}): "
                f"{describe.format(**row)}"
            )

        for frame, reason, describe in hits:
            if frame.height == 0:
                continue
            for row in frame.unique(subset="txn", keep="first", maintain_order=True).iter_rows(named=True):
                if row["txn"] in whole:
                    problems.setdefault(row["txn"], []).append((reason, message(row, describe)))
            in_loops = frame.filter((pl.col("loop_id") > 0) & ~pl.col("txn").is_in(list(whole)))
            for row in in_loops.unique(subset="loop_id", keep="first", maintain_order=True).iter_rows(named=True):
                loop_problems.setdefault(row["loop_id"], []).append((reason, message(row, describe)))

        # claim balancing: CLP03 = CLP04 + sum(claim CAS) + sum(line CAS)
        dec = pl.Decimal(38, 4)
        zero = pl.lit(0).cast(dec)
        clp = self.part("CLP").select(
            "txn",
            "claim_seq",
            "claim_id",
            "seg_no",
            "raw",
            charge=_el(3).cast(dec, strict=False),
            paid=_el(4).cast(dec, strict=False),
        )
        adj = self._cas_long().with_columns(amount=pl.col("amount").cast(dec, strict=False))
        cas_sum = adj.group_by("claim_id").agg(adjusted=pl.col("amount").sum())
        unbalanced = (
            clp.join(cas_sum, on="claim_id", how="left")
            .with_columns(adjusted=pl.col("adjusted").fill_null(zero))
            .with_columns(diff=pl.col("charge") - pl.col("paid") - pl.col("adjusted"))
            .filter(pl.col("diff").is_not_null() & (pl.col("diff") != 0))
            .with_columns(pl.col(c).cast(pl.Utf8) for c in ("charge", "paid", "adjusted", "diff"))
        )
        for row in unbalanced.sort("seg_no").head(MAX_FINDINGS_PER_RULE + 1).iter_rows(named=True):
            self.finding(
                row["txn"],
                "error",
                "CLAIM_OUT_OF_BALANCE",
                claim_out_of_balance_message(
                    row["txn"],
                    row["seg_no"],
                    row["raw"],
                    row["claim_seq"],
                    row["charge"],
                    row["paid"],
                    row["adjusted"],
                    row["diff"],
                ),
                f"segment {row['seg_no']}",
            )

        # standard deviations that still land: findings only
        groups = adj.filter(~pl.col("group_code").is_in(CAS_GROUP_CODES))
        groups = groups.unique(subset="seg_no", keep="first").sort("seg_no").head(MAX_FINDINGS_PER_RULE + 1)
        for row in groups.iter_rows(named=True):
            self.finding(
                row["txn"],
                "warning",
                "UNKNOWN_CAS_GROUP_CODE",
                f"transaction set {row['txn']} segment {row['seg_no']}: CAS group code "
                f"{row['group_code']!r} is not one of {', '.join(CAS_GROUP_CODES)}",
                f"segment {row['seg_no']}",
            )
        svc = (
            self.part("SVC")
            .filter(pl.col("claim_seq") > 0)
            .select(
                "txn",
                "claim_seq",
                "line_seq",
                "line_id",
                "seg_no",
                charge=_el(2).cast(dec, strict=False),
                paid=_el(3).cast(dec, strict=False),
            )
        )
        line_cas = adj.filter(pl.col("line_seq") > 0).group_by("line_id").agg(adjusted=pl.col("amount").sum())
        off = (
            svc.join(line_cas, on="line_id", how="left")
            .with_columns(adjusted=pl.col("adjusted").fill_null(zero))
            .filter((pl.col("charge") - pl.col("paid") - pl.col("adjusted")) != 0)
        )
        for row in off.sort("seg_no").head(MAX_FINDINGS_PER_RULE + 1).iter_rows(named=True):
            self.finding(
                row["txn"],
                "warning",
                "LINE_OUT_OF_BALANCE",
                f"transaction set {row['txn']} claim {row['claim_seq']} line {row['line_seq']}: charge "
                f"{row['charge']} != paid {row['paid']} + line adjustments {row['adjusted']}",
                f"segment {row['seg_no']}",
            )
        return loop_problems

    def _check_payment_total(self, dec: pl.Decimal, bad_clp: pl.DataFrame) -> None:
        """BPR02 = sum(CLP04) - sum(PLB amounts) per transaction set, without the CLP04 of the
        quarantined claim loops (``bad_clp``), which the finding names."""
        zero = pl.lit(0).cast(dec)
        bpr = (
            self.part("BPR")
            .unique(subset="txn", keep="first")
            .select("txn", "seg_no", total=_el(2).cast(dec, strict=False))
        )
        landed = self.part("CLP").filter(~pl.col("loop_id").is_in(bad_clp["loop_id"].to_list()))
        paid = landed.group_by("txn").agg(paid=_el(4).cast(dec, strict=False).sum())
        loops: dict[int, list[tuple[str | None, object]]] = {}
        for txn, clp01, clp04 in bad_clp.sort("seg_no").select("txn", "clp01", "clp04").iter_rows():
            loops.setdefault(txn, []).append((clp01, readable_amount(clp04)))
        plb_parts = [self.part("PLB").select("txn", amount=_el(4 + 2 * k).cast(dec, strict=False)) for k in range(6)]
        plb = pl.concat(plb_parts).group_by("txn").agg(plb=pl.col("amount").sum())
        check = (
            bpr.join(paid, on="txn", how="left")
            .join(plb, on="txn", how="left")
            .with_columns(pl.col("paid").fill_null(zero), pl.col("plb").fill_null(zero))
            .filter(pl.col("total").is_not_null() & ((pl.col("total") - (pl.col("paid") - pl.col("plb"))) != 0))
        )
        for row in check.sort("txn").head(MAX_FINDINGS_PER_RULE + 1).iter_rows(named=True):
            self.finding(
                row["txn"],
                "warning",
                "PAYMENT_OUT_OF_BALANCE",
                payment_out_of_balance_message(
                    row["txn"], row["total"], row["paid"], row["plb"], loops.get(row["txn"], [])
                ),
                f"segment {row['seg_no']}",
            )

    def _check_dates(self) -> None:
        checks = [("DTM", 2), ("BPR", 16), ("PLB", 2)]
        frames = [self.part(s).select("txn", "seg_no", "raw", value=_el(p)) for s, p in checks]
        bad = pl.concat(frames).filter(pl.col("value").is_not_null() & _date(pl.col("value")).is_null())
        for row in bad.sort("seg_no").head(MAX_FINDINGS_PER_RULE + 1).iter_rows(named=True):
            self.finding(
                row["txn"],
                "warning",
                "BAD_DATE",
                f"transaction set {row['txn']} segment {row['seg_no']} ({row['raw'][:60]}): "
                f"{row['value']!r} is not a CCYYMMDD date; landed as null",
                f"segment {row['seg_no']}",
            )

    def _check_envelopes(self, outside: pl.DataFrame, info: pl.DataFrame) -> None:
        st_per_gs: dict[int, int] = {}
        if info.height:
            for gs_seq, n in info.group_by("gs_seq").agg(n=pl.len()).iter_rows():
                st_per_gs[gs_seq] = n
        rows = outside.select("seg_no", "sid", "txn", "gs_seq", "raw").iter_rows(named=True)
        check_envelopes(rows, st_per_gs, self.d.element, self.finding)

    def _quarantine_loops(
        self, t: pl.DataFrame, info: pl.DataFrame, clp: pl.DataFrame, bad_loops: dict[int, list], n_txn: int
    ) -> None:
        """Each malformed claim loop of a landing transaction set: record n_txn + k, in file order."""
        if not bad_loops:
            return
        spans = (
            t.filter(pl.col("loop_id").is_in(list(bad_loops)) & (pl.col("code") > 0))
            .group_by("loop_id")
            .agg(
                first_seg=pl.col("seg_no").first(),
                last_seg=pl.col("seg_no").last(),
                start=pl.col("offset").first(),
                end=pl.col("offset").last() + pl.col("raw").last().str.len_chars(),
            )
            .join(clp.select("loop_id", "txn", "clp01"), on="loop_id", how="left")
            .join(info.select("txn", "st02"), on="txn", how="left")
            .sort("loop_id")
        )
        for k, row in enumerate(spans.iter_rows(named=True), start=1):
            self.quarantined.append(
                quarantined_claim_loop(
                    n_txn + k,
                    self.src,
                    row["txn"],
                    row["st02"],
                    row["clp01"],
                    row["first_seg"],
                    row["last_seg"],
                    bad_loops[row["loop_id"]],
                    self.body[row["start"] : row["end"]] + self.d.segment,
                )
            )

    def _quarantine(self, info: pl.DataFrame, problems: dict[int, list[tuple[str, str]]]) -> None:
        if not problems:
            return
        texts = dict(zip(info["txn"].to_list(), info["text"].to_list(), strict=True))
        for txn in sorted(problems):
            self.quarantined.append(quarantined_transaction_set(txn, problems[txn], texts[txn]))

    # -- table builders ----------------------------------------------------------------
    def _context(self, info: pl.DataFrame) -> pl.DataFrame:
        trn = (
            self.part("TRN")
            .unique(subset="txn", keep="first")
            .select("txn", trace_number=_el(2), originating_company_id=_el(3))
        )
        return info.select(
            "txn",
            "record_hash",
            interchange_control_number=pl.col("icn"),
            group_control_number=pl.col("gcn"),
            transaction_set_control_number=pl.col("st02"),
            interchange_sender_id=pl.col("isa06"),
            interchange_receiver_id=pl.col("isa08"),
        ).join(trn, on="txn", how="left")

    def _first(self, seg_id: str, cond: pl.Expr, keys: list[str], **cols: pl.Expr) -> pl.DataFrame:
        return self.part(seg_id).filter(cond).filter(_first_per(keys)).select(*keys, **cols)

    def _payments(self, ctx: pl.DataFrame) -> pl.DataFrame:
        q = _el(1)
        head = pl.col("claim_seq") == 0
        bpr = self._first(
            "BPR",
            pl.lit(True),
            ["txn"],
            seg_no=pl.col("seg_no"),
            transaction_handling_code=_el(1),
            payment_amount=_el(2),
            credit_debit_flag=_el(3),
            payment_method=_el(4),
            payment_date=_date(_el(16)),
        )
        dtm = self._first("DTM", head & (q == "405"), ["txn"], production_date=_date(_el(2)))
        pr = self._first("N1", head & (q == "PR"), ["txn"], payer_name=_el(2), n1_payer_id=_el(4))
        ref2u = self._first("REF", head & (q == "2U"), ["txn"], ref_payer_id=_el(2))
        reftj = self._first("REF", head & (q == "TJ"), ["txn"], ref_tax_id=_el(2))
        pe = self._first(
            "N1",
            head & (q == "PE"),
            ["txn"],
            payee_name=_el(2),
            payee_npi=pl.when(_el(3) == PAYEE_NPI_QUALIFIER).then(_el(4)),
            payee_id_qualifier=_el(3),
            payee_id=_el(4),
            n1_tax_id=pl.when(_el(3) == PAYEE_TAX_ID_QUALIFIER).then(_el(4)),
        )
        claims = self.part("CLP").group_by("txn").agg(claim_count=pl.len().cast(pl.Int32))
        repeated = ctx.filter(pl.col("trace_number").is_not_null() & pl.col("trace_number").is_duplicated())
        for row in repeated.sort("txn").head(MAX_FINDINGS_PER_RULE + 1).iter_rows(named=True):
            self.finding(
                row["txn"],
                "warning",
                "DUPLICATE_TRACE_NUMBER",
                f"transaction set {row['txn']}: TRN02 {row['trace_number']} appears in more than one "
                f"transaction set of this file; all land",
                f"ST02 {row['transaction_set_control_number']}",
            )
        for row in ctx.join(pr, on="txn", how="anti").head(MAX_FINDINGS_PER_RULE + 1).iter_rows(named=True):
            self.finding(
                row["txn"],
                "warning",
                "MISSING_PAYER",
                f"transaction set {row['txn']}: no N1*PR payer",
                f"ST02 {row['transaction_set_control_number']}",
            )
        for row in ctx.join(dtm, on="txn", how="anti").head(MAX_FINDINGS_PER_RULE + 1).iter_rows(named=True):
            self.finding(
                row["txn"],
                "info",
                "MISSING_PRODUCTION_DATE",
                f"transaction set {row['txn']}: no DTM*405 production date",
                f"ST02 {row['transaction_set_control_number']}",
            )
        out = (
            bpr.join(ctx, on="txn", how="inner")
            .join(dtm, on="txn", how="left")
            .join(pr, on="txn", how="left")
            .join(ref2u, on="txn", how="left")
            .join(reftj, on="txn", how="left")
            .join(pe, on="txn", how="left")
            .join(claims, on="txn", how="left")
            .sort("seg_no")
        )
        return out.select(
            "interchange_control_number",
            "group_control_number",
            "transaction_set_control_number",
            "interchange_sender_id",
            "interchange_receiver_id",
            "transaction_handling_code",
            "payment_amount",
            "credit_debit_flag",
            "payment_method",
            "payment_date",
            "trace_number",
            "originating_company_id",
            "production_date",
            payer_id=pl.coalesce("n1_payer_id", "ref_payer_id"),
            payer_name=pl.col("payer_name"),
            payee_name=pl.col("payee_name"),
            payee_npi=pl.col("payee_npi"),
            payee_id_qualifier=pl.col("payee_id_qualifier"),
            payee_id=pl.col("payee_id"),
            payee_tax_id=pl.coalesce("ref_tax_id", "n1_tax_id"),
            claim_count=pl.col("claim_count").fill_null(0),
            _source_record=pl.col("seg_no"),
            _record_hash=pl.col("record_hash"),
        )

    @staticmethod
    def _keys() -> list[str]:
        return ["interchange_control_number", "transaction_set_control_number", "trace_number"]

    def _claims(self, ctx: pl.DataFrame) -> pl.DataFrame:
        q = _el(1)
        k = ["claim_id"]
        claim_level = (pl.col("claim_seq") > 0) & (pl.col("line_seq") == 0)
        clp = self.part("CLP").select(
            "txn",
            "claim_seq",
            *k,
            "seg_no",
            patient_control_number=_el(1),
            claim_status_code=_el(2),
            total_charge_amount=_el(3),
            payment_amount=_el(4),
            patient_responsibility_amount=_el(5),
            claim_filing_indicator=_el(6),
            payer_claim_control_number=_el(7),
            facility_type_code=_el(8),
            claim_frequency_code=_el(9),
            drg_code=_el(11),
        )
        nm1 = self.part("NM1").filter(claim_level)
        nm1_qc = (
            nm1.filter(q == "QC")
            .filter(_first_per(k))
            .select(*k, patient_family_name=_el(3), patient_given_name=_el(4), qc_id=_el(9))
        )
        nm1_il = nm1.filter(q == "IL").filter(_first_per(k)).select(*k, il_id=_el(9))
        nm1_82 = nm1.filter(q == "82").filter(_first_per(k)).select(*k, rendering_npi=_el(9))
        dtm = self.part("DTM").filter(claim_level)
        d232 = dtm.filter(q == "232").filter(_first_per(k)).select(*k, statement_from_date=_date(_el(2)))
        d233 = dtm.filter(q == "233").filter(_first_per(k)).select(*k, statement_to_date=_date(_el(2)))
        d050 = dtm.filter(q == "050").filter(_first_per(k)).select(*k, received_date=_date(_el(2)))
        au = self._first("AMT", claim_level & (q == "AU"), k, coverage_amount=_el(2))
        out = clp
        for extra in (nm1_qc, nm1_il, nm1_82, d232, d233, d050, au):
            out = out.join(extra, on=k, how="left")
        out = out.join(ctx, on="txn", how="inner").sort("seg_no")
        return out.select(
            *self._keys(),
            "claim_seq",
            "patient_control_number",
            "claim_status_code",
            "total_charge_amount",
            "payment_amount",
            "patient_responsibility_amount",
            "claim_filing_indicator",
            "payer_claim_control_number",
            "facility_type_code",
            "claim_frequency_code",
            "drg_code",
            "patient_family_name",
            "patient_given_name",
            member_id=pl.coalesce("il_id", "qc_id"),
            rendering_npi=pl.col("rendering_npi"),
            statement_from_date=pl.col("statement_from_date"),
            statement_to_date=pl.col("statement_to_date"),
            received_date=pl.col("received_date"),
            coverage_amount=pl.col("coverage_amount"),
            _source_record=pl.col("seg_no"),
            _record_hash=pl.col("record_hash"),
        )

    def _service_lines(self, ctx: pl.DataFrame) -> pl.DataFrame:
        q = _el(1)
        k = ["line_id"]
        line_level = pl.col("line_seq") > 0
        comp = pl.col("e1").str.split_exact(self.d.component, 6).struct.rename_fields([f"c{i}" for i in range(7)])
        svc = (
            self.part("SVC")
            .filter(pl.col("claim_seq") > 0)
            .with_columns(_c=comp)
            .unnest("_c")
            .with_columns(_nz(pl.col(f"c{i}")).alias(f"c{i}") for i in range(7))
        )
        svc = svc.select(
            "txn",
            "claim_seq",
            "line_seq",
            *k,
            "seg_no",
            procedure_qualifier=pl.col("c0"),
            procedure_code=pl.col("c1"),
            modifiers=_nz(pl.concat_str([pl.col(f"c{i}") for i in range(2, 6)], separator=":", ignore_nulls=True)),
            charge_amount=_el(2),
            payment_amount=_el(3),
            revenue_code=pl.coalesce(_el(4), pl.when(pl.col("c0") == "NU").then(pl.col("c1"))),
            units=_el(5),
        )
        dtm = self.part("DTM").filter(line_level)
        d472 = dtm.filter(q == "472").filter(_first_per(k)).select(*k, d472=_date(_el(2)))
        d150 = dtm.filter(q == "150").filter(_first_per(k)).select(*k, d150=_date(_el(2)))
        r6r = self._first("REF", line_level & (q == "6R"), k, line_item_control_number=_el(2))
        b6 = self._first("AMT", line_level & (q == "B6"), k, allowed_amount=_el(2))
        out = svc
        for extra in (d472, d150, r6r, b6):
            out = out.join(extra, on=k, how="left")
        out = out.join(ctx, on="txn", how="inner").sort("seg_no")
        return out.select(
            *self._keys(),
            "claim_seq",
            "line_seq",
            "procedure_qualifier",
            "procedure_code",
            "modifiers",
            "charge_amount",
            "payment_amount",
            "revenue_code",
            "units",
            service_date=pl.coalesce("d472", "d150"),
            line_item_control_number=pl.col("line_item_control_number"),
            allowed_amount=pl.col("allowed_amount"),
            _source_record=pl.col("seg_no"),
            _record_hash=pl.col("record_hash"),
        )

    def _cas_long(self) -> pl.DataFrame:
        cas = self.part("CAS").filter(pl.col("claim_seq") > 0)
        parts = [
            cas.select(
                "txn",
                "claim_seq",
                "line_seq",
                "claim_id",
                "line_id",
                "seg_no",
                triplet_seq=pl.lit(k + 1, dtype=pl.Int32),
                group_code=_el(1),
                carc_code=_el(2 + 3 * k),
                amount=_el(3 + 3 * k),
                quantity=_el(4 + 3 * k),
            )
            for k in range(6)
        ]
        return (
            pl.concat(parts)
            .filter(pl.col("carc_code").is_not_null() | pl.col("amount").is_not_null())
            .sort(["seg_no", "triplet_seq"])
        )

    def _adjustments(self, ctx: pl.DataFrame) -> pl.DataFrame:
        out = self._cas_long().join(ctx, on="txn", how="inner").sort(["seg_no", "triplet_seq"])
        return out.select(
            *self._keys(),
            "claim_seq",
            line_seq=pl.when(pl.col("line_seq") > 0).then(pl.col("line_seq")),
            adjustment_level=pl.when(pl.col("line_seq") > 0).then(pl.lit("line")).otherwise(pl.lit("claim")),
            triplet_seq=pl.col("triplet_seq"),
            group_code=pl.col("group_code"),
            carc_code=pl.col("carc_code"),
            amount=pl.col("amount"),
            quantity=pl.col("quantity"),
            _source_record=pl.col("seg_no"),
            _record_hash=pl.col("record_hash"),
        )

    def _remarks(self, ctx: pl.DataFrame) -> pl.DataFrame:
        k = ["txn", "claim_seq", "line_seq", "seg_no"]
        in_claim = pl.col("claim_seq") > 0
        parts = [
            self.part("LQ")
            .filter(in_claim & (_el(1) == "HE"))
            .select(*k, _pos=pl.lit(0), source_segment=pl.lit("LQ"), remark_code=_el(2))
        ]
        parts += [
            self.part("MOA")
            .filter(in_claim)
            .select(*k, _pos=pl.lit(p), source_segment=pl.lit("MOA"), remark_code=_el(p))
            for p in (3, 4, 5, 6, 7)
        ]
        parts += [
            self.part("MIA")
            .filter(in_claim)
            .select(*k, _pos=pl.lit(p), source_segment=pl.lit("MIA"), remark_code=_el(p))
            for p in (5, 20, 21, 22, 23)
        ]
        out = (
            pl.concat(parts)
            .filter(pl.col("remark_code").is_not_null())
            .join(ctx, on="txn", how="inner")
            .sort(["seg_no", "_pos"])
        )
        return out.select(
            *self._keys(),
            "claim_seq",
            line_seq=pl.when(pl.col("line_seq") > 0).then(pl.col("line_seq")),
            source_segment=pl.col("source_segment"),
            remark_code=pl.col("remark_code"),
            _source_record=pl.col("seg_no"),
            _record_hash=pl.col("record_hash"),
        )

    def _provider_adjustments(self, ctx: pl.DataFrame) -> pl.DataFrame:
        plb = self.part("PLB")
        parts = []
        for k in range(6):
            reason = _el(3 + 2 * k).str.split_exact(self.d.component, 1)
            parts.append(
                plb.select(
                    "txn",
                    "seg_no",
                    _pair=pl.lit(k, dtype=pl.Int32),
                    provider_id=_el(1),
                    fiscal_period_date=_date(_el(2)),
                    reason_code=_nz(reason.struct.field("field_0")),
                    reference_id=_nz(reason.struct.field("field_1")),
                    amount=_el(4 + 2 * k),
                )
            )
        out = (
            pl.concat(parts)
            .filter(pl.col("reason_code").is_not_null() | pl.col("amount").is_not_null())
            .join(ctx, on="txn", how="inner")
            .sort(["seg_no", "_pair"])
        )
        return out.select(
            *self._keys(),
            "provider_id",
            "fiscal_period_date",
            "reason_code",
            "reference_id",
            "amount",
            _source_record=pl.col("seg_no"),
            _record_hash=pl.col("record_hash"),
        )
