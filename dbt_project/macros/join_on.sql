{#- Equality join condition of two relations on the same-named key columns:
    `join_on('a', 'b', ['x', 'y'])` -> `a.x = b.x and a.y = b.y`. -#}
{% macro join_on(left, right, columns) -%}
    {%- for c in columns -%}
        {{ left }}.{{ c }} = {{ right }}.{{ c }}{% if not loop.last %} and {% endif %}
    {%- endfor -%}
{%- endmacro %}
