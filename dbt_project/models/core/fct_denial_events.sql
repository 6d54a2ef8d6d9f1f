-- Denial work-queue events (received, appealed, overturned, upheld, written off) with the
-- claim's facility and service line and the denial category.
with

events as (
    select * from {{ ref('int_billing__denial_events') }}
),

claims as (
    select * from {{ ref('int_claims__attributed') }}
),

payers as (
    select * from {{ ref('dim_payer') }}
),

final as (
    select
        events.event_id,
        events.claim_id,
        events.event_type,
        events.event_date,
        events.amount,
        events.group_code,
        events.carc_code,
        {{ dbt.concat(['events.group_code', "'-'", 'events.carc_code']) }} as denial_reason_key,
        events.denial_category,
        coalesce(claims.facility_id, 'UNMAPPED') as facility_id,
        case when payers.payer_code is null then 'UNMAPPED' else events.payer_code end as payer_code,
        coalesce(claims.service_line_code, 'UNMAPPED') as service_line_code,
        events.work_queue,
        events._batch_id
    from events
    left join claims on claims.claim_id = events.claim_id
    left join payers on payers.payer_code = events.payer_code
)

select * from final
