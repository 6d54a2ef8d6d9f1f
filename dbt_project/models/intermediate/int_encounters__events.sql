-- RESTRICTED (PHI). Every change the EHR told us about an encounter, from FHIR Encounter
-- versions and HL7 ADT messages, on one timeline: what the event says about status,
-- class, department, facility, attending and times, with its source time and load time.
-- Codes are still source codes; int_encounters__finalized maps and folds them.
-- One row per source record (_batch_id, _source_record): an HL7 file that repeats a message
-- (ingest reports DUPLICATE_CONTROL_ID) or an NDJSON file that repeats a resource gives two
-- events with the same source time; int_encounters__finalized takes the later record.
{{ config(tags=['restricted']) }}

with

fhir_encounters as (
    select * from {{ ref('stg_ehr__fhir_encounters') }}
),

fhir_patients as (
    select * from {{ ref('int_patients__fhir_mrns') }}
),

mrn_systems as (
    select distinct identifier_system from {{ ref('fhir_mrn_identifier_systems') }}
),

adt as (
    select * from {{ ref('stg_ehr__adt_messages') }}
),

patient_versions as (
    select patient_id, patient_mrn, last_updated_at, _loaded_at
    from fhir_patients
    where patient_mrn is not null
),

patient_mrns as (
    {{ deduplicate('patient_versions', 'patient_id', 'last_updated_at desc, _loaded_at desc') }}
),

fhir_events as (
    select
        fhir_encounters.encounter_id,
        'fhir' as source_system,
        {{ dbt.concat(["'fhir:'", "coalesce(fhir_encounters.status, 'unknown')"]) }} as event_type,
        coalesce(fhir_encounters.last_updated_at, fhir_encounters.period_start_at) as source_at,
        fhir_encounters._loaded_at,
        fhir_encounters._batch_id,
        fhir_encounters._source_record,
        -- a literal subject finds its Patient's MRN (int_patients__fhir_mrns); a conditional
        -- one on an MRN system of seeds/fhir_mrn_identifier_systems.csv
        -- (Patient?identifier=urn:careledger:mrn|MRN...) names the MRN itself
        coalesce(
            patient_mrns.patient_mrn,
            case
                when mrn_systems.identifier_system is not null
                    then fhir_encounters.patient_identifier_value
            end
        ) as patient_mrn,
        case fhir_encounters.class_code
            when 'IMP' then 'inpatient' when 'EMER' then 'emergency' when 'AMB' then 'ambulatory'
        end as encounter_class,
        'ehr' as department_source_system,
        fhir_encounters.department_location_id as department_source_code,
        'ehr_organization' as facility_source_system,
        fhir_encounters.service_provider_organization_id as facility_source_code,
        'ehr' as attending_source_system,
        fhir_encounters.attending_practitioner_id as attending_source_code,
        fhir_encounters.period_start_at as admit_at,
        fhir_encounters.period_end_at as discharge_at,
        case
            when fhir_encounters.period_end_at is not null then 'set'
            when fhir_encounters.status in ('in-progress', 'arrived', 'planned') then 'clear'
        end as discharge_action,
        fhir_encounters.status
    from fhir_encounters
    left join patient_mrns on patient_mrns.patient_id = fhir_encounters.patient_id
    left join mrn_systems on mrn_systems.identifier_system = fhir_encounters.patient_identifier_system
    where fhir_encounters.encounter_id is not null
),

adt_events as (
    select
        encounter_id,
        'hl7' as source_system,
        {{ dbt.concat(["'hl7:'", "trigger_event"]) }} as event_type,
        coalesce(event_at, message_at) as source_at,
        _loaded_at,
        _batch_id,
        _source_record,
        patient_mrn,
        case patient_class when 'I' then 'inpatient' when 'E' then 'emergency' when 'O' then 'ambulatory' end
            as encounter_class,
        'ehr' as department_source_system,
        department_code as department_source_code,
        'ehr' as facility_source_system,
        facility_code as facility_source_code,
        'npi' as attending_source_system,
        attending_npi as attending_source_code,
        admit_at,
        case when trigger_event = 'A13' then null else discharge_at end as discharge_at,
        case
            when trigger_event = 'A13' then 'clear'
            when trigger_event = 'A03' or discharge_at is not null then 'set'
        end as discharge_action,
        case trigger_event
            when 'A01' then 'in-progress'
            when 'A04' then 'in-progress'
            when 'A03' then 'finished'
            when 'A11' then 'cancelled'
            when 'A13' then 'in-progress'
        end as status
    from adt
    where encounter_id is not null
        and trigger_event in ('A01', 'A03', 'A04', 'A08', 'A11', 'A13')
),

final as (
    select * from fhir_events
    union all
    select * from adt_events
)

select * from final
