{#- The measures both service-line margin marts publish, from the summed row ``rel``:
    amounts as decimal(18, 2), net revenue = gross charges - contractual adjustments - denials,
    contribution margin = net revenue - direct cost - indirect cost, margin % of net revenue
    (null when net revenue is 0). One definition, so the monthly and weekly marts cannot drift. -#}
{% macro margin_measures(rel) -%}
cast({{ rel }}.encounter_count as bigint) as encounter_count,
cast({{ rel }}.gross_charge_amount as decimal(18, 2)) as gross_charge_amount,
cast({{ rel }}.expected_reimbursement_amount as decimal(18, 2))
    as expected_reimbursement_amount,
cast({{ rel }}.payment_amount as decimal(18, 2)) as payment_amount,
cast({{ rel }}.contractual_adjustment_amount as decimal(18, 2))
    as contractual_adjustment_amount,
cast({{ rel }}.denial_amount as decimal(18, 2)) as denial_amount,
cast({{ rel }}.patient_responsibility_amount as decimal(18, 2))
    as patient_responsibility_amount,
cast(
    {{ rel }}.gross_charge_amount - {{ rel }}.contractual_adjustment_amount
    - {{ rel }}.denial_amount
    as decimal(18, 2)
) as net_revenue_amount,
cast({{ rel }}.direct_cost_amount as decimal(18, 2)) as direct_cost_amount,
cast({{ rel }}.indirect_cost_amount as decimal(18, 2)) as indirect_cost_amount,
cast(
    {{ rel }}.gross_charge_amount - {{ rel }}.contractual_adjustment_amount
    - {{ rel }}.denial_amount - {{ rel }}.direct_cost_amount - {{ rel }}.indirect_cost_amount
    as decimal(18, 2)
) as contribution_margin_amount,
cast(
    case
        when {{ rel }}.gross_charge_amount - {{ rel }}.contractual_adjustment_amount
            - {{ rel }}.denial_amount <> 0
            then (
                {{ rel }}.gross_charge_amount - {{ rel }}.contractual_adjustment_amount
                - {{ rel }}.denial_amount - {{ rel }}.direct_cost_amount
                - {{ rel }}.indirect_cost_amount
            ) / (
                {{ rel }}.gross_charge_amount - {{ rel }}.contractual_adjustment_amount
                - {{ rel }}.denial_amount
            )
    end
    as decimal(18, 4)
) as margin_pct
{%- endmacro %}
