"""How a stored FHIR ``reference`` resolves, as DuckDB SQL macros.

Ingest keeps every ``reference`` value exactly as sent. Staging resolves the three forms
the EHR sends (docs/ingest.md, "FHIR references") with these macros; the dbt staging
layer carries the same expressions as a dbt macro. ``install_reference_macros(con)``
creates them on a connection (tests, ad-hoc queries).

| form | example | ``fhir_ref_kind`` | resolves to |
|---|---|---|---|
| relative / absolute literal | ``Patient/P0000001``, ``https://ehr/fhir/Patient/P0000001/_history/2`` | ``literal`` | ``resource_type = fhir_ref_type`` and ``resource_id = fhir_ref_id`` |
| bundle-internal | ``urn:uuid:a1b2...`` | ``uuid`` | ``resource_id = fhir_ref_id`` (type from the element's ``type`` when present) |
| conditional | ``Patient?identifier=urn:careledger:mrn|MRN00000002`` | ``conditional`` | ``resource_type = fhir_ref_type`` and an ``identifier`` with ``system = fhir_ref_identifier_system`` and ``value = fhir_ref_identifier_value`` |
"""

from __future__ import annotations

import duckdb

_LITERAL = r"^(?:.*/)?([A-Z][A-Za-z]+)/([A-Za-z0-9\-\.]{1,64})(?:/_history/[^/]+)?$"
_CONDITIONAL = r"^([A-Z][A-Za-z]+)\?(?:.*&)?identifier=([^&]*)"

REFERENCE_MACROS_SQL = f"""
create or replace macro fhir_ref_kind(ref) as
    case
        when ref is null then null
        when ref like 'urn:uuid:%' then 'uuid'
        when regexp_matches(ref, '{_CONDITIONAL}') then 'conditional'
        when regexp_matches(ref, '{_LITERAL}') then 'literal'
        else 'other'
    end;

create or replace macro fhir_ref_type(ref) as
    case fhir_ref_kind(ref)
        when 'literal' then regexp_extract(ref, '{_LITERAL}', 1)
        when 'conditional' then regexp_extract(ref, '{_CONDITIONAL}', 1)
    end;

create or replace macro fhir_ref_id(ref) as
    case fhir_ref_kind(ref)
        when 'literal' then regexp_extract(ref, '{_LITERAL}', 2)
        when 'uuid' then substr(ref, 10)
    end;

create or replace macro fhir_ref_identifier_token(ref) as
    case when fhir_ref_kind(ref) = 'conditional'
        then replace(replace(regexp_extract(ref, '{_CONDITIONAL}', 2), '%7C', '|'), '%7c', '|')
    end;

create or replace macro fhir_ref_identifier_system(ref) as
    case when contains(fhir_ref_identifier_token(ref), '|')
        then nullif(split_part(fhir_ref_identifier_token(ref), '|', 1), '')
    end;

create or replace macro fhir_ref_identifier_value(ref) as
    case when contains(fhir_ref_identifier_token(ref), '|')
        then substr(fhir_ref_identifier_token(ref), strpos(fhir_ref_identifier_token(ref), '|') + 1)
        else fhir_ref_identifier_token(ref)
    end;
"""

#: One row per identifier of every stored resource: the lookup a conditional reference joins to.
FHIR_IDENTIFIERS_SQL = """
select r.resource_type, r.resource_id,
       json_extract_string(i.identifier, '$.system') as identifier_system,
       json_extract_string(i.identifier, '$.value') as identifier_value
from raw_ehr.fhir_resources r,
     unnest(json_extract(r.resource, '$.identifier[*]')) as i(identifier)
"""


def install_reference_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``fhir_ref_*`` macros on ``con`` (temporary objects, nothing is stored)."""
    for stmt in REFERENCE_MACROS_SQL.split(";"):
        if stmt.strip():
            con.execute(stmt.replace("create or replace macro", "create or replace temp macro"))
