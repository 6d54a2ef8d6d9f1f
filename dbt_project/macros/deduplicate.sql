{#- One row per partition of `relation` (a ref, a CTE name or a parenthesized subquery):
    the first by `order_by`. Renders a select with every column of `relation` plus
    `dedup_row_number` (always 1), so that callers name the columns they keep and every
    engine returns the same columns. Dispatched: the default is an ANSI `row_number()`
    subquery (Postgres, Spark, DuckDB); an engine may override it (`<adapter>__deduplicate`)
    where something else is faster, keeping the same output columns.

        latest_accounts as (
            {{ deduplicate('accounts', 'account_id', '_loaded_at desc, _source_record desc') }}
        ),
-#}
{% macro deduplicate(relation, partition_by, order_by) -%}
    {{ return(adapter.dispatch('deduplicate', 'careledger')(relation, partition_by, order_by)) }}
{%- endmacro %}

{% macro default__deduplicate(relation, partition_by, order_by) -%}
    select *
    from (
        select
            dedup_input.*,
            row_number() over (partition by {{ partition_by }} order by {{ order_by }}) as dedup_row_number
        from {{ relation }} as dedup_input
    ) as dedup_ranked
    where dedup_row_number = 1
{%- endmacro %}
