-- One row per claim line of every claim version (duplicates removed), with revenue
-- category and GL revenue account. Incremental: new loads are appended by key; a change
-- to crosswalks or seeds needs `dbt build --full-refresh` (the orchestrator does this).
{{ config(
    materialized='incremental',
    unique_key='claim_line_key',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with

claim_lines as (
    select * from {{ ref('int_claim_lines__attributed') }}
    {% if is_incremental() %}
    where _loaded_at > (select max(_loaded_at) from {{ this }})
    {% endif %}
),

final as (
    select
        claim_line_key,
        claim_key,
        claim_id,
        line_number,
        service_date,
        procedure_code,
        modifiers,
        revenue_code,
        revenue_category_code,
        coalesce(gl_account_id, 'UNMAPPED') as gl_account_id,
        units,
        charge_amount,
        place_of_service,
        coalesce(facility_id, 'UNMAPPED') as facility_id,
        coalesce(legal_entity_id, 'UNMAPPED') as legal_entity_id,
        coalesce(cost_center_id, 'UNMAPPED') as cost_center_id,
        coalesce(service_line_code, 'UNMAPPED') as service_line_code,
        _batch_id,
        _loaded_at
    from claim_lines
)

select * from final
