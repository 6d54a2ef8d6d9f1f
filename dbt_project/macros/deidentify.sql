{#- Age band of a person at a date; 90+ collapsed (HIPAA safe harbor). Age in years is
    days / 365.25 (dbt.datediff counts calendar-year boundaries, not birthdays). -#}
{% macro age_band(birth_date, at_date) -%}
    {%- set age = '(' ~ dbt.datediff(birth_date, at_date, 'day') ~ ' / 365.25)' -%}
    case
        when {{ birth_date }} is null or {{ at_date }} is null then 'unknown'
        when {{ age }} >= 90 then '90+'
        when {{ age }} < 18 then '0-17'
        when {{ age }} < 30 then '18-29'
        when {{ age }} < 40 then '30-39'
        when {{ age }} < 50 then '40-49'
        when {{ age }} < 65 then '50-64'
        when {{ age }} < 75 then '65-74'
        else '75-89'
    end
{%- endmacro %}

{#- First three digits of a ZIP code; '000' for the restricted 3-digit zones of safe harbor. -#}
{% macro zip3(zip) -%}
    case
        when {{ zip }} is null or {{ dbt.length(zip) }} < 3 then null
        when substring({{ zip }}, 1, 3) in ('036', '059', '063', '102', '203', '556', '692', '790', '821', '823', '830', '831', '878', '879', '884', '890', '893') then '000'
        else substring({{ zip }}, 1, 3)
    end
{%- endmacro %}
