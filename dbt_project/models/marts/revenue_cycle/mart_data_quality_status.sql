-- One row per source data-quality check (seeds/data_quality_checks.csv): how many source
-- records it found and the money they carry. A check that found nothing is listed with
-- status pass, so the dashboard banner can say "all checks pass" from this table alone.
-- The failing records themselves are in mart_reconciliation_exceptions (reason_code =
-- check_name). No patient-level data: counts and amounts only.
with

checks as (
    select * from {{ ref('data_quality_checks') }}
),

data_quality_exceptions as (
    select * from {{ ref('fct_data_quality_exceptions') }}
),

found as (
    select
        check_name,
        count(*) as failing_row_count,
        sum(amount) as amount
    from data_quality_exceptions
    group by check_name
),

final as (
    select
        checks.check_name,
        checks.severity,
        checks.source,
        case when coalesce(found.failing_row_count, 0) = 0 then 'pass' else checks.severity end as status,
        cast(coalesce(found.failing_row_count, 0) as bigint) as failing_row_count,
        {{ money('coalesce(found.amount, 0)') }} as amount,
        checks.description
    from checks
    left join found on found.check_name = checks.check_name
)

select * from final
