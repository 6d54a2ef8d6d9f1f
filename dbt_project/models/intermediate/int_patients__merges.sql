-- RESTRICTED (PHI). Patient merges from HL7 A40 (MRG-1 prior MRN -> PID-3 surviving MRN),
-- resolved through up to three hops so that a chain of merges ends at the survivor.
{{ config(tags=['restricted']) }}

with

adt as (
    select * from {{ ref('stg_ehr__adt_messages') }}
),

merges as (
    select prior_mrn, patient_mrn as surviving_mrn, coalesce(event_at, message_at) as merged_at, _loaded_at
    from adt
    where trigger_event = 'A40' and prior_mrn is not null and patient_mrn is not null
        and prior_mrn <> patient_mrn
    qualify row_number() over (partition by prior_mrn order by coalesce(event_at, message_at) desc, _loaded_at desc) = 1
),

resolved as (
    select
        m1.prior_mrn,
        coalesce(m3.surviving_mrn, m2.surviving_mrn, m1.surviving_mrn) as surviving_mrn,
        m1.merged_at
    from merges as m1
    left join merges as m2 on m2.prior_mrn = m1.surviving_mrn
    left join merges as m3 on m3.prior_mrn = m2.surviving_mrn
),

final as (
    select * from resolved where prior_mrn <> surviving_mrn
)

select * from final
