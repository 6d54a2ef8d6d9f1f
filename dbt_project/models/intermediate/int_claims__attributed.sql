-- One row per claim version with every identifier mapped to its conformed dimension
-- (UNMAPPED when the crosswalk has no row), the service line by the contract's rules
-- (DRG -> first line's procedure range -> department cost center -> UNMAPPED) and the
-- expected reimbursement from the payer's contract terms.
with

claims as (
    select * from {{ ref('int_claims__versions') }}
),

claim_lines as (
    select * from {{ ref('int_claim_lines__deduped') }}
    where not is_duplicate
),

payers as (
    select * from {{ ref('int_billing__payers') }}
),

location_xwalk as (
    select * from {{ ref('int_crosswalk__locations') }}
),

department_xwalk as (
    select * from {{ ref('int_crosswalk__departments') }}
),

provider_xwalk as (
    select * from {{ ref('int_crosswalk__providers') }}
),

cost_centers as (
    select * from {{ ref('int_erp__cost_centers') }}
),

facilities as (
    select * from {{ ref('int_erp__facilities') }}
),

ms_drgs as (
    select * from {{ ref('ms_drgs') }}
),

procedure_ranges as (
    select * from {{ ref('service_line_procedure_ranges') }}
),

procedure_codes as (
    select * from {{ ref('procedure_codes') }}
),

-- the range lookup runs once per distinct procedure code, not once per claim
first_procedure_codes as (
    select distinct first_procedure_code as procedure_code
    from claims
    where {{ dbt.length('first_procedure_code') }} = 5
),

procedure_code_ranges as (
    select
        first_procedure_codes.procedure_code,
        procedure_ranges.service_line_code,
        procedure_ranges.priority,
        procedure_ranges.range_start
    from first_procedure_codes
    inner join procedure_ranges
        on first_procedure_codes.procedure_code >= procedure_ranges.range_start
        and first_procedure_codes.procedure_code <= procedure_ranges.range_end
),

procedure_code_service_lines as (
    {{ deduplicate('procedure_code_ranges', 'procedure_code', 'priority, range_start') }}
),

procedure_service_lines as (
    select claims.claim_id, procedure_code_service_lines.service_line_code
    from claims
    inner join procedure_code_service_lines
        on procedure_code_service_lines.procedure_code = claims.first_procedure_code
),

outpatient_expected as (
    -- outpatient expected reimbursement is priced per line, each line rounded to the cent
    select
        claim_lines.claim_id,
        sum(
            case
                when payers.outpatient_method = 'pct_of_charges'
                    then round(payers.outpatient_rate * claim_lines.charge_amount, 2)
                when payers.outpatient_method = 'fee_schedule'
                    then round(
                        payers.outpatient_rate * coalesce(procedure_codes.fee_schedule_amount, 0)
                        * coalesce(claim_lines.units, 1),
                        2
                    )
                else 0
            end
        ) as expected_amount
    from claim_lines
    inner join claims on claims.claim_id = claim_lines.claim_id
    inner join payers on payers.payer_code = claims.payer_code
    left join procedure_codes on procedure_codes.procedure_code = claim_lines.procedure_code
    group by claim_lines.claim_id
),

mapped as (
    select
        claims.claim_id,
        claims.root_claim_id,
        claims.claim_frequency_code,
        claims.original_claim_id,
        claims.version_number,
        claims.is_current_version,
        claims.is_voided,
        claims.encounter_id,
        claims.patient_key,
        case when payers.payer_code is not null then claims.payer_code else 'UNMAPPED' end as payer_code,
        coalesce(billing_npi_xwalk.npi, 'UNMAPPED') as billing_npi,
        coalesce(rendering_npi_xwalk.npi, 'UNMAPPED') as rendering_npi,
        coalesce(location_xwalk.facility_id, 'UNMAPPED') as facility_id,
        coalesce(facilities.legal_entity_id, 'UNMAPPED') as legal_entity_id,
        coalesce(department_xwalk.department_code, 'UNMAPPED') as department_code,
        coalesce(department_xwalk.cost_center_id, 'UNMAPPED') as cost_center_id,
        claims.claim_type,
        claims.bill_type,
        claims.drg_code,
        claims.admit_date,
        claims.discharge_date,
        claims.statement_from_date,
        claims.statement_to_date,
        claims.submitted_date,
        claims.first_procedure_code,
        claims.line_count,
        claims.charge_amount,
        coalesce(
            case when claims.claim_type = 'I' then ms_drgs.service_line_code end,
            procedure_service_lines.service_line_code,
            cost_centers.service_line_code,
            'UNMAPPED'
        ) as service_line_code,
        case
            when claims.claim_type = 'I' and claims.drg_code is not null then 'drg'
            when procedure_service_lines.service_line_code is not null then 'procedure_range'
            when cost_centers.service_line_code is not null then 'department'
            else 'unmapped'
        end as service_line_rule,
        case
            when claims.claim_type = 'I' and claims.drg_code is not null
                then round(payers.inpatient_base_rate * ms_drgs.weight, 2)
            else outpatient_expected.expected_amount
        end as expected_reimbursement_raw,
        claims.payer_code as payer_source_code,
        claims.facility_code as facility_source_code,
        claims.department_code as department_source_code,
        claims.billing_npi as billing_npi_source_code,
        claims.rendering_npi as rendering_npi_source_code,
        claims._batch_id,
        claims._loaded_at
    from claims
    left join payers on payers.payer_code = claims.payer_code
    left join location_xwalk
        on location_xwalk.source_system = 'billing' and location_xwalk.source_code = claims.facility_code
    left join department_xwalk
        on department_xwalk.source_system = 'billing' and department_xwalk.source_code = claims.department_code
    left join provider_xwalk as billing_npi_xwalk
        on billing_npi_xwalk.source_system = 'npi' and billing_npi_xwalk.source_code = claims.billing_npi
    left join provider_xwalk as rendering_npi_xwalk
        on rendering_npi_xwalk.source_system = 'npi' and rendering_npi_xwalk.source_code = claims.rendering_npi
    left join cost_centers on cost_centers.cost_center_id = department_xwalk.cost_center_id
    left join facilities on facilities.facility_id = location_xwalk.facility_id
    left join ms_drgs on ms_drgs.drg_code = claims.drg_code
    left join procedure_service_lines on procedure_service_lines.claim_id = claims.claim_id
    left join outpatient_expected on outpatient_expected.claim_id = claims.claim_id
),

final as (
    select
        mapped.*,
        {{ money('coalesce(expected_reimbursement_raw, 0)') }} as expected_reimbursement_amount
    from mapped
)

select * from final
