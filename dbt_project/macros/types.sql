{#- An 8-byte float type, dispatched per engine: ANSI `double precision` (Postgres) by
    default, `double` on DuckDB and Spark. (dbt.type_float() is a 4-byte float on DuckDB.) -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'careledger')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}

{#- dbt.safe_cast is a plain cast on DuckDB (dbt-duckdb does not override dbt's
    default__safe_cast), so one accepted value that does not cast (a Patient birthDate
    2025-02-30, an Encounter period.start 2025-13-45T99:99:99Z) failed its staging view and every
    model built on it. On DuckDB it is try_cast, as its name says: the value lands null, and
    ingest reports it where it arrives (the FHIR BAD_DATE / BAD_DATETIME findings in
    raw_meta.validation_findings, docs/ingest.md). Other engines keep their adapter's cast. -#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}
