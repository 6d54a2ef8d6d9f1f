{#-
    One row per source record that a data-quality check (seeds/data_quality_checks.csv) finds
    wrong, with the amount it carries: the rows that the warn-severity dbt tests would report,
    kept as data so that nothing a check finds vanishes (docs/data_contracts.md, "Data
    conditions never stop the pipeline"). Each row names its source, the record (a warehouse
    key, never a patient identifier) and the batch it landed in (raw_meta.batches names the
    file). mart_reconciliation_exceptions carries every row; mart_data_quality_status counts
    them per check.

      REMIT_NO_DATE             835 CLP of an ERA with no payment date: CLP04 as the amount
      REMIT_ADJUSTMENT_NO_DATE  its CAS adjustments: each adjustment amount
      PLB_NO_DATE               PLB of an ERA with no payment date: the PLB amount
      DATE_OUT_OF_RANGE         an encounter, remittance or charge date outside dim_date
                                (before 1900 or after 2100); the charge or CLP04 as the amount
      PATIENT_NO_MRN            the latest version of a FHIR Patient has no MRN (no identifier
                                typed v2-0203 MR, none of a system in
                                seeds/fhir_mrn_identifier_systems.csv): its encounters cannot
                                link; the record key is batch:record, never the patient's ids
      ENCOUNTER_NO_PATIENT      a finalized encounter with no patient_key (no MRN reached it)
      CARC_UNCLASSIFIED         a CAS adjustment whose CARC no reference lists: its amount
                                (posted to the unclassified adjustments account, not a denial)
      CLAIM_OUT_OF_BALANCE      an 835 CLP whose charge is not payment + CAS: the difference
                                (posted to remittance suspense)
      FHIR_EOB_*                a FHIR ExplanationOfBenefit (int_remits__fhir_eob_claims) that
                                matches no claim (its payment), does not balance (the residual),
                                has an adjudication category no seed row lists (those amounts),
                                pays a claim an 835 also pays with another amount (the
                                difference; the 835 wins), or is counted but not yet in the
                                remittance facts (FHIR_EOB_NOT_POSTED: its payment)
      CHARGE_CAPTURE_UNPLACED   an EHR charge transaction (core.fct_ehr_charges) with no
                                encounter, service date, amount, or a type that is no charge
                                or credit (PY, AJ, ...), or a billed line of a current claim
                                with no encounter or service date: it cannot be placed on an
                                encounter day of the charge-capture checkpoint; its amount
      EHR_CHARGE_CREDIT         a DFT credit (FT1-6 CD or CR) that reverses an EHR charge: it
                                counts negative on its encounter day; its (negative) amount
      CLAIM_LINE_CORRECTED      a claim line a later load re-sent with other content (the
                                later load counts and the journals adjust): the landing it
                                replaced, the counted charge - its charge as the amount
      CLAIM_LINE_CONFLICT       a claim line one file carries twice with other content (the
                                later line counts; ingest finding DUPLICATE_KEY_CONFLICT): the
                                line not counted, the counted charge - its charge as the amount
      AMOUNT_ROUNDED            a claim line whose charge ingest rounded to the cent (more
                                decimals in the file): its charge as landed
-#}

with

remit_claims as (
    select * from {{ ref('fct_remittance_claims') }}
),

adjustments as (
    select * from {{ ref('fct_adjustments') }}
),

provider_adjustments as (
    select * from {{ ref('fct_provider_adjustments') }}
),

encounters as (
    select * from {{ ref('fct_encounters') }}
),

charges as (
    select * from {{ ref('fct_charges') }}
),

dates as (
    select * from {{ ref('dim_date') }}
),

fhir_eobs as (
    select * from {{ ref('int_remits__fhir_eob_claims') }}
),

ehr_charges as (
    select * from {{ ref('fct_ehr_charges') }}
),

claim_lines as (
    select * from {{ ref('fct_claim_lines') }}
),

landings as (
    select * from {{ ref('int_claim_lines__deduped') }}
),

claims as (
    select * from {{ ref('fct_claims') }}
),

fhir_patient_versions as (
    select patient_id, has_mrn, last_updated_at, sending_system, _batch_id, _source_record, _loaded_at
    from {{ ref('int_patients__fhir_mrns') }}
),

fhir_patients as (
    {{ deduplicate('fhir_patient_versions', 'patient_id', 'last_updated_at desc, _loaded_at desc') }}
),

patient_no_mrn as (
    select
        'PATIENT_NO_MRN' as check_name,
        'fhir_patients' as source,
        'fhir_patient' as source_entity,
        _batch_id || ':' || cast(_source_record as {{ dbt.type_string() }}) as record_key,
        'UNMAPPED' as facility_id,
        cast(null as date) as exception_date,
        cast(0 as decimal(18, 2)) as amount,
        'FHIR Patient (sender ' || coalesce(sending_system, 'unknown')
        || ') has no identifier typed v2-0203 MR and none of a system in seeds/fhir_mrn_identifier_systems.csv:'
        || ' add its MRN system there' as detail,
        _batch_id
    from fhir_patients
    where not has_mrn
),

carc_unclassified as (
    select
        'CARC_UNCLASSIFIED' as check_name,
        '835_adjustment' as source,
        'remittance_adjustment' as source_entity,
        adjustment_key as record_key,
        facility_id,
        remit_date as exception_date,
        amount,
        'CAS ' || coalesce(group_code, '?') || '-' || coalesce(carc_code, '?')
        || ' is in no reference list: it posts to unclassified adjustments (4960); add the code to'
        || ' seeds/carc_codes.csv (or the pair to carc_categories.csv) and rebuild with --full-refresh' as detail,
        _batch_id
    from adjustments
    where adjustment_bucket = 'unclassified'
),

claim_out_of_balance as (
    select
        'CLAIM_OUT_OF_BALANCE' as check_name,
        '835_claim_payment' as source,
        'remittance_claim' as source_entity,
        remit_claim_key as record_key,
        facility_id,
        remit_date as exception_date,
        out_of_balance_amount as amount,
        '835 claim (trace ' || coalesce(trace_number, '?') || ') does not balance: charge - payment - CAS = '
        || cast(out_of_balance_amount as {{ dbt.type_string() }})
        || ', posted to remittance suspense (1295): ask the payer for the missing adjustment' as detail,
        _batch_id
    from remit_claims
    where out_of_balance_amount <> 0
),

{%- set eob_checks = [
    ('FHIR_EOB_UNMATCHED', 'claim_id is null', 'payment_amount',
     "'FHIR ExplanationOfBenefit ' || eob_id || ' names a claim number that matches no billing claim:'"
     ~ " || ' check that the billing export carries the claim'"),
    ('FHIR_EOB_OUT_OF_BALANCE', 'residual_amount <> 0', 'residual_amount',
     "'FHIR ExplanationOfBenefit ' || eob_id || ' does not balance: submitted - paid - adjustments = '"
     ~ " || cast(residual_amount as " ~ dbt.type_string() ~ ") || ': ask the payer for the missing adjudication'"),
    ('FHIR_EOB_CATEGORY_UNKNOWN', 'unplaced_count > 0', 'unplaced_amount',
     "'FHIR ExplanationOfBenefit ' || eob_id || ' has ' || cast(unplaced_count as " ~ dbt.type_string() ~ ")"
     ~ " || ' adjudication amount(s) of a category seeds/fhir_adjudication_categories.csv does not list: add it there'"),
    ('FHIR_EOB_835_DIFFERS', 'is_superseded_by_835 and payment_difference_amount <> 0', 'payment_difference_amount',
     "'FHIR ExplanationOfBenefit ' || eob_id || ' pays a claim an 835 also pays, by '"
     ~ " || cast(payment_difference_amount as " ~ dbt.type_string() ~ ") || ' more than the 835: the 835 is counted'"),
    ('FHIR_EOB_NOT_POSTED', 'not is_superseded_by_835', 'payment_amount',
     "'FHIR ExplanationOfBenefit ' || eob_id || ' (no 835 for its claim) is staged and categorized but not yet'"
     ~ " || ' carried into the remittance facts and journals: post it from int_remits__fhir_eob_claims'"),
] %}
{%- for check_name, condition, amount, detail in eob_checks %}

{{ check_name | lower }} as (
    select
        '{{ check_name }}' as check_name,
        'fhir_eob' as source,
        'fhir_explanation_of_benefit' as source_entity,
        eob_id as record_key,
        'UNMAPPED' as facility_id,
        remit_date as exception_date,
        {{ amount }} as amount,
        {{ detail }} as detail,
        _batch_id
    from fhir_eobs
    where {{ condition }}
),
{%- endfor %}

ehr_charge_unplaced as (
    select
        'CHARGE_CAPTURE_UNPLACED' as check_name,
        'dft_charges' as source,
        'ehr_charge' as source_entity,
        ehr_charge_key as record_key,
        'UNMAPPED' as facility_id,
        coalesce(service_date, posting_date, message_date) as exception_date,
        coalesce(charge_amount, extended_amount, 0) as amount,
        'EHR charge transaction ' || coalesce(transaction_id, '?') || ' cannot be placed on an encounter day: '
        || unplaced_reason || '; it is in no charge-capture figure' as detail,
        _batch_id
    from ehr_charges
    where not is_placed
),

billed_line_unplaced as (
    select
        'CHARGE_CAPTURE_UNPLACED' as check_name,
        'claim_charges' as source,
        'claim_line' as source_entity,
        claim_lines.claim_line_key as record_key,
        claim_lines.facility_id,
        coalesce(claim_lines.service_date, claims.statement_to_date) as exception_date,
        claim_lines.charge_amount as amount,
        'billed line ' || cast(claim_lines.line_number as {{ dbt.type_string() }}) || ' of claim '
        || claim_lines.claim_id || ' has no '
        || case when claims.encounter_id is null then 'encounter' else 'service date' end
        || ': it cannot be compared with the EHR charges; correct the claim in billing' as detail,
        claim_lines._batch_id
    from claim_lines
    left join claims on claims.claim_id = claim_lines.claim_id
    where claims.is_current_version
        and not claims.is_voided
        and (claims.encounter_id is null or claim_lines.service_date is null)
),

ehr_charge_credit as (
    select
        'EHR_CHARGE_CREDIT' as check_name,
        'dft_charges' as source,
        'ehr_charge' as source_entity,
        ehr_charge_key as record_key,
        'UNMAPPED' as facility_id,
        service_date as exception_date,
        charge_amount as amount,
        'EHR credit ' || coalesce(transaction_id, '?') || ' (FT1-6 ' || transaction_type
        || ') reverses a charge of encounter ' || encounter_id
        || ': it counts negative on its day; check the charge it reverses was not billed' as detail,
        _batch_id
    from ehr_charges
    where is_placed and transaction_category = 'credit'
),

replaced_claim_lines as (
    -- every landing of a claim line that a later one replaced with other content
    select
        case when landings._batch_id = landings.current_batch_id
            then 'CLAIM_LINE_CONFLICT' else 'CLAIM_LINE_CORRECTED' end as check_name,
        'claim_charges' as source,
        'claim_line' as source_entity,
        landings._batch_id || ':' || cast(landings._source_record as {{ dbt.type_string() }})
            as record_key,
        claims.facility_id,
        landings.service_date as exception_date,
        landings.current_charge_amount - landings.charge_amount as amount,
        'claim ' || landings.claim_id || ' line ' || cast(landings.line_number as {{ dbt.type_string() }})
        || ' charge ' || cast(landings.charge_amount as {{ dbt.type_string() }})
        || case when landings._batch_id = landings.current_batch_id
            then ' is repeated later in the same file with other values (charge '
                || cast(landings.current_charge_amount as {{ dbt.type_string() }})
                || '): the later line counts; ask billing which one is right'
            else ' was re-sent with other values by batch ' || landings.current_batch_id || ' (charge '
                || cast(landings.current_charge_amount as {{ dbt.type_string() }})
                || '): the later load counts and the journals post the adjustment'
        end as detail,
        landings._batch_id
    from landings
    left join claims on claims.claim_id = landings.claim_id
    where landings.is_replaced
),

rounded_claim_charges as (
    select
        'AMOUNT_ROUNDED' as check_name,
        'claim_charges' as source,
        'claim_line' as source_entity,
        landings._batch_id || ':' || cast(landings._source_record as {{ dbt.type_string() }})
            as record_key,
        claims.facility_id,
        landings.service_date as exception_date,
        landings.charge_amount as amount,
        'claim ' || landings.claim_id || ' line ' || cast(landings.line_number as {{ dbt.type_string() }})
        || ': the file gave the charge more than two decimals and it landed rounded to '
        || cast(landings.charge_amount as {{ dbt.type_string() }})
        || ' (raw_meta.validation_findings has the value sent): ask billing for the amount in cents' as detail,
        landings._batch_id
    from landings
    left join claims on claims.claim_id = landings.claim_id
    where landings.is_charge_rounded
),

encounter_no_patient as (
    select
        'ENCOUNTER_NO_PATIENT' as check_name,
        'encounters' as source,
        'encounter' as source_entity,
        encounter_id as record_key,
        facility_id,
        encounter_date as exception_date,
        cast(0 as decimal(18, 2)) as amount,
        'encounter has no patient: its subject names no Patient with an MRN (see PATIENT_NO_MRN)' as detail,
        cast(null as {{ dbt.type_string() }}) as _batch_id
    from encounters
    where patient_key is null
),

remit_no_date as (
    select
        'REMIT_NO_DATE' as check_name,
        '835_claim_payment' as source,
        'remittance_claim' as source_entity,
        remit_claim_key as record_key,
        facility_id,
        cast(null as date) as exception_date,
        payment_amount as amount,
        '835 claim payment (trace ' || coalesce(trace_number, '?')
        || ') has no payment date: fix BPR16 or DTM*405 at the payer and re-send the 835' as detail,
        _batch_id
    from remit_claims
    where remit_date is null
),

adjustment_no_date as (
    select
        'REMIT_ADJUSTMENT_NO_DATE' as check_name,
        '835_adjustment' as source,
        'remittance_adjustment' as source_entity,
        adjustment_key as record_key,
        facility_id,
        cast(null as date) as exception_date,
        amount,
        'CAS ' || group_code || '-' || carc_code
        || ' of an 835 claim with no payment date: it posts when the 835 is re-sent with a date' as detail,
        _batch_id
    from adjustments
    where remit_date is null
),

plb_no_date as (
    select
        'PLB_NO_DATE' as check_name,
        '835_plb' as source,
        'provider_adjustment' as source_entity,
        provider_adjustment_key as record_key,
        facility_id,
        cast(null as date) as exception_date,
        plb_amount as amount,
        'PLB ' || coalesce(reason_code, '?') || ' (trace ' || coalesce(trace_number, '?')
        || ') of an ERA with no payment date: it posts when the 835 is re-sent with a date' as detail,
        _batch_id
    from provider_adjustments
    where remit_date is null
),

encounter_date_out_of_range as (
    select
        'DATE_OUT_OF_RANGE' as check_name,
        'encounters' as source,
        'encounter' as source_entity,
        encounters.encounter_id as record_key,
        encounters.facility_id,
        encounters.encounter_date as exception_date,
        cast(0 as decimal(18, 2)) as amount,
        'encounter date ' || cast(encounters.encounter_date as {{ dbt.type_string() }})
        || ' is outside the date dimension (before 1900 or after 2100): correct it in the EHR' as detail,
        cast(null as {{ dbt.type_string() }}) as _batch_id
    from encounters
    left join dates on dates.date_day = encounters.encounter_date
    where encounters.encounter_date is not null and dates.date_day is null
),

remit_date_out_of_range as (
    select
        'DATE_OUT_OF_RANGE' as check_name,
        '835_claim_payment' as source,
        'remittance_claim' as source_entity,
        remit_claims.remit_claim_key as record_key,
        remit_claims.facility_id,
        remit_claims.remit_date as exception_date,
        remit_claims.payment_amount as amount,
        '835 payment date ' || cast(remit_claims.remit_date as {{ dbt.type_string() }})
        || ' is outside the date dimension (before 1900 or after 2100): ask the payer to correct BPR16'
            as detail,
        remit_claims._batch_id
    from remit_claims
    left join dates on dates.date_day = remit_claims.remit_date
    where remit_claims.remit_date is not null and dates.date_day is null
),

charge_date_out_of_range as (
    select
        'DATE_OUT_OF_RANGE' as check_name,
        'claim_charges' as source,
        'claim_line' as source_entity,
        charges.charge_key as record_key,
        charges.facility_id,
        charges.charge_date as exception_date,
        charges.charge_amount as amount,
        'charge date ' || cast(charges.charge_date as {{ dbt.type_string() }})
        || ' is outside the date dimension (before 1900 or after 2100): correct the claim in billing'
            as detail,
        charges._batch_id
    from charges
    left join dates on dates.date_day = charges.charge_date
    where charges.charge_date is not null and dates.date_day is null
),

exceptions as (
    select * from remit_no_date
    union all
    select * from adjustment_no_date
    union all
    select * from plb_no_date
    union all
    select * from encounter_date_out_of_range
    union all
    select * from remit_date_out_of_range
    union all
    select * from charge_date_out_of_range
    union all
    select * from patient_no_mrn
    union all
    select * from encounter_no_patient
    union all
    select * from carc_unclassified
    union all
    select * from claim_out_of_balance
    union all
    select * from ehr_charge_unplaced
    union all
    select * from billed_line_unplaced
    union all
    select * from ehr_charge_credit
    union all
    select * from replaced_claim_lines
    union all
    select * from rounded_claim_charges
    {%- for check_name, condition, amount, detail in eob_checks %}
    union all
    select * from {{ check_name | lower }}
    {%- endfor %}
),

final as (
    select
        {{ surrogate_key(['check_name', 'source_entity', 'record_key']) }} as data_quality_exception_key,
        check_name,
        source,
        source_entity,
        record_key,
        coalesce(facility_id, 'UNMAPPED') as facility_id,
        exception_date,
        {{ money('amount') }} as amount,
        detail,
        _batch_id
    from exceptions
)

select * from final
