-- RESTRICTED (PHI in, de-identified out). One row per surviving patient MRN with the
-- keyed hash patient_key and the coarse attributes core may carry: sex, 3-digit zip and
-- the birth date that age bands are computed from (birth_date stays restricted).
-- Demographics come from the latest FHIR Patient version and the latest ADT PID segment.
{{ config(tags=['restricted']) }}

with

fhir_patients as (
    select * from {{ ref('int_patients__fhir_mrns') }}
),

adt as (
    select * from {{ ref('stg_ehr__adt_messages') }}
),

patient_merges as (
    select * from {{ ref('int_patients__merges') }}
),

observations as (
    select patient_mrn, birth_date, gender as sex, zip, last_updated_at as observed_at, _loaded_at
    from fhir_patients
    where patient_mrn is not null
    union all
    select
        patient_mrn,
        birth_date,
        case upper(sex) when 'F' then 'female' when 'M' then 'male' when 'O' then 'other' when 'U' then 'unknown' end
            as sex,
        zip,
        coalesce(event_at, message_at) as observed_at,
        _loaded_at
    from adt
    where patient_mrn is not null
),

surviving as (
    select
        coalesce(patient_merges.surviving_mrn, observations.patient_mrn) as patient_mrn,
        observations.birth_date,
        observations.sex,
        observations.zip,
        observations.observed_at,
        observations._loaded_at
    from observations
    left join patient_merges on patient_merges.prior_mrn = observations.patient_mrn
),

latest as (
    select
        patient_mrn,
        max(birth_date) as birth_date_any,
        max(observed_at) as last_observed_at
    from surviving
    group by patient_mrn
),

ranked as (
    select
        surviving.patient_mrn,
        surviving.birth_date,
        surviving.sex,
        surviving.zip,
        row_number() over (
            partition by surviving.patient_mrn order by surviving.observed_at desc, surviving._loaded_at desc
        ) as recency
    from surviving
),

final as (
    select
        latest.patient_mrn,
        {{ patient_key('latest.patient_mrn') }} as patient_key,
        coalesce(newest.birth_date, latest.birth_date_any) as birth_date,
        coalesce(newest.sex, 'unknown') as sex,
        {{ zip3('newest.zip') }} as zip3,
        latest.last_observed_at
    from latest
    left join ranked as newest
        on newest.patient_mrn = latest.patient_mrn
        and newest.recency = 1
)

select * from final
