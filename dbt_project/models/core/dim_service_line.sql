-- Conformed service line (seeds/service_lines.csv, which carries the UNMAPPED member).
with

service_lines as (
    select * from {{ ref('service_lines') }}
),

final as (
    select service_line_code, service_line_name, service_line_code = 'UNMAPPED' as is_unmapped
    from service_lines
)

select * from final
