with

source as (
    select * from {{ source('raw_connectwise', 'time_entry_ids') }}
),

renamed as (
    select
        cast(id as bigint) as time_entry_id,
        cast(charge_to_type as varchar) as charge_to_type,
        cast(charge_to_id as bigint) as charge_to_id,
        _loaded_at as loaded_at
    from source
)

select * from renamed
