{#- A (composite) primary key: every key column not null and every combination unique.
    Fails once per duplicated combination and once per row with a null key column. -#}
{% test primary_key(model, columns) %}
with

duplicated as (
    select {{ columns | join(', ') }}, count(*) as n_records, 'duplicate' as failure
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
),

null_keys as (
    select {{ columns | join(', ') }}, 1 as n_records, 'null key column' as failure
    from {{ model }}
    where {% for c in columns %}{{ c }} is null{% if not loop.last %} or {% endif %}{% endfor %}
)

select * from duplicated
union all
select * from null_keys
{% endtest %}
