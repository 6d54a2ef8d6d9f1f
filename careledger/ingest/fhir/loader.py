"""Load FHIR R4 bulk NDJSON and Bundles into ``raw_ehr.fhir_resources``.

Bulk path, all in DuckDB: the file's lines are read by ``read_csv`` as one VARCHAR column
(a delimiter byte that cannot occur, no quoting) with their line numbers; every record is
checked in SQL (valid JSON object, supported ``resourceType``, ``id``, the fields the
warehouse needs per type) and the good ones are inserted with one ``INSERT ... SELECT``.
A JSON document (``kind='json'``) is read with ``read_json_objects``; a Bundle is unpacked
into its entries (record index = 1-based entry index, running across the file).

Quarantine reason codes: ``BAD_JSON``, ``BAD_ENCODING``, ``NOT_AN_OBJECT``,
``MISSING_RESOURCE_TYPE``, ``UNSUPPORTED_RESOURCE_TYPE`` (a ``resourceType`` that is no FHIR R4B
resource), ``MISSING_ID``, ``MISSING_REQUIRED``, ``NO_RESOURCE`` (a Bundle entry without a resource).

Skipped (neither landed nor quarantined, not counted in ``records_read``): resources of a FHIR
type the warehouse does not read (Observation, Immunization, DiagnosticReport, CarePlan, ... as
Synthea bundles carry them), reported as one info finding ``RESOURCE_TYPE_SKIPPED`` per type
with its count and first record. An ``OperationOutcome`` (the records of a Bulk Data export's
error file) is not landed either: each of its issues is one finding ``OPERATION_OUTCOME`` with
the issue's severity (fatal/error: error, warning, information: info), code, location and text.

Findings (the record lands): ``BAD_ID_FORMAT``, ``BAD_LAST_UPDATED``, ``BAD_DATE`` / ``BAD_DATETIME``
(a date or instant of ``TEMPORAL_ELEMENTS`` that does not cast: a birthDate ``2025-02-30`` or the
JSON number ``19800101``, a period.start ``2025-13-45T99:99:99Z``), ``FULLURL_ID_MISMATCH``,
``ID_FROM_FULLURL``, ``BUNDLE_TYPE`` (warnings / info), and ``FHIR_R4B_MODEL`` (error) from
``fhir.resources`` model validation under the sampling policy in ``validate.py``.
References are stored as sent; dbt resolves them (macro ``fhir_reference_id`` and its siblings in
dbt_project/macros/json.sql).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache

import duckdb
import polars as pl

from careledger.ingest.fhir.validate import validate_sample
from careledger.ingest.landing import LoadContext, LoadCounts, duckdb_path
from careledger.ingest.lines import parse_lines, read_json_documents, row_base, scan_safe

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

#: a resource reported issue by issue (``OPERATION_OUTCOME`` findings), never landed
OUTCOME = "OperationOutcome"

#: Dates and instants the warehouse casts (the dbt staging models), per type: a value that does not
#: cast lands, and lands null in staging, with a BAD_DATE / BAD_DATETIME finding naming it.
TEMPORAL_ELEMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "Patient": (("birthDate", "date"),),
    "Encounter": (("period.start", "timestamp"), ("period.end", "timestamp")),
    "Coverage": (("period.start", "date"), ("period.end", "date")),
    "Claim": (("billablePeriod.start", "date"), ("billablePeriod.end", "date"), ("created", "date")),
    "ExplanationOfBenefit": (
        ("billablePeriod.start", "date"),
        ("billablePeriod.end", "date"),
        ("created", "date"),
        ("payment.date", "date"),
    ),
    "Procedure": (("performedDateTime", "timestamp"),),
    "Condition": (("recordedDate", "timestamp"),),
}

BUNDLE_TYPES = ("transaction", "collection", "batch", "searchset")
ID_RE = r"^[A-Za-z0-9\-\.]{1,64}$"
STAGE = "_careledger_fhir_stage"
LINES = "_careledger_fhir_lines"
CHECKED = "_careledger_fhir_checked"
DOCS = "_careledger_fhir_docs"
MAX_LINE_BYTES = 1 << 30


@dataclass(frozen=True)
class _Source:
    """Where the records' text is: a temp table with a ``raw_text`` column, one row per
    candidate record in record order (so its rowid order is the record order).

    ``record_index``, ``err_code``, ``err_msg``, ``full_url`` and ``skip`` (not a record: a
    blank line) are SQL expressions over that table's columns.
    """

    table: str
    record_index: str = "record_index"
    err_code: str = "err_code"
    err_msg: str = "err_msg"
    full_url: str = "full_url"
    skip: str = "false"


def load(ctx: LoadContext) -> LoadCounts:
    ctx.con.execute("set enable_progress_bar = false")
    created: list[str] = []
    source = _stage_documents(ctx, created) if ctx.kind == "json" else _stage_ndjson(ctx, created)
    counts = _land(ctx, source, created)
    # no try/finally: on an error the landing transaction is rolled back and the temp tables made
    # inside it go with it (dropping them in an aborted transaction would only hide the real error)
    for table in reversed(created):
        ctx.con.execute(f"drop table {table}")
    return counts


def _path_sql(ctx: LoadContext) -> str:
    return duckdb_path(ctx.path)


def _stage_ndjson(ctx: LoadContext, created: list[str]) -> _Source:
    """The file's lines, one row per physical line (blank lines are skipped by ``_Source.skip``)."""
    con = ctx.con
    if scan_safe(ctx.path):
        con.execute(
            f"create temp table {LINES} as select line as raw_text "
            f"from read_csv({_path_sql(ctx)}, columns={{'line': 'VARCHAR'}}, header=false, auto_detect=false, "
            f"delim='\x01', quote='', escape='', max_line_size={MAX_LINE_BYTES})"
        )
        created.append(LINES)
        # insertion order is preserved, so rowid - base + 1 is the physical line number: no window,
        # and no second copy of the text
        base = row_base(con, LINES)
        # trim() only of a short prefix: trimming every 1 KB line would copy the whole file again
        blank = "raw_text is null or (strlen(raw_text) <= 64 and trim(left(raw_text, 64)) = '')"
        if base is not None:
            return _Source(
                LINES,
                record_index=f"rowid - {base} + 1",
                err_code="null::varchar",
                err_msg="null::varchar",
                full_url="null::varchar",
                skip=blank,
            )
        con.execute(
            f"create temp table {STAGE} as select * from ("
            f"select row_number() over () as record_index, raw_text, null::varchar as err_code, "
            f"null::varchar as err_msg, null::varchar as full_url from {LINES}) where not ({blank})"
        )
        created.append(STAGE)
        return _Source(STAGE)
    # not UTF-8, stray control bytes or mixed line ends: the exact line reader (it flags the bad lines)
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
        schema={
            "record_index": pl.Int64,
            "raw_text": pl.Utf8,
            "err_code": pl.Utf8,
            "err_msg": pl.Utf8,
            "full_url": pl.Utf8,
        },
    )
    con.register("_careledger_fhir_slow", frame.to_arrow())
    try:
        con.execute(f"create temp table {STAGE} as select * from _careledger_fhir_slow")
        created.append(STAGE)
    finally:
        con.unregister("_careledger_fhir_slow")
    return _Source(STAGE)


def _stage_documents(ctx: LoadContext, created: list[str]) -> _Source:
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
        created.append(STAGE)
        return _Source(STAGE)
    con.register("_careledger_fhir_docs_arrow", docs)
    try:
        con.execute(f"create temp table {DOCS} as select doc_no, doc::json as doc from _careledger_fhir_docs_arrow")
        created.append(DOCS)
    finally:
        con.unregister("_careledger_fhir_docs_arrow")
    for doc_no, btype, entry_type, entry_count in con.execute(
        f"select doc_no, json_extract_string(doc, '$.type'), json_type(json_extract(doc, '$.entry')), "
        f"json_array_length(json_extract(doc, '$.entry[*]')) from {DOCS} "
        "where json_extract_string(doc, '$.resourceType') = 'Bundle' order by doc_no"
    ).fetchall():
        if btype not in BUNDLE_TYPES:
            ctx.finding(
                0,
                "warning",
                "BUNDLE_TYPE",
                f"{ctx.path.name}: Bundle {doc_no} has type {btype!r}; "
                f"expected one of {', '.join(BUNDLE_TYPES)}; its entries are unpacked anyway",
                "Bundle.type",
            )
        _bundle_entry_finding(ctx, doc_no, entry_type, entry_count)
    con.execute(
        f"""
        create temp table {STAGE} as
        with entries as (
            select doc_no, 0 as entry_no, doc as entry, false as is_entry
            from {DOCS}
            where coalesce(json_extract_string(doc, '$.resourceType'), '') <> 'Bundle'
            union all
            select doc_no, generate_subscripts(json_extract(doc, '$.entry[*]'), 1) as entry_no,
                   unnest(json_extract(doc, '$.entry[*]')) as entry, true as is_entry
            from {DOCS}
            where json_extract_string(doc, '$.resourceType') = 'Bundle'
                and json_type(json_extract(doc, '$.entry')) = 'ARRAY'
            union all
            -- Bundle.entry is 0..* (an array); a sender that writes one entry as a bare object
            -- still means that entry: it is unpacked (BUNDLE_ENTRY_NOT_ARRAY), and an entry of any
            -- other JSON type is one record without a resource (NO_RESOURCE), never nothing
            select doc_no, 1 as entry_no, json_extract(doc, '$.entry') as entry, true as is_entry
            from {DOCS}
            where json_extract_string(doc, '$.resourceType') = 'Bundle'
                and json_type(json_extract(doc, '$.entry')) not in ('ARRAY', 'NULL')
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
    created.append(STAGE)
    return _Source(STAGE)


def _bundle_entry_finding(ctx: LoadContext, doc_no: int, entry_type: str | None, entry_count: int | None) -> None:
    """A Bundle whose ``entry`` is not a non-empty array says so: a bare object is unpacked as its
    one entry (warning), a Bundle with no entries lands nothing (info); an entry of another JSON
    type is quarantined as that Bundle's record (``NO_RESOURCE``)."""
    name = ctx.path.name
    if entry_type == "OBJECT":
        ctx.finding(
            0,
            "warning",
            "BUNDLE_ENTRY_NOT_ARRAY",
            f"{name}: Bundle {doc_no} has an entry that is a JSON object, not an array of entries "
            f"(Bundle.entry is 0..*); it is read as the Bundle's one entry",
            "Bundle.entry",
        )
    elif entry_type in (None, "NULL") or (entry_type == "ARRAY" and not entry_count):
        ctx.finding(
            0,
            "info",
            "BUNDLE_EMPTY",
            f"{name}: Bundle {doc_no} has no entries; nothing lands from it",
            "Bundle.entry",
        )


#: Every path the checks need, extracted with ONE JSON parse per record.
PATHS: tuple[str, ...] = ("resourceType", "id", "meta.versionId", "meta.lastUpdated") + tuple(
    sorted(
        {el for els in REQUIRED_ELEMENTS.values() for el in els}
        | {el for els in TEMPORAL_ELEMENTS.values() for el, _ in els}
    )
)


def _v(path: str) -> str:
    return f"v[{PATHS.index(path) + 1}]"


def _checks_sql(source: _Source) -> str:
    """One row per row of ``source.table``, in its order (so a POSITIONAL JOIN gets the text back):
    the keys, the md5 and the problems of every record; the text itself is not copied."""
    types_sql = ", ".join(f"'{t}'" for t in SUPPORTED_TYPES)
    required = []
    for rtype, elements in REQUIRED_ELEMENTS.items():
        for el in elements:
            required.append(
                f"case when rtype = '{rtype}' and coalesce({_v(el)}, '') in ('', '[]', '{{}}') "
                f"then {{'code': 'MISSING_REQUIRED', 'msg': '{rtype}.{el} is missing (required)'}} end"
            )
    temporal = [
        f"case when {_v('resourceType')} = '{rtype}' and {_v(el)} is not null and try_cast({_v(el)} as {sql_type}) is null "
        f"then {{'path': '{el}', 'value': {_v(el)}, 'sql_type': '{sql_type}'}} end"
        for rtype, elements in TEMPORAL_ELEMENTS.items()
        for el, sql_type in elements
    ]
    unsupported_msg = "'resourceType ''' || rtype || ''' is not loaded by careledger'"
    paths_sql = "[" + ", ".join(f"'$.{p}'" for p in PATHS) + "]"
    return f"""
        create temp table {CHECKED} as
        with parsed as (
            select rowid as pos, {source.skip} as skip, {source.record_index} as record_index,
                   raw_text, {source.err_code} as err_code, {source.err_msg} as err_msg,
                   {source.full_url} as full_url
            from {source.table}
        ),
        extracted as (
            -- no CASE around the parse: it would double its cost; err_code and skip win below anyway
            select *, try(json_extract_string(raw_text, {paths_sql})) as v
            from parsed
        ),
        typed as (
            select pos, skip, record_index, raw_text, err_code, err_msg, v,
                   v is not null and ltrim(left(raw_text, 64))[1] <> '{{' as not_object,
                   {_v("resourceType")} as rtype,
                   nullif({_v("id")}, '') as own_id,
                   case when full_url like 'urn:uuid:%' then substr(full_url, 10) end as url_id,
                   {_v("meta.versionId")} as version_id,
                   {_v("meta.lastUpdated")} as lu,
                   list_filter([{", ".join(temporal)}], x -> x is not null) as bad_temporal
            from extracted
        )
        select pos, skip, record_index, rtype, own_id, url_id, version_id, lu, bad_temporal,
               coalesce(own_id, url_id) as rid,
               case
                   when skip then []
                   when err_code is not null then [{{'code': err_code, 'msg': err_msg}}]
                   when v is null then [{{'code': 'BAD_JSON', 'msg': 'not valid JSON'}}]
                   when not_object then [{{'code': 'NOT_AN_OBJECT', 'msg': 'the record is JSON but not an object'}}]
                   when rtype is null then [{{'code': 'MISSING_RESOURCE_TYPE', 'msg': 'no resourceType'}}]
                   when rtype not in ({types_sql})
                        then [{{'code': 'UNSUPPORTED_RESOURCE_TYPE', 'msg': {unsupported_msg}}}]
                   when coalesce(own_id, url_id) is null then [{{'code': 'MISSING_ID', 'msg': rtype || ' has no id'}}]
                   else list_filter([{", ".join(required)}], x -> x is not null)
               end as problems,
               case when not skip then md5(raw_text) end as record_hash
        from typed
    """


#: Record-level findings of an accepted record, evaluated on the checked table.
_BAD_ID = f"not regexp_full_match(rid, '{ID_RE}')"
_BAD_LU = "(lu is not null and try_cast(lu as timestamptz) is null)"
#: an accepted record whose type, id and version (meta.versionId, meta.lastUpdated) another
#: accepted record of the file has with other content; versions that differ are history, not this
_ACCEPTED_HASH = "case when len(problems) = 0 then record_hash end"
_SAME_VERSION = "partition by rtype, rid, coalesce(version_id, ''), coalesce(lu, '')"
_CONFLICT = (
    f"(len(problems) = 0 and min({_ACCEPTED_HASH}) over ({_SAME_VERSION}) "
    f"<> max({_ACCEPTED_HASH}) over ({_SAME_VERSION}))"
)


def _land(ctx: LoadContext, source: _Source, created: list[str]) -> LoadCounts:
    con = ctx.con
    con.execute(_checks_sql(source))
    created.append(CHECKED)
    name = ctx.path.name
    unit = "entry" if ctx.kind == "json" else "line"
    # one pass over the keys: the record count, and every record quarantined or with a finding
    # (plus one row, whatever it is, so the count comes back even when nothing is flagged)
    read = 0
    flagged: list[tuple] = []
    for row in con.execute(
        f"""
        select record_index, problems, rtype, rid, own_id, url_id, lu, {_BAD_LU} as bad_lu, {_BAD_ID} as bad_id,
               record_hash, {_CONFLICT} as is_conflict, version_id, bad_temporal,
               len(problems) > 0 or {_BAD_ID} or {_BAD_LU} or own_id is null or len(bad_temporal) > 0
                   or (url_id is not null and own_id <> url_id) or {_CONFLICT} as is_flagged,
               count(*) over () as n
        from {CHECKED} where not skip
        qualify is_flagged or row_number() over () = 1
        """
    ).fetchall():
        read = row[-1]
        if row[-2]:
            flagged.append(row[:-2])
    flagged.sort(key=lambda r: r[0])
    skipped = _skipped(flagged)
    skipped_idx = {i for indexes in skipped.values() for i in indexes}
    outcomes = skipped.pop(OUTCOME, [])
    for rtype, indexes in sorted(skipped.items()):
        ctx.finding(
            indexes[0],
            "info",
            "RESOURCE_TYPE_SKIPPED",
            f"{name}: {len(indexes)} {rtype} resource(s) (first at {unit} {indexes[0]}) skipped: careledger "
            f"does not read {rtype}; they are not landed",
            rtype,
        )
    bad = {r[0]: r[1] for r in flagged if r[1] and r[0] not in skipped_idx}
    if bad or outcomes:  # the raw text of the quarantined records and OperationOutcomes only
        texts = dict(
            con.execute(
                f"select c.record_index, t.raw_text from {CHECKED} c positional join {source.table} t "
                f"where not c.skip and len(c.problems) > 0"
            ).fetchall()
        )
        for idx in outcomes:
            _outcome_findings(ctx, idx, texts[idx], f"{name} {unit} {idx}")
        for idx, problems in sorted(bad.items()):
            ctx.quarantine(
                idx, problems[0]["code"], f"{name} {unit} {idx}: " + "; ".join(p["msg"] for p in problems), texts[idx]
            )
    _findings(ctx, [r for r in flagged if not r[1]])
    _duplicate_id_findings(ctx, [r for r in flagged if not r[1] and r[10]])
    accepted = ctx.insert_select(
        "raw_ehr.fhir_resources",
        ["resource_type", "resource_id", "version_id", "last_updated", "resource"],
        f"""
        select c.rtype as resource_type, c.rid as resource_id, c.version_id,
               timezone('UTC', try_cast(c.lu as timestamptz)) as last_updated,
               t.raw_text::json as resource,
               c.record_index as _source_record, c.record_hash as _record_hash
        from {CHECKED} c positional join {source.table} t
        where not c.skip and len(c.problems) = 0
        """,
    )
    validate_sample(ctx, CHECKED, source.table, accepted)
    return LoadCounts(records_read=read - len(skipped_idx), records_accepted=accepted)


def _duplicate_id_findings(ctx: LoadContext, rows: list[tuple]) -> None:
    """``DUPLICATE_ID_CONFLICT`` on every accepted record whose resource type, id and version an
    earlier record of the same file carries with other content (``rows``: the flagged rows in
    conflict, in record order). Both land, and nothing says which is current (dbt orders versions
    by ``meta.lastUpdated``). Versions with another lastUpdated or versionId are history and exact
    repeats are the same record: neither gets a finding."""
    name = ctx.path.name
    unit = "entry" if ctx.kind == "json" else "line"
    groups: dict[tuple, list[tuple]] = {}
    for row in rows:
        idx, _, rtype, rid, _own, _url, lu, _bad_lu, _bad_id, digest, _conflict, version, _bad_temporal = row
        groups.setdefault((rtype, rid, version, lu), []).append((idx, digest))
    for (rtype, rid, version, lu), records in groups.items():
        first = records[0][0]
        seen: set[str] = set()
        for idx, digest in records:
            if seen and digest not in seen:
                ctx.finding(
                    idx,
                    "warning",
                    "DUPLICATE_ID_CONFLICT",
                    f"{name} {unit} {idx}: {rtype} id {rid!r} is also at {unit} {first} with other content and "
                    f"the same version (meta.versionId {version or 'none'}, meta.lastUpdated {lu or 'none'}); both land and the "
                    f"warehouse cannot tell which is current: ask the sender for one version",
                    f"{rtype}.id",
                )
            seen.add(digest)


@cache
def is_fhir_resource_type(name: str | None) -> bool:
    """True when ``name`` is a FHIR R4B resource type (``fhir.resources`` has a model for it)."""
    if not name or not name.isalnum() or not name[0].isupper():
        return False
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.resource import Resource

    try:
        return issubclass(get_fhir_model_class(name), Resource)
    except (KeyError, ValueError, ImportError, AttributeError):
        return False


def _skipped(rows: list[tuple]) -> dict[str, list[int]]:
    """Flagged rows whose only problem is a FHIR resource type the warehouse does not read:
    record indexes by type."""
    out: dict[str, list[int]] = {}
    for idx, problems, rtype, *_ in rows:
        codes = [p["code"] for p in problems]
        if codes == ["UNSUPPORTED_RESOURCE_TYPE"] and is_fhir_resource_type(rtype):
            out.setdefault(rtype, []).append(idx)
    return out


#: OperationOutcome.issue.severity -> finding severity
OUTCOME_SEVERITY = {"fatal": "error", "error": "error", "warning": "warning", "information": "info"}


def _outcome_findings(ctx: LoadContext, idx: int, text: str, where: str) -> None:
    """One ``OPERATION_OUTCOME`` finding per issue of an OperationOutcome (a Bulk Data export's
    error file is NDJSON of them): its severity, code, location and text, so what the server
    could not export is on record beside what it did."""
    issues = json.loads(text).get("issue") or [{}]
    for i, issue in enumerate(issues if isinstance(issues, list) else [issues]):
        issue = issue if isinstance(issue, dict) else {}
        severity = str(issue.get("severity") or "error")
        details = issue.get("details") if isinstance(issue.get("details"), dict) else {}
        text_ = details.get("text") or issue.get("diagnostics") or "(no text)"
        places = issue.get("expression") or issue.get("location") or []
        place = places[0] if isinstance(places, list) and places else None
        ctx.finding(
            idx,
            OUTCOME_SEVERITY.get(severity, "error"),
            "OPERATION_OUTCOME",
            f"{where}: the server reported {severity} {issue.get('code') or 'unknown'}: {text_}"[:2000],
            str(place) if place else f"OperationOutcome.issue[{i}]",
        )


def _findings(ctx: LoadContext, rows: list[tuple]) -> None:
    """Findings of accepted records: rows of (record_index, problems, rtype, rid, own_id, url_id, lu,
    bad_lu, bad_id, record_hash, is_conflict, version_id, bad_temporal)."""
    name = ctx.path.name
    unit = "entry" if ctx.kind == "json" else "line"
    for idx, _, rtype, rid, own_id, url_id, lu, bad_lu, bad_id, *_, bad_temporal in rows:
        where = f"{name} {unit} {idx}"
        for bad in bad_temporal:
            kind = "date (YYYY-MM-DD)" if bad["sql_type"] == "date" else "dateTime (YYYY-MM-DDThh:mm:ss+zz:zz)"
            ctx.finding(
                idx,
                "warning",
                "BAD_DATE" if bad["sql_type"] == "date" else "BAD_DATETIME",
                f"{where}: {rtype}.{bad['path']} {bad['value']!r} is not a {kind} the warehouse can read; "
                "the resource lands and the value is null in staging",
                f"{rtype}.{bad['path']}",
            )
        if bad_id:
            ctx.finding(
                idx,
                "warning",
                "BAD_ID_FORMAT",
                f"{where}: {rtype} id {rid!r} is not a FHIR id ([A-Za-z0-9-.]{{1,64}})",
                f"{rtype}.id",
            )
        if bad_lu:
            ctx.finding(
                idx,
                "warning",
                "BAD_LAST_UPDATED",
                f"{where}: meta.lastUpdated {lu!r} is not an instant; last_updated lands null",
                f"{rtype}.meta.lastUpdated",
            )
        if own_id is None and url_id is not None:
            ctx.finding(
                idx,
                "info",
                "ID_FROM_FULLURL",
                f"{where}: {rtype} has no id; using the entry fullUrl uuid {url_id}",
                "Bundle.entry.fullUrl",
            )
        elif url_id is not None and own_id != url_id:
            ctx.finding(
                idx,
                "warning",
                "FULLURL_ID_MISMATCH",
                f"{where}: fullUrl urn:uuid:{url_id} differs from "
                f"{rtype}.id {own_id!r}; urn:uuid references resolve by resource id",
                "Bundle.entry.fullUrl",
            )
