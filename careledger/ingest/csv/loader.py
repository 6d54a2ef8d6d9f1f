"""Load the billing and ERP CSV exports (claims, denials, payers, ERP tables) into raw tables.

Every export is read by DuckDB as text first (all contract columns VARCHAR, with their data
line numbers), then cast in SQL with ``try_cast`` against the types in ``ingest/schema.sql``.
A row that cannot be understood is quarantined with its line number and a reason code:

| code | when |
|---|---|
| ``WRONG_COLUMN_COUNT`` | the row has more or fewer fields than the header |
| ``UNTERMINATED_QUOTE`` | a quoted field never closes (the line is quarantined, parsing resumes on the next line) |
| ``BAD_QUOTING`` | a line the CSV reader cannot split into fields |
| ``BAD_ENCODING`` | the line is not valid UTF-8 |
| ``MISSING_COLUMN`` | the header lacks a required key column: every row of the file |
| ``MISSING_REQUIRED`` | a required key value is empty |
| ``BAD_DATE`` | a date is not ``YYYY-MM-DD`` |
| ``BAD_AMOUNT`` | a money value is not a plain decimal number |
| ``BAD_NUMBER`` | a count / quantity / integer column is not a number |
| ``BAD_BOOLEAN`` | a boolean is not true/false/1/0/yes/no |
| ``BAD_JSON`` | (denial events as JSON) a line or document is not valid JSON |

Rows that land but deviate get a warning finding: ``NEGATIVE_AMOUNT`` (a negative value in a
column where the business has no credits or reversals), ``UNKNOWN_CODE`` (a value outside the
contract's code list). Header drift: extra columns are ignored (``EXTRA_COLUMN`` warning), a
missing optional column lands as null (``MISSING_OPTIONAL_COLUMN`` warning), both on record 0
(the header); a missing required column quarantines every row (``MISSING_COLUMN``).

Staging, by what the file holds (all three give the same record numbers and values):

- clean UTF-8 without a ``"`` anywhere (what the RCM and ERP exports write): the file is read
  once, split into lines with polars and handed to DuckDB as a registered Arrow table; the
  fields are split in SQL (``string_split`` on ``,`` is exact when nothing is quoted);
- clean UTF-8 with quotes: two DuckDB scans (raw lines for line numbers and record hashes; a
  strict ``read_csv`` for the fields); if the strict scan rejects anything, or a quoted field
  spans lines, the file is re-read by the exact line-by-line parser in ``_csv_lines.py``;
- anything else (bad UTF-8, stray control bytes ``0x01``): the exact line parser.

Then ONE query types and checks every record and returns the result as Arrow (only the
rejected rows keep their raw text); the accepted rows go in with one ``INSERT ... SELECT``
from that Arrow table. No per-file catalog lookups, no ``count(*)`` scans.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from functools import lru_cache

import duckdb
import polars as pl

from careledger.ingest.csv import contract
from careledger.ingest.landing import IngestError, LoadContext, LoadCounts, duckdb_path
from careledger.ingest.lines import line_ends_uniform, parse_lines, read_header, read_json_documents
from careledger.sql import literal

log = logging.getLogger(__name__)

STAGE = "_careledger_csv_stage"
LINES = "_careledger_csv_lines"
CHECKED = "_careledger_csv_checked"
MAX_LINE_BYTES = 1 << 30
INTEGER_RE = r"^[+-]?[0-9]+$"
DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
BOM = b"\xef\xbb\xbf"


@dataclass
class _Staged:
    """Where the staged records are (a relation usable in FROM) and what to clean up afterwards.

    The relation yields ``record_index, raw_text, err_code, err_msg`` and one VARCHAR column
    per normalized header name.
    """

    relation: str
    tables: list[str] = field(default_factory=list)
    views: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)


def load(ctx: LoadContext) -> LoadCounts:
    ctx.con.execute("set enable_progress_bar = false")
    kind = ctx.kind
    if kind not in contract.KINDS:
        raise IngestError(f"{ctx.path}: csv_exports cannot load kind {kind!r}")
    data = ctx.path.read_bytes()
    if _is_json(data):
        if kind != "denial_events":
            raise IngestError(f"{ctx.path}: only denial events may be exported as JSON, not {kind}")
        header_cols = list(contract.column_names(kind))
        staged = _stage_json(ctx, data)
    else:
        header_cols, staged = _stage_csv(ctx, data)
    try:
        counts = _land_stage(ctx, kind, header_cols, staged.relation)
    finally:
        for name in staged.registered:  # registrations outlive a rollback: always release them
            ctx.con.unregister(name)
    # on an error the landing transaction is rolled back and the temp tables and views made
    # inside it go with it; on success they are dropped here
    for name in staged.views:
        ctx.con.execute(f"drop view {name}")
    for name in staged.tables:
        ctx.con.execute(f"drop table {name}")
    return counts


# ---------------------------------------------------------------------------------- staging


def _is_json(data: bytes) -> bool:
    return data[:256].lstrip(BOM).lstrip()[:1] in (b"{", b"[")


def _clean_text(data: bytes) -> str | None:
    """The file as text when DuckDB can scan it safely (valid UTF-8, no ``0x01``), else None."""
    if b"\x01" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _stage_csv(ctx: LoadContext, data: bytes) -> tuple[list[str], _Staged]:
    """Stage the CSV as text; returns the header (normalized names, file order) and the stage."""
    header = read_header(ctx.path)
    names = [h.strip().strip('"').lower() for h in header]
    body = data[len(BOM) :] if data.startswith(BOM) else data
    text = _clean_text(body) if names else None
    if text is None:
        log.info("%s: not clean UTF-8; using the exact line parser", ctx.path)
        return names, _slow_stage(ctx, names)
    if '"' not in text:
        return names, _split_stage(ctx, text, names)
    if not line_ends_uniform(body):  # DuckDB's scan fails on mixed line ends (lines.LineEnds)
        log.info("%s: mixed line ends; using the exact line parser", ctx.path)
        return names, _slow_stage(ctx, names)
    staged = _fast_stage(ctx, names)
    return names, staged if staged is not None else _slow_stage(ctx, names)


def _stage_columns(names: list[str] | tuple[str, ...]) -> dict[str, int]:
    """Normalized header name -> first position (duplicates keep the first)."""
    out: dict[str, int] = {}
    for i, n in enumerate(names):
        out.setdefault(n, i)
    return out


def _split_stage(ctx: LoadContext, text: str, names: list[str]) -> _Staged:
    """A file with no quote character: lines split by polars, fields split in SQL.

    Without quotes a CSV record is exactly one physical line and its fields are exactly the
    ``,``-separated pieces, so this gives what the exact line parser gives (same record
    index = physical line - 1, same raw text without the line end, blank lines skipped).
    """
    lines = (
        pl.DataFrame({"line": [text]}, schema={"line": pl.Utf8})
        .select(pl.col("line").str.split("\n").explode())
        .with_row_index("record_index")
        .select(pl.col("record_index").cast(pl.Int64), pl.col("line").str.strip_chars_end("\r"))
        .filter((pl.col("record_index") > 0) & (pl.col("line").str.strip_chars().str.len_bytes() > 0))
    )
    ctx.con.register(LINES, lines)
    return _Staged(_split_relation(tuple(names)), registered=[LINES])


@lru_cache(maxsize=256)
def _split_relation(names: tuple[str, ...]) -> str:
    n = len(names)
    values = ", ".join(
        f"case when len(f) = {n} then nullif(f[{i + 1}], '') end as \"{name}\""
        for name, i in _stage_columns(names).items()
    )
    return (
        f"(select record_index, line as raw_text, "
        f"case when len(f) <> {n} then 'WRONG_COLUMN_COUNT' end as err_code, "
        f"case when len(f) <> {n} then len(f) || ' fields, the header has {n}' end as err_msg, {values} "
        f"from (select record_index, line, string_split(line, ',') as f from {LINES}))"
    )


def _fast_stage(ctx: LoadContext, names: list[str]) -> _Staged | None:
    """Stage a quoted CSV through DuckDB scans; None when the exact line parser must take over."""
    con, path = ctx.con, duckdb_path(ctx.path)
    suffix = uuid.uuid4().hex[:8]
    rej_e, rej_s = f"_careledger_rej_e_{suffix}", f"_careledger_rej_s_{suffix}"
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(names))) + "}"
    tables = ["_careledger_lines", "_careledger_parsed"]
    try:
        con.execute(
            f"create temp table _careledger_lines as select line "
            f"from read_csv({path}, columns={{'line': 'VARCHAR'}}, header=false, auto_detect=false, "
            f"delim='\x01', quote='', escape='', max_line_size={MAX_LINE_BYTES})"
        )
        con.execute(  # insertion order is preserved: rowid is the record's position
            f"create temp table _careledger_parsed as select * "
            f"from read_csv({path}, columns={columns}, header=true, auto_detect=false, delim=',', "
            f"quote='\"', escape='\"', strict_mode=true, store_rejects=true, ignore_errors=true, "
            f"rejects_table='{rej_e}', rejects_scan='{rej_s}', max_line_size={MAX_LINE_BYTES})"
        )
        # one query: rejects, data lines vs parsed rows, and both tables' rowid ranges
        rejects, lines, nonnull, l_lo, l_hi, parsed, p_lo, p_hi = con.execute(
            f"select (select count(*) from {rej_e}), l.*, p.* from "
            f"(select count(*), count(line), min(rowid), max(rowid) from _careledger_lines) l, "
            f"(select count(*), min(rowid), max(rowid) from _careledger_parsed) p"
        ).fetchone()
        contiguous = (lines == 0 or l_hi - l_lo + 1 == lines) and (parsed == 0 or p_hi - p_lo + 1 == parsed)
        if rejects or nonnull - 1 != parsed or not contiguous:
            log.info("%s: %d rejected rows or quoted line breaks; using the exact line parser", ctx.path, rejects)
            for t in tables:
                con.execute(f"drop table {t}")
            return None
        # record index = physical line - 1 (header = line 1); rowid - base is the 0-based position
        line_pos, parsed_pos = f"(rowid - {l_lo or 0})", f"(rowid - {p_lo or 0})"
        selects = ", ".join(f'p.c{i} as "{n}"' for n, i in _stage_columns(names).items())
        con.execute(  # a view: the checks read it once, so it is never copied
            f"create temp view {STAGE} as "
            f"with lines as (select {line_pos} as record_index, line, "
            f"row_number() over (order by {line_pos}) as k "
            f"from _careledger_lines where {line_pos} > 0 and line is not null), "
            f"parsed as (select {parsed_pos} + 1 as k, * from _careledger_parsed) "
            f"select l.record_index, l.line as raw_text, null::varchar as err_code, "
            f"null::varchar as err_msg, {selects} from lines l join parsed p using (k)"
        )
        return _Staged(STAGE, tables=tables, views=[STAGE])
    finally:
        for t in (rej_e, rej_s):
            con.execute(f"drop table if exists {t}")


def _slow_stage(ctx: LoadContext, names: list[str]) -> _Staged:
    records = parse_lines(ctx.path, len(names))
    cols = _stage_columns(names)
    data: dict[str, list] = {
        "record_index": [r.record_index for r in records],
        "raw_text": [r.raw_text for r in records],
        "err_code": [r.err_code for r in records],
        "err_msg": [r.err_msg for r in records],
    }
    for n, i in cols.items():
        data[n] = [(r.fields[i] or None) if r.fields is not None else None for r in records]
    frame = pl.DataFrame(data, schema={k: (pl.Int64 if k == "record_index" else pl.Utf8) for k in data})
    ctx.con.register("_careledger_slow", frame.to_arrow())
    return _Staged("_careledger_slow", registered=["_careledger_slow"])


def _stage_json(ctx: LoadContext, data: bytes) -> _Staged:
    """Denial events as NDJSON (record = line) or a JSON array (record = element)."""
    con, path = ctx.con, duckdb_path(ctx.path)
    keys = contract.column_names(ctx.kind)
    staged = _Staged(STAGE, tables=[STAGE])
    if data[:256].lstrip(BOM).lstrip().startswith(b"["):
        try:
            docs = read_json_documents(ctx.path, "array")
        except duckdb.Error as exc:
            # the document itself is broken: the whole file is one record that cannot be read
            text = data.decode("utf-8", errors="replace")
            con.execute(
                f"create temp table {STAGE} as select 1::bigint as record_index, ? as raw_text, "
                f"'BAD_JSON' as err_code, ? as err_msg, " + ", ".join(f'null::varchar as "{k}"' for k in keys),
                [text[:100_000], f"the JSON array does not parse: {str(exc).splitlines()[0][:300]}"],
            )
            return staged
        con.register("_careledger_docs", docs)
        try:
            con.execute(
                "create temp table _careledger_lines as select doc_no as line_no, doc as line, "
                "null::varchar as err from _careledger_docs"
            )
        finally:
            con.unregister("_careledger_docs")
    elif _clean_text(data) is not None and line_ends_uniform(data):  # what DuckDB's line scan reads safely
        con.execute(
            f"create temp table _careledger_lines as select row_number() over () as line_no, line, "
            f"null::varchar as err from read_csv({path}, columns={{'line': 'VARCHAR'}}, header=false, "
            f"auto_detect=false, delim='\x01', quote='', escape='', max_line_size={MAX_LINE_BYTES})"
        )
    else:  # not UTF-8 or mixed line ends: the Python line reader (it flags lines that are not UTF-8)
        records = parse_lines(ctx.path, 1, header=False)
        frame = pl.DataFrame(
            {
                "line_no": [r.record_index for r in records],
                "line": [r.raw_text for r in records],
                "err": [r.err_code for r in records],
            },
            schema={"line_no": pl.Int64, "line": pl.Utf8, "err": pl.Utf8},
        )
        con.register("_careledger_slow", frame.to_arrow())
        try:
            con.execute("create temp table _careledger_lines as select * from _careledger_slow")
        finally:
            con.unregister("_careledger_slow")
    paths = "[" + ", ".join(f"'$.\"{k}\"'" for k in keys) + "]"
    values = ", ".join(f'v[{i}] as "{k}"' for i, k in enumerate(keys, start=1))
    try:
        con.execute(
            f"create temp table {STAGE} as "
            f"with parsed as (select line_no, line, err, "
            f"case when err is null then try(json_extract_string(line, {paths})) end as v, "
            f"ltrim(line)[1] = '{{' as is_object "
            f"from _careledger_lines where line is not null and trim(line) <> '') "
            f"select line_no as record_index, line as raw_text, "
            f"case when err is not null then err when v is null or not is_object then 'BAD_JSON' end as err_code, "
            f"case when err is not null then 'the line is not valid UTF-8' when v is null then 'not valid JSON' "
            f"when not is_object then 'not a JSON object' end as err_msg, "
            f"{values} from parsed"
        )
    finally:
        con.execute("drop table if exists _careledger_lines")
    return staged


# ---------------------------------------------------------------------------------- landing


def _header_findings(ctx: LoadContext, kind: str, header_cols: list[str]) -> None:
    """The one rule for new or missing columns: findings on record 0 (the header)."""
    columns = contract.contract()[kind]
    present = set(header_cols)
    required = contract.REQUIRED[kind]
    for name in sorted({n for n in header_cols if header_cols.count(n) > 1}):
        ctx.finding(
            0,
            "warning",
            "DUPLICATE_COLUMN",
            f"{ctx.path.name}: column {name!r} appears more than once in the header; the first one is used",
            "header",
        )
    for name in sorted(present - {c.name for c in columns}):
        ctx.finding(
            0,
            "warning",
            "EXTRA_COLUMN",
            f"{ctx.path.name}: column {name!r} is not in the {kind} contract and is ignored",
            "header",
        )
    for c in columns:
        if c.name not in present and c.name not in required:
            ctx.finding(
                0,
                "warning",
                "MISSING_OPTIONAL_COLUMN",
                f"{ctx.path.name}: the header has no column {c.name!r}; it lands as null",
                "header",
            )


@lru_cache(maxsize=256)
def _checks_sql(kind: str, present: frozenset[str], relation: str) -> str:
    """One query over the staged relation: typed values, problems (quarantine), notes (findings).

    Only the rows with a problem keep their raw text; the others carry its md5 instead.
    Built once per (kind, header, relation) and reused for every file of that shape.
    """
    columns = contract.contract()[kind]
    required = contract.REQUIRED[kind]
    # typed values are computed once (t__<column>); checks compare them with the text
    typed = [_typed(c, present) for c in columns]
    checks: list[str] = [
        f"{{'code': 'MISSING_COLUMN', 'msg': {literal(f'the header has no required column {name!r}')}}}"
        for name in required
        if name not in present
    ]
    findings: list[str] = []
    for c in columns:
        if c.name not in present:
            continue
        raw, t = f'"{c.name}"', f'"t__{c.name}"'
        given = f"({raw} is not null and trim({raw}) <> '')"
        shown = f"'{c.name} ''' || {raw} || ''''"
        if c.name in required:
            checks.append(
                f"case when not {given} then {{'code': 'MISSING_REQUIRED', 'msg': '{c.name} is empty (required)'}} end"
            )
        if c.is_date:
            checks.append(
                f"case when {given} and ({t} is null or not regexp_full_match(trim({raw}), '{DATE_RE}')) "
                f"then {{'code': 'BAD_DATE', 'msg': {shown} || ' is not a date (YYYY-MM-DD)'}} end"
            )
        elif c.is_decimal:
            code, what = ("BAD_AMOUNT", "an amount") if c.is_money else ("BAD_NUMBER", "a number")
            checks.append(
                f"case when {given} and {t} is null then {{'code': '{code}', 'msg': {shown} || ' is not {what}'}} end"
            )
            rule = "AMOUNT_ROUNDED" if c.is_money else "NUMBER_ROUNDED"
            decimals = f"length(regexp_extract(trim({raw}), '\\.([0-9]*)$', 1))"
            findings.append(
                f"case when {t} is not null and {decimals} > {c.scale} then {{'rule': '{rule}', 'loc': '{c.name}', "
                f"'msg': {shown} || ' has ' || {decimals} || ' decimals and the column holds {c.scale}: landed as ' "
                f"|| cast({t} as varchar)}} end"
            )
            if c.name not in contract.NEGATIVE_ALLOWED.get(kind, frozenset()):
                findings.append(
                    f"case when {t} < 0 then {{'rule': 'NEGATIVE_AMOUNT', 'loc': '{c.name}', "
                    f"'msg': {shown} || ' is negative; {kind} has no credits in this column'}} end"
                )
        elif c.is_integer:
            checks.append(
                f"case when {given} and ({t} is null or not regexp_full_match(trim({raw}), '{INTEGER_RE}')) "
                f"then {{'code': 'BAD_NUMBER', 'msg': {shown} || ' is not a whole number'}} end"
            )
        elif c.is_boolean:
            checks.append(
                f"case when {given} and {t} is null "
                f"then {{'code': 'BAD_BOOLEAN', 'msg': {shown} || ' is not true/false'}} end"
            )
        allowed = contract.enums().get(kind, {}).get(c.name)
        if allowed:
            findings.append(
                f"case when {given} and trim({raw}) not in {tuple(allowed)} then "
                f"{{'rule': 'UNKNOWN_CODE', 'loc': '{c.name}', "
                f"'msg': {shown} || ' is not one of {', '.join(allowed)}'}} end"
            )
    typed_cols = ", ".join(f'"t__{c.name}"' for c in columns)
    return (
        f"with typed as (select *, {', '.join(typed)} from {relation}), "
        f"checked as (select record_index, raw_text, "
        f"case when err_code is not null then [{{'code': err_code, 'msg': err_msg}}] "
        f"else list_filter([{', '.join(checks) or 'null'}], x -> x is not null) end as problems, "
        f"list_filter([{', '.join(findings) or 'null'}], x -> x is not null) as notes, {typed_cols} from typed) "
        f"select record_index, problems, notes, "
        f"case when len(problems) > 0 then raw_text end as raw_text, "
        f"case when len(problems) = 0 then md5(raw_text) end as record_hash, {typed_cols} from checked"
    )


def _land_stage(ctx: LoadContext, kind: str, header_cols: list[str], relation: str) -> LoadCounts:
    con = ctx.con
    columns = contract.contract()[kind]
    _header_findings(ctx, kind, header_cols)
    checked = con.execute(_checks_sql(kind, frozenset(header_cols), relation)).pl()
    n_problems = pl.col("problems").list.len()
    name = ctx.path.name
    rows = (
        checked.select("record_index", "raw_text", "problems", "notes")
        .filter((n_problems > 0) | (pl.col("notes").list.len() > 0))
        .sort("record_index")
        .to_dicts()
    )
    for row in rows:
        idx, problems = row["record_index"], row["problems"]
        if problems:
            message = f"{name} line {idx}: " + "; ".join(p["msg"] for p in problems)
            ctx.quarantine(idx, problems[0]["code"], message, row["raw_text"])
            continue
        for n in row["notes"]:
            ctx.finding(idx, "warning", n["rule"], f"{name} line {idx}: {n['msg']}", n["loc"])
    good = checked.filter(n_problems == 0).drop("problems", "notes", "raw_text")
    if good.height == 0:
        return LoadCounts(records_read=checked.height, records_accepted=0)
    _duplicate_key_findings(ctx, kind, good)
    con.register(CHECKED, good)
    try:
        accepted = ctx.insert_select(
            contract.KINDS[kind][1],
            [c.name for c in columns],
            "select "
            + ", ".join(f'"t__{c.name}" as "{c.name}"' for c in columns)
            + f", record_index as _source_record, record_hash as _record_hash from {CHECKED}",
        )
    finally:
        con.unregister(CHECKED)
    return LoadCounts(records_read=checked.height, records_accepted=accepted)


def _duplicate_key_findings(ctx: LoadContext, kind: str, good: pl.DataFrame) -> None:
    """``DUPLICATE_KEY_CONFLICT`` on every accepted record whose key (``contract.KEYS``) an earlier
    record of the same file carries with other values: both land, dbt counts the later one and
    reports the other (docs/ingest.md). Exact repeats get no finding. The message names the
    differing columns, with their values only where they are numbers (never a patient's data)."""
    keys = contract.KEYS.get(kind)
    if not keys:
        return
    key_cols = [f"t__{k}" for k in keys]
    repeated = good.filter(pl.struct(key_cols).is_duplicated())
    if repeated.height == 0:
        return
    columns = contract.contract()[kind]
    value_cols = [f"t__{c.name}" for c in columns if c.name not in keys]
    shown = {c.name for c in columns if c.is_decimal or c.is_integer}
    name = ctx.path.name
    for group in repeated.sort("record_index").partition_by(key_cols, maintain_order=True):
        rows = group.to_dicts()
        first = rows[0]
        for row in rows[1:]:
            differ = [c[3:] for c in value_cols if row[c] != first[c]]
            if not differ:
                continue
            what = ", ".join(
                f"{c} {first['t__' + c]} there, {row['t__' + c]} here" if c in shown else c for c in differ
            )
            key = ", ".join(f"{k} {row['t__' + k]!s}" for k in keys)
            ctx.finding(
                row["record_index"],
                "warning",
                "DUPLICATE_KEY_CONFLICT",
                f"{name} line {row['record_index']}: {key} is also on line {first['record_index']} with other "
                f"values ({what}); both land and the later line counts",
                ", ".join(keys),
            )


def _typed(c: contract.Column, present: frozenset[str]) -> str:
    """The contract-typed value of a column as ``t__<name>`` (null when absent or not castable)."""
    alias = f'"t__{c.name}"'
    if c.name not in present:
        return f"null::{c.sql_type} as {alias}"
    v = f"nullif(trim(\"{c.name}\"), '')"
    if c.is_boolean:
        return (
            f"case when lower({v}) in ('true', 't', '1', 'yes', 'y') then true "
            f"when lower({v}) in ('false', 'f', '0', 'no', 'n') then false end as {alias}"
        )
    if c.sql_type == "VARCHAR":
        return f"nullif(\"{c.name}\", '') as {alias}"
    return f"try_cast({v} as {c.sql_type}) as {alias}"


__all__ = ["load"]
