with

source as (
    select * from {{ source('raw_operate', 'accounts') }}
),

renamed as (
    select
        cast(id as bigint) as account_id,
        cast(name as varchar) as account_name,
        cast(location_id as bigint) as location_id,
        cast(type as varchar) as account_type,
        cast(status as varchar) as status,
        cast(connect_client_id as varchar) as connect_client_id,
        coalesce(cast(send_to_connect_requested as boolean), false) as is_send_to_connect_requested,
        cast(created_at as timestamptz) as created_at,
        cast(updated_at as timestamptz) as updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
