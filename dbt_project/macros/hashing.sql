{#- Keyed hash of a patient identifier (MRN). The salt comes from var patient_key_salt
    (env CARELEDGER_PATIENT_KEY_SALT); without the salt the key cannot be reversed by
    hashing candidate MRNs. Used only in restricted (PHI) intermediate models. -#}
{% macro patient_key(mrn_expr) -%}
    {{ keyed_hash(mrn_expr) }}
{%- endmacro %}

{#- The same keyed hash of any patient-level identifier (an account number prefixed with what it
    is, so that equal strings of different kinds hash apart); null stays null. -#}
{% macro keyed_hash(expr) -%}
    case when {{ expr }} is null then null
    else {{ dbt.hash(dbt.concat(["'" ~ var('patient_key_salt') ~ "'", "'|'", expr])) }} end
{%- endmacro %}

{#- Deterministic surrogate key over several columns (nulls as empty strings). -#}
{% macro surrogate_key(columns) -%}
    {%- set parts = [] -%}
    {%- for c in columns -%}
        {%- do parts.append("coalesce(" ~ dbt.cast(c, api.Column.translate_type('string')) ~ ", '')") -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{#- Money: exact decimal(18, 2). -#}
{% macro money(expr) -%}
    {{ dbt.cast(expr, 'decimal(18, 2)') }}
{%- endmacro %}

{#- An integer date part (year, month, day, dow), dispatched per engine. -#}
{% macro date_part_int(part, expr) -%}
    {{ return(adapter.dispatch('date_part_int', 'careledger')(part, expr)) }}
{%- endmacro %}

{% macro default__date_part_int(part, expr) -%}
    cast(extract({{ part }} from {{ expr }}) as {{ api.Column.translate_type('integer') }})
{%- endmacro %}
