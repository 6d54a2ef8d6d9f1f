{#- JSON access, dispatched per engine. `path` is a JSONPath like '$.class.code' or
    '$.participant[0].individual.reference'. -#}
{% macro json_string(column, path) -%}
    {{ return(adapter.dispatch('json_string', 'careledger')(column, path)) }}
{%- endmacro %}

{% macro default__json_string(column, path) -%}
    get_json_object({{ column }}, '{{ path }}')
{%- endmacro %}

{% macro duckdb__json_string(column, path) -%}
    json_extract_string({{ column }}, '{{ path }}')
{%- endmacro %}

{% macro postgres__json_string(column, path) -%}
    {%- set parts = path | replace('$.', '') | replace('[', '.') | replace(']', '') -%}
    ({{ column }})::jsonb #>> '{ {{- parts.split('.') | join(',') -}} }'
{%- endmacro %}

{#- The FHIR id a reference points at, whatever its form:
    `Type/id`, `urn:uuid:<id>`, `Type?identifier=system|value` (-> value), or a bare id. -#}
{% macro fhir_reference_id(expr) -%}
    case
        when {{ expr }} is null or {{ expr }} = '' then null
        when {{ expr }} like 'urn:uuid:%' then substring({{ expr }}, 10)
        when {{ expr }} like '%?identifier=%|%' then {{ dbt.split_part(expr, "'|'", -1) }}
        when {{ expr }} like '%?identifier=%' then {{ dbt.split_part(expr, "'='", -1) }}
        when {{ expr }} like '%/%' then {{ dbt.split_part(expr, "'/'", -1) }}
        else {{ expr }}
    end
{%- endmacro %}
