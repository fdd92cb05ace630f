with

source as (
    select * from {{ source('raw_operate', 'locations') }}
),

renamed as (
    select
        cast(id as bigint) as location_id,
        cast(name as varchar) as location_name,
        cast(connect_site_id as bigint) as connect_site_id,
        coalesce(cast(connect_call_logger as boolean), false) as has_connect_call_logger
    from source
)

select * from renamed
