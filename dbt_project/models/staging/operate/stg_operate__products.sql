with

source as (
    select * from {{ source('raw_operate', 'products') }}
),

renamed as (
    select
        cast(id as bigint) as product_id,
        cast(name as varchar) as product_name,
        cast(product_group_id as bigint) as product_group_id,
        cast(unit_price as decimal(12, 4)) as unit_price
    from source
)

select * from renamed
