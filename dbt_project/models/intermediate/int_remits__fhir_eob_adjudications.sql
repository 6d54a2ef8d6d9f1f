-- One row per FHIR ExplanationOfBenefit amount (claim, line and total level) with what it
-- means for the remittance facts (seeds/fhir_adjudication_categories.csv): measure charge,
-- allowed, payment, adjustment or informational; an adjustment carries the CAS pair an 835
-- would send (the seed's group code; adjudication.reason's CARC when the payer names one,
-- else the seed's default CARC) and the same reason category and bucket as an 835 CAS
-- (int_remits__adjustments_categorized: seeds carc_categories, then carc_codes, else
-- unclassified; macro adjustment_bucket). A category the seed does not list keeps its row
-- and amount with measure null and is_placed false.
with

adjudications as (
    select * from {{ ref('stg_ehr__fhir_eob_adjudications') }}
),

adjudication_categories as (
    select * from {{ ref('fhir_adjudication_categories') }}
),

carc_categories as (
    select * from {{ ref('carc_categories') }}
),

carc_codes as (
    select * from {{ ref('carc_codes') }}
),

mapped as (
    select
        adjudications.*,
        adjudication_categories.measure,
        case when adjudication_categories.measure = 'adjustment' then adjudication_categories.group_code end
            as group_code,
        case
            when adjudication_categories.measure = 'adjustment'
                then coalesce(adjudications.reason_code, adjudication_categories.carc_code)
        end as carc_code
    from adjudications
    left join adjudication_categories on adjudication_categories.category_code = adjudications.category_code
),

final as (
    select
        {{ surrogate_key(['mapped._batch_id', 'mapped._source_record', 'mapped.adjudication_path']) }}
            as eob_adjudication_key,
        mapped.eob_id,
        mapped.adjudication_level,
        mapped.adjudication_path,
        mapped.item_position,
        mapped.item_sequence,
        mapped.category_code,
        mapped.reason_code,
        mapped.measure,
        mapped.measure is not null as is_placed,
        mapped.group_code,
        mapped.carc_code,
        case
            when mapped.measure = 'adjustment'
                then coalesce(carc_categories.category, carc_codes.category, 'unclassified')
        end as denial_category,
        case
            when mapped.measure = 'adjustment' then {{ adjustment_bucket(
                'mapped.group_code', "coalesce(carc_categories.category, carc_codes.category, 'unclassified')"
            ) }}
        end as adjustment_bucket,
        mapped.amount,
        mapped._batch_id,
        mapped._source_file,
        mapped._source_record,
        mapped._loaded_at
    from mapped
    left join carc_categories
        on carc_categories.group_code = mapped.group_code
        and carc_categories.carc_code = mapped.carc_code
    left join carc_codes on carc_codes.carc_code = mapped.carc_code
)

select * from final
