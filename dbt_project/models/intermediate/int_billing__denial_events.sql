-- Denial work-queue events without the free-text note; an event id landed twice keeps its
-- first load. Category from seeds/carc_categories.csv (`other` when the pair is unknown).
with

events as (
    select * from {{ ref('stg_billing__denial_events') }}
),

carc_categories as (
    select * from {{ ref('carc_categories') }}
),

final as (
    select
        events.event_id,
        events.claim_id,
        events.payer_code,
        events.event_type,
        events.event_date,
        events.group_code,
        events.carc_code,
        coalesce(carc_categories.category, 'other') as denial_category,
        coalesce(events.amount, 0) as amount,
        events.work_queue,
        events._batch_id,
        events._loaded_at
    from events
    left join carc_categories
        on carc_categories.group_code = events.group_code and carc_categories.carc_code = events.carc_code
    qualify row_number() over (partition by events.event_id order by events._loaded_at, events._batch_id, events._source_record) = 1
)

select * from final
