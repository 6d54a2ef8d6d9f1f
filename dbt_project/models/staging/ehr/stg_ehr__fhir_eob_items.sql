-- One row per ExplanationOfBenefit.item (the service line an 835 SVC would carry).
with

source as (
    select * from {{ source('ehr', 'fhir_resources') }}
    where resource_type = 'ExplanationOfBenefit'
),

items as (
    {{ json_array_rows('source', 'resource', '$.item', 'item') }}
),

renamed as (
    select
        resource_id as eob_id,
        item_position,
        {{ dbt.safe_cast(json_string('item', '$.sequence'), api.Column.translate_type('integer')) }} as item_sequence,
        {{ fhir_reference_id(json_string('item', '$.encounter[0].reference')) }} as encounter_id,
        {{ json_string('item', '$.revenue.coding[0].code') }} as revenue_code,
        {{ json_string('item', '$.productOrService.coding[0].system') }} as procedure_system,
        {{ json_string('item', '$.productOrService.coding[0].code') }} as procedure_code,
        {{ json_string('item', '$.modifier[0].coding[0].code') }} as modifier_1,
        {{ json_string('item', '$.modifier[1].coding[0].code') }} as modifier_2,
        {{ dbt.safe_cast(json_string('item', '$.quantity.value'), 'decimal(18, 4)') }} as units,
        {{ dbt.safe_cast(
            "coalesce(" ~ json_string('item', '$.servicedDate') ~ ", " ~ json_string('item', '$.servicedPeriod.start') ~ ")",
            api.Column.translate_type('date'),
        ) }} as service_date,
        {{ dbt.safe_cast(json_string('item', '$.net.value'), 'decimal(18, 2)') }} as net_amount,
        _batch_id,
        _source_file,
        _source_record,
        _loaded_at
    from items
)

select * from renamed
