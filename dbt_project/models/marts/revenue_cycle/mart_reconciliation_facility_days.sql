{#-
    Remitted and posted amounts per facility x day, the one computation both reconciliation
    marts read (mart_reconciliation_daily's remitted / posted checkpoints and
    mart_reconciliation_exceptions' JOURNAL_NOT_POSTED):

      remitted  835 claim payments by remit date: payment + contractual + denial + patient
                responsibility + unclassified adjustments + the out-of-balance difference
                (what the journals must carry: the last two post to 4960 and to remittance
                suspense 1295 against payer A/R), and the CLP04 payment alone
      posted    daily reimbursement journals in mart_erp_journal_lines by posting date: net
                credit to the payer_ar account and net debit to the cash account of
                seeds/account_roles.csv

    One row per facility x day with either; has_remittance / has_posting say which sides
    exist (a remit without a date keeps its own row, with activity_date null).
-#}

with

remittances as (
    select * from {{ ref('fct_remittance_claims') }}
),

journal_lines as (
    select * from {{ ref('mart_erp_journal_lines') }}
),

account_roles as (
    select * from {{ ref('account_roles') }}
),

remitted_days as (
    select
        facility_id,
        remit_date as activity_date,
        count(*) as remitted_claim_count,
        sum(
            payment_amount + contractual_adjustment_amount + denial_amount
            + patient_responsibility_amount + unclassified_adjustment_amount + out_of_balance_amount
        ) as remitted_amount,
        sum(payment_amount) as remitted_payment_amount
    from remittances
    group by 1, 2
),

posted_days as (
    select
        journal_lines.facility_id,
        journal_lines.posting_date as activity_date,
        count(distinct journal_lines.journal_id) as posted_journal_count,
        sum(
            case
                when account_roles.role = 'payer_ar'
                    then journal_lines.credit_amount - journal_lines.debit_amount
                else 0
            end
        ) as posted_amount,
        sum(
            case
                when account_roles.role = 'cash'
                    then journal_lines.debit_amount - journal_lines.credit_amount
                else 0
            end
        ) as posted_payment_amount
    from journal_lines
    left join account_roles on journal_lines.account_id = account_roles.account_id
    where journal_lines.journal_source = 'daily_reimbursement'
    group by 1, 2
),

final as (
    select
        coalesce(remitted_days.facility_id, posted_days.facility_id) as facility_id,
        coalesce(remitted_days.activity_date, posted_days.activity_date) as activity_date,
        remitted_days.remitted_claim_count is not null as has_remittance,
        posted_days.posted_journal_count is not null as has_posting,
        cast(coalesce(remitted_days.remitted_claim_count, 0) as bigint) as remitted_claim_count,
        cast(coalesce(remitted_days.remitted_amount, 0) as decimal(18, 2)) as remitted_amount,
        cast(coalesce(remitted_days.remitted_payment_amount, 0) as decimal(18, 2))
            as remitted_payment_amount,
        cast(coalesce(posted_days.posted_journal_count, 0) as bigint) as posted_journal_count,
        cast(coalesce(posted_days.posted_amount, 0) as decimal(18, 2)) as posted_amount,
        cast(coalesce(posted_days.posted_payment_amount, 0) as decimal(18, 2))
            as posted_payment_amount
    from remitted_days
    full outer join posted_days
        on remitted_days.facility_id = posted_days.facility_id
        and remitted_days.activity_date = posted_days.activity_date
)

select * from final
