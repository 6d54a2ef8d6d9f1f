"""Land one X12 835 file: pick the parser by the file's size, then write the six remit tables.

Both parsers (the single-pass one in :mod:`careledger.ingest.x12.remit_835`, the polars one in
:mod:`careledger.ingest.x12.remit_835_polars`) take the 835's segment ids, element positions,
code tables, envelope checks and frame shapes from :mod:`careledger.ingest.x12.segments`; this
module is the one that knows both parsers, and neither imports the other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from careledger.ingest.landing import LoadContext, LoadCounts, sql_literal
from careledger.ingest.x12 import remit_835_polars
from careledger.ingest.x12.remit_835 import parse_835_text
from careledger.ingest.x12.segments import MAX_FINDINGS_PER_RULE, TABLES, Parsed835, decode_835_bytes

log = logging.getLogger(__name__)

# Files up to this many characters take the single-pass parser, larger ones the polars parser
# (x12/remit_835_polars.py). Measured CPU per file on the 1M folder's remittances: single pass
# 3.7 ms at 7 KB, 50 ms at 104 KB, 82 ms at 171 KB, 375-800 ms at 600-780 KB; polars 68, 74,
# 82, 98-155 ms (a fixed ~65 ms of frame operations, then ~0.1 ms per KB). Same rows either
# way: tests/unit/ingest/test_x12_equivalence.py compares the two parsers.
SINGLE_PASS_MAX_CHARS = 160_000


def load(ctx: LoadContext, *, parser: Callable[[str, str], Parsed835] | None = None) -> LoadCounts:
    """Land one 835 file (called by ``careledger.ingest.run.land_file``); ``parser`` forces one parser."""
    text, decode_findings = decode_835_bytes(ctx.path.read_bytes(), ctx.path.name)
    if parser is None:
        if len(text) <= SINGLE_PASS_MAX_CHARS:
            parser = parse_835_text
        else:
            parser = remit_835_polars.parse_835_text_polars
    parsed = parser(text, ctx.path.name)
    ctx.findings.extend(decode_findings)
    ctx.findings.extend(parsed.findings)
    ctx.quarantined.extend(parsed.quarantined)
    payments = parsed.tables["payments"]
    traces = sorted(payments["trace_number"].drop_nulls().unique().to_list()) if payments.height else []
    _add_duplicate_trace_findings(ctx, traces)
    for key, table in TABLES.items():
        frame = parsed.tables[key]
        if frame.height:
            ctx.insert_frame(table, frame)
    log.debug("%s: %d transaction sets, %d quarantined", ctx.path.name, parsed.records_read, len(parsed.quarantined))
    return LoadCounts(records_read=parsed.records_read, records_accepted=parsed.records_accepted)


def load_polars(ctx: LoadContext) -> LoadCounts:
    """``load`` with the polars parser whatever the file's size."""
    return load(ctx, parser=remit_835_polars.parse_835_text_polars)


def _add_duplicate_trace_findings(ctx: LoadContext, traces: list[str]) -> None:
    """A trace number already landed by an earlier batch is reported (it still lands)."""
    if not traces:
        return
    rows = ctx.con.execute(
        "select trace_number, min(_source_file) from raw_billing.remit_payments "
        f"where trace_number in ({', '.join(sql_literal(t) for t in traces)}) and _batch_id <> {sql_literal(ctx.batch_id)} "
        f"group by 1 order by 1 limit {MAX_FINDINGS_PER_RULE}"
    ).fetchall()
    for trace, source_file in rows:
        ctx.finding(
            0,
            "warning",
            "TRACE_NUMBER_ALREADY_LANDED",
            f"{ctx.path.name}: trace number {trace} was already landed from {Path(source_file).name}",
            f"TRN02 {trace}",
        )
