-- The analyst's view of the customer mapping: ERP customer beside its PSA company.

with

matched as (
    select * from {{ ref('int_customers_matched') }}
),

customers as (
    select * from {{ ref('stg_eautomate__customers') }}
),

companies as (
    select * from {{ ref('stg_connectwise__companies') }}
),

final as (
    select
        matched.customer_number,
        matched.customer_name,
        customers.is_active,
        customers.customer_type_code,
        customers.branch_number,
        customers.territory_code,
        matched.company_id,
        companies.identifier as company_identifier,
        companies.company_name,
        matched.match_rule,
        matched.match_reason,
        matched.company_id is not null as is_mapped,
        matched.claimed_company_id,
        matched.finding_code,
        matched.finding,
        matched.fix
    from matched
    inner join customers on matched.customer_number = customers.customer_number
    left join companies on matched.company_id = companies.company_id
)

select * from final
