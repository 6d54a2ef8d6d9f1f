{#- The A/R aging bucket of an age in days (docs/marts.md "A/R aging"): 0-30, 31-60, 61-90,
    91-120, 121-180, over 180 days; a null age (not billed yet, on the bill-date basis) is
    'unbilled'. -#}
{% macro aging_bucket(days) -%}
    case
        when {{ days }} is null then 'unbilled'
        when {{ days }} <= 30 then '0_30'
        when {{ days }} <= 60 then '31_60'
        when {{ days }} <= 90 then '61_90'
        when {{ days }} <= 120 then '91_120'
        when {{ days }} <= 180 then '121_180'
        else 'over_180'
    end
{%- endmacro %}
