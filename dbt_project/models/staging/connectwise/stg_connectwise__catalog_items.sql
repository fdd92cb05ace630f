with

source as (
    select * from {{ source('raw_connectwise', 'catalog_items') }}
),

renamed as (
    select
        cast(id as bigint) as catalog_item_id,
        cast(identifier as varchar) as item_identifier,
        cast(description as varchar) as description,
        cast(product_class as varchar) as product_class,
        cast(type__name as varchar) as product_type,
        coalesce(cast(inactive_flag as boolean), false) as is_inactive,
        cast(info__last_updated as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
