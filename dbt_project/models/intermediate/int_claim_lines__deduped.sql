-- Claim lines without PHI, one row per raw row: the history of every landing of a
-- (claim_id, line_number). The latest load counts (a re-sent export corrects the lines it
-- carries; within one file the later line); the earlier landings stay as rows, flagged
-- is_duplicate, with whether their content differs from the line that counts (is_replaced)
-- and that line's charge, so a correction is an adjusting journal and an exception row, never
-- a silent rewrite (docs/dbt.md, "Claim lifecycle").
with

claim_lines as (
    select * from {{ ref('stg_billing__claim_lines') }}
),

findings as (
    select * from {{ ref('stg_meta__validation_findings') }}
),

rounded_charges as (
    -- charge amounts ingest rounded to the cent (AMOUNT_ROUNDED): one row per record
    select distinct
        batch_id,
        record_index
    from findings
    where rule = 'AMOUNT_ROUNDED' and location = 'charge_amount'
),

ranked as (
    select
        claim_id,
        line_number,
        service_date,
        procedure_code,
        modifiers,
        case when revenue_code is not null then {{ dbt.right(dbt.concat(["'0000'", 'revenue_code']), 4) }} end
            as revenue_code,
        units,
        charge_amount,
        place_of_service,
        _batch_id,
        _source_record,
        _loaded_at,
        row_number() over (
            partition by claim_id, line_number order by _loaded_at, _batch_id, _source_record
        ) as landing_number,
        row_number() over (
            partition by claim_id, line_number order by _loaded_at desc, _batch_id desc, _source_record desc
        ) as recency
    from claim_lines
),

current_lines as (
    select * from ranked
    where recency = 1
),

final as (
    select
        ranked.claim_id,
        ranked.line_number,
        ranked.service_date,
        ranked.procedure_code,
        ranked.modifiers,
        ranked.revenue_code,
        ranked.units,
        ranked.charge_amount,
        ranked.place_of_service,
        ranked.landing_number,
        ranked.recency > 1 as is_duplicate,
        ranked.recency > 1
        and (
            {%- for column in ['service_date', 'procedure_code', 'modifiers', 'revenue_code', 'units',
                               'charge_amount', 'place_of_service'] %}
            {{ 'or ' if not loop.first }}ranked.{{ column }} is distinct from current_lines.{{ column }}
            {%- endfor %}
        ) as is_replaced,
        current_lines.charge_amount as current_charge_amount,
        current_lines._batch_id as current_batch_id,
        rounded_charges.record_index is not null as is_charge_rounded,
        ranked._batch_id,
        ranked._source_record,
        ranked._loaded_at
    from ranked
    left join current_lines
        on current_lines.claim_id = ranked.claim_id and current_lines.line_number = ranked.line_number
    left join rounded_charges
        on rounded_charges.batch_id = ranked._batch_id and rounded_charges.record_index = ranked._source_record
)

select * from final
