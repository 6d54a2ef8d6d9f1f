{#- Largest-remainder allocation of whole cents, conserved to the cent (docs/marts.md).

    `relation` has one row per allocation target with, for each name in `amounts`, the
    cell's amount to spread in cents (`<name>_cents`, decimal(38,0), the same on every row
    of the cell), the target's driver (`driver`, whole units >= 0) and the cell's driver
    total (`total`, the sum of `driver` over the cell). Each target gets
    floor(cents * driver / total), computed exactly in decimal(38,0) (a float estimate
    corrected by the exact remainder); the cents left over go one each to the targets with
    the largest remainders (ties by `tie_breakers`). A cell whose total is 0 allocates 0.

    Renders a select of every column of `relation` plus `<name>_allocated_cents` for each
    amount (and the helper columns `<name>_numerator`, `<name>_estimate`, `<name>_floor`,
    `<name>_leftover`, `<name>_rank`); callers name the columns they keep.

        allocated as (
            {{ allocate_largest_remainder('allocation_targets', ['overhead'], 'driver_units',
                'total_driver_units', ['period_id', 'facility_id'], ['service_line_code']) }}
        ),
-#}
{% macro allocate_largest_remainder(relation, amounts, driver, total, partition_by, tie_breakers) -%}
    {%- set cell = partition_by | join(', ') -%}
    select
        allocation_ranked.*
        {%- for name in amounts %},
        allocation_ranked.{{ name }}_floor
        + case when allocation_ranked.{{ name }}_rank <= allocation_ranked.{{ name }}_leftover then 1 else 0 end
            as {{ name }}_allocated_cents
        {%- endfor %}
    from (
        select
            allocation_floor.*
            {%- for name in amounts %},
            case when {{ total }} > 0 then {{ name }}_cents else 0 end
            - sum({{ name }}_floor) over (partition by {{ cell }}) as {{ name }}_leftover,
            -- ranked on a double: the floor is exact, so any order conserves the total
            row_number() over (
                partition by {{ cell }}
                order by
                    cast({{ name }}_numerator - {{ name }}_floor * {{ total }} as {{ type_double() }}) desc,
                    {{ tie_breakers | join(', ') }}
            ) as {{ name }}_rank
            {%- endfor %}
        from (
            select
                allocation_estimate.*
                {%- for name in amounts %},
                {{ name }}_estimate
                + case
                    when {{ total }} = 0 then 0
                    when {{ name }}_numerator - {{ name }}_estimate * {{ total }} < 0 then -1
                    when {{ name }}_numerator - {{ name }}_estimate * {{ total }} >= {{ total }} then 1
                    else 0
                end as {{ name }}_floor
                {%- endfor %}
            from (
                select
                    allocation_input.*
                    {%- for name in amounts %},
                    case
                        when {{ total }} > 0 then {{ name }}_cents * {{ driver }}
                        else cast(0 as decimal(38, 0))
                    end as {{ name }}_numerator,
                    case
                        when {{ total }} > 0 then cast(
                            floor(cast({{ name }}_cents as {{ type_double() }}) * {{ driver }} / {{ total }})
                            as decimal(38, 0)
                        )
                        else cast(0 as decimal(38, 0))
                    end as {{ name }}_estimate
                    {%- endfor %}
                from {{ relation }} as allocation_input
            ) as allocation_estimate
        ) as allocation_floor
    ) as allocation_ranked
{%- endmacro %}
