with

source as (
    select * from {{ source('raw_operate', 'product_groups') }}
),

renamed as (
    select
        cast(id as bigint) as product_group_id,
        cast(name as varchar) as product_group_name
    from source
)

select * from renamed
