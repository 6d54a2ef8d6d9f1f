-- 835 SVC service lines with their CLP key and the claim line they pay (REF*6R line item
-- control number = <claim_id>-<line_number>).
with

service_lines as (
    select * from {{ ref('stg_billing__remit_service_lines') }}
),

final as (
    select
        {{ surrogate_key([
            '_batch_id', 'interchange_control_number', 'transaction_set_control_number', 'claim_seq', 'line_seq',
        ]) }}
            as remit_line_key,
        {{ surrogate_key(['_batch_id', 'interchange_control_number', 'transaction_set_control_number', 'claim_seq']) }}
            as remit_claim_key,
        claim_seq,
        line_seq,
        procedure_qualifier,
        procedure_code,
        modifiers,
        revenue_code,
        units,
        service_date,
        line_item_control_number,
        case when line_item_control_number like '%-%'
            then {{ dbt.split_part('line_item_control_number', "'-'", 1) }} end as line_item_claim_id,
        case when line_item_control_number like '%-%'
            then {{ dbt.safe_cast(
                dbt.split_part('line_item_control_number', "'-'", -1), api.Column.translate_type('integer')
            ) }}
        end as line_item_line_number,
        charge_amount,
        payment_amount,
        allowed_amount,
        _batch_id,
        _source_record,
        _loaded_at
    from service_lines
)

select * from final
