-- Procurement products on a sales order: the order's lines.
with

source as (
    select * from {{ source('raw_connectwise', 'products') }}
    where sales_order__id is not null
),

renamed as (
    select
        cast(id as bigint) as line_id,
        cast(sales_order__id as bigint) as order_id,
        cast(catalog_item__id as bigint) as catalog_item_id,
        cast(catalog_item__identifier as varchar) as item_identifier,
        cast(description as varchar) as description,
        cast(billable_option as varchar) as billable_option,
        cast(product_class as varchar) as product_class,
        cast(quantity as decimal(18, 6)) as quantity,
        cast(price as decimal(18, 4)) as price,
        coalesce(cast(cancelled_flag as boolean), false) as is_cancelled,
        coalesce(cast(quantity_cancelled as decimal(18, 6)), 0) as quantity_cancelled,
        cast(cancelled_reason as varchar) as cancelled_reason,
        coalesce(cast(dropship_flag as boolean), false) as is_drop_ship,
        cast(sequence_number as bigint) as sequence_number,
        cast(info__last_updated as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
