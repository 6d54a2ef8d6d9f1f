{#-
    One row per patient account visit of the EHR's HL7 BAR feed (int_ehr__accounts: every
    P01 / P05 / P06 / P12 event folded into the account's current state), placed against the
    encounter (core.fct_encounters) and its claims (core.fct_claims): where each account stands
    on the way from admission to a final bill. account_state, in this order:

      ended                        a BAR^P06 closed the account after its latest event
      billed                       a claim of the encounter was submitted (bill_date; a chain
                                   voided since still billed the account once)
      in_house                     not discharged (no PV1-45 discharge time)
      discharged_not_final_coded   discharged, no final diagnosis (DG1-6 F) yet: a coding hold
      discharged_not_final_billed  discharged and coded, no claim yet: a billing hold

    The two discharged states are the account side of DNFB (docs/marts.md, "Patient
    accounts"). A BAR row with no account number or no visit cannot be placed on an account
    visit: it keeps its own row with is_placed false. No PHI: the account is account_key (a
    keyed hash of the account number) and the patient patient_key.
-#}

with

accounts as (
    select * from {{ ref('int_ehr__accounts') }}
),

encounters as (
    select * from {{ ref('fct_encounters') }}
),

claims as (
    select * from {{ ref('fct_claims') }}
),

encounter_bills as (
    select
        encounter_id,
        min(submitted_date) as bill_date,
        count(distinct root_claim_id) as claim_chain_count
    from claims
    where encounter_id is not null
    group by encounter_id
),

placed as (
    select
        accounts.patient_account_key,
        accounts.account_key,
        accounts.encounter_id,
        accounts.patient_key,
        accounts.sending_facility,
        coalesce(encounters.facility_id, 'UNMAPPED') as facility_id,
        accounts.last_trigger_event,
        accounts.event_count,
        accounts.first_event_at,
        accounts.last_event_at,
        accounts.patient_class,
        accounts.hospital_service,
        accounts.attending_npi,
        accounts.financial_class,
        accounts.account_status,
        accounts.admit_at,
        accounts.discharge_at,
        cast(accounts.discharge_at as date) as discharge_date,
        accounts.ended_at,
        accounts.diagnosis_count,
        accounts.principal_diagnosis_code,
        accounts.has_final_diagnosis,
        accounts.procedure_count,
        encounter_bills.bill_date,
        coalesce(encounter_bills.claim_chain_count, 0) as claim_chain_count,
        accounts.account_key is not null and accounts.encounter_id is not null as is_placed,
        encounters.encounter_id is not null as is_encounter_matched,
        accounts._batch_id
    from accounts
    left join encounters on encounters.encounter_id = accounts.encounter_id
    left join encounter_bills on encounter_bills.encounter_id = accounts.encounter_id
),

final as (
    select
        placed.*,
        case
            when ended_at is not null then 'ended'
            when bill_date is not null then 'billed'
            when discharge_at is null then 'in_house'
            when not has_final_diagnosis then 'discharged_not_final_coded'
            else 'discharged_not_final_billed'
        end as account_state,
        case
            when bill_date is not null and discharge_date is not null
                then {{ dbt.datediff('discharge_date', 'bill_date', 'day') }}
        end as discharge_to_bill_days
    from placed
)

select * from final
