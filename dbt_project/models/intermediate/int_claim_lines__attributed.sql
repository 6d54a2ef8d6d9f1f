-- Claim lines (duplicates removed) with the revenue category and GL revenue account:
-- the procedure code's category (seeds/procedure_codes.csv) when it has one, else the
-- revenue code's (seeds/revenue_codes.csv), else UNMAPPED. Facility and service line
-- come from the claim version.
with

claim_lines as (
    select * from {{ ref('int_claim_lines__deduped') }}
    where not is_duplicate
),

claims as (
    select * from {{ ref('int_claims__attributed') }}
),

procedure_codes as (
    select * from {{ ref('procedure_codes') }}
),

revenue_codes as (
    select * from {{ ref('revenue_codes') }}
),

revenue_categories as (
    select * from {{ ref('revenue_categories') }}
),

categorized as (
    select
        claim_lines.*,
        coalesce(procedure_codes.revenue_category_code, revenue_codes.revenue_category_code, 'UNMAPPED')
            as revenue_category_code
    from claim_lines
    left join procedure_codes on procedure_codes.procedure_code = claim_lines.procedure_code
    left join revenue_codes on revenue_codes.revenue_code = claim_lines.revenue_code
),

final as (
    select
        {{ surrogate_key(['categorized.claim_id', 'categorized.line_number']) }} as claim_line_key,
        {{ surrogate_key(['categorized.claim_id']) }} as claim_key,
        categorized.claim_id,
        categorized.line_number,
        categorized.service_date,
        categorized.procedure_code,
        categorized.modifiers,
        categorized.revenue_code,
        categorized.revenue_category_code,
        revenue_categories.gl_account_id,
        categorized.units,
        categorized.charge_amount,
        categorized.place_of_service,
        claims.facility_id,
        claims.legal_entity_id,
        claims.cost_center_id,
        claims.service_line_code,
        claims.statement_to_date,
        claims.is_current_version,
        claims.is_voided,
        categorized._batch_id,
        categorized._loaded_at
    from categorized
    left join claims on claims.claim_id = categorized.claim_id
    left join revenue_categories on revenue_categories.revenue_category_code = categorized.revenue_category_code
)

select * from final
