-- RESTRICTED (PHI). Patient merges from HL7 A40 (MRG-1 prior MRN -> PID-3 surviving MRN),
-- resolved through up to three hops so that a chain of merges ends at the survivor.
{{ config(tags=['restricted']) }}

with

adt as (
    select * from {{ ref('stg_ehr__adt_messages') }}
),

a40_merges as (
    select prior_mrn, patient_mrn as surviving_mrn, coalesce(event_at, message_at) as merged_at, _loaded_at
    from adt
    where trigger_event = 'A40' and prior_mrn is not null and patient_mrn is not null
        and prior_mrn <> patient_mrn
),

latest_merges as (
    {{ deduplicate('a40_merges', 'prior_mrn', 'merged_at desc, _loaded_at desc') }}
),

resolved as (
    select
        m1.prior_mrn,
        coalesce(m3.surviving_mrn, m2.surviving_mrn, m1.surviving_mrn) as surviving_mrn,
        m1.merged_at
    from latest_merges as m1
    left join latest_merges as m2 on m2.prior_mrn = m1.surviving_mrn
    left join latest_merges as m3 on m3.prior_mrn = m2.surviving_mrn
),

final as (
    select * from resolved where prior_mrn <> surviving_mrn
)

select * from final
