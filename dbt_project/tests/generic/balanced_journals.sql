{#- Every journal balances: sum(debit) = sum(credit) per `journal_column`. -#}
{% test balanced_journals(model, journal_column='journal_id', debit_column='debit_amount', credit_column='credit_amount') %}
select
    {{ journal_column }},
    sum({{ debit_column }}) as total_debit_amount,
    sum({{ credit_column }}) as total_credit_amount
from {{ model }}
group by {{ journal_column }}
having sum({{ debit_column }}) <> sum({{ credit_column }})
{% endtest %}
