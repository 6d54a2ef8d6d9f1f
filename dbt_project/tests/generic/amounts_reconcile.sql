{#- Amount preserved across layers: sum(column_name) of this model per `group_by` equals
    sum(compare_column) of `compare_model` per the same groups, to the cent. `where` and
    `compare_where` restrict either side (e.g. to the rows a fact keeps). Fails per group
    that differs, showing both totals. -#}
{% test amounts_reconcile(model, column_name, compare_model, compare_column=none, group_by=['_batch_id'], where=none, compare_where=none) %}
{%- set compare_column = compare_column or column_name -%}
with

this_side as (
    select {{ group_by | join(', ') }}, sum({{ column_name }}) as total_amount
    from {{ model }}
    {% if where %}where {{ where }}{% endif %}
    group by {{ group_by | join(', ') }}
),

other_side as (
    select {{ group_by | join(', ') }}, sum({{ compare_column }}) as total_amount
    from {{ compare_model }}
    {% if compare_where %}where {{ compare_where }}{% endif %}
    group by {{ group_by | join(', ') }}
),

compared as (
    select
        {% for g in group_by %}coalesce(this_side.{{ g }}, other_side.{{ g }}) as {{ g }},{% endfor %}
        coalesce(this_side.total_amount, 0) as this_total_amount,
        coalesce(other_side.total_amount, 0) as other_total_amount
    from this_side
    full outer join other_side
        on {% for g in group_by %}this_side.{{ g }} = other_side.{{ g }}{% if not loop.last %} and {% endif %}{% endfor %}
)

select * from compared
where {{ money('this_total_amount') }} <> {{ money('other_total_amount') }}
{% endtest %}
