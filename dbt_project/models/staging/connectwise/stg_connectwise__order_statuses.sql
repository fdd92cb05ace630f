with

source as (
    select * from {{ source('raw_connectwise', 'order_statuses') }}
),

renamed as (
    select
        cast(id as bigint) as order_status_id,
        cast(name as varchar) as order_status,
        coalesce(cast(closed_flag as boolean), false) as is_closed,
        coalesce(cast(inactive_flag as boolean), false) as is_inactive,
        _loaded_at as loaded_at
    from source
)

select * from renamed
