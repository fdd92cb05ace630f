with

source as (
    select * from {{ source('raw_connectwise', 'additions') }}
),

renamed as (
    select
        cast(id as bigint) as addition_id,
        cast(agreement_id as bigint) as agreement_id,
        cast(product__id as bigint) as catalog_item_id,
        cast(product__identifier as varchar) as product_identifier,
        cast(bill_customer as varchar) as bill_customer,
        cast(quantity as decimal(18, 4)) as quantity,
        cast(unit_price as decimal(18, 4)) as unit_price,
        cast(unit_cost as decimal(18, 4)) as unit_cost,
        cast(effective_date as date) as effective_date,
        cast(cancelled_date as date) as cancelled_date,
        cast(agreement_status as varchar) as addition_status,
        cast(description as varchar) as description,
        cast(invoice_description as varchar) as invoice_description,
        cast(less_included as decimal(18, 4)) as less_included,
        cast(billed_quantity as decimal(18, 4)) as billed_quantity,
        cast(ext_price as decimal(18, 2)) as extended_price,
        cast(info__last_updated as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
