-- One row per ExplanationOfBenefit amount: the claim-level adjudication[], each item's
-- adjudication[] and the total[] (adjudication_level claim, line, total), category and
-- reason as sent. What each category means is seeds/fhir_adjudication_categories.csv.
with

source as (
    select * from {{ source('ehr', 'fhir_resources') }}
    where resource_type = 'ExplanationOfBenefit'
),

items as (
    {{ json_array_rows('source', 'resource', '$.item', 'item') }}
),

claim_level as (
    {{ json_array_rows('source', 'resource', '$.adjudication', 'adjudication') }}
),

line_level as (
    {{ json_array_rows('items', 'item', '$.adjudication', 'adjudication') }}
),

totals as (
    {{ json_array_rows('source', 'resource', '$.total', 'adjudication') }}
),

unioned as (
    select
        resource_id,
        'claim' as adjudication_level,
        cast(null as {{ dbt.type_int() }}) as item_position,
        cast(null as {{ dbt.type_string() }}) as item_sequence_text,
        adjudication_position,
        adjudication,
        _batch_id,
        _source_file,
        _source_record,
        _loaded_at
    from claim_level
    union all
    select
        resource_id,
        'line' as adjudication_level,
        cast(item_position as {{ dbt.type_int() }}) as item_position,
        {{ json_string('item', '$.sequence') }} as item_sequence_text,
        adjudication_position,
        adjudication,
        _batch_id,
        _source_file,
        _source_record,
        _loaded_at
    from line_level
    union all
    select
        resource_id,
        'total' as adjudication_level,
        cast(null as {{ dbt.type_int() }}) as item_position,
        cast(null as {{ dbt.type_string() }}) as item_sequence_text,
        adjudication_position,
        adjudication,
        _batch_id,
        _source_file,
        _source_record,
        _loaded_at
    from totals
),

renamed as (
    select
        resource_id as eob_id,
        adjudication_level,
        case adjudication_level
            when 'claim' then {{ dbt.concat([
                "'adjudication['", dbt.cast('adjudication_position', dbt.type_string()), "']'",
            ]) }}
            when 'total' then {{ dbt.concat([
                "'total['", dbt.cast('adjudication_position', dbt.type_string()), "']'",
            ]) }}
            else {{ dbt.concat([
                "'item['", dbt.cast('item_position', dbt.type_string()),
                "'].adjudication['", dbt.cast('adjudication_position', dbt.type_string()), "']'",
            ]) }}
        end as adjudication_path,
        item_position,
        {{ dbt.safe_cast('item_sequence_text', api.Column.translate_type('integer')) }} as item_sequence,
        adjudication_position,
        {{ json_string('adjudication', '$.category.coding[0].system') }} as category_system,
        {{ json_string('adjudication', '$.category.coding[0].code') }} as category_code,
        {{ json_string('adjudication', '$.reason.coding[0].system') }} as reason_system,
        {{ json_string('adjudication', '$.reason.coding[0].code') }} as reason_code,
        {{ dbt.safe_cast(json_string('adjudication', '$.amount.value'), 'decimal(18, 2)') }} as amount,
        {{ dbt.safe_cast(json_string('adjudication', '$.value'), 'decimal(18, 4)') }} as adjudication_value,
        _batch_id,
        _source_file,
        _source_record,
        _loaded_at
    from unioned
)

select * from renamed
