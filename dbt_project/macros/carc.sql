{#- The adjustment bucket of a CAS (group code, category), the one rule every model uses
    (docs/accounting_policy.md, "Adjustment reason codes"): group PR or a patient
    responsibility category -> patient_responsibility; contractual -> contractual; a code no
    reference lists -> unclassified (its own account, never a denial); anything else -> denial. -#}
{% macro adjustment_bucket(group_code, category) -%}
    case
        when {{ group_code }} = 'PR' or {{ category }} = 'patient_responsibility' then 'patient_responsibility'
        when {{ category }} = 'contractual' then 'contractual'
        when {{ category }} = 'unclassified' then 'unclassified'
        else 'denial'
    end
{%- endmacro %}
