-- Claim lines without PHI, one row per raw row, with duplicates flagged (not dropped):
-- the same (claim_id, line_number) landed again (a resent export) keeps the first load.
with

claim_lines as (
    select * from {{ ref('stg_billing__claim_lines') }}
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
        ) as occurrence
    from claim_lines
),

final as (
    select
        claim_id,
        line_number,
        service_date,
        procedure_code,
        modifiers,
        revenue_code,
        units,
        charge_amount,
        place_of_service,
        occurrence > 1 as is_duplicate,
        _batch_id,
        _source_record,
        _loaded_at
    from ranked
)

select * from final
