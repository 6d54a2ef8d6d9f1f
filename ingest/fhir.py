"""Load FHIR R4 bulk NDJSON and Bundles into ``raw_ehr.fhir_resources``.

Bulk path, all in DuckDB: the file's lines are read by ``read_csv`` as one VARCHAR column
(a delimiter byte that cannot occur, no quoting) with their line numbers; every record is
checked in SQL (valid JSON object, supported ``resourceType``, ``id``, the fields the
warehouse needs per type) and the good ones are inserted with one ``INSERT ... SELECT``.
A JSON document (``kind='json'``) is read with ``read_json_objects``; a Bundle is unpacked
into its entries (record index = 1-based entry index, running across the file).

Quarantine reason codes: ``BAD_JSON``, ``BAD_ENCODING``, ``NOT_AN_OBJECT``,
``MISSING_RESOURCE_TYPE``, ``UNSUPPORTED_RESOURCE_TYPE``, ``MISSING_ID``,
``MISSING_REQUIRED``, ``NO_RESOURCE`` (a Bundle entry without a resource).

Findings (the record lands): ``BAD_ID_FORMAT``, ``BAD_LAST_UPDATED``, ``FULLURL_ID_MISMATCH``,
``ID_FROM_FULLURL``, ``BUNDLE_TYPE`` (warnings / info), and ``FHIR_R4B_MODEL`` (error) from
``fhir.resources`` model validation under the sampling policy in ``_fhir_validate.py``.
References are stored as sent; ``_fhir_refs.py`` has the SQL that resolves their three forms.
"""

from __future__ import annotations

import logging

import duckdb
import polars as pl

from ingest._csv_lines import drop_temp, parse_lines, read_json_documents, row_base, scan_safe
from ingest._fhir_validate import validate_sample
from ingest.landing import LoadContext, LoadCounts

log = logging.getLogger(__name__)

SUPPORTED_TYPES: tuple[str, ...] = (
    "Patient",
    "Encounter",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "Coverage",
    "Procedure",
    "Condition",
    "Claim",
    "ExplanationOfBenefit",
)

#: Elements the warehouse cannot do without, per type (R4 cardinality 1..1 where it matters).
REQUIRED_ELEMENTS: dict[str, tuple[str, ...]] = {
    "Encounter": ("status", "class", "subject"),
    "Coverage": ("status", "beneficiary", "payor"),
    "Procedure": ("status", "subject"),
    "Condition": ("subject",),
    "Claim": ("status", "patient"),
    "ExplanationOfBenefit": ("status", "patient"),
}

BUNDLE_TYPES = ("transaction", "collection", "batch", "searchset")
ID_RE = r"^[A-Za-z0-9\-\.]{1,64}$"
STAGE = "_careledger_fhir_stage"
MAX_LINE_BYTES = 1 << 30


def load(ctx: LoadContext) -> LoadCounts:
    ctx.con.execute("set enable_progress_bar = false")
    try:
        if ctx.kind == "json":
            _stage_documents(ctx)
        else:
            _stage_ndjson(ctx)
        return _land(ctx)
    finally:
        drop_temp(ctx.con, (STAGE, "_careledger_fhir_checked", "_careledger_fhir_lines", "_careledger_fhir_docs"))


def _path_sql(ctx: LoadContext) -> str:
    return "'" + str(ctx.path).replace("'", "''") + "'"


def _stage_ndjson(ctx: LoadContext) -> None:
    """Stage (record_index, raw_text, err_code, err_msg, full_url): one row per non-blank line."""
    con = ctx.con
    if scan_safe(ctx.path):
        # insertion order is preserved, so rowid + 1 is the physical line number (no window needed)
        con.execute(
            f"create temp table _careledger_fhir_lines as select line "
            f"from read_csv({_path_sql(ctx)}, columns={{'line': 'VARCHAR'}}, header=false, auto_detect=false, "
            f"delim='\x01', quote='', escape='', max_line_size={MAX_LINE_BYTES})"
        )
        base = row_base(con, "_careledger_fhir_lines")
        position = f"rowid - {base}" if base is not None else "row_number() over () - 1"
        con.execute(
            f"create temp table {STAGE} as select * from ("
            f"select {position} + 1 as record_index, line as raw_text, "
            f"null::varchar as err_code, null::varchar as err_msg, null::varchar as full_url "
            f"from _careledger_fhir_lines) where raw_text is not null and (strlen(raw_text) > 64 or trim(raw_text) <> '')"
        )
        return
    # not UTF-8 or stray control bytes: the exact line reader flags the bad lines
    log.info("%s: not clean UTF-8; reading lines in Python", ctx.path)
    records = [r for r in parse_lines(ctx.path, 1, header=False) if r.raw_text.strip()]
    frame = pl.DataFrame(
        {
            "record_index": [r.record_index for r in records],
            "raw_text": [r.raw_text for r in records],
            "err_code": [r.err_code for r in records],
            "err_msg": ["the line is not valid UTF-8" if r.err_code else None for r in records],
            "full_url": [None] * len(records),
        },
        schema={"record_index": pl.Int64, "raw_text": pl.Utf8, "err_code": pl.Utf8, "err_msg": pl.Utf8,
                "full_url": pl.Utf8},
    )
    con.register("_careledger_fhir_slow", frame.to_arrow())
    try:
        con.execute(f"create temp table {STAGE} as select * from _careledger_fhir_slow")
    finally:
        con.unregister("_careledger_fhir_slow")


def _stage_documents(ctx: LoadContext) -> None:
    """One or more JSON documents; Bundles are unpacked into their entries."""
    con = ctx.con
    try:
        docs = read_json_documents(ctx.path)
    except duckdb.Error as exc:
        text = ctx.path.read_bytes().decode("utf-8", errors="replace")
        con.execute(
            f"create temp table {STAGE} as select 1::bigint as record_index, ? as raw_text, "
            f"'BAD_JSON' as err_code, ? as err_msg, null::varchar as full_url",
            [text[:100_000], f"the JSON document does not parse: {str(exc).splitlines()[0][:300]}"],
        )
        return
    con.register("_careledger_fhir_docs_arrow", docs)
    try:
        con.execute("create temp table _careledger_fhir_docs as select doc_no, doc::json as doc "
                    "from _careledger_fhir_docs_arrow")
    finally:
        con.unregister("_careledger_fhir_docs_arrow")
    for doc_no, btype in con.execute(
        "select doc_no, json_extract_string(doc, '$.type') from _careledger_fhir_docs "
        "where json_extract_string(doc, '$.resourceType') = 'Bundle' order by doc_no"
    ).fetchall():
        if btype not in BUNDLE_TYPES:
            ctx.finding(0, "warning", "BUNDLE_TYPE", f"{ctx.path.name}: Bundle {doc_no} has type {btype!r}; "
                        f"expected one of {', '.join(BUNDLE_TYPES)}; its entries are unpacked anyway", "Bundle.type")
    con.execute(
        f"""
        create temp table {STAGE} as
        with entries as (
            select doc_no, 0 as entry_no, doc as entry, false as is_entry
            from _careledger_fhir_docs
            where coalesce(json_extract_string(doc, '$.resourceType'), '') <> 'Bundle'
            union all
            select doc_no, generate_subscripts(json_extract(doc, '$.entry[*]'), 1) as entry_no,
                   unnest(json_extract(doc, '$.entry[*]')) as entry, true as is_entry
            from _careledger_fhir_docs
            where json_extract_string(doc, '$.resourceType') = 'Bundle'
        ),
        numbered as (
            select row_number() over (order by doc_no, entry_no) as record_index, *,
                   case when is_entry then json_extract(entry, '$.resource') else entry end as res
            from entries
        )
        select record_index,
               coalesce(res::varchar, entry::varchar) as raw_text,
               case when res is null then 'NO_RESOURCE' end as err_code,
               case when res is null then 'Bundle entry ' || entry_no || ' has no resource' end as err_msg,
               case when is_entry then json_extract_string(entry, '$.fullUrl') end as full_url
        from numbered
        """
    )


#: Every path the checks need, extracted with ONE JSON parse per record.
PATHS: tuple[str, ...] = ("resourceType", "id", "meta.versionId", "meta.lastUpdated") + tuple(
    sorted({el for els in REQUIRED_ELEMENTS.values() for el in els})
)


def _v(path: str) -> str:
    return f"v[{PATHS.index(path) + 1}]"


def _checks_sql() -> str:
    types_sql = ", ".join(f"'{t}'" for t in SUPPORTED_TYPES)
    required = []
    for rtype, elements in REQUIRED_ELEMENTS.items():
        for el in elements:
            required.append(
                f"case when rtype = '{rtype}' and coalesce({_v(el)}, '') in ('', '[]', '{{}}') "
                f"then {{'code': 'MISSING_REQUIRED', 'msg': '{rtype}.{el} is missing (required)'}} end"
            )
    unsupported_msg = "'resourceType ''' || rtype || ''' is not loaded by careledger'"
    paths_sql = "[" + ", ".join(f"'$.{p}'" for p in PATHS) + "]"
    return f"""
        create temp table _careledger_fhir_checked as
        with parsed as (
            select *, case when err_code is null then try(json_extract_string(raw_text, {paths_sql})) end as v
            from {STAGE}
        ),
        typed as (
            select record_index, raw_text, err_code, err_msg, v,
                   v is not null and ltrim(left(raw_text, 64))[1] <> '{{' as not_object,
                   {_v("resourceType")} as rtype,
                   nullif({_v("id")}, '') as own_id,
                   case when full_url like 'urn:uuid:%' then substr(full_url, 10) end as url_id,
                   {_v("meta.versionId")} as version_id,
                   {_v("meta.lastUpdated")} as lu
            from parsed
        )
        select record_index, md5(raw_text) as record_hash, rtype, own_id, url_id, version_id, lu,
               coalesce(own_id, url_id) as rid,
               case
                   when err_code is not null then [{{'code': err_code, 'msg': err_msg}}]
                   when v is null then [{{'code': 'BAD_JSON', 'msg': 'not valid JSON'}}]
                   when not_object then [{{'code': 'NOT_AN_OBJECT', 'msg': 'the record is JSON but not an object'}}]
                   when rtype is null then [{{'code': 'MISSING_RESOURCE_TYPE', 'msg': 'no resourceType'}}]
                   when rtype not in ({types_sql})
                        then [{{'code': 'UNSUPPORTED_RESOURCE_TYPE', 'msg': {unsupported_msg}}}]
                   when coalesce(own_id, url_id) is null then [{{'code': 'MISSING_ID', 'msg': rtype || ' has no id'}}]
                   else list_filter([{', '.join(required)}], x -> x is not null)
               end as problems
        from typed
    """


def _land(ctx: LoadContext) -> LoadCounts:
    con = ctx.con
    con.execute(_checks_sql())
    name = ctx.path.name
    unit = "entry" if ctx.kind == "json" else "line"
    read = con.execute("select count(*) from _careledger_fhir_checked").fetchone()[0]
    for idx, raw, problems in con.execute(
        f"with bad as (select record_index, problems from _careledger_fhir_checked where len(problems) > 0) "
        f"select b.record_index, s.raw_text, b.problems from bad b join {STAGE} s using (record_index) "
        f"order by b.record_index"
    ).fetchall():
        ctx.quarantine(idx, problems[0]["code"], f"{name} {unit} {idx}: " + "; ".join(p["msg"] for p in problems), raw)
    _findings(ctx)
    accepted = ctx.insert_select(
        "raw_ehr.fhir_resources",
        ["resource_type", "resource_id", "version_id", "last_updated", "resource"],
        f"""
        select c.rtype as resource_type, c.rid as resource_id, c.version_id,
               timezone('UTC', try_cast(c.lu as timestamptz)) as last_updated,
               s.raw_text::json as resource,
               c.record_index as _source_record, c.record_hash as _record_hash
        from _careledger_fhir_checked c join {STAGE} s using (record_index)
        where len(c.problems) = 0
        """,
    )
    validate_sample(ctx, "_careledger_fhir_checked", STAGE)
    return LoadCounts(records_read=read, records_accepted=accepted)


def _findings(ctx: LoadContext) -> None:
    name = ctx.path.name
    unit = "entry" if ctx.kind == "json" else "line"
    rows = ctx.con.execute(
        f"""
        select record_index, rtype, rid, own_id, url_id, lu,
               lu is not null and try_cast(lu as timestamptz) is null as bad_lu,
               not regexp_full_match(rid, '{ID_RE}') as bad_id
        from _careledger_fhir_checked
        where len(problems) = 0
          and (not regexp_full_match(rid, '{ID_RE}')
               or (lu is not null and try_cast(lu as timestamptz) is null)
               or own_id is null
               or (url_id is not null and own_id <> url_id))
        order by record_index
        """
    ).fetchall()
    for idx, rtype, rid, own_id, url_id, lu, bad_lu, bad_id in rows:
        where = f"{name} {unit} {idx}"
        if bad_id:
            ctx.finding(idx, "warning", "BAD_ID_FORMAT", f"{where}: {rtype} id {rid!r} is not a FHIR id "
                        "([A-Za-z0-9-.]{1,64})", f"{rtype}.id")
        if bad_lu:
            ctx.finding(idx, "warning", "BAD_LAST_UPDATED", f"{where}: meta.lastUpdated {lu!r} is not an instant; "
                        "last_updated lands null", f"{rtype}.meta.lastUpdated")
        if own_id is None and url_id is not None:
            ctx.finding(idx, "info", "ID_FROM_FULLURL", f"{where}: {rtype} has no id; using the entry fullUrl "
                        f"uuid {url_id}", "Bundle.entry.fullUrl")
        elif url_id is not None and own_id != url_id:
            ctx.finding(idx, "warning", "FULLURL_ID_MISMATCH", f"{where}: fullUrl urn:uuid:{url_id} differs from "
                        f"{rtype}.id {own_id!r}; urn:uuid references resolve by resource id", "Bundle.entry.fullUrl")
