-- Each agreement with an invoice to sync, beside the ERP customers its company and its
-- bill-to company map to (the customer-sync mapping). An agreement whose company or
-- bill-to is not mapped waits, with the reason; it goes through by itself on the first
-- run after the mapping exists.

with

selected as (
    select * from {{ ref('int_agreement_invoices_selected') }}
),

agreements as (
    select * from {{ ref('stg_connectwise__agreements') }}
),

companies as (
    select * from {{ ref('stg_connectwise__companies') }}
),

customers as (
    select * from {{ ref('int_company_customers') }}
),

final as (
    select
        agreements.agreement_id,
        agreements.agreement_name,
        agreements.agreement_type,
        agreements.agreement_status,
        agreements.is_cancelled,
        agreements.agreement_status in ('Cancelled', 'Expired') or agreements.is_cancelled
            as is_ended,
        -- A contract runs from the agreement's first billing date.
        coalesce(agreements.bill_start_date, agreements.start_date) as start_date,
        agreements.end_date,
        agreements.billing_cycle,
        {{ cycle_months('agreements.billing_cycle') }} as cycle_months,
        agreements.company_id,
        company.identifier as company_identifier,
        company.company_name,
        agreements.bill_to_company_id,
        bill_to.identifier as bill_to_identifier,
        bill_to.company_name as bill_to_name,
        agreements.contract_number_field,
        agreements.contract_number_field_id,
        customer.customer_number,
        payer.customer_number as bill_to_number,
        selected.invoice_id,
        selected.invoice_number,
        selected.invoice_date,
        selected.billing_status,
        selected.reference as invoice_reference,
        coalesce(selected.agreement_amount, 0) as agreement_amount,
        coalesce(selected.product_total, 0) as product_total,
        case
            when customer.customer_number is null then 'agreement-company-unmapped'
            when payer.customer_number is null then 'agreement-bill-to-unmapped'
        end as waiting_code
    from selected
    inner join agreements on selected.agreement_id = agreements.agreement_id
    left join companies as company on agreements.company_id = company.company_id
    left join companies as bill_to on agreements.bill_to_company_id = bill_to.company_id
    left join customers as customer on agreements.company_id = customer.company_id
    left join customers as payer on agreements.bill_to_company_id = payer.company_id
)

select * from final
