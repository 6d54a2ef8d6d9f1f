-- RESTRICTED (PHI in: account number, MRN). The current state of every patient account visit
-- the EHR's HL7 BAR feed describes: one row per account number (PID-18) x visit (PV1-19),
-- folded from every BAR event in the order the EHR made them (EVN-2 event time, else MSH-7;
-- then load order). BAR messages are events (P01 add, P05 update, P06 end, P12 update
-- diagnosis / procedure); raw keeps each one and this model applies them:
--   visit attributes  (class, service, attending, financial class, status, times) are the
--                     latest event's: BAR sends the whole PV1 on every event; a time the
--                     latest event leaves empty keeps the earlier one
--   diagnoses         action-code mode where DG1-21 is sent (A add, U update, D delete, each
--                     code's latest action counts), snapshot mode where it is not (a message
--                     whose DG1s carry no action code replaces the visit's whole list); a
--                     message without DG1 changes nothing
--   procedures        snapshot mode (PR1 carries no action code here): the latest message
--                     with PR1 segments for the visit is its list
--   end               a P06 for the account (with or without a visit) at or after the visit's
--                     latest event ends it
-- A BAR row with no account number or no visit is kept on its own (null) account or visit: it
-- is counted, never dropped (fct_patient_accounts.is_placed).
{{ config(tags=['restricted']) }}

with

accounts as (
    select * from {{ ref('stg_ehr__bar_accounts') }}
),

diagnoses as (
    select * from {{ ref('stg_ehr__bar_diagnoses') }}
),

procedures as (
    select * from {{ ref('stg_ehr__bar_procedures') }}
),

patient_merges as (
    select * from {{ ref('int_patients__merges') }}
),

-- every event of a visit in the order the EHR made it (event_seq 1 = first)
events as (
    select
        accounts.*,
        coalesce(accounts.patient_control_number, '') as account_ref,
        coalesce(accounts.encounter_id, '') as visit_ref,
        coalesce(accounts.event_at, accounts.message_at) as effective_at,
        row_number() over (
            partition by coalesce(accounts.patient_control_number, ''), coalesce(accounts.encounter_id, '')
            order by coalesce(accounts.event_at, accounts.message_at), accounts.message_at, accounts._loaded_at,
                accounts._batch_id, accounts._source_record, accounts.visit_set
        ) as event_seq,
        count(*) over (
            partition by coalesce(accounts.patient_control_number, ''), coalesce(accounts.encounter_id, '')
        ) as event_count
    from accounts
),

visits as (
    select
        account_ref,
        visit_ref,
        min(effective_at) as first_event_at,
        max(effective_at) as last_event_at,
        min(admit_at) as first_admit_at,
        max(discharge_at) as last_discharge_at
    from events
    group by account_ref, visit_ref
),

latest as (
    select * from events
    where event_seq = event_count
),

ends as (
    select
        patient_control_number,
        max(effective_at) as ended_at
    from events
    where trigger_event = 'P06'
    group by patient_control_number
),

-- each DG1 with the place of its message among the visit's events
diagnosis_events as (
    select
        diagnoses.*,
        events.account_ref,
        events.visit_ref,
        events.event_seq,
        max(case when diagnoses.action_code is not null then 1 else 0 end) over (
            partition by diagnoses._batch_id, diagnoses._source_record, events.visit_ref
        ) as is_action_mode
    from events
    inner join diagnoses
        on diagnoses._batch_id = events._batch_id
        and diagnoses._source_record = events._source_record
        and coalesce(diagnoses.encounter_id, '') = events.visit_ref
),

last_snapshots as (
    select
        account_ref,
        visit_ref,
        max(event_seq) as snapshot_seq
    from diagnosis_events
    where is_action_mode = 0
    group by account_ref, visit_ref
),

diagnosis_actions as (
    select diagnosis_events.*
    from diagnosis_events
    left join last_snapshots
        on last_snapshots.account_ref = diagnosis_events.account_ref
        and last_snapshots.visit_ref = diagnosis_events.visit_ref
    where diagnosis_events.event_seq >= coalesce(last_snapshots.snapshot_seq, 0)
),

latest_diagnosis_actions as (
    {{ deduplicate(
        'diagnosis_actions',
        'account_ref, visit_ref, diagnosis_code',
        'event_seq desc, set_id desc'
    ) }}
),

current_diagnoses as (
    select account_ref, visit_ref, event_seq, set_id, diagnosis_code, diagnosis_type
    from latest_diagnosis_actions
    where coalesce(action_code, 'A') <> 'D' and diagnosis_code is not null
),

principal_diagnoses as (
    {{ deduplicate('current_diagnoses', 'account_ref, visit_ref', 'event_seq, set_id, diagnosis_code') }}
),

diagnosis_sets as (
    select
        account_ref,
        visit_ref,
        count(*) as diagnosis_count,
        max(case when diagnosis_type = 'F' then 1 else 0 end) as has_final_diagnosis
    from current_diagnoses
    group by account_ref, visit_ref
),

procedure_events as (
    select
        procedures.*,
        events.account_ref,
        events.visit_ref,
        events.event_seq
    from events
    inner join procedures
        on procedures._batch_id = events._batch_id
        and procedures._source_record = events._source_record
        and coalesce(procedures.encounter_id, '') = events.visit_ref
),

procedure_snapshots as (
    select
        account_ref,
        visit_ref,
        max(event_seq) as snapshot_seq
    from procedure_events
    group by account_ref, visit_ref
),

procedure_sets as (
    select
        procedure_events.account_ref,
        procedure_events.visit_ref,
        count(distinct procedure_events.procedure_code) as procedure_count
    from procedure_events
    inner join procedure_snapshots
        on procedure_snapshots.account_ref = procedure_events.account_ref
        and procedure_snapshots.visit_ref = procedure_events.visit_ref
        and procedure_snapshots.snapshot_seq = procedure_events.event_seq
    group by procedure_events.account_ref, procedure_events.visit_ref
),

final as (
    select
        {{ keyed_hash(dbt.concat(["'account visit|'", 'latest.account_ref', "'|'", 'latest.visit_ref'])) }}
            as patient_account_key,
        latest.patient_control_number,
        {{ keyed_hash(dbt.concat(["'account|'", 'latest.patient_control_number'])) }} as account_key,
        latest.encounter_id,
        {{ patient_key('coalesce(patient_merges.surviving_mrn, latest.patient_mrn)') }} as patient_key,
        latest.sending_facility,
        latest.trigger_event as last_trigger_event,
        latest.event_count,
        visits.first_event_at,
        visits.last_event_at,
        latest.patient_class,
        latest.hospital_service,
        latest.attending_npi,
        latest.financial_class,
        latest.account_status,
        coalesce(latest.admit_at, visits.first_admit_at) as admit_at,
        coalesce(latest.discharge_at, visits.last_discharge_at) as discharge_at,
        case when ends.ended_at >= visits.last_event_at then ends.ended_at end as ended_at,
        coalesce(diagnosis_sets.diagnosis_count, 0) as diagnosis_count,
        principal_diagnoses.diagnosis_code as principal_diagnosis_code,
        coalesce(diagnosis_sets.has_final_diagnosis, 0) = 1 as has_final_diagnosis,
        coalesce(procedure_sets.procedure_count, 0) as procedure_count,
        latest._batch_id
    from latest
    inner join visits
        on visits.account_ref = latest.account_ref
        and visits.visit_ref = latest.visit_ref
    left join ends on ends.patient_control_number = latest.patient_control_number
    left join patient_merges on patient_merges.prior_mrn = latest.patient_mrn
    left join diagnosis_sets
        on diagnosis_sets.account_ref = latest.account_ref
        and diagnosis_sets.visit_ref = latest.visit_ref
    left join principal_diagnoses
        on principal_diagnoses.account_ref = latest.account_ref
        and principal_diagnoses.visit_ref = latest.visit_ref
    left join procedure_sets
        on procedure_sets.account_ref = latest.account_ref
        and procedure_sets.visit_ref = latest.visit_ref
)

select * from final
