with

source as (
    select * from {{ source('raw_eautomate', 'sales_orders') }}
),

renamed as (
    select
        cast(so_number as varchar) as so_number,
        cast(customer_number as varchar) as customer_number,
        cast(bill_to_number as varchar) as bill_to_number,
        cast(ship_to_number as varchar) as ship_to_number,
        cast(status as varchar) as status,
        cast(status as varchar) in ('Shipped', 'Invoiced', 'Canceled') as is_final,
        cast(on_hold_code as varchar) as on_hold_code,
        cast(po_number as varchar) as po_number,
        cast(description as varchar) as description,
        {{ sales_order_key('description', 'po_number') }} as psa_order_id,
        try_cast(date as date) as order_date,
        cast(details as varchar) as details,
        cast(create_date as timestamptz) as created_at,
        cast(last_update as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
