{#- A journal line is either a debit or a credit, never both, never negative, never zero. -#}
{% test one_side_positive(model, debit_column='debit_amount', credit_column='credit_amount') %}
select *
from {{ model }}
where not (
    ({{ debit_column }} > 0 and {{ credit_column }} = 0)
    or ({{ credit_column }} > 0 and {{ debit_column }} = 0)
)
{% endtest %}
