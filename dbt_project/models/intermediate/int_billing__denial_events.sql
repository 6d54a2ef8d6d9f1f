-- Denial work-queue events without the free-text note; an event id landed twice keeps its
-- first load. Category from seeds/carc_categories.csv, else seeds/carc_codes.csv, else
-- `unclassified`.
with

events as (
    select * from {{ ref('stg_billing__denial_events') }}
),

carc_categories as (
    select * from {{ ref('carc_categories') }}
),

carc_codes as (
    select * from {{ ref('carc_codes') }}
),

categorized as (
    select
        events.event_id,
        events.claim_id,
        events.payer_code,
        events.event_type,
        events.event_date,
        events.group_code,
        events.carc_code,
        coalesce(carc_categories.category, carc_codes.category, 'unclassified') as denial_category,
        coalesce(events.amount, 0) as amount,
        events.work_queue,
        events._batch_id,
        events._source_record,
        events._loaded_at
    from events
    left join carc_categories
        on carc_categories.group_code = events.group_code and carc_categories.carc_code = events.carc_code
    left join carc_codes on carc_codes.carc_code = events.carc_code
),

first_landed as (
    {{ deduplicate('categorized', 'event_id', '_loaded_at, _batch_id, _source_record') }}
),

final as (
    select
        event_id,
        claim_id,
        payer_code,
        event_type,
        event_date,
        group_code,
        carc_code,
        denial_category,
        amount,
        work_queue,
        _batch_id,
        _loaded_at
    from first_landed
)

select * from final
