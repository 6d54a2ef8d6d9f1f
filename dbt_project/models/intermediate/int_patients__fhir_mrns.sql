-- RESTRICTED (PHI). One row per FHIR Patient version with the MRN found among its
-- identifiers (staging lifts the first 8, in any order):
--   1. an identifier whose system is listed for the sending system in
--      seeds/fhir_mrn_identifier_systems.csv (sending_system = Patient.meta.source, or * for
--      any sender): a site that knows its MRN system says so there;
--   2. else an identifier typed MR in http://terminology.hl7.org/CodeSystem/v2-0203
--      (the FHIR way to say "medical record number", what Synthea and most EHRs send);
--   the lowest position wins within a rule. No MRN: patient_mrn is null and
--   core.fct_data_quality_exceptions reports PATIENT_NO_MRN.
{{ config(tags=['restricted']) }}
{%- set identifier_slots = 8 -%}
{%- set mr_type_system = 'http://terminology.hl7.org/CodeSystem/v2-0203' -%}

with

patients as (
    select * from {{ ref('stg_ehr__fhir_patients') }}
),

mrn_systems as (
    select * from {{ ref('fhir_mrn_identifier_systems') }}
),

identifiers as (
    {%- for i in range(identifier_slots) %}
    select
        _batch_id,
        _source_record,
        sending_system,
        {{ i }} as identifier_position,
        identifier_{{ i }}_system as identifier_system,
        identifier_{{ i }}_value as identifier_value,
        (identifier_{{ i }}_type_0_system = '{{ mr_type_system }}' and identifier_{{ i }}_type_0_code = 'MR')
        or (identifier_{{ i }}_type_1_system = '{{ mr_type_system }}' and identifier_{{ i }}_type_1_code = 'MR')
            as is_typed_mr
    from patients
    where identifier_{{ i }}_value is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

candidates as (
    select
        identifiers._batch_id,
        identifiers._source_record,
        identifiers.identifier_position,
        identifiers.identifier_system,
        identifiers.identifier_value,
        case
            when mrn_systems.identifier_system is not null then 1
            when identifiers.is_typed_mr then 2
        end as rule_priority
    from identifiers
    left join mrn_systems
        on mrn_systems.identifier_system = identifiers.identifier_system
        and (mrn_systems.sending_system = '*' or mrn_systems.sending_system = identifiers.sending_system)
),

ranked as (
    select
        candidates.*,
        row_number() over (
            partition by _batch_id, _source_record order by rule_priority, identifier_position
        ) as candidate_rank
    from candidates
    where rule_priority is not null
),

final as (
    select
        patients.patient_id,
        patients.version_id,
        patients.last_updated_at,
        patients.sending_system,
        ranked.identifier_value as patient_mrn,
        ranked.identifier_value is not null as has_mrn,
        ranked.identifier_system as mrn_identifier_system,
        case ranked.rule_priority when 1 then 'identifier_system' when 2 then 'identifier_type_mr' end as mrn_rule,
        patients.birth_date,
        patients.gender,
        patients.zip,
        patients._batch_id,
        patients._source_file,
        patients._source_record,
        patients._loaded_at
    from patients
    left join ranked
        on ranked._batch_id = patients._batch_id
        and ranked._source_record = patients._source_record
        and ranked.candidate_rank = 1
)

select * from final
