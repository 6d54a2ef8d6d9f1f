-- One row per finalized encounter (latest state of its FHIR/HL7 history). Patients appear
-- only as patient_key with age band, 3-digit zip and sex. Service line: the encounter's
-- current claim's service line, else its department's, else UNMAPPED.
with

encounters as (
    select * from {{ ref('int_encounters__finalized') }}
),

claims as (
    select * from {{ ref('int_claims__attributed') }}
    where is_current_version and not is_voided and encounter_id is not null
),

departments as (
    select * from {{ ref('int_departments__unified') }}
),

mapped_claims as (
    select encounter_id, claim_id, service_line_code, case when claim_type = 'I' then 0 else 1 end as type_priority
    from claims
    where service_line_code <> 'UNMAPPED'
),

claim_service_lines as (
    {{ deduplicate('mapped_claims', 'encounter_id', 'type_priority, claim_id') }}
),

final as (
    select
        encounters.encounter_id,
        encounters.patient_key,
        encounters.age_band,
        encounters.zip3,
        encounters.sex,
        encounters.encounter_class,
        encounters.facility_id,
        encounters.department_code,
        encounters.cost_center_id,
        encounters.attending_npi,
        coalesce(claim_service_lines.service_line_code, departments.service_line_code, 'UNMAPPED') as service_line_code,
        encounters.admit_at,
        encounters.discharge_at,
        encounters.encounter_date,
        encounters.status,
        encounters.is_final_status,
        encounters.event_count,
        encounters.last_event_type,
        encounters.last_event_at
    from encounters
    left join claim_service_lines on claim_service_lines.encounter_id = encounters.encounter_id
    left join departments on departments.department_code = encounters.department_code
)

select * from final
