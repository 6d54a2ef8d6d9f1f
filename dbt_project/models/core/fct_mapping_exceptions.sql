-- Identifiers that did not map, one row per (source system, field, value): how many
-- records carried it and when it was first and last seen. Each of them sits on an
-- UNMAPPED dimension member until someone adds the crosswalk or reference row.
with

lookups as (
    select * from {{ ref('int_mapping__lookups') }}
    where not is_mapped
),

final as (
    select
        {{ surrogate_key(['source_system', 'field', 'source_value']) }} as exception_key,
        source_system,
        field,
        source_value as value,
        count(*) as record_count,
        min(seen_at) as first_seen_at,
        max(seen_at) as last_seen_at
    from lookups
    group by source_system, field, source_value
)

select * from final
