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

{#- FHIR references (https://hl7.org/fhir/R4B/references.html), the one rule careledger
    resolves them by (docs/ingest.md, "FHIR references"). Ingest stores every reference as
    sent; staging calls these macros on the text:

      form                                           kind         type      id / identifier
      Patient/P1                                     literal      Patient   P1
      https://ehr/fhir/Patient/P1                    literal      Patient   P1
      https://ehr/fhir/Patient/P1/_history/2         literal      Patient   P1 (not 2)
      urn:uuid:a1b2...                               uuid         null      a1b2... (a Bundle
                                                                            entry without an id
                                                                            lands under its
                                                                            fullUrl uuid)
      Patient?identifier=sys|value (| or %7C)        conditional  Patient   id null; identifier
                                                                            system sys, value value
      #c1                                            contained    null      null (lives inside
                                                                            the referencing
                                                                            resource, never landed)
      P1 (no type)                                   id           null      P1

    A conditional reference resolves by joining the identifier (system, value) to the
    resource that carries it; its id is null, never the identifier value. -#}
{% macro fhir_reference_kind(expr) -%}
    case
        when {{ expr }} is null or {{ expr }} = '' then null
        when {{ expr }} like '#%' then 'contained'
        when {{ expr }} like 'urn:uuid:%' then 'uuid'
        when {{ expr }} like '%?%' then 'conditional'
        when {{ expr }} like '%/%' then 'literal'
        else 'id'
    end
{%- endmacro %}

{#- The literal reference without a version suffix: `.../Type/id/_history/n` -> `.../Type/id`. -#}
{% macro _fhir_reference_unversioned(expr) -%}
    {{ dbt.split_part(expr, "'/_history/'", 1) }}
{%- endmacro %}

{% macro fhir_reference_type(expr) -%}
    case {{ fhir_reference_kind(expr) }}
        when 'literal' then {{ dbt.split_part(_fhir_reference_unversioned(expr), "'/'", -2) }}
        when 'conditional' then {{ dbt.split_part(dbt.split_part(expr, "'?'", 1), "'/'", -1) }}
    end
{%- endmacro %}

{% macro fhir_reference_id(expr) -%}
    case {{ fhir_reference_kind(expr) }}
        when 'literal' then {{ dbt.split_part(_fhir_reference_unversioned(expr), "'/'", -1) }}
        when 'uuid' then substring({{ expr }}, 10)
        when 'id' then {{ expr }}
    end
{%- endmacro %}

{#- The `identifier` search token of a conditional reference (`%7C` read as `|`), else null. -#}
{% macro _fhir_reference_identifier_token(expr) -%}
    case when {{ fhir_reference_kind(expr) }} = 'conditional' and {{ expr }} like '%identifier=%' then
        {{ dbt.replace(dbt.replace(
            dbt.split_part(dbt.split_part(expr, "'identifier='", 2), "'&'", 1), "'%7C'", "'|'"
        ), "'%7c'", "'|'") }}
    end
{%- endmacro %}

{#- The identifier system of a conditional reference (null when the token has no `|`). -#}
{% macro fhir_reference_identifier_system(expr) -%}
    {%- set token = _fhir_reference_identifier_token(expr) -%}
    case when {{ dbt.position("'|'", token) }} > 1
        then {{ dbt.split_part(token, "'|'", 1) }}
    end
{%- endmacro %}

{#- The identifier value of a conditional reference: the text after the first `|`, or the
    whole token when it has none (a value with any system). -#}
{% macro fhir_reference_identifier_value(expr) -%}
    {%- set token = _fhir_reference_identifier_token(expr) -%}
    case
        when {{ dbt.position("'|'", token) }} > 0
            then nullif(substring({{ token }}, {{ dbt.position("'|'", token) }} + 1), '')
        else nullif({{ token }}, '')
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

{#- One row per element of the JSON array at `path` (e.g. '$.item') of `column`: a select of
    every column of `relation` plus `<alias>` (the element, JSON text or JSON) and
    `<alias>_position` (0-based). A row whose array is missing or empty yields no row: callers
    that must keep such rows say so (the FHIR ExplanationOfBenefit header keeps its own). -#}
{% macro json_array_rows(relation, column, path, alias) -%}
    {{ return(adapter.dispatch('json_array_rows', 'careledger')(relation, column, path, alias)) }}
{%- endmacro %}

{% macro default__json_array_rows(relation, column, path, alias) -%}
    select json_array_input.*, json_array_exploded.position as {{ alias }}_position,
        json_array_exploded.element as {{ alias }}
    from {{ relation }} as json_array_input
    lateral view posexplode(
        from_json(get_json_object(json_array_input.{{ column }}, '{{ path }}'), 'array<string>')
    ) json_array_exploded as position, element
{%- endmacro %}

{% macro duckdb__json_array_rows(relation, column, path, alias) -%}
    select
        json_array_positions.* exclude (json_array_position),
        json_array_positions.json_array_position as {{ alias }}_position,
        json_extract(
            json_array_positions.{{ column }}, '{{ path }}[' || json_array_positions.json_array_position || ']'
        ) as {{ alias }}
    from (
        select
            json_array_input.*,
            unnest(range(coalesce(json_array_length(json_array_input.{{ column }}, '{{ path }}'), 0)::bigint))
                as json_array_position
        from {{ relation }} as json_array_input
    ) as json_array_positions
{%- endmacro %}

{% macro postgres__json_array_rows(relation, column, path, alias) -%}
    {%- set parts = path | replace('$.', '') | replace('[', '.') | replace(']', '') -%}
    select json_array_input.*, json_array_exploded.position - 1 as {{ alias }}_position,
        json_array_exploded.element as {{ alias }}
    from {{ relation }} as json_array_input
    cross join lateral jsonb_array_elements(
        coalesce((json_array_input.{{ column }})::jsonb #> '{ {{- parts.split('.') | join(',') -}} }', '[]'::jsonb)
    ) with ordinality as json_array_exploded (element, position)
{%- endmacro %}
