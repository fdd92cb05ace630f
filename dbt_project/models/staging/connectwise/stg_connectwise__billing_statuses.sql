with

source as (
    select * from {{ source('raw_connectwise', 'billing_statuses') }}
),

renamed as (
    select
        cast(id as bigint) as billing_status_id,
        cast(name as varchar) as billing_status,
        coalesce(cast(default_flag as boolean), false) as is_default,
        coalesce(cast(sent_flag as boolean), false) as is_sent,
        coalesce(cast(closed_flag as boolean), false) as is_closed,
        coalesce(cast(inactive_flag as boolean), false) as is_inactive,
        _loaded_at as loaded_at
    from source
)

select * from renamed
