with

source as (
    select * from {{ source('raw_connectwise', 'invoices') }}
),

renamed as (
    select
        cast(id as bigint) as invoice_id,
        cast(invoice_number as varchar) as invoice_number,
        cast(type as varchar) as invoice_type,
        cast(company__id as bigint) as company_id,
        cast(apply_to_type as varchar) as apply_to_type,
        cast(apply_to_id as bigint) as apply_to_id,
        cast(agreement__id as bigint) as agreement_id,
        cast(date as date) as invoice_date,
        cast(due_date as date) as due_date,
        cast(subtotal as decimal(18, 2)) as subtotal,
        cast(total as decimal(18, 2)) as total,
        cast(sales_tax as decimal(18, 2)) as sales_tax,
        cast(balance as decimal(18, 2)) as balance,
        cast(status__id as bigint) as billing_status_id,
        cast(status__name as varchar) as billing_status,
        cast(reference as varchar) as reference,
        coalesce(cast(bill_to_company__id as bigint), cast(company__id as bigint))
            as bill_to_company_id,
        cast(agreement_amount as decimal(18, 2)) as agreement_amount,
        cast(product_total as decimal(18, 2)) as product_total,
        cast(project__id as bigint) as project_id,
        cast(phase__id as bigint) as phase_id,
        cast(info__last_updated as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
