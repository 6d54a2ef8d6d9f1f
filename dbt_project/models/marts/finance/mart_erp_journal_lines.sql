-- ERP journal lines: one balanced journal per legal_entity_id x facility_id x posting_date
-- x journal_source (docs/data_contracts.md section 3), posted by seeds/posting_rules.csv,
-- whose account roles resolve to accounts through seeds/account_roles.csv.
--   daily_reimbursement: posting_date = remit_date; per service line and measure, a debit
--     line and a credit line (a net negative amount swaps the sides).
--   month_end_accrual: posting_date = period end; gross charges of the period per service
--     line, cost center and revenue category: Dr payer A/R / Cr the category's revenue account;
--     the contractual reserve of each claim (gross - expected): Dr contractual allowance /
--     Cr contractual reserve. Charges of a chain discharged and not final billed at the end of
--     its charge period (DNFB) accrue there to unbilled A/R (Dr unbilled A/R / Cr revenue); at
--     the end of the period the claim is billed in, that accrual is reversed (Dr revenue /
--     Cr unbilled A/R) and the charges accrue to payer A/R; the reserve is booked once, with
--     the charges at the charge period end.
--   daily_reimbursement also releases each claim's reserve (Dr contractual reserve / Cr payer
--     A/R) and trues up the actual contractual adjustment against it (Dr contractual true-up /
--     Cr payer A/R), instead of posting the contractual adjustment to the allowance
--     (docs/accounting_policy.md).
--   remittance_plb: posting_date = remit_date; 835 PLB adjustments per reason code, no
--     service line (provider-level): cash against interest, payer A/R (recoupments) or other.
--   patient_transactions: posting_date = transaction date; patient payments, bad debt and
--     charity against patient A/R.
-- No patient-level data: source references are claim ids (or 835 trace numbers for CLPs
-- that matched no claim), their count, first, last and an md5 of the sorted set.
-- idempotency_key = md5(legal entity | facility | posting date | source | line content).
with

remits as (
    select * from {{ ref('fct_remittance_claims') }}
    where remit_date is not null
),

charges as (
    select * from {{ ref('fct_charges') }}
),

periods as (
    select * from {{ ref('dim_accounting_period') }}
),

facilities as (
    select * from {{ ref('dim_facility') }}
),

posting_rules as (
    select * from {{ ref('posting_rules') }}
),

reserve_events as (
    select * from {{ ref('fct_contractual_reserve_events') }}
),

provider_adjustments as (
    select * from {{ ref('fct_provider_adjustments') }}
    where remit_date is not null
),

patient_transactions as (
    select * from {{ ref('fct_patient_transactions') }}
),

account_roles as (
    select * from {{ ref('account_roles') }}
),

rule_accounts as (
    -- each rule with the one account of its debit and credit role; the revenue role has one
    -- account per revenue category, so it resolves per line (revenue_account_id) in `sided`,
    -- and a role with no account posts to UNMAPPED
    select
        posting_rules.journal_source,
        posting_rules.measure,
        posting_rules.debit_role,
        posting_rules.credit_role,
        debit_accounts.account_id as debit_account_id,
        credit_accounts.account_id as credit_account_id,
        posting_rules.description
    from posting_rules
    left join account_roles as debit_accounts
        on debit_accounts.role = posting_rules.debit_role and debit_accounts.role <> 'revenue'
    left join account_roles as credit_accounts
        on credit_accounts.role = posting_rules.credit_role and credit_accounts.role <> 'revenue'
),

remit_measures as (
    -- one row per CLP and measure, unpivoted
    {% set measures = [
        'payment_amount', 'denial_amount', 'patient_responsibility_amount', 'unclassified_adjustment_amount',
        'out_of_balance_amount',
    ] %}
    {% for m in measures %}
    select
        'daily_reimbursement' as journal_source,
        facility_id,
        remit_date as posting_date,
        service_line_code,
        cast(null as {{ dbt.type_string() }}) as cost_center_id,
        cast(null as {{ dbt.type_string() }}) as revenue_account_id,
        '{{ m }}' as measure,
        coalesce(claim_id, trace_number) as source_id,
        {{ m }} as amount
    from remits
    where {{ m }} <> 0
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

accrual_measures as (
    -- gross charges to payer A/R at the end of the charge period, or for a chain billed after it
    -- (DNFB, fct_charges.is_dnfb) at the end of its bill period; a DNFB chain's charges accrue to
    -- unbilled A/R at the charge period end (dnfb_charge_amount) and that accrual is reversed at
    -- the end of the bill period (dnfb_reversal_amount), beside its payer A/R accrual
    select
        'month_end_accrual' as journal_source,
        charges.facility_id,
        case when charges.is_dnfb then bill_periods.period_end_date else periods.period_end_date end as posting_date,
        charges.service_line_code,
        charges.cost_center_id,
        charges.gl_account_id as revenue_account_id,
        'gross_charge_amount' as measure,
        charges.claim_id as source_id,
        charges.charge_amount as amount
    from charges
    inner join periods on periods.period_id = charges.period_id
    left join periods as bill_periods on bill_periods.period_id = charges.bill_period_id
    where charges.charge_amount <> 0
    union all
    select
        'month_end_accrual' as journal_source,
        charges.facility_id,
        case dnfb.measure
            when 'dnfb_charge_amount' then periods.period_end_date else bill_periods.period_end_date
        end as posting_date,
        charges.service_line_code,
        charges.cost_center_id,
        charges.gl_account_id as revenue_account_id,
        dnfb.measure,
        charges.claim_id as source_id,
        charges.charge_amount as amount
    from charges
    inner join periods on periods.period_id = charges.period_id
    inner join periods as bill_periods on bill_periods.period_id = charges.bill_period_id
    cross join (values ('dnfb_charge_amount'), ('dnfb_reversal_amount')) as dnfb (measure)
    where charges.is_dnfb and charges.charge_amount <> 0
),

reserve_measures as (
    -- reserve booked at the period end, released and trued up when the 835 posts
    select
        journal_source,
        facility_id,
        event_date as posting_date,
        service_line_code,
        cost_center_id,
        cast(null as {{ dbt.type_string() }}) as revenue_account_id,
        measure,
        source_id,
        amount
    from reserve_events
    where amount <> 0
),

plb_measures as (
    -- the cash a PLB adds to the deposit (- PLB amount), per reason code's measure
    select
        'remittance_plb' as journal_source,
        facility_id,
        remit_date as posting_date,
        cast(null as {{ dbt.type_string() }}) as service_line_code,
        cast(null as {{ dbt.type_string() }}) as cost_center_id,
        cast(null as {{ dbt.type_string() }}) as revenue_account_id,
        measure,
        trace_number as source_id,
        cash_effect_amount as amount
    from provider_adjustments
    where cash_effect_amount <> 0
),

patient_measures as (
    select
        'patient_transactions' as journal_source,
        facility_id,
        transaction_date as posting_date,
        service_line_code,
        cost_center_id,
        cast(null as {{ dbt.type_string() }}) as revenue_account_id,
        measure,
        transaction_id as source_id,
        amount
    from patient_transactions
    where amount <> 0
),

source_rows as (
    select * from remit_measures
    union all
    select * from accrual_measures
    union all
    select * from reserve_measures
    union all
    select * from plb_measures
    union all
    select * from patient_measures
),

distinct_sources as (
    select distinct journal_source, facility_id, posting_date, service_line_code, cost_center_id,
        revenue_account_id, measure, source_id
    from source_rows
),

source_sets as (
    select
        journal_source, facility_id, posting_date, service_line_code, cost_center_id, revenue_account_id, measure,
        count(*) as source_record_count,
        min(source_id) as source_first_id,
        max(source_id) as source_last_id,
        {{ dbt.hash(dbt.listagg('source_id', "','", 'order by source_id')) }} as source_id_set_hash
    from distinct_sources
    group by journal_source, facility_id, posting_date, service_line_code, cost_center_id, revenue_account_id, measure
),

amounts as (
    select
        journal_source, facility_id, posting_date, service_line_code, cost_center_id, revenue_account_id, measure,
        sum(amount) as amount
    from source_rows
    group by journal_source, facility_id, posting_date, service_line_code, cost_center_id, revenue_account_id, measure
    having sum(amount) <> 0
),

sides as (
    select 'debit' as side
    union all
    select 'credit' as side
),

sided as (
    -- each measure amount becomes a debit line and a credit line
    select
        amounts.*,
        sides.side,
        case
            when (sides.side = 'debit') = (amounts.amount > 0)
                then coalesce(
                    case when rule_accounts.debit_role = 'revenue' then amounts.revenue_account_id end,
                    rule_accounts.debit_account_id,
                    'UNMAPPED'
                )
            else coalesce(
                case when rule_accounts.credit_role = 'revenue' then amounts.revenue_account_id end,
                rule_accounts.credit_account_id,
                'UNMAPPED'
            )
        end as account_id,
        rule_accounts.description
    from amounts
    inner join rule_accounts
        on rule_accounts.journal_source = amounts.journal_source and rule_accounts.measure = amounts.measure
    cross join sides
),

lines as (
    select
        facilities.legal_entity_id,
        facilities.ledger_name,
        facilities.currency_code,
        sided.journal_source,
        sided.facility_id,
        sided.posting_date,
        periods.period_id,
        sided.account_id,
        sided.cost_center_id,
        sided.service_line_code,
        sided.measure,
        sided.revenue_account_id,
        sided.side,
        {{ money("case when sided.side = 'debit' then abs(sided.amount) else 0 end") }} as debit_amount,
        {{ money("case when sided.side = 'credit' then abs(sided.amount) else 0 end") }} as credit_amount,
        sided.description,
        source_sets.source_record_count,
        source_sets.source_first_id,
        source_sets.source_last_id,
        source_sets.source_id_set_hash
    from sided
    inner join facilities on facilities.facility_id = sided.facility_id
    inner join source_sets
        on source_sets.journal_source = sided.journal_source
        and source_sets.facility_id = sided.facility_id
        and source_sets.posting_date = sided.posting_date
        and coalesce(source_sets.service_line_code, '') = coalesce(sided.service_line_code, '')
        and source_sets.measure = sided.measure
        and coalesce(source_sets.cost_center_id, '') = coalesce(sided.cost_center_id, '')
        and coalesce(source_sets.revenue_account_id, '') = coalesce(sided.revenue_account_id, '')
    left join periods
        on sided.posting_date >= periods.period_start_date and sided.posting_date <= periods.period_end_date
),

numbered as (
    select
        {{ dbt.concat([
            "case journal_source when 'daily_reimbursement' then 'DR' when 'month_end_accrual' then 'MA'"
            ~ " when 'remittance_plb' then 'PL' else 'PT' end", "'-'",
            'legal_entity_id', "'-'", 'facility_id', "'-'",
            dbt.replace(dbt.cast('posting_date', dbt.type_string()), "'-'", "''")
        ]) }} as journal_id,
        lines.*,
        cast(row_number() over (
            partition by legal_entity_id, facility_id, posting_date, journal_source
            -- the revenue account breaks ties between accrual debits to the same A/R account, so
            -- that line numbers (and idempotency keys) are the same on every build
            order by
                measure asc, coalesce(service_line_code, '') asc, coalesce(cost_center_id, '') asc, side desc,
                account_id asc, coalesce(revenue_account_id, '') asc
        ) as integer) as line_number
    from lines
),

keyed as (
    select
        numbered.*,
        {{ dbt.hash(dbt.concat([
            'legal_entity_id', "'|'", 'facility_id', "'|'", dbt.cast('posting_date', dbt.type_string()), "'|'",
            'journal_source', "'|'", dbt.cast('line_number', dbt.type_string()), "'|'", 'account_id', "'|'",
            "coalesce(cost_center_id, '')", "'|'", "coalesce(service_line_code, '')", "'|'",
            dbt.cast('debit_amount', dbt.type_string()), "'|'", dbt.cast('credit_amount', dbt.type_string()), "'|'",
            'source_id_set_hash'
        ])) }} as idempotency_key
    from numbered
),

journal_hashes as (
    -- correlation_id: one id per journal version, changes when any line of it changes
    select journal_id, {{ dbt.hash(dbt.listagg('idempotency_key', "','", 'order by line_number')) }} as correlation_id
    from keyed
    group by journal_id
),

final as (
    select
        keyed.journal_id,
        keyed.idempotency_key,
        keyed.journal_source,
        keyed.legal_entity_id,
        keyed.ledger_name,
        keyed.facility_id,
        keyed.posting_date,
        keyed.period_id,
        keyed.line_number,
        keyed.account_id,
        keyed.cost_center_id,
        keyed.service_line_code,
        keyed.debit_amount,
        keyed.credit_amount,
        keyed.currency_code,
        keyed.description,
        cast(keyed.source_record_count as integer) as source_record_count,
        keyed.source_first_id,
        keyed.source_last_id,
        keyed.source_id_set_hash,
        journal_hashes.correlation_id
    from keyed
    inner join journal_hashes on journal_hashes.journal_id = keyed.journal_id
)

select * from final
