-- Likely PSA partners for ERP customers no rule linked, best first, for an operator.

with

suggestions as (
    select * from {{ ref('int_customer_suggestions') }}
),

final as (
    select
        suggestion_id,
        customer_number,
        customer_name,
        company_id,
        company_identifier,
        company_name,
        score,
        evidence,
        suggestion_rank
    from suggestions
)

select * from final
