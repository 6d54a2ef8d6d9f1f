-- RESTRICTED (PHI in, de-identified out). One finalized version per encounter:
-- the latest state wins, ordered by source time then load time. Each attribute takes its
-- latest non-null value (an A08 that omits a field does not erase it); status comes from
-- the latest event that states one (A11 -> cancelled, A13 -> back in progress); the
-- discharge time from the latest event that sets or clears it (A13 clears). A40 merges
-- move the encounter to the surviving patient. Identifiers are mapped through the
-- crosswalks; what does not map becomes UNMAPPED (and shows in fct_mapping_exceptions).
{{ config(tags=['restricted']) }}

with

events as (
    select * from {{ ref('int_encounters__events') }}
),

patient_merges as (
    select * from {{ ref('int_patients__merges') }}
),

patients as (
    select * from {{ ref('int_patients__deidentified') }}
),

department_xwalk as (
    select * from {{ ref('int_crosswalk__departments') }}
),

location_xwalk as (
    select * from {{ ref('int_crosswalk__locations') }}
),

provider_xwalk as (
    select * from {{ ref('int_crosswalk__providers') }}
),

ordered as (
    select
        events.*,
        row_number() over (
            partition by encounter_id
            order by source_at desc, _loaded_at desc, source_system desc, _source_record desc
        ) as recency
    from events
),

{% set latest_attributes = [
    'patient_mrn', 'encounter_class', 'department_source_code', 'facility_source_code', 'attending_source_code',
    'admit_at', 'status',
] %}

-- for each attribute, the recency of the latest event that states it (one window pass)
attribute_recency as (
    select
        ordered.*,
        {%- for attr in latest_attributes %}
        min(case when {{ attr }} is not null then recency end) over (partition by encounter_id)
            as {{ attr }}_recency,
        {%- endfor %}
        min(case when discharge_action is not null then recency end) over (partition by encounter_id)
            as discharge_recency
    from ordered
),

-- one row per encounter: counts, and each attribute from the latest event that states it
folded as (
    select
        encounter_id,
        count(*) as event_count,
        min(source_at) as first_event_at,
        max(source_at) as last_event_at,
        max(_loaded_at) as last_loaded_at,
        max(case when recency = 1 then event_type end) as last_event_type,
        {%- for attr in latest_attributes %}
        max(case when recency = {{ attr }}_recency then {{ attr }} end) as {{ attr }},
        {%- if attr.endswith('_source_code') %}
        {%- set system = attr | replace('_source_code', '_source_system') %}
        max(case when recency = {{ attr }}_recency then {{ system }} end) as {{ system }},
        {%- endif %}
        {%- endfor %}
        max(case when recency = discharge_recency and discharge_action = 'set' then discharge_at end)
            as discharge_at
    from attribute_recency
    group by encounter_id
),

assembled as (
    select
        folded.encounter_id,
        coalesce(patient_merges.surviving_mrn, folded.patient_mrn) as patient_mrn,
        folded.encounter_class,
        folded.department_source_system,
        folded.department_source_code,
        folded.facility_source_system,
        folded.facility_source_code,
        folded.attending_source_system,
        folded.attending_source_code,
        folded.admit_at,
        folded.discharge_at,
        coalesce(folded.status, 'unknown') as status,
        folded.event_count,
        folded.first_event_at,
        folded.last_event_at,
        folded.last_loaded_at,
        folded.last_event_type
    from folded
    left join patient_merges on patient_merges.prior_mrn = folded.patient_mrn
),

final as (
    select
        assembled.encounter_id,
        patients.patient_key,
        {{ age_band('patients.birth_date', 'cast(assembled.admit_at as date)') }} as age_band,
        patients.zip3,
        coalesce(patients.sex, 'unknown') as sex,
        coalesce(assembled.encounter_class, 'unknown') as encounter_class,
        coalesce(location_xwalk.facility_id, 'UNMAPPED') as facility_id,
        coalesce(department_xwalk.department_code, 'UNMAPPED') as department_code,
        coalesce(department_xwalk.cost_center_id, 'UNMAPPED') as cost_center_id,
        coalesce(provider_xwalk.npi, 'UNMAPPED') as attending_npi,
        assembled.admit_at,
        assembled.discharge_at,
        cast(coalesce(assembled.admit_at, assembled.first_event_at) as date) as encounter_date,
        assembled.status,
        assembled.status in ('finished', 'cancelled', 'entered-in-error') as is_final_status,
        assembled.department_source_code,
        assembled.facility_source_system,
        assembled.facility_source_code,
        assembled.attending_source_system,
        assembled.attending_source_code,
        assembled.event_count,
        assembled.last_event_type,
        assembled.last_event_at,
        assembled.last_loaded_at
    from assembled
    left join patients on patients.patient_mrn = assembled.patient_mrn
    left join department_xwalk
        on department_xwalk.source_system = assembled.department_source_system
        and department_xwalk.source_code = assembled.department_source_code
    left join location_xwalk
        on location_xwalk.source_system = assembled.facility_source_system
        and location_xwalk.source_code = assembled.facility_source_code
    left join provider_xwalk
        on provider_xwalk.source_system = assembled.attending_source_system
        and provider_xwalk.source_code = assembled.attending_source_code
)

select * from final
