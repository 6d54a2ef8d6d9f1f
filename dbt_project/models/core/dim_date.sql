-- Calendar days spanning the data: from 1 January of the year before the earliest date landed
-- to 31 December of the year after the latest (today included), built with dbt's
-- cross-database date_spine. Real exports go back decades (Synthea encounters, archived 835s),
-- so a fixed range would fail the date relationships of every fact. Dates before 1900 or after
-- 2100 are left out of the bounds: they are source errors, reported by the facts' date tests.
{%- set date_columns = [
    (ref('int_encounters__finalized'), 'encounter_date'),
    (ref('int_remits__claims_matched'), 'remit_date'),
    (ref('int_claims__versions'), 'statement_from_date'),
    (ref('int_claims__versions'), 'statement_to_date'),
    (ref('int_claims__versions'), 'submitted_date'),
    (ref('int_erp__accounting_periods'), 'period_start_date'),
    (ref('int_erp__accounting_periods'), 'period_end_date'),
    (ref('int_erp__gl_actuals'), 'posting_date'),
    (ref('int_billing__denial_events'), 'event_date'),
] -%}

{#- the bounds are read when the model runs; a compile before the first build (no upstream
    tables yet) renders the current year +- 1 -#}
{%- set first_year = modules.datetime.date.today().year - 1 -%}
{%- set last_year = modules.datetime.date.today().year + 1 -%}
{%- if execute -%}
    {%- set selects = [] -%}
    {%- for relation, column in date_columns -%}
        {%- if load_relation(relation) is not none -%}
            {%- do selects.append('select ' ~ column ~ ' as date_day from ' ~ relation) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do selects.append('select current_date as date_day') -%}
    {%- set bounds_query -%}
        select
            cast(min({{ date_part_int('year', 'date_day') }}) - 1 as integer) as first_year,
            cast(max({{ date_part_int('year', 'date_day') }}) + 1 as integer) as last_year
        from ({{ selects | join(' union all ') }}) as landed_dates
        where date_day between cast('1900-01-01' as date) and cast('2100-12-31' as date)
    {%- endset -%}
    {%- set bounds = run_query(bounds_query) -%}
    {%- set first_year = bounds.columns[0].values()[0] | int -%}
    {%- set last_year = bounds.columns[1].values()[0] | int -%}
{%- endif %}

with

days as (
    -- dbt's date_spine renders runs of blank lines (LT15), which are not ours to fix
    {{ dbt.date_spine(
        'day',
        "cast('" ~ first_year ~ "-01-01' as date)",
        "cast('" ~ (last_year + 1) ~ "-01-01' as date)",
    ) }}  -- noqa: LT15
),

final as (
    select
        cast(date_day as date) as date_day,
        cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start_date,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start_date,
        {{ date_part_int('year', 'date_day') }} as year_number,
        {{ date_part_int('month', 'date_day') }} as month_number,
        {{ date_part_int('day', 'date_day') }} as day_of_month,
        {{ date_part_int('dow', 'date_day') }} as day_of_week
    from days
)

select * from final
