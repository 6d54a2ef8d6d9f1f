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

{#- Several string fields of one JSON column, each parsed out once per row: a select of every
    column of `relation` plus one column per [alias, path] pair of `fields`. Dispatched:
    the default calls json_string() per field; DuckDB parses the document once for all
    paths (json_extract_string with a list of paths, ~4x faster on FHIR resources). -#}
{% macro json_fields(relation, column, fields) -%}
    {{ return(adapter.dispatch('json_fields', 'careledger')(relation, column, fields)) }}
{%- endmacro %}

{% macro default__json_fields(relation, column, fields) -%}
    select
        json_fields_input.*
        {%- for alias, path in fields %},
        {{ json_string('json_fields_input.' ~ column, path) }} as {{ alias }}
        {%- endfor %}
    from {{ relation }} as json_fields_input
{%- endmacro %}

{% macro duckdb__json_fields(relation, column, fields) -%}
    select
        json_fields_input.* exclude (json_fields_list)
        {%- for alias, path in fields %},
        json_fields_list[{{ loop.index }}] as {{ alias }}
        {%- endfor %}
    from (
        select
            json_fields_source.*,
            json_extract_string(json_fields_source.{{ column }}, [
                {%- for alias, path in fields %}'{{ path }}'{% if not loop.last %}, {% endif %}{% endfor -%}
            ]) as json_fields_list
        from {{ relation }} as json_fields_source
    ) as json_fields_input
{%- endmacro %}
