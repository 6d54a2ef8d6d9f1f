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
