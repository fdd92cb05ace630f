with

source as (
    select * from {{ source('raw_eautomate', 'items') }}
),

renamed as (
    select
        cast(item as varchar) as item_number,
        cast(item_id as bigint) as item_id,
        cast(description as varchar) as description,
        cast(item_kind as varchar) as item_kind,
        cast(sales_code as varchar) as sales_code,
        cast(inventory_code as varchar) as inventory_code,
        cast(expense_code as varchar) as expense_code,
        coalesce(cast(active as boolean), false) as is_active,
        cast(last_update as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
